#!/usr/bin/env bash
# A development CA and the services' certificate for compose, with openssl: writes
# deploy/compose/secrets/{ca.crt,ca.key,tls.crt,tls.key} (git ignores that directory). The
# certificate names every compose service (directory, delivery-plan, ...), localhost and
# 127.0.0.1, so clients on the host and in the compose network can verify it:
#
#   deploy/compose/make-dev-ca.sh
#   grpcurl -cacert deploy/compose/secrets/ca.crt 127.0.0.1:50051 list
#   almo plan status --addr https://127.0.0.1:50052 --ca deploy/compose/secrets/ca.crt ...
#
# For development only: the key is made readable by the containers' user (uid 65532) by mode
# 0644. In production use the organisation's PKI (or cert-manager in Kubernetes) and a key
# readable by 65532 alone. Run it again to replace both (the services pick the new files up
# within ALMO_TLS_RELOAD_SECS once the CA is the same; a new CA needs clients to trust it).
set -euo pipefail
dir="$(cd "$(dirname "$0")" && pwd)/secrets"
days=${ALMO_DEV_CA_DAYS:-90}
command -v openssl >/dev/null || { echo "make-dev-ca.sh: openssl is needed (apt-get install openssl)" >&2; exit 1; }
mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ ! -s "$dir/ca.crt" ] || [ ! -s "$dir/ca.key" ]; then
  openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -days 3650 \
    -subj "/CN=almo-exchange development CA" -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
  chmod 0600 "$dir/ca.key"
fi
san="DNS:localhost,IP:127.0.0.1"
for s in directory delivery-plan sla-charging pi-returns inspection-scheduling; do san="$san,DNS:$s"; done
openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -subj "/CN=almo-exchange" \
  -keyout "$tmp/tls.key" -out "$tmp/tls.csr" 2>/dev/null
printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' "$san" >"$tmp/ext"
openssl x509 -req -in "$tmp/tls.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
  -CAserial "$tmp/ca.srl" -days "$days" -extfile "$tmp/ext" -out "$tmp/tls.crt" 2>/dev/null
install -m 0644 "$tmp/tls.crt" "$dir/tls.crt"
install -m 0644 "$tmp/tls.key" "$dir/tls.key"
echo "make-dev-ca.sh: $dir/ca.crt (trust this), $dir/tls.crt and tls.key (the services'), $days days"
