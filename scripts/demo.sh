#!/usr/bin/env bash
# The main job on the embedded default (one node, solo ordering), end to end:
# install what is missing, build, provision a SoftHSM2 token in a project-local
# directory, and drive the appliance through its command line, printing each step.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
preset="${PRESET:-release}"

step() { printf '\n== %s\n' "$*"; }

step "Installing missing Debian packages"
bash deploy/install-deps.sh
step "Building (preset $preset)"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)" | tail -1
ml="$root/build/$preset/app/medledger"

# A fresh, project-local SoftHSM2 token directory: nothing outside .medledger/ is touched.
demo="$root/.medledger/demo"
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

step "Enrolling a doctor and a patient at each hospital (keys in the token, cert.register, PIN as scrypt hash)"
"$ml" enrol doctor "${node_a[@]}" --id dr-a --person-pin "$(pin dr-a)"
"$ml" enrol patient "${node_a[@]}" --id pat-a --person-pin "$(pin pat-a)"
"$ml" enrol doctor "${node_b[@]}" --id dr-b --person-pin "$(pin dr-b)"
"$ml" enrol patient "${node_b[@]}" --id pat-b --person-pin "$(pin pat-b)"

step "Storing a dual-verified record at A: doctor PIN + patient PIN + node endorsement"
printf '{"resourceType":"Observation","status":"final","code":{"text":"blood pressure"},"valueString":"120/80"}' \
  >"$demo/rec-1.json"
"$ml" record put "${node_a[@]}" --record rec-1 --doctor hospital-a/dr-a --patient hospital-a/pat-a \
  --file "$demo/rec-1.json" --doctor-pin "$(pin dr-a)" --patient-pin "$(pin pat-a)"
"$ml" record history "${node_a[@]}" --record rec-1

step "A record signed by the doctor only (no patient signature) is refused by the contract"
"$ml" record prepare "${node_a[@]}" --record rec-2 --doctor hospital-a/dr-a --patient hospital-a/pat-a \
  --file "$demo/rec-1.json" --out "$demo/rec-2.tx.json"
"$ml" record sign "${node_a[@]}" --tx "$demo/rec-2.tx.json" --as hospital-a/dr-a --person-pin "$(pin dr-a)"
refused "$ml" record submit "${node_a[@]}" --tx "$demo/rec-2.tx.json"

step "Hospital B's doctor reads before any grant: refused (logged by the node, not on the ledger)"
refused "$ml" record get "${node_b[@]}" --record rec-1 --doctor hospital-b/dr-b --doctor-pin "$(pin dr-b)" \
  --purpose "second opinion"

step "The patient grants hospital B (patient PIN + node; the patient key wrapped for B's node key)"
"$ml" access grant "${node_a[@]}" --patient hospital-a/pat-a --grantee hospital-b --patient-pin "$(pin pat-a)"

step "Hospital B's doctor reads the record (decrypted with B's token key; record.read on the ledger)"
"$ml" record get "${node_b[@]}" --record rec-1 --doctor hospital-b/dr-b --doctor-pin "$(pin dr-b)" \
  --purpose "second opinion"

step "The audit trail shows the read; certificate chains verify with openssl"
"$ml" audit export "${node_a[@]}" --patient hospital-a/pat-a --out "$demo/audit"
echo "read entry: $(grep -o '"basis":"grant:hospital-b","doctor":"hospital-b/dr-b"' "$demo/audit/audit.json")"
for chain in "$demo"/audit/*-chain.pem; do
  echo "$(basename "$chain"): $(openssl verify -CAfile "$chain" "$chain" | sed 's/^.*: //')"
done

step "The patient revokes hospital B's access (the patient key is rotated for later records)"
"$ml" access revoke "${node_a[@]}" --patient hospital-a/pat-a --grantee hospital-b --patient-pin "$(pin pat-a)"

step "Hospital B's next read is refused"
refused "$ml" record get "${node_b[@]}" --record rec-1 --doctor hospital-b/dr-b --doctor-pin "$(pin dr-b)" \
  --purpose "second opinion"

step "Verifying the consortium ledger from genesis (hashes, signatures, every contract decision, state)"
"$ml" ledger verify --path "$demo/consortium"

step "Done: everything is under $demo"
