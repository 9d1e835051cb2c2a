#!/usr/bin/env python3
"""Transaction test vectors: an implementation of docs/transactions.md independent of
the C++ code (Python standard library only: json + hashlib).

  transactions_vectors.py check FILE     verify every valid vector of FILE: the input is
                                         canonical, and its signing bytes and tx_id match
  transactions_vectors.py generate FILE  (re)write FILE from the definitions below; the
                                         worked example is signed with `openssl pkeyutl`

The C++ suite (tests/ledger/transaction_test.cpp) checks the same file with the C++
codec, so the two implementations must agree byte for byte.
"""
import base64
import hashlib
import json
import subprocess
import sys
import tempfile

MAX_INTEGER = 2**53 - 1

# RFC 8032 section 7.1 TEST 1 secret key, as PKCS#8 PEM: the worked example's signer.
WORKED_EXAMPLE_KEY_PEM = """-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g
-----END PRIVATE KEY-----
"""
WORKED_EXAMPLE_SPKI_HEX = "302a300506032b6570032100d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def utf16_key(name: str) -> bytes:
    return name.encode("utf-16-be")


def escape_string(s: str) -> str:
    out = ['"']
    short = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
    for ch in s:
        if ch in short:
            out.append(short[ch])
        elif ord(ch) < 0x20:
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def canonicalize(value) -> str:
    """RFC 8785 restricted to objects, arrays, strings and integers."""
    if isinstance(value, bool) or value is None or isinstance(value, float):
        raise ValueError("outside the restricted schema")
    if isinstance(value, int):
        if abs(value) > MAX_INTEGER:
            raise ValueError("integer out of range")
        return str(value)
    if isinstance(value, str):
        return escape_string(value)
    if isinstance(value, list):
        return "[" + ",".join(canonicalize(v) for v in value) + "]"
    if isinstance(value, dict):
        members = sorted(value.items(), key=lambda kv: utf16_key(kv[0]))
        return "{" + ",".join(escape_string(k) + ":" + canonicalize(v) for k, v in members) + "}"
    raise ValueError("unknown kind")


def no_duplicates(pairs):
    names = [k for k, _ in pairs]
    if len(names) != len(set(names)):
        raise ValueError("duplicate member name")
    return dict(pairs)


def signing_bytes(tx: dict) -> bytes:
    covered = {k: v for k, v in tx.items() if k != "signatures"}
    return canonicalize(covered).encode("utf-8")


def check(path: str) -> int:
    with open(path, encoding="utf-8") as f:
        vectors = json.load(f)
    failures = 0
    for v in vectors["valid"]:
        tx = json.loads(v["input"], object_pairs_hook=no_duplicates)
        problems = []
        if canonicalize(tx) != v["input"]:
            problems.append("input is not canonical")
        sb = signing_bytes(tx)
        if sb.hex() != v["signing_bytes_hex"]:
            problems.append("signing bytes differ")
        if hashlib.sha256(sb).hexdigest() != v["tx_id_hex"]:
            problems.append("tx_id differs")
        if problems:
            failures += 1
            print("FAIL %s: %s" % (v["name"], ", ".join(problems)))
    for v in vectors["invalid"]:
        if ("input" in v) == ("input_hex" in v) or not v.get("error"):
            failures += 1
            print("FAIL %s: an invalid vector needs one input and an error" % v.get("name"))
    print("%d valid and %d invalid vectors, %d failures" % (len(vectors["valid"]), len(vectors["invalid"]), failures))
    return 1 if failures else 0


def sign_ed25519(digest: bytes) -> bytes:
    with tempfile.NamedTemporaryFile("w", suffix=".pem") as key, tempfile.NamedTemporaryFile("wb") as data:
        key.write(WORKED_EXAMPLE_KEY_PEM)
        key.flush()
        data.write(digest)
        data.flush()
        return subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", key.name, "-in", data.name],
                              check=True, capture_output=True).stdout


NONCE = bytes(range(16))
CERT_A = hashlib.sha256(b"doctor certificate DER").digest()
CERT_B = hashlib.sha256(b"patient certificate DER").digest()
CERT_C = hashlib.sha256(b"node certificate DER").digest()
FAKE_DER_SIG = bytes([0x30, 0x44, 0x02, 0x20]) + bytes(range(32)) + bytes([0x02, 0x20]) + bytes(range(32, 64))


def tx(type_, body, signatures=(), time=1700000000000, nonce=NONCE):
    return {"type": type_, "time": time, "nonce": b64url(nonce), "body": body, "signatures": list(signatures)}


def sig(alg, cert, data):
    return {"alg": alg, "cert": b64url(cert), "sig": b64url(data)}


