#include <algorithm>
#include <array>

#include "medledger/core/assert.h"
#include "medledger/core/openssl.h"
#include "medledger/hsm/limits.h"
#include "medledger/hsm/token.h"
#include "wrapped_key_codec.h"

namespace medledger::hsm {

namespace {
using core::ErrorCode;
using detail::invalid_wrapped_key;

constexpr std::array<std::uint8_t, 4> kMagic = {'M', 'L', 'W', 'K'};
constexpr std::uint8_t kAlgorithmP256 = 1;
constexpr std::uint8_t kAlgorithmEd25519 = 2;
constexpr std::uint8_t kVersionWithoutMechanism = 1;  // CKM_AES_KEY_WRAP_PAD, RFC 5649
constexpr std::size_t kMaxFieldSize = 0xffff;         // two length bytes

void put_u16(core::Bytes& out, std::size_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v & 0xff));
}

// Reads length-prefixed fields off the front of a blob.
struct Reader {
  core::ByteView rest;
  std::optional<std::size_t> take_length(std::size_t width) {
    if (rest.size() < width) return std::nullopt;
    std::size_t v = 0;
    for (std::size_t i = 0; i < width; ++i) v = (v << 8) | rest[i];
    rest = rest.subspan(width);
    return v;
  }
  std::optional<core::ByteView> take(std::size_t size) {
    if (rest.size() < size) return std::nullopt;
    core::ByteView b = rest.first(size);
    rest = rest.subspan(size);
    return b;
  }
};

// The header fields; `reader` is left after the KEK id.
core::Result<detail::BlobHeader> read_header(core::ByteView blob, Reader& reader) {
  if (blob.size() > kMaxWrappedKeyBlob) {
    return invalid_wrapped_key("blob longer than " + std::to_string(kMaxWrappedKeyBlob) + " bytes");
  }
  if (blob.size() < kMagic.size() + 2 || !std::equal(kMagic.begin(), kMagic.end(), blob.begin())) {
    return invalid_wrapped_key("not a medledger wrapped-key blob (magic)");
  }
  reader.rest = blob.subspan(kMagic.size());
  detail::BlobHeader header{};
  auto version = reader.take_length(1);
  if (*version != kWrappedKeyVersion && *version != kVersionWithoutMechanism)
    return invalid_wrapped_key("unsupported version " + std::to_string(*version));
  auto algorithm = reader.take_length(1);
  if (*algorithm == kAlgorithmP256)
    header.algorithm = core::KeyAlgorithm::kEcdsaP256;
  else if (*algorithm == kAlgorithmEd25519)
    header.algorithm = core::KeyAlgorithm::kEd25519;
  else
    return invalid_wrapped_key("unknown algorithm " + std::to_string(*algorithm));
  header.wrap_mechanism = CKM_AES_KEY_WRAP_PAD;
  header.wrap_format = WrapFormat::kRfc5649;
  if (*version == kWrappedKeyVersion) {
    auto mechanism = reader.take_length(4);
    auto format = mechanism ? reader.take_length(1) : std::nullopt;
    if (!format) return invalid_wrapped_key("truncated");
    header.wrap_mechanism = *mechanism;
    if (*format == static_cast<std::uint8_t>(WrapFormat::kRfc5649))
      header.wrap_format = WrapFormat::kRfc5649;
    else if (*format == static_cast<std::uint8_t>(WrapFormat::kRfc3394Pkcs7))
      header.wrap_format = WrapFormat::kRfc3394Pkcs7;
    else
      return invalid_wrapped_key("unknown wrap format " + std::to_string(*format));
    // KWP is RFC 5649 by definition; only _PAD's output differs between tokens.
    const bool consistent =
        header.wrap_mechanism == CKM_AES_KEY_WRAP_PAD ||
        (header.wrap_mechanism == kCkmAesKeyWrapKwp && header.wrap_format == WrapFormat::kRfc5649);
    if (!consistent) {
      return invalid_wrapped_key("wrap mechanism " + mechanism_name(header.wrap_mechanism) +
                                 " with format " + wrap_format_name(header.wrap_format));
    }
  }
  auto kek_size = reader.take_length(1);
  auto kek_id = kek_size ? reader.take(*kek_size) : std::nullopt;
  if (!kek_id) return invalid_wrapped_key("truncated");
  if (kek_id->empty()) return invalid_wrapped_key("empty KEK id");
  header.kek_id = *kek_id;
  return header;
}
}  // namespace

