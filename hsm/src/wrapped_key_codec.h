// Internal: the wrapped-key blob codec's pieces that the store's fast paths use.
#pragma once

#include <optional>

#include "medledger/hsm/wrapped_key.h"

namespace medledger::hsm::detail {

inline constexpr std::size_t kMaxKekIdSize = 255;  // one length byte
inline constexpr std::size_t kMaxWrappedPrivateKey =
    1024;  // PKCS#8 of P-256/Ed25519 wrapped is < 200 bytes

/// The fixed header of a blob: enough to pick the mechanism and check the KEK
/// without decoding the rest. Bad magic, version, algorithm or truncation is
/// kWrappedKeyInvalid. Pure, no allocation.
struct BlobHeader {
  core::KeyAlgorithm algorithm;
  core::ByteView kek_id;
  CK_MECHANISM_TYPE wrap_mechanism;  // version 1: CKM_AES_KEY_WRAP_PAD
  WrapFormat wrap_format;            // version 1: RFC 5649
};
core::Result<BlobHeader> read_blob_header(core::ByteView blob);

/// decode_wrapped_key without the OpenSSL parse of the SPKI: for blobs whose key
/// pair was already checked (the parse costs more than a token signature).
core::Result<WrappedKey> decode_wrapped_key_fields(core::ByteView blob);

/// "wrapped key: <why>" as kWrappedKeyInvalid.
core::Error invalid_wrapped_key(const std::string& why);

}  // namespace medledger::hsm::detail