def valid_definitions():
    return [
        ("minimal record.read", tx("record.read", {})),
        ("unicode member names sort by UTF-16 code units",
         tx("record.put", {"\ue000": "private use", "\U0001F600": "astral, sorts before U+E000",
                           "\u00e9": "e acute", "a": "ascii", "Z": "upper", "\u20ac": "euro", "": "empty"})),
        ("string escapes",
         tx("record.put", {"controls": "".join(chr(c) for c in range(0x20)),
                           "specials": "quote\" backslash\\ slash/ del\x7f ls\u2028 nbsp\u00a0",
                           "unicode": "\u00fc\u4e2d\U0001F3E5"})),
        ("nested objects and arrays",
         tx("access.grant", {"grant": {"scope": [["r", ["x", {}]], {"b": [], "a": {"c": {"d": [1, [2, [3]]]}}}],
                                       "grantee": {"hospital": "H2"}}, "empty": []})),
        ("integer limits",
         tx("cert.revoke", {"max": MAX_INTEGER, "min": -MAX_INTEGER, "zero": 0, "minus_one": -1},
            time=MAX_INTEGER)),
        ("time zero and 64-byte nonce", tx("genesis", {"config": {"hospitals": []}}, time=0, nonce=bytes(64))),
        ("record.put with three signatures",
         tx("record.put", {"record": "rec-1", "version": 1, "ciphertext_sha256": b64url(hashlib.sha256(b"c").digest()),
                           "content_type": "application/fhir+json"},
            [sig("ecdsa-p256", CERT_A, FAKE_DER_SIG), sig("ecdsa-p256", CERT_B, FAKE_DER_SIG[::-1]),
             sig("ed25519", CERT_C, bytes(64))])),
    ]


def worked_example():
    t = tx("access.grant", {"patient": "P-7f3a", "grantee": "hospital-B", "scope": ["record/rec-1"],
                            "expires": 1735689600000}, time=1717171717171)
    digest = hashlib.sha256(signing_bytes(t)).digest()
    cert = hashlib.sha256(b"example certificate DER").digest()
    t["signatures"] = [sig("ed25519", cert, sign_ed25519(digest))]
    return t


