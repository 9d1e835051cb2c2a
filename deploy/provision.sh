#!/usr/bin/env bash
# provision.sh: first provisioning of a medledger node, run once by the security team.
#
# Makes, under --out DIR (default /etc/medledger):
#   secrets/so-pin, secrets/user-pin   token PINs (0600), created at random unless given
#   token <label>                      initialised with those PINs (medledger token init)
#   ca/                                the hospital CA (key in the token; medledger ca init)
#   token key 'node-tls', tls/node.crt node TLS key (P-256, in the token, never exported; serve
#                                      uses tls.private_key = "pkcs11:object=node-tls") and its
#                                      role-node certificate (CSR signed in the token)
#   tls/node-chain.pem                 node certificate then the CA (tls.certificate)
#   tls/client-ca.pem                  the CA certificate (tls.client_ca)
#   admin/admin.key, admin/admin.crt   first admin's key (0600) and role-admin certificate
# PINs only ever travel as file: sources, never in argv or the environment.
# Refuses to run when any of these already exists (no partial overwrite of a CA).
set -euo pipefail

usage() {
  cat <<USAGE
usage: provision.sh --hospital ID [--out DIR] [--token-label LABEL] [--module PATH]
                    [--node-id ID] [--dns NAME]... [--ip ADDR]... [--admin-id ID]
                    [--so-pin-file FILE] [--user-pin-file FILE] [--medledger PATH]
USAGE
}

out=/etc/medledger
hospital=""
token_label=""
module="${MEDLEDGER_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}"
node_id=""
admin_id="admin-1"
so_pin_file=""
user_pin_file=""
medledger="${MEDLEDGER:-medledger}"
sans=()

while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --hospital) hospital="$2"; shift 2 ;;
    --token-label) token_label="$2"; shift 2 ;;
    --module) module="$2"; shift 2 ;;
    --node-id) node_id="$2"; shift 2 ;;
    --dns) sans+=("DNS:$2"); shift 2 ;;
    --ip) sans+=("IP:$2"); shift 2 ;;
    --admin-id) admin_id="$2"; shift 2 ;;
    --so-pin-file) so_pin_file="$2"; shift 2 ;;
    --user-pin-file) user_pin_file="$2"; shift 2 ;;
    --medledger) medledger="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "provision.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done

die() { echo "provision.sh: $*" >&2; exit 1; }
[[ -n "$hospital" ]] || { usage >&2; exit 2; }
token_label="${token_label:-$hospital}"
node_id="${node_id:-node-$hospital}"
[[ ${#sans[@]} -gt 0 ]] || sans=("DNS:$(hostname -f 2>/dev/null || hostname)" "DNS:localhost" "IP:127.0.0.1")
command -v "$medledger" >/dev/null || die "medledger binary not found: $medledger"
command -v openssl >/dev/null || die "openssl not found"

# Refuse rather than overwrite: a second run must not replace a CA or a key.
for existing in "$out/ca" "$out/tls/node.crt" "$out/admin/admin.key" "$out/admin/admin.crt"; do
  [[ ! -e "$existing" ]] || die "$existing already exists; this node is provisioned (move it away to start over)"
done
if "$medledger" token list --module "$module" 2>/dev/null | awk -F'\t' -v l="$token_label" '$1 == l {found = 1} END {exit !found}'; then
  die "a token labelled '$token_label' already exists; refusing to re-initialise it"
fi

umask 077
mkdir -p "$out/secrets" "$out/tls" "$out/admin"
# tls/ holds only public material (certificates, the CSR stays 0600): the service user
# must reach tls.certificate and tls.client_ca there.
chmod 0755 "$out/tls"

# A PIN file: copied when given (so the layout is uniform), else 32 random hex characters.
pin_into() {
  local given="$1" target="$2"
  if [[ -n "$given" ]]; then
    [[ -r "$given" ]] || die "cannot read PIN file $given"
    [[ "$(realpath "$given")" == "$(realpath -m "$target")" ]] || install -m 0600 "$given" "$target"
  elif [[ ! -e "$target" ]]; then
    openssl rand -hex 16 > "$target"
  fi
  chmod 0600 "$target"
}
pin_into "$so_pin_file" "$out/secrets/so-pin"
pin_into "$user_pin_file" "$out/secrets/user-pin"
user_pin="file:$out/secrets/user-pin"

"$medledger" token init --module "$module" --label "$token_label" \
  --so-pin "file:$out/secrets/so-pin" --pin "$user_pin"

"$medledger" ca init --ca-dir "$out/ca" --module "$module" --token "$token_label" \
  --pin "$user_pin" --hospital "$hospital"

# Node TLS key: generated in the token (sensitive, never extractable); its CSR is signed
# there too, and serve uses it as tls.private_key = "pkcs11:object=node-tls".
"$medledger" key generate --module "$module" --token "$token_label" --pin "$user_pin" --label node-tls >/dev/null
san_list=$(IFS=,; echo "${sans[*]}")
san_args=()
for san in "${sans[@]}"; do san_args+=(--san "$san"); done
"$medledger" ca request --ca-dir "$out/ca" --module "$module" --token "$token_label" --pin "$user_pin" \
  --key-label node-tls --id "$node_id" "${san_args[@]}" --out "$out/tls/node.csr"
"$medledger" ca issue --ca-dir "$out/ca" --module "$module" --token "$token_label" --pin "$user_pin" \
  --csr "$out/tls/node.csr" --role node --id "$node_id" --out "$out/tls/node.crt"
cat "$out/tls/node.crt" "$out/ca/ca.pem" > "$out/tls/node-chain.pem"
cp "$out/ca/ca.pem" "$out/tls/client-ca.pem"

# First admin: key and CSR made here with openssl; the admin's key should move to its
# holder (smart card or the admin's workstation) and be deleted from this host.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$out/admin/admin.key" 2>/dev/null
openssl req -new -key "$out/admin/admin.key" -subj "/CN=$admin_id" -out "$out/admin/admin.csr"
"$medledger" ca issue --ca-dir "$out/ca" --module "$module" --token "$token_label" --pin "$user_pin" \
  --csr "$out/admin/admin.csr" --role admin --id "$admin_id" --out "$out/admin/admin.crt"

chmod 0644 "$out/tls/node.crt" "$out/tls/node-chain.pem" "$out/tls/client-ca.pem" "$out/admin/admin.crt"

cat <<REPORT
provisioned hospital '$hospital' in $out:
  token        '$token_label' ($module)
  PINs         $out/secrets/so-pin, $out/secrets/user-pin (0600; keep the SO PIN offline)
  CA           $out/ca ($(openssl x509 -in "$out/ca/ca.pem" -noout -subject))
  node TLS     key 'node-tls' in the token, $out/tls/node-chain.pem (CN=$node_id, $san_list)
  client CA    $out/tls/client-ca.pem
  first admin  $out/admin/admin.key, $out/admin/admin.crt (CN=$admin_id, role admin)
next: point tls.* and token.* of medledger.toml at these; install the user PIN as the
systemd credential (LoadCredential=user-pin:$out/secrets/user-pin); see docs/operations.md.
REPORT
