#!/usr/bin/env bash
# Delivery plans end to end through `almo up --demo` and the CLI: a CSV of 10,008 rows for the
# demo plan is pushed with `almo variances push`, pushed again (nothing changes, and the report
# says so), and the dashboard is read with `almo plan status`.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build -q -p almo
ALMO=$PWD/target/debug/almo
port=${ALMO_E2E_PORT:-50161}
addr=127.0.0.1:$port
work=$(mktemp -d)
ALMO_LISTEN=$addr ALMO_DATABASE_URL="sqlite://$work/almo.db?mode=rwc" "$ALMO" up --demo \
  >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
  if "$ALMO" healthcheck --addr "$addr" >/dev/null 2>&1; then break; fi
  sleep 0.2
done

TOKEN=$("$ALMO" token --org E09000022 --role council_officer)
export ALMO_TOKEN=$TOKEN ALMO_ADDR=http://$addr
plan=LAMBETH-LIVING-2026-2028

# The demo plan has three targets and one figure per target and month: 72 good rows (2027/28 and
# 2028/29; the demo already holds 2026/27's first months), and 9,936 rows of a target the plan
# does not have, which the server refuses with their line numbers.
csv=$work/variances.csv
{
  echo "sender_record_id,target_code,year,period,actual,forecast,commentary"
  for year in 2027 2028; do
    for m in $(seq 1 12); do
      echo "E2E-$year-M$m-BV66a,BV66a,$year,M$m,97.1,97.5,\"steady, on target\""
      echo "E2E-$year-M$m-RELET,LOCAL-RELET,$year,M$m,29,,"
      echo "E2E-$year-M$m-DECENT,LOCAL-DECENT,$year,M$m,84,,"
    done
  done
  for i in $(seq 1 9936); do
    echo "E2E-X-$i,LOCAL-UNKNOWN,2026,M1,1,,"
  done
} >"$csv"
echo "rows: $(($(wc -l <"$csv") - 1))"

set +e
"$ALMO" variances push "$csv" --plan $plan >"$work/first.txt" 2>/dev/null
first=$?
"$ALMO" variances push "$csv" --plan $plan >"$work/second.txt" 2>/dev/null
second=$?
set -e
head -1 "$work/first.txt"
head -1 "$work/second.txt"
[ "$first" = 2 ] && [ "$second" = 2 ] || { echo "expected exit code 2 (refused rows)"; exit 1; }
grep -q "unchanged" "$work/second.txt"
grep -q "^10008 rows received: 0 new, 0 corrected, 72 unchanged, 9936 refused" "$work/second.txt" \
  || { echo "the re-push changed something"; exit 1; }
grep -q "^10008 rows received: 72 new, 0 corrected, 0 unchanged, 9936 refused" "$work/first.txt"
grep -q "^line 10009: E2E-X-9936: target_code" "$work/second.txt"

ALMO_TOKEN=$("$ALMO" token --org LAMBETH-LIVING --role almo_officer) "$ALMO" plan status --plan $plan
echo "delivery-plan e2e: ok"
