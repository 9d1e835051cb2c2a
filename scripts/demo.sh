#!/usr/bin/env bash
# The main job on the embedded default (one node, solo ordering), end to end:
# install what is missing, build, provision a SoftHSM2 token in a project-local
# directory, and drive the appliance through its command line, printing each step.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
# shellcheck source=scripts/demo-lib.sh
. "$root/scripts/demo-lib.sh"
preset="${PRESET:-release}"


install_and_build "$root" "$preset"

# A fresh, project-local SoftHSM2 token directory: nothing outside .medledger/ is touched
# (MEDLEDGER_DEMO_DIR puts the set-up elsewhere: scripts/crash-campaign.sh uses its own).
demo="${MEDLEDGER_DEMO_DIR:-$root/.medledger/demo}"
[[ $demo == /* && $demo != / ]] || { echo "MEDLEDGER_DEMO_DIR must be an absolute path, not /" >&2; exit 2; }
rm -rf "$demo"
mkdir -p "$demo/tokens" "$demo/secrets"
chmod 700 "$demo/secrets"
cat >"$demo/softhsm2.conf" <<CONF
directories.tokendir = $demo/tokens
objectstore.backend = file
log.level = ERROR
CONF
export SOFTHSM2_CONF="$demo/softhsm2.conf"
export MEDLEDGER_DATA_DIR="$demo"

# PINs are random, live in 0600 files and reach medledger as file: sources, never argv.
umask 077
openssl rand -hex 12 >"$demo/secrets/so.pin"
openssl rand -hex 12 >"$demo/secrets/user.pin"
so_pin="file:$demo/secrets/so.pin"
user_pin="file:$demo/secrets/user.pin"
umask 022

step "Provisioning token 'hospital-a' (SO PIN and user PIN from files)"
"$ml" token init --label hospital-a --so-pin "$so_pin" --pin "$user_pin"
"$ml" token list
step "Token status: mechanisms we need, sessions, objects"
"$ml" token status --token hospital-a --pin "$user_pin"

step "Generating the node's signing key (P-256, sensitive, never extractable) in the token"
"$ml" key generate --token hospital-a --pin "$user_pin" --label node-a
"$ml" key list --token hospital-a --pin "$user_pin"

step "Signing a sample digest in the token, verifying it with OpenSSL"
printf 'sample medical-record transaction\n' >"$demo/sample.txt"
digest=$(openssl dgst -sha256 -r "$demo/sample.txt" | cut -d' ' -f1)
echo "SHA-256(sample) = $digest"
"$ml" key sign --token hospital-a --pin "$user_pin" --label node-a --digest "$digest" >"$demo/sample.sig.hex"
echo "signature (DER, hex) = $(cat "$demo/sample.sig.hex")"
xxd -r -p "$demo/sample.sig.hex" >"$demo/sample.sig"
"$ml" key export-public --token hospital-a --pin "$user_pin" --label node-a --out "$demo/node-a.pub.pem"
openssl dgst -sha256 -verify "$demo/node-a.pub.pem" -signature "$demo/sample.sig" "$demo/sample.txt"

step "Creating the hospital CA (key in the token, self-signed certificate)"
"$ml" ca init --token hospital-a --pin "$user_pin" --hospital hospital-a
openssl x509 -in "$demo/ca/ca.pem" -noout -subject -ext basicConstraints,keyUsage

step "Enrolling a doctor: key generated in the token, certificate from the CA"
"$ml" key generate --token hospital-a --pin "$user_pin" --label doctor-dr-0001
"$ml" key export-public --token hospital-a --pin "$user_pin" --label doctor-dr-0001 --out "$demo/dr-0001.pub.pem"
"$ml" ca issue --token hospital-a --pin "$user_pin" --public-key "$demo/dr-0001.pub.pem" \
  --role doctor --id dr-0001 --out "$demo/dr-0001.pem"
openssl x509 -in "$demo/dr-0001.pem" -noout -subject -serial -ext extendedKeyUsage
echo "openssl verify: $(openssl verify -CAfile "$demo/ca/ca.pem" "$demo/dr-0001.pem")"

step "Revoking the doctor's certificate; the CRL (signed in the token) rejects it"
serial=$(openssl x509 -in "$demo/dr-0001.pem" -noout -serial | cut -d= -f2)
"$ml" ca revoke --serial "$serial" --reason keyCompromise
"$ml" ca crl --token hospital-a --pin "$user_pin" --out "$demo/ca.crl.pem"
openssl crl -in "$demo/ca.crl.pem" -CAfile "$demo/ca/ca.pem" -noout -verify 2>&1 | sed 's/^/openssl crl: /'
if openssl verify -crl_check -CAfile "$demo/ca/ca.pem" -CRLfile "$demo/ca.crl.pem" "$demo/dr-0001.pem" >"$demo/verify.out" 2>&1; then
  echo "UNEXPECTED: a revoked certificate verified"; exit 1
fi
echo "openssl verify -crl_check: $(grep -o 'certificate revoked' "$demo/verify.out" | head -1)"


# ---------------------------------------------------------------------------
# Two hospitals on one consortium ledger (node operations, docs/node.md).
# Hospital A reuses token 'hospital-a' and the CA made above; hospital B gets its
# own token and CA. Both nodes open the same ledger directory, one command at a
# time, each with its own token: the solo orderer runs inside each command.
# ---------------------------------------------------------------------------
node_a=(--data "$demo/node-a" --token hospital-a --pin "$user_pin")
umask 077
openssl rand -hex 12 >"$demo/secrets/b-user.pin"
for who in dr-a pat-a dr-b pat-b; do openssl rand -hex 6 >"$demo/secrets/$who.pin"; done
umask 022
b_pin="file:$demo/secrets/b-user.pin"
node_b=(--data "$demo/node-b" --token hospital-b --pin "$b_pin")
pin() { echo "file:$demo/secrets/$1.pin"; }
refused() {  # runs a command that must fail; prints its error code
  if "$@" >"$demo/refused.out" 2>&1; then echo "UNEXPECTED: accepted"; exit 1; fi
  echo "refused as expected: $(grep -o 'medledger: [A-Z_]*' "$demo/refused.out" | head -1)"
}

step "Hospital B: its own token and CA (key in its token)"
"$ml" token init --label hospital-b --so-pin "$so_pin" --pin "$b_pin"
"$ml" ca init --token hospital-b --pin "$b_pin" --hospital hospital-b --ca-dir "$demo/b-ca"

step "Hospital B's node: signing and encryption keys in its token, node certificates from its CA"
"$ml" node init "${node_b[@]}" --hospital hospital-b --ca-dir "$demo/b-ca" --ledger "$demo/consortium"

step "Hospital A founds the consortium ledger (genesis: A's CA; proposers: A's and B's node keys)"
"$ml" node init "${node_a[@]}" --hospital hospital-a --ca-dir "$demo/ca" --ledger "$demo/consortium" \
  --genesis --consortium demo-consortium --admit-quorum 1 --proposer "$demo/node-b/node-signing.pub.pem"

step "Admitting hospital B: B's CA signs the request, A's CA countersigns (quorum 1)"
"$ml" hospital admit-request "${node_b[@]}" --out "$demo/b-admit.json"
"$ml" hospital admit "${node_a[@]}" --request "$demo/b-admit.json"
"$ml" node register "${node_b[@]}"

# ---------------------------------------------------------------------------
# The appliance over HTTPS: one `medledger serve` on 127.0.0.1 (a free port) hosts
# both hospitals' nodes ([[hospital]] tables, one shared ledger). Every call below
# is curl with a client certificate issued by the caller's hospital CA; its role
# (node, admin, auditor) decides what it may call. PINs travel only in request
# bodies built from the 0600 PIN files (never in argv: curl reads --data-binary @file).
# ---------------------------------------------------------------------------
tls="$demo/https"
mkdir -p "$tls"
issue() {  # issue CA_DIR TOKEN PIN ROLE ID [SAN]: a P-256 key (0600) and its certificate from the token CA
  local ca_dir=$1 token=$2 pin_source=$3 role=$4 id=$5 san=${6:-}
  (umask 077; openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tls/$id.key" 2>/dev/null)
  if [[ -n $san ]]; then
    openssl req -new -key "$tls/$id.key" -subj "/CN=$id" -addext "subjectAltName=$san" -out "$tls/$id.csr"
  else
    openssl req -new -key "$tls/$id.key" -subj "/CN=$id" -out "$tls/$id.csr"
  fi
  "$ml" ca issue --ca-dir "$ca_dir" --token "$token" --pin "$pin_source" --csr "$tls/$id.csr" --role "$role" \
    --id "$id" --out "$tls/$id.pem"
  echo "  $id: role $role, $(openssl x509 -in "$tls/$id.pem" -noout -issuer)"
}

step "TLS certificates: the server's (A's CA, 127.0.0.1) and clients' (role node/admin/auditor, each by its hospital CA)"
issue "$demo/ca" hospital-a "$user_pin" node node-a-tls "IP:127.0.0.1,DNS:localhost"
cat "$tls/node-a-tls.pem" "$demo/ca/ca.pem" >"$tls/server-chain.pem"
issue "$demo/ca" hospital-a "$user_pin" node his-a
issue "$demo/ca" hospital-a "$user_pin" admin admin-a
issue "$demo/ca" hospital-a "$user_pin" auditor auditor-a
issue "$demo/b-ca" hospital-b "$b_pin" node his-b
issue "$demo/b-ca" hospital-b "$b_pin" admin admin-b

step "Starting medledger serve on 127.0.0.1 (free port) with both hospitals' nodes"
cat >"$demo/serve.toml" <<TOML
[listen]
address = "127.0.0.1"
port = 0
[tls]
certificate = "$tls/server-chain.pem"
private_key = "$tls/node-a-tls.key"
[log]
level = "info"
file = "$demo/serve.jsonl"
[[hospital]]
data_dir = "$demo/node-a"
token_label = "hospital-a"
token_pin = "$user_pin"
[[hospital]]
data_dir = "$demo/node-b"
token_label = "hospital-b"
token_pin = "$b_pin"
TOML
: >"$demo/serve.jsonl"
"$ml" serve --config "$demo/serve.toml" >"$demo/serve.out" 2>"$demo/serve.err" &
serve_pid=$!
trap 'kill "$serve_pid" 2>/dev/null || true' EXIT
port=""
for _ in $(seq 1 300); do
  port=$(grep -o '"event":"listening"[^}]*"port":[0-9]*' "$demo/serve.jsonl" | grep -o '[0-9]*$' | tail -1 || true)
  [[ -n $port ]] && break
  kill -0 "$serve_pid" 2>/dev/null || { echo "UNEXPECTED: serve exited"; cat "$demo/serve.err"; exit 1; }
  sleep 0.1
done
[[ -n $port ]] || { echo "UNEXPECTED: serve did not start listening"; cat "$demo/serve.err"; exit 1; }
url="https://127.0.0.1:$port"
echo "serving at $url (pid $serve_pid)"

field() { json_field "$demo/out.json" "$@"; }
# call WHO METHOD PATH [BODY_FILE]: curl with WHO's client certificate; the answer goes
# to $demo/out.json and its HTTP status to $status. The body file is removed after use.
call() {
  local who=$1 method=$2 path=$3 body=${4:-}
  local args=(-sS --cacert "$demo/ca/ca.pem" --cert "$tls/$who.pem" --key "$tls/$who.key"
              -o "$demo/out.json" -w '%{http_code}' -X "$method" "$url$path")
  [[ -n $body ]] && args+=(-H 'Content-Type: application/json' --data-binary "@$body")
  status=$(curl "${args[@]}")
  [[ -z $body ]] || rm -f "$body"
}
expect() {  # expect STATUS [CODE]: the last answer had this status (and error code)
  local code=""
  [[ -n ${2:-} ]] && code=$(field error code 2>/dev/null || true)
  if [[ $status != "$1" || ${2:-} != "$code" ]]; then
    echo "UNEXPECTED: HTTP $status $(cat "$demo/out.json")  (expected $1 ${2:-})"; exit 1
  fi
  if [[ -n ${2:-} ]]; then echo "refused as expected: HTTP $status $code"; else echo "HTTP $status"; fi
}

step "GET /healthz (no client certificate needed): tokens reachable, ledger writable"
curl -sS --cacert "$demo/ca/ca.pem" "$url/healthz"; echo

step "Admins enrol a doctor and a patient at A and a doctor at B (POST /v1/persons: keys in the tokens, cert.register)"
json "$demo/b.json" role=doctor id=dr-a pin=@"$demo/secrets/dr-a.pin"
call admin-a POST /v1/persons "$demo/b.json"; expect 201; echo "  $(field principal)"
json "$demo/b.json" role=patient id=pat-a pin=@"$demo/secrets/pat-a.pin"
call admin-a POST /v1/persons "$demo/b.json"; expect 201; echo "  $(field principal)"
json "$demo/b.json" role=doctor id=dr-b pin=@"$demo/secrets/dr-b.pin"
call admin-b POST /v1/persons "$demo/b.json"; expect 201; echo "  $(field principal)"

step "A's hospital system stores a dual-verified record (POST /v1/records: doctor PIN + patient PIN + node endorsement)"
printf '{"resourceType":"Observation","status":"final","code":{"text":"blood pressure"},"valueString":"120/80"}' \
  >"$demo/rec-1.json"
payload=$(python3 -c 'import base64,sys; print(base64.urlsafe_b64encode(open(sys.argv[1],"rb").read()).decode().rstrip("="))' "$demo/rec-1.json")
json "$demo/b.json" record_id=rec-1 doctor=hospital-a/dr-a patient=hospital-a/pat-a content_type=application/fhir+json \
  payload="$payload" doctor_pin=@"$demo/secrets/dr-a.pin" patient_pin=@"$demo/secrets/pat-a.pin"
call his-a POST /v1/records "$demo/b.json"; expect 201
echo "  receipt: $(field result_name), tx $(field tx_id)"

step "A record signed by the doctor only is refused by the contract (prepare, doctor signs, submit)"
json "$demo/b.json" record_id=rec-2 doctor=hospital-a/dr-a patient=hospital-a/pat-a content_type=application/fhir+json \
  payload="$payload"
call his-a POST /v1/records/prepare "$demo/b.json"; expect 200
tx=$(field tx); tx_id=$(field tx_id)
json "$demo/b.json" digest="$tx_id" pin=@"$demo/secrets/dr-a.pin"
call his-a POST /v1/persons/dr-a/sign "$demo/b.json"; expect 200
python3 - "$demo/out.json" "$tx" "$demo/b.json" <<'PY'
import json, sys
signed = json.load(open(sys.argv[1]))
sig = {"cert": signed["cert"], "sig": signed["sig"], "alg": signed["alg"]}
json.dump({"tx": sys.argv[2], "signatures": [sig]}, open(sys.argv[3], "w"))
PY
call his-a POST /v1/transactions "$demo/b.json"; expect 422 PATIENT_SIGNATURE_MISSING

step "Hospital B's system reads before any grant: refused"
json "$demo/b.json" doctor=hospital-b/dr-b doctor_pin=@"$demo/secrets/dr-b.pin" purpose="second opinion"
call his-b POST /v1/records/rec-1/read "$demo/b.json"; expect 403 READ_NOT_AUTHORIZED

step "The patient grants hospital B (POST /v1/grants: patient PIN + node; the patient key wrapped for B's node key)"
json "$demo/b.json" patient=hospital-a/pat-a grantee=hospital-b patient_pin=@"$demo/secrets/pat-a.pin"
call his-a POST /v1/grants "$demo/b.json"; expect 201; echo "  receipt: $(field result_name)"

step "Hospital B's doctor reads the record (decrypted with B's token key; record.read on the ledger)"
json "$demo/b.json" doctor=hospital-b/dr-b doctor_pin=@"$demo/secrets/dr-b.pin" purpose="second opinion"
call his-b POST /v1/records/rec-1/read "$demo/b.json"; expect 200
echo "  basis: $(field basis)"
echo "  payload: $(field payload | python3 -c 'import base64,sys; s=sys.stdin.read().strip(); print(base64.urlsafe_b64decode(s+"="*(-len(s)%4)).decode())')"

step "The auditor's export shows B's read (POST /v1/audit/export with an auditor certificate)"
json "$demo/b.json" patient=hospital-a/pat-a
call auditor-a POST /v1/audit/export "$demo/b.json"; expect 200
if ! grep -q '\\"doctor\\":\\"hospital-b/dr-b\\"\|"doctor":"hospital-b/dr-b"' "$demo/out.json"; then
  echo "UNEXPECTED: the export does not show hospital-b/dr-b's read"; exit 1
fi
echo "  the export lists the read by hospital-b/dr-b (grant:hospital-b)"

step "The patient revokes hospital B's access (POST /v1/grants/revoke)"
json "$demo/b.json" patient=hospital-a/pat-a grantee=hospital-b patient_pin=@"$demo/secrets/pat-a.pin"
call his-a POST /v1/grants/revoke "$demo/b.json"; expect 200; echo "  receipt: $(field result_name)"

step "Hospital B's next read is refused"
json "$demo/b.json" doctor=hospital-b/dr-b doctor_pin=@"$demo/secrets/dr-b.pin" purpose="second opinion"
call his-b POST /v1/records/rec-1/read "$demo/b.json"; expect 422 GRANT_REVOKED

step "Stopping the server (SIGTERM: in-flight requests finish, then it exits)"
kill -TERM "$serve_pid"
serve_status=0
wait "$serve_pid" || serve_status=$?
trap - EXIT
[[ $serve_status -eq 0 ]] || { echo "UNEXPECTED: serve exited with $serve_status"; cat "$demo/serve.err"; exit 1; }
echo "serve exited cleanly"

step "Verifying the consortium ledger from genesis (hashes, signatures, every contract decision, state)"
"$ml" ledger verify --path "$demo/consortium"

step "Done: everything is under $demo"