def invalid_definitions():
    good = canonicalize(tx("record.read", {"record": "rec-1"}))
    def replace(old, new):
        assert old in good, old
        return good.replace(old, new, 1)
    inv = [
        ("not JSON", "{", "TX_MALFORMED"),
        ("top level is an array", "[]", "TX_MALFORMED"),
        ("whitespace", good.replace(",", ", ", 1), "TX_NOT_CANONICAL"),
        ("members not sorted", '{"type":"record.read",' + good[1:].replace(',"type":"record.read"', ""),
         "TX_NOT_CANONICAL"),
        ("escaped non-ASCII", replace('"rec-1"', '"r\\u00e9c"'), "TX_NOT_CANONICAL"),
        ("escaped slash", replace('"rec-1"', '"rec\\/1"'), "TX_NOT_CANONICAL"),
        ("uppercase hex escape", replace('"rec-1"', '"rec\\u001F"'), "TX_NOT_CANONICAL"),
        ("missing signatures", replace(',"signatures":[]', ""), "TX_MALFORMED"),
        ("missing body", replace('"body":{"record":"rec-1"},', ""), "TX_MALFORMED"),
        ("unknown top-level member", replace('"body"', '"aaa":"x","body"'), "TX_MALFORMED"),
        ("fractional time", replace('"time":1700000000000', '"time":1700000000000.5'), "TX_MALFORMED"),
        ("exponent time", replace('"time":1700000000000', '"time":17e11'), "TX_MALFORMED"),
        ("time as string", replace('"time":1700000000000', '"time":"1700000000000"'), "TX_MALFORMED"),
        ("negative time", replace('"time":1700000000000', '"time":-1'), "TX_MALFORMED"),
        ("time beyond 2^53-1", replace('"time":1700000000000', '"time":9007199254740992'), "TX_MALFORMED"),
        ("leading zero", replace('"time":1700000000000', '"time":01700000000000'), "TX_MALFORMED"),
        ("minus zero in body", replace('"rec-1"', "-0"), "TX_MALFORMED"),
        ("body is an array", replace('{"record":"rec-1"}', '["rec-1"]'), "TX_MALFORMED"),
        ("boolean in body", replace('"rec-1"', "true"), "TX_MALFORMED"),
        ("null in body", replace('"rec-1"', "null"), "TX_MALFORMED"),
        ("duplicate member in body", replace('{"record":"rec-1"}', '{"record":"rec-1","record":"rec-1"}'),
         "TX_MALFORMED"),
        ("lone surrogate escape", replace('"rec-1"', '"\\ud800"'), "TX_MALFORMED"),
        ("nonce with padding", replace('"nonce":"' + b64url(NONCE) + '"', '"nonce":"' + b64url(NONCE) + '=="'),
         "TX_MALFORMED"),
        ("nonce in base64 not base64url", replace('"nonce":"' + b64url(NONCE) + '"',
                                                  '"nonce":"' + b64url(bytes([0xfb] * 16)).replace("-", "+") + '"'),
         "TX_MALFORMED"),
        ("nonce of 8 bytes", replace('"nonce":"' + b64url(NONCE) + '"', '"nonce":"' + b64url(bytes(8)) + '"'),
         "TX_MALFORMED"),
        ("nonce of 65 bytes", replace('"nonce":"' + b64url(NONCE) + '"', '"nonce":"' + b64url(bytes(65)) + '"'),
         "TX_MALFORMED"),
        ("unknown type", replace('"type":"record.read"', '"type":"record.delete"'), "TX_UNKNOWN_TYPE"),
        ("empty type", replace('"type":"record.read"', '"type":""'), "TX_MALFORMED"),
        ("type is an integer", replace('"type":"record.read"', '"type":7'), "TX_MALFORMED"),
        ("signatures is an object", replace('"signatures":[]', '"signatures":{}'), "TX_MALFORMED"),
    ]
    def with_sigs(sigs):
        return replace('"signatures":[]', '"signatures":' + canonicalize(sigs))
    ok = sig("ed25519", CERT_A, bytes(64))
    inv += [
        ("unknown algorithm", with_sigs([sig("rsa-pss", CERT_A, bytes(64))]), "TX_MALFORMED"),
        ("algorithm alias", with_sigs([sig("p256", CERT_A, FAKE_DER_SIG)]), "TX_MALFORMED"),
        ("certificate fingerprint of 31 bytes", with_sigs([sig("ed25519", CERT_A[:31], bytes(64))]), "TX_MALFORMED"),
        ("empty signature", with_sigs([sig("ed25519", CERT_A, b"")]), "TX_MALFORMED"),
        ("signature of 129 bytes", with_sigs([sig("ed25519", CERT_A, bytes(129))]), "TX_MALFORMED"),
        ("extra member in a signature", with_sigs([dict(ok, extra="x")]), "TX_MALFORMED"),
        ("signature without cert", with_sigs([{"alg": "ed25519", "sig": b64url(bytes(64))}]), "TX_MALFORMED"),
        ("signature is a string", with_sigs(["sig"]), "TX_MALFORMED"),
        ("two signatures by one certificate", with_sigs([ok, sig("ecdsa-p256", CERT_A, FAKE_DER_SIG)]),
         "TX_MALFORMED"),
        ("17 signatures", with_sigs([sig("ed25519", hashlib.sha256(bytes([i])).digest(), bytes(64))
                                     for i in range(17)]), "TX_MALFORMED"),
        ("body nested beyond the depth limit", replace('"rec-1"', "[" * 40 + "]" * 40), "TX_MALFORMED"),
    ]
    out = [{"name": n, "input": i, "error": e} for n, i, e in inv]
    out.append({"name": "invalid UTF-8 in a string", "error": "TX_MALFORMED",
                "input_hex": good.encode().replace(b"rec-1", b"rec\xc3\x28").hex()})
    out.append({"name": "overlong UTF-8 encoding", "error": "TX_MALFORMED",
                "input_hex": good.encode().replace(b"rec-1", b"rec\xc0\xaf").hex()})
    return out


def generate(path: str) -> int:
    valid = []
    for name, t in valid_definitions() + [("worked example (docs/transactions.md)", worked_example())]:
        sb = signing_bytes(t)
        valid.append({"name": name, "input": canonicalize(t), "signing_bytes_hex": sb.hex(),
                      "tx_id_hex": hashlib.sha256(sb).hexdigest()})
    document = {
        "about": "Transaction codec known answers; rules in docs/transactions.md. Generated and checked by "
                 "transactions_vectors.py, checked by tests/ledger/transaction_test.cpp.",
        "worked_example_signer_spki_hex": WORKED_EXAMPLE_SPKI_HEX,
        "valid": valid,
        "invalid": invalid_definitions(),
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(document, f, ensure_ascii=True, indent=1)
        f.write("\n")
    return check(path)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("check", "generate"):
        print(__doc__)
        sys.exit(2)
    sys.exit(check(sys.argv[2]) if sys.argv[1] == "check" else generate(sys.argv[2]))
