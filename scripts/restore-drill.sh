#!/usr/bin/env bash
# The restore drill on SQLite, as an operator would run it (README, "Backup and restore"):
#   1. `almo up --demo` on a throw-away database; 12 variances pushed through the CLI (corrections
#      of the demo's figures for April to July 2026);
#   2. `almo backup` while it serves and a second push is under way;
#   3. `almo restore` over the running database: refused (exit 1, in use);
#   4. the server stopped; the backup restored into a fresh path;
#   5. `almo up` on the restored database: the first push again finds all 12 rows unchanged (every
#      acknowledged write is there) and the plan's dashboard reads.
# The servers are stopped on exit, whatever happens; each step has a time limit.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build -q -p almo
ALMO=${CARGO_TARGET_DIR:-$PWD/target}/debug/almo
port=${ALMO_DRILL_PORT:-50171}
addr=127.0.0.1:$port
if "$ALMO" healthcheck --addr "$addr" >/dev/null 2>&1; then
  echo "something already answers on $addr: set ALMO_DRILL_PORT to a free port"; exit 1
fi
work=$(mktemp -d)
server=""
stop_server() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  server=""
}
trap 'stop_server; rm -rf "$work"' EXIT

start_server() { # DATABASE_FILE [--demo]
  ALMO_LISTEN=$addr ALMO_DATABASE_URL="sqlite://$1?mode=rwc" "$ALMO" up ${2:-} \
    >>"$work/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 150); do
    if "$ALMO" healthcheck --addr "$addr" >/dev/null 2>&1; then return 0; fi
    kill -0 "$server" 2>/dev/null || break
    sleep 0.2
  done
  echo "almo up did not start on $addr"; cat "$work/server.log"; exit 1
}

variances() { # FIRST_MONTH LAST_MONTH: corrections of the demo's 2026/27 figures for its local
  # targets (months that have ended, so the figures are accepted whatever today is)
  echo "sender_record_id,target_code,year,period,actual,forecast,commentary"
  for m in $(seq "$1" "$2"); do
    for code in LOCAL-RENT LOCAL-RELET LOCAL-DECENT; do
      echo "LBH-2026-M0$m-$code,$code,2026,M$m,6$m,,"
    done
  done
}

live=$work/live/almo.db
backup=$work/backups/almo-drill.db
restored=$work/restored/almo.db
plan=LAMBETH-LIVING-2026-2028
export ALMO_ADDR=http://$addr
export ALMO_TOKEN
ALMO_TOKEN=$("$ALMO" token --org E09000022 --role council_officer)
variances 1 4 >"$work/first.csv"
variances 5 7 >"$work/second.csv"

start_server "$live" --demo
timeout 60 "$ALMO" variances push "$work/first.csv" --plan $plan >"$work/first.txt" 2>/dev/null
grep -q "^12 rows received: 0 new, 12 corrected" "$work/first.txt" || { cat "$work/first.txt"; exit 1; }

# The backup while the server serves and writes go on.
timeout 60 "$ALMO" variances push "$work/second.csv" --plan $plan >"$work/second.txt" 2>/dev/null &
pusher=$!
ALMO_DATABASE_URL="sqlite://$live?mode=rwc" timeout 60 "$ALMO" backup --output "$backup" \
  | tee "$work/backup.txt"
wait "$pusher"
grep -q "^integrity_check: ok" "$work/backup.txt"
grep -q "^migration level: " "$work/backup.txt"

# A restore over the database the server has open is refused.
if ALMO_DATABASE_URL="sqlite://$live?mode=rwc" "$ALMO" restore "$backup" --force \
  2>"$work/refused.txt"; then
  echo "a restore over the running database went through"; exit 1
fi
grep -q "is in use" "$work/refused.txt" || { cat "$work/refused.txt"; exit 1; }
stop_server

ALMO_DATABASE_URL="sqlite://$restored?mode=rwc" timeout 60 "$ALMO" restore "$backup" \
  | tee "$work/restore.txt"
grep -q "^integrity_check: ok" "$work/restore.txt"

start_server "$restored"
timeout 60 "$ALMO" variances push "$work/first.csv" --plan $plan >"$work/again.txt" 2>/dev/null
grep -q "^12 rows received: 0 new, 0 corrected, 12 unchanged" "$work/again.txt" \
  || { echo "the restored database lacks acknowledged writes:"; cat "$work/again.txt"; exit 1; }
ALMO_TOKEN=$("$ALMO" token --org LAMBETH-LIVING --role almo_officer) \
  timeout 60 "$ALMO" plan status --plan $plan >"$work/status.txt"
grep -q "LOCAL-RENT" "$work/status.txt" || { cat "$work/status.txt"; exit 1; }
stop_server
echo "restore drill: ok (backed up while serving, refused over a running database, restored, every acknowledged write read back)"
