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

step "Done: everything is under $demo"
