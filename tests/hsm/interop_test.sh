#!/usr/bin/env bash
# Interop: keys made by `medledger` are seen by a third-party client with the right
# label, CKA_ID and protection, and its signatures verify with the OpenSSL CLI.
# SoftHSM2 (default): a fresh token directory, `medledger token init`, OpenSC
# pkcs11-tool as the third party. NSS's softoken (libsoftokn3.so): a fresh database
# made by certutil (NSS has no C_InitToken slot), the module arguments in
# $MEDLEDGER_PKCS11_MODULE_ARGS, certutil -K as the third party (pkcs11-tool cannot
# pass initialisation arguments), and a KEK made without the SO.
#
# usage: interop_test.sh <medledger binary> [PKCS#11 module]
#
# Our tool gets its PINs from files (file:), never argv. pkcs11-tool can only take
# a user PIN on its command line; that is acceptable here, for a throwaway token,
# because it is the third-party client under comparison.
set -euo pipefail

medledger=${1:?usage: interop_test.sh <medledger binary> [module]}
module=${2:-/usr/lib/softhsm/libsofthsm2.so}
label=interop
so_pin=interop-so-4821
user_pin=interop-user-7365

work=$(mktemp -d "${TMPDIR:-/tmp}/medledger-interop-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$work/tokens" >"$work/softhsm2.conf"
export SOFTHSM2_CONF="$work/softhsm2.conf"
export MEDLEDGER_PKCS11_MODULE="$module"
unset MEDLEDGER_USER_PIN MEDLEDGER_SO_PIN MEDLEDGER_PKCS11_MODULE_ARGS
(umask 077 && printf '%s\n' "$so_pin" >"$work/so.pin" && printf '%s\n' "$user_pin" >"$work/user.pin")

fail() { echo "FAIL: $*" >&2; exit 1; }
p11tool() { pkcs11-tool --module "$module" --token-label "$label" "$@"; }
nss=false
[[ "$(basename "$module")" == libsoftokn3.so ]] && nss=true

# --- provision and generate with our tool -----------------------------------
if $nss; then
  mkdir "$work/nssdb"
  certutil -N -d "sql:$work/nssdb" -f "$work/user.pin"
  # The arguments go through a file source, never argv; they are checked never to be echoed.
  printf "configdir='sql:%s' certPrefix='' keyPrefix='' secmod='secmod.db' flags= tokens=<0x02=[configdir='sql:%s' tokenDescription='%s']>\n" \
    "$work/nssdb" "$work/nssdb" "$label" >"$work/module.args"
  export MEDLEDGER_PKCS11_MODULE_ARGS="$(cat "$work/module.args")"
  "$medledger" token list >"$work/init.out"
  grep -q "^$label" "$work/init.out" || fail "token list does not show $label: $(cat "$work/init.out")"
  if "$medledger" token init --label second --so-pin "file:$work/so.pin" --pin "file:$work/user.pin" >"$work/noinit.out" 2>&1; then
    fail "token init succeeded on NSS, which has no free slot"
  fi
  grep -q "TOKEN_NOT_FOUND" "$work/noinit.out" || fail "token init on NSS: $(cat "$work/noinit.out")"
  unset MEDLEDGER_PKCS11_MODULE_ARGS
  "$medledger" token list --module-args "file:$work/module.args" >>"$work/init.out"
  export MEDLEDGER_PKCS11_MODULE_ARGS="$(cat "$work/module.args")"
  "$medledger" key kek create --token "$label" --pin "file:$work/user.pin" --without-so >"$work/kek.out" 2>"$work/kek.err"
  grep -q "does not enforce CKA_WRAP_WITH_TRUSTED" "$work/kek.err" || fail "no trust warning: $(cat "$work/kek.err")"
  if grep -q "configdir" "$work"/*.out "$work/kek.err" "$work/noinit.out"; then fail "the module arguments were echoed"; fi
else
  "$medledger" token init --label "$label" --so-pin "file:$work/so.pin" --pin "file:$work/user.pin" >"$work/init.out"
fi
declare -A key_ids
for key in doctor-1 patient-1; do
  "$medledger" key generate --token "$label" --pin "file:$work/user.pin" --label "$key" >"$work/$key.out"
  id=$(sed -n 's/^id: //p' "$work/$key.out")
  [[ "$id" =~ ^[0-9a-f]{40}$ ]] || fail "key generate printed no 20-byte hex id for $key: $(cat "$work/$key.out")"
  key_ids[$key]=$id
done
[[ "${key_ids[doctor-1]}" != "${key_ids[patient-1]}" ]] || fail "two keys got the same CKA_ID"
if grep -rq -e "$user_pin" -e "$so_pin" "$work"/*.out; then fail "a PIN appeared in medledger output"; fi

# --- NSS: its own certutil lists them by CKA_ID and label -----------------------
if $nss; then
  certutil -K -d "sql:$work/nssdb" -f "$work/user.pin" >"$work/keys.txt" 2>&1
  for key in doctor-1 patient-1; do
    grep -Eq "ec +${key_ids[$key]} +$key\$" "$work/keys.txt" || fail "certutil -K does not list $key: $(cat "$work/keys.txt")"
  done
fi

# --- pkcs11-tool sees them, protected -----------------------------------------
$nss || p11tool --login --pin "$user_pin" --list-objects >"$work/objects.txt"
# One block per object: "Private Key Object; EC" / "Public Key Object; EC ..." then indented lines.
object_block() {  # <kind: Private|Public> <id>: the attribute lines of that object
  awk -v kind="$1" -v id="$2" '
    /^[A-Z]/ { if (inside && match_id) print block; block = $0; inside = ($0 ~ "^" kind " Key Object"); match_id = 0; next }
    { block = block "\n" $0; if ($1 == "ID:" && $2 == id) match_id = 1 }
    END { if (inside && match_id) print block }' "$work/objects.txt"
}
for key in doctor-1 patient-1; do
  $nss && break  # pkcs11-tool cannot load NSS (no initialisation arguments)
  id=${key_ids[$key]}
  private=$(object_block Private "$id")
  public=$(object_block Public "$id")
  [[ -n "$private" ]] || fail "pkcs11-tool lists no private key with ID $id ($key)"$'\n'"$(cat "$work/objects.txt")"
  [[ -n "$public" ]] || fail "pkcs11-tool lists no public key with ID $id ($key)"
  grep -q "label: *$key\$" <<<"$private" || fail "private key $id is not labelled $key: $private"
  grep -q "label: *$key\$" <<<"$public" || fail "public key $id is not labelled $key: $public"
  access=$(sed -n 's/^ *Access: *//p' <<<"$private")
  [[ "$access" == *"always sensitive"* ]] || fail "private key $key is not always sensitive: $access"
  [[ "$access" == *"never extractable"* ]] || fail "private key $key is not never-extractable: $access"
  # pkcs11-tool prints a bare "extractable" when CKA_EXTRACTABLE is TRUE.
  [[ "$(sed 's/never extractable//' <<<"$access")" != *extractable* ]] || fail "private key $key is extractable: $access"
  usage=$(sed -n 's/^ *Usage: *//p' <<<"$private")
  [[ "$usage" == "sign" ]] || fail "private key $key may do more than sign: $usage"
done

# --- our signature verifies with openssl, our public key is the token's ------
printf 'interop message' >"$work/message"
openssl dgst -sha256 -binary "$work/message" >"$work/digest.bin"
digest_hex=$(xxd -p -c 64 "$work/digest.bin")
"$medledger" key sign --token "$label" --pin "file:$work/user.pin" --label doctor-1 --digest "$digest_hex" >"$work/sig.hex"
xxd -r -p "$work/sig.hex" >"$work/sig.der"
openssl asn1parse -inform DER -in "$work/sig.der" >/dev/null || fail "the signature is not DER"
"$medledger" key export-public --token "$label" --pin "file:$work/user.pin" --label doctor-1 --out "$work/doctor-1.pem"
openssl pkeyutl -verify -pubin -inkey "$work/doctor-1.pem" -in "$work/digest.bin" -sigfile "$work/sig.der" >/dev/null ||
  fail "openssl pkeyutl does not verify the token signature"
openssl dgst -sha256 -verify "$work/doctor-1.pem" -signature "$work/sig.der" "$work/message" >/dev/null ||
  fail "openssl dgst does not verify the token signature over the message"
# ... and does NOT verify it over another message, or under the other key.
printf 'another message' >"$work/other"
if openssl dgst -sha256 -verify "$work/doctor-1.pem" -signature "$work/sig.der" "$work/other" >/dev/null 2>&1; then
  fail "the signature verified over a different message"
fi
"$medledger" key export-public --token "$label" --pin "file:$work/user.pin" --id "${key_ids[patient-1]}" --out "$work/patient-1.pem"
if openssl dgst -sha256 -verify "$work/patient-1.pem" -signature "$work/sig.der" "$work/message" >/dev/null 2>&1; then
  fail "doctor-1's signature verified under patient-1's key"
fi
if $nss; then
  echo "interop OK on NSS softoken: certutil lists ${#key_ids[@]} keys by CKA_ID and label; openssl verifies the signature"
  exit 0
fi
# The exported PEM is the key pkcs11-tool reads from the token.
p11tool --read-object --type pubkey --id "${key_ids[doctor-1]}" -o "$work/token-pub.der" >/dev/null 2>&1
openssl pkey -pubin -in "$work/doctor-1.pem" -outform DER -out "$work/exported-pub.der"
cmp -s "$work/token-pub.der" "$work/exported-pub.der" || fail "export-public differs from the token's public key"

echo "interop OK: pkcs11-tool sees ${#key_ids[@]} sensitive, never-extractable keys; openssl verifies the signature"
