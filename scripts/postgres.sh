#!/usr/bin/env bash
# Starts a throw-away PostgreSQL on 127.0.0.1 for the integration tests and prints the URL to
# export as ALMO_TEST_DATABASE_URL. Installs Debian's postgresql package when it is missing.
#
#   eval "$(scripts/postgres.sh start)"   # exports ALMO_TEST_DATABASE_URL and ALMO_PG_DIR
#   scripts/postgres.sh stop "$ALMO_PG_DIR"
set -euo pipefail

port="${ALMO_PG_PORT:-55432}"

find_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    if [ -x "$d/initdb" ]; then echo "$d"; return 0; fi
  done
  return 1
}

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
  start)
    if ! bin=$(find_bin); then
      echo "installing postgresql" >&2
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq >&2
      apt-get install -y -qq postgresql >&2
      bin=$(find_bin)
    fi
    # Another server (a developer's, another run's) may hold the port: take the next free one.
    for _ in $(seq 1 50); do
      if (: >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then port=$((port + 1)); else break; fi
    done
    dir=$(mktemp -d /tmp/almo-pg.XXXXXX)
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$dir"; fi
    as_postgres "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >/dev/null
    as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=400 -c fsync=off -c synchronous_commit=off" \
      start >&2
    as_postgres "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE DATABASE almo_test" >&2
    echo "export ALMO_PG_DIR=$dir"
    echo "export ALMO_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$port/almo_test"
    ;;
  stop)
    dir="${2:?usage: postgres.sh stop DIR}"
    bin=$(find_bin)
    as_postgres "$bin/pg_ctl" -D "$dir/data" -m fast stop >&2 || true
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start | stop DIR" >&2
    exit 2
    ;;
esac
