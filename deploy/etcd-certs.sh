#!/usr/bin/env bash
# etcd-certs.sh: the TLS certificates of this hospital's etcd member and of its medledger
# node's etcd client, issued by the hospital CA whose key stays in the token.
#
# Makes, under --out DIR (default /etc/medledger/etcd):
#   member.key, member.pem   the member's P-256 key (0600) and role-node certificate (CN=--name,
#                            SANs from --ip/--dns): its client port's server certificate and
#                            its peer certificate both ways (serverAuth + clientAuth)
#   client.key, client.pem   the medledger node's key (0600) and role-node certificate
#                            (CN=--client-id) for calling etcd
#   ca-bundle.pem            this hospital's CA and every --trust CA: every member trusts
#                            every hospital's CA, on the client and the peer port
# The keys are made here with openssl (etcd reads its key from a file, not from a token);
# each CSR is signed in the token by `medledger ca issue --role node`.
# The PIN is only ever a file: or env: source, never a value in argv.
# TLS alone admits any certificate of those CAs that has clientAuth (a doctor's too): turn on
# etcd authentication with a user per node CN (etcd's RBAC; its name is the client
# certificate's CN) so that only the consortium's nodes are served.
# Refuses to replace existing keys unless --force (a renewal).
set -euo pipefail

usage() {
  cat <<USAGE
usage: etcd-certs.sh --name MEMBER (--ip ADDR | --dns NAME)... --token LABEL
                     [--pin file:PATH|env:NAME|prompt] [--trust OTHER-CA.pem]... [--out DIR]
                     [--ca-dir DIR] [--client-id ID] [--module PATH] [--medledger PATH] [--force]
  --name       the member's name (ETCD_NAME; CN of member.pem)
  --ip/--dns   the addresses peers and clients reach the member at (SANs of member.pem)
  --trust      another hospital's CA certificate (repeat for each hospital)
  --ca-dir     this hospital's CA directory (default /etc/medledger/ca)
  --token      the token holding the hospital CA key (label, serial or pkcs11: URI)
  --pin        the token user PIN source (default: \$MEDLEDGER_USER_PIN, else a prompt)
  --client-id  CN of the node's client certificate (default node-MEMBER)
USAGE
}

out=/etc/medledger/etcd
ca_dir=/etc/medledger/ca
name=""
client_id=""
token=""
pin=""
module=""
medledger="${MEDLEDGER:-medledger}"
force=0
sans=()
trusted=()

while [[ $# -gt 0 ]]; do
  case "$1" in
    --name) name="$2"; shift 2 ;;
    --ip) sans+=("IP:$2"); shift 2 ;;
    --dns) sans+=("DNS:$2"); shift 2 ;;
    --trust) trusted+=("$2"); shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --ca-dir) ca_dir="$2"; shift 2 ;;
    --token) token="$2"; shift 2 ;;
    --pin) pin="$2"; shift 2 ;;
    --client-id) client_id="$2"; shift 2 ;;
    --module) module="$2"; shift 2 ;;
    --medledger) medledger="$2"; shift 2 ;;
    --force) force=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "etcd-certs.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done

die() { echo "etcd-certs.sh: $*" >&2; exit 1; }
[[ -n "$name" ]] || { usage >&2; exit 2; }
[[ ${#sans[@]} -gt 0 ]] || die "give the member's addresses with --ip and/or --dns"
[[ -n "$token" ]] || die "give the token of the hospital CA with --token"
client_id="${client_id:-node-$name}"
case "$pin" in
  ""|file:*|env:*|prompt) ;;
  *) die "--pin takes a source (file:PATH, env:NAME or prompt), never the PIN itself" ;;
esac
command -v "$medledger" >/dev/null || die "medledger binary not found: $medledger"
command -v openssl >/dev/null || die "openssl not found"
[[ -r "$ca_dir/ca.pem" ]] || die "no CA certificate at $ca_dir/ca.pem (medledger ca init)"
for ca in "${trusted[@]}"; do
  [[ -r "$ca" ]] || die "cannot read --trust $ca"
  openssl x509 -in "$ca" -noout -ext basicConstraints 2>/dev/null | grep -q "CA:TRUE" ||
    die "--trust $ca is not a CA certificate"
done
if [[ $force -eq 0 ]]; then
  for existing in "$out/member.key" "$out/client.key"; do
    [[ ! -e "$existing" ]] || die "$existing already exists (--force to renew)"
  done
fi

ca_args=(--ca-dir "$ca_dir" --token "$token")
[[ -z "$pin" ]] || ca_args+=(--pin "$pin")
[[ -z "$module" ]] || ca_args+=(--module "$module")

umask 077
mkdir -p "$out"
# The member's service user reads the certificates; its key reaches it as a credential.
chmod 0755 "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# issue ID SAN-LIST KEY CERT: a P-256 key and its role-node certificate from the token CA.
issue() {
  local id=$1 san=$2 key=$3 cert=$4
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/$id.key" 2>/dev/null
  local ext=()
  [[ -z "$san" ]] || ext=(-addext "subjectAltName=$san")
  openssl req -new -key "$work/$id.key" -subj "/CN=$id" "${ext[@]}" -out "$work/$id.csr"
  "$medledger" ca issue "${ca_args[@]}" --csr "$work/$id.csr" --role node --id "$id" \
    --out "$work/$id.pem" >/dev/null
  # Both EKUs: etcd presents this certificate as a server and as a peer's client.
  openssl x509 -in "$work/$id.pem" -noout -ext extendedKeyUsage |
    grep -q "TLS Web Server Authentication, TLS Web Client Authentication" ||
    die "the CA's role-node certificate for $id lacks serverAuth + clientAuth"
  install -m 0600 "$work/$id.key" "$key"
  install -m 0644 "$work/$id.pem" "$cert"
}

san_list=$(IFS=,; echo "${sans[*]}")
issue "$name" "$san_list" "$out/member.key" "$out/member.pem"
issue "$client_id" "" "$out/client.key" "$out/client.pem"

cat "$ca_dir/ca.pem" "${trusted[@]}" > "$work/ca-bundle.pem"
install -m 0644 "$work/ca-bundle.pem" "$out/ca-bundle.pem"
for cert in member client; do
  openssl verify -CAfile "$out/ca-bundle.pem" "$out/$cert.pem" >/dev/null ||
    die "$cert.pem does not chain to the bundle"
done

cat <<REPORT
etcd certificates for member '$name' in $out:
  member     $out/member.pem (CN=$name, $san_list), key $out/member.key (0600)
  client     $out/client.pem (CN=$client_id), key $out/client.key (0600)
  trust      $out/ca-bundle.pem ($(grep -c 'BEGIN CERTIFICATE' "$out/ca-bundle.pem") CA certificates)
next: etcd-member.service reads member.key as a credential and the rest from $out;
point [ordering] of medledger.toml at client.pem, client.key and ca-bundle.pem; once the
cluster is up, give each node's CN an etcd user and role on the prefix, then enable auth.
REPORT
