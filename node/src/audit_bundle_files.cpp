// The two files every audit archive carries as written here: VERIFY.md (how to check
// each part with openssl and Python) and verify_proofs.py (RFC 9162 proofs, standard
// library only). verify_audit_archive compares them byte for byte.
#include "medledger/node/audit_bundle.h"

namespace medledger::node {
namespace {

constexpr std::string_view kVerifyMd = R"md(# Verifying this audit bundle

A medledger node wrote this archive for an auditor. Every part can be checked with
`openssl` (3.x) and Python 3's standard library, using nothing but the files here and
public keys. Unpack it and work in its directory:

    tar xf bundle.tar && cd audit-bundle

`medledger audit verify bundle.tar` makes all the checks below at once, offline, and
names the first member that does not match (exit code 77, `BUNDLE_MISMATCH`).

## Contents

| member | what it is |
|---|---|
| `checkpoint.txt` | signed note (C2SP tlog-checkpoint layout): origin, log size, base64 Merkle root, blank line, `— <origin> <base64(key id ‖ signature)>` |
| `checkpoint/body.txt` | the exact signed bytes: the note's first three lines, each ending in a newline |
| `checkpoint/signature.der` | the signature (ECDSA P-256, DER) over SHA-256(`body.txt`) by the exporting node's key |
| `checkpoint/signer.pem` | that node's certificate chain (leaf first) |
| `trail/<sequence>.json` | one logged transaction each (`kind`: genesis, admit, write, read, grant, revoke), its `result`, the transaction's bytes and its RFC 9162 inclusion proof to the checkpoint |
| `anchors.pem` | the hospital CA certificates named by the genesis and admission transactions in `trail/` |
| `chains/<fingerprint>.pem`, `chains/<fingerprint>.p7b` | the chain of every certificate that signed a trail entry (leaf first, then its hospital's CA certificates), as PEM and as PKCS#7 (DER, certificates only); the name is the SHA-256 of the leaf's DER in hex |
| `crl/<hospital>.crl.pem` | the current CRL of the exporting hospital's CA |
| `verify_proofs.py` | recomputes every inclusion proof up to the checkpoint's root |

## 1. Inclusion proofs

    python3 verify_proofs.py

prints `OK <n> entries ...` or the first entry whose proof fails. For each entry the leaf
hash is SHA-256(0x00 ‖ u16 big-endian `result` ‖ `transaction` bytes), interior nodes are
SHA-256(0x01 ‖ left ‖ right) (RFC 9162 section 2.1.1), and the proof is folded from
`sequence` under the checkpoint's size to its root (section 2.1.3.2). A transaction's
`tx_id` is the SHA-256 of its signing bytes: its canonical JSON without `signatures`.

## 2. The checkpoint's signature

    openssl x509 -in checkpoint/signer.pem -noout -pubkey > signer.pub
    openssl dgst -sha256 -verify signer.pub -signature checkpoint/signature.der checkpoint/body.txt

prints `Verified OK`. The two derived files are the note's own bytes:

    head -n 3 checkpoint.txt | cmp - checkpoint/body.txt
    tail -n 1 checkpoint.txt | awk '{print $3}' | base64 -d | tail -c +5 | cmp - checkpoint/signature.der

(the signature line carries a 4-byte key id, the first bytes of SHA-256(origin ‖ "\n" ‖
the key's SubjectPublicKeyInfo DER), before the signature). The signer's chain is
checked as any other (step 3): `checkpoint/signer.pem` is also in `chains/`.

## 3. Certificate chains

`anchors.pem` holds the CA certificates that the genesis transaction
(`trail/00000000000000000000.json`, body `hospitals[].ca_certs`) and the admissions
(`hospital.admit`, body `ca_certs`) put on the ledger; both are proved in step 1.
Compare them with the certificates your consortium published. Then, for every chain:

    for f in chains/*.pem; do openssl verify -CAfile anchors.pem -untrusted "$f" "$f"; done
    for f in chains/*.p7b; do openssl pkcs7 -inform DER -in "$f" -print_certs -noout; done
    openssl x509 -in chains/<fingerprint>.pem -outform DER | sha256sum

The PKCS#7 file holds the same certificates as the PEM file of the same name
(`openssl pkcs7 -inform DER -in F.p7b -print_certs` prints them). For a certificate that
has expired since it signed, add `-attime <unix seconds of the entry>` to `openssl verify`.

## 4. CRLs

    for f in crl/*.crl.pem; do openssl crl -in "$f" -CAfile anchors.pem -verify -noout; done

prints `verify OK`; `openssl crl -in F -text -noout` lists the revoked serials. To check a
leaf of that hospital against it:

    openssl verify -crl_check -CRLfile crl/<hospital>.crl.pem -CAfile anchors.pem \
        -untrusted chains/<fingerprint>.pem chains/<fingerprint>.pem

Certificates of other hospitals are checked against their own CAs' CRLs.
)md";

constexpr std::string_view kVerifyScript = R"py(#!/usr/bin/env python3
"""Recomputes the RFC 9162 inclusion proof of every trail entry of a medledger audit
bundle up to the root in checkpoint.txt. Standard library only.

Usage: python3 verify_proofs.py [BUNDLE_DIR]   (default: this file's directory)
Exit status 0 when every proof holds; 1 naming the first entry that does not.
"""
import base64
import hashlib
import json
import os
import sys


def b64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def interior(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_proof(index, size, leaf, proof):
    """RFC 9162 section 2.1.3.2; None when the proof cannot be folded."""
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = interior(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = interior(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def main():
    here = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "checkpoint.txt"), "rb") as f:
        lines = f.read().decode("utf-8").split("\n")
    origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True)
    trail = os.path.join(here, "trail")
    names = sorted(n for n in os.listdir(trail) if n.endswith(".json"))
    for name in names:
        try:
            with open(os.path.join(trail, name), "rb") as f:
                entry = json.loads(f.read().decode("utf-8"))
            leaf = hashlib.sha256(b"\x00" + entry["result"].to_bytes(2, "big") +
                                  entry["transaction"].encode("utf-8")).digest()
            proof = [b64url(h) for h in entry["inclusion_proof"]]
            sequence = entry["sequence"]
        except (ValueError, KeyError, TypeError, AttributeError, OverflowError) as e:
            print("MISMATCH trail/%s: not a trail entry (%s)" % (name, e))
            return 1
        if name != "%020d.json" % sequence:
            print("MISMATCH trail/%s: the file name is not its sequence" % name)
            return 1
        if root_from_proof(sequence, size, leaf, proof) != root:
            print("MISMATCH trail/%s: the inclusion proof does not lead to the root" % name)
            return 1
    print("OK %d entries prove into %s size %d root %s" % (len(names), origin, size, lines[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
)py";

}  // namespace

std::string_view audit_verify_md() { return kVerifyMd; }
std::string_view audit_verify_script() { return kVerifyScript; }

}  // namespace medledger::node
