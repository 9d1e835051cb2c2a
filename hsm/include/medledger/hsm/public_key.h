// Public keys as the token stores them (CKA_EC_PARAMS + CKA_EC_POINT) and as
// everything else wants them (DER SubjectPublicKeyInfo, PEM). Pure functions.
#pragma once

#include <string>

#include "medledger/core/bytes.h"
#include "medledger/core/result.h"
#include "medledger/core/signer.h"

namespace medledger::hsm {

/// DER OID of P-256 (prime256v1) as CKA_EC_PARAMS.
core::ByteView p256_ec_params();
/// DER OID of Ed25519 (1.3.101.112) as CKA_EC_PARAMS.
core::ByteView ed25519_ec_params();

/// The raw point from CKA_EC_POINT, accepting both forms tokens return: the bare
/// point (P-256: 0x04||X||Y, 65 bytes; Ed25519: 32 bytes) or the same wrapped in a
/// DER OCTET STRING (SoftHSM2, as PKCS#11 2.40 says). kMalformedEncoding if it is
/// neither for `algorithm`.
core::Result<core::Bytes> ec_point_raw(core::KeyAlgorithm algorithm, core::ByteView ec_point);

/// DER SubjectPublicKeyInfo for a CKA_EC_POINT in either form (see ec_point_raw).
core::Result<core::Bytes> spki_from_ec_point(core::KeyAlgorithm algorithm, core::ByteView ec_point);

/// "-----BEGIN PUBLIC KEY-----" PEM of a DER SubjectPublicKeyInfo.
std::string spki_to_pem(core::ByteView spki);

/// CKA_ID of a key: the first kKeyIdSize bytes of SHA-256(SPKI DER).
core::Bytes key_id_for(core::ByteView spki);

/// ECDSA signature as X9.62 DER from the raw r||s PKCS#11 returns (64 bytes for
/// P-256). kMalformedEncoding on a wrong length.
core::Result<core::Bytes> ecdsa_raw_to_der(core::ByteView raw);

}  // namespace medledger::hsm
