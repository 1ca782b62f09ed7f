#!/usr/bin/env bash
# Starts a throw-away PostgreSQL on 127.0.0.1 for the integration tests and prints the URLs to
# export: ALMO_TEST_DATABASE_URL (plain: sslmode=disable) and ALMO_TEST_DATABASE_TLS_URL (the same database over
# TLS, sslmode=verify-full against a throw-away CA generated with openssl into the server's
# directory; the server certificate names 127.0.0.1 and localhost). The server accepts both.
# Installs Debian's postgresql package when it is missing.
#
# `replica DIR` adds a streaming replica of that server (pg_basebackup -R: a hot standby on the
# next free loopback port, replaying the primary's WAL as it comes) and prints
# ALMO_TEST_DATABASE_READ_URL, for the tests of reads sent to a replica (ALMO_DATABASE_READ_URL).
#
#   eval "$(scripts/postgres.sh start)"   # exports ALMO_TEST_DATABASE_URL,
#                                         # ALMO_TEST_DATABASE_TLS_URL and ALMO_PG_DIR
#   eval "$(scripts/postgres.sh replica "$ALMO_PG_DIR")"   # exports ALMO_TEST_DATABASE_READ_URL
#   scripts/postgres.sh stop "$ALMO_PG_DIR"               # stops both
set -euo pipefail

port="${ALMO_PG_PORT:-55432}"

# The first port from $1 on that nothing listens on (another server, a developer's, another
# run's, may hold one).
free_port() {
  local p=$1
  for _ in $(seq 1 50); do
    if (: >"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then p=$((p + 1)); else break; fi
  done
  echo "$p"
}

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

# A throw-away CA (ca.crt) and a server certificate it signs for 127.0.0.1 and localhost
# (server.crt, server.key), in $1. Valid for 30 days: the directory goes with the server.
make_certificates() {
  local d=$1
  # openssl chatters on stderr: show it only when a step fails.
  quiet() { local out; if ! out=$("$@" 2>&1); then echo "$out" >&2; return 1; fi; }
  quiet openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
    -subj "/CN=almo-exchange throw-away test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$d/ca.key" -out "$d/ca.crt"
  quiet openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj "/CN=localhost" -keyout "$d/server.key" -out "$d/server.csr"
  printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >"$d/server.ext"
  quiet openssl x509 -req -days 30 -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
    -CAcreateserial -extfile "$d/server.ext" -out "$d/server.crt"
  rm -f "$d/server.csr" "$d/server.ext" "$d/ca.srl"
  # PostgreSQL refuses a private key that others can read.
  chmod 600 "$d/ca.key" "$d/server.key"
  chmod 644 "$d/ca.crt" "$d/server.crt"
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
    if ! command -v openssl >/dev/null; then
      echo "installing openssl" >&2
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq >&2
      apt-get install -y -qq openssl >&2
    fi
    port=$(free_port "$port")
    dir=$(mktemp -d /tmp/almo-pg.XXXXXX)
    echo "$port" >"$dir/port"
    make_certificates "$dir"
    if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$dir"; fi
    as_postgres "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >/dev/null
    as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=400 -c fsync=off -c synchronous_commit=off -c ssl=on -c ssl_cert_file=$dir/server.crt -c ssl_key_file=$dir/server.key" \
      start >&2
    as_postgres "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE DATABASE almo_test" >&2
    echo "export ALMO_PG_DIR=$dir"
    echo "export ALMO_TEST_DATABASE_URL='postgres://postgres@127.0.0.1:$port/almo_test?sslmode=disable'"
    # Quoted: the query's & and ? must survive the eval.
    echo "export ALMO_TEST_DATABASE_TLS_URL='postgres://postgres@127.0.0.1:$port/almo_test?sslmode=verify-full&sslrootcert=$dir/ca.crt'"
    ;;
  replica)
    dir="${2:?usage: postgres.sh replica DIR}"
    bin=$(find_bin)
    primary=$(cat "$dir/port")
    if [ -d "$dir/replica" ]; then
      replica=$(cat "$dir/replica-port")
    else
      replica=$(free_port $((primary + 100)))
      # initdb's pg_hba.conf lets loopback replication connections in (trust); -R writes
      # standby.signal and primary_conninfo, so the copy starts as a hot standby of the primary.
      as_postgres "$bin/pg_basebackup" -h 127.0.0.1 -p "$primary" -U postgres -D "$dir/replica" \
        -R -X stream -c fast >&2
      echo "$replica" >"$dir/replica-port"
      # hot_standby_feedback: a long export on the replica is not cancelled by the primary's
      # vacuum removing rows it still reads.
      as_postgres "$bin/pg_ctl" -D "$dir/replica" -l "$dir/replica.log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $replica -k $dir -c max_connections=400 -c fsync=off -c hot_standby=on -c hot_standby_feedback=on -c ssl=off" \
        start >&2
    fi
    echo "export ALMO_TEST_DATABASE_READ_URL='postgres://postgres@127.0.0.1:$replica/almo_test?sslmode=disable'"
    ;;
  stop)
    dir="${2:?usage: postgres.sh stop DIR}"
    bin=$(find_bin)
    if [ -d "$dir/replica" ]; then
      as_postgres "$bin/pg_ctl" -D "$dir/replica" -m fast stop >&2 || true
    fi
    as_postgres "$bin/pg_ctl" -D "$dir/data" -m fast stop >&2 || true
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start | replica DIR | stop DIR" >&2
    exit 2
    ;;
esac