const char* wrap_format_name(WrapFormat format) {
  return format == WrapFormat::kRfc5649 ? "RFC 5649" : "RFC 3394 with PKCS #7 padding";
}

core::Error detail::invalid_wrapped_key(const std::string& why) {
  return core::make_error(ErrorCode::kWrappedKeyInvalid, "wrapped key: " + why);
}

core::Result<detail::BlobHeader> detail::read_blob_header(core::ByteView blob) {
  Reader reader{};
  return read_header(blob, reader);
}

core::Bytes encode_wrapped_key(const WrappedKey& key) {
  MEDLEDGER_ASSERT(!key.kek_id.empty() && key.kek_id.size() <= detail::kMaxKekIdSize);
  MEDLEDGER_ASSERT(key.public_key_spki.size() <= kMaxFieldSize &&
                   key.wrapped_private_key.size() <= kMaxFieldSize);
  core::Bytes out(kMagic.begin(), kMagic.end());
  out.push_back(kWrappedKeyVersion);
  out.push_back(key.algorithm == core::KeyAlgorithm::kEcdsaP256 ? kAlgorithmP256
                                                                : kAlgorithmEd25519);
  MEDLEDGER_ASSERT(key.wrap_mechanism <= 0xffffffffUL);
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<std::uint8_t>((key.wrap_mechanism >> shift) & 0xff));
  out.push_back(static_cast<std::uint8_t>(key.wrap_format));
  out.push_back(static_cast<std::uint8_t>(key.kek_id.size()));
  out.insert(out.end(), key.kek_id.begin(), key.kek_id.end());
  put_u16(out, key.public_key_spki.size());
  out.insert(out.end(), key.public_key_spki.begin(), key.public_key_spki.end());
  put_u16(out, key.wrapped_private_key.size());
  out.insert(out.end(), key.wrapped_private_key.begin(), key.wrapped_private_key.end());
  return out;
}

core::Result<WrappedKey> detail::decode_wrapped_key_fields(core::ByteView blob) {
  Reader reader{};
  MEDLEDGER_TRY_ASSIGN(auto header, read_header(blob, reader));
  auto spki_size = reader.take_length(2);
  auto spki = spki_size ? reader.take(*spki_size) : std::nullopt;
  auto wrapped_size = reader.take_length(2);
  auto wrapped = wrapped_size ? reader.take(*wrapped_size) : std::nullopt;
  if (!spki || !wrapped) return invalid_wrapped_key("truncated");
  if (!reader.rest.empty()) return invalid_wrapped_key("trailing bytes");
  if (wrapped->empty() || wrapped->size() > kMaxWrappedPrivateKey) {
    return invalid_wrapped_key("wrapped private key has a bad size");
  }
  return WrappedKey{header.algorithm,
                    core::Bytes(header.kek_id.begin(), header.kek_id.end()),
                    core::Bytes(spki->begin(), spki->end()),
                    core::Bytes(wrapped->begin(), wrapped->end()),
                    header.wrap_mechanism,
                    header.wrap_format};
}

core::Result<WrappedKey> decode_wrapped_key(core::ByteView blob) {
  auto key = detail::decode_wrapped_key_fields(blob);
  if (!key) return key.error();
  core::EvpPkeyPtr public_key =
      core::parse_public_key_spki(key->public_key_spki.data(), key->public_key_spki.size());
  if (!public_key) {
    (void)core::openssl_error(ErrorCode::kWrappedKeyInvalid, "");  // drain OpenSSL's queue
    return invalid_wrapped_key("its public key is not a DER SubjectPublicKeyInfo");
  }
  int type = EVP_PKEY_get_base_id(public_key.get());
  bool expected = key->algorithm == core::KeyAlgorithm::kEcdsaP256 ? type == EVP_PKEY_EC
                                                                   : type == EVP_PKEY_ED25519;
  if (!expected) return invalid_wrapped_key("its public key does not match its algorithm");
  return key;
}

}  // namespace medledger::hsm
