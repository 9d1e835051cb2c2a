#include "medledger/core/signer.h"

#include <openssl/err.h>

#include <list>
#include <map>
#include <mutex>
#include <optional>

#include "medledger/core/openssl.h"
#include "verified_signatures.h"

namespace medledger::core {

std::string_view key_algorithm_name(KeyAlgorithm algorithm) {
  switch (algorithm) {
    case KeyAlgorithm::kEcdsaP256:
      return "ecdsa-p256";
    case KeyAlgorithm::kEd25519:
      return "ed25519";
  }
  return "unknown";
}

Result<KeyAlgorithm> parse_key_algorithm(std::string_view name) {
  if (name == "ecdsa-p256" || name == "p256" || name == "ec") return KeyAlgorithm::kEcdsaP256;
  if (name == "ed25519") return KeyAlgorithm::kEd25519;
  return make_error(ErrorCode::kUnsupportedAlgorithm,
                    "unknown key algorithm '" + std::string(name) + "' (ecdsa-p256 or ed25519)");
}

namespace {

// What verification needs of a parsed key, decided once per key.
enum class VerifyKind { kEd25519, kEcdsaP256 };
struct ParsedKey {
  std::shared_ptr<EVP_PKEY>
      key;  // shared: OpenSSL 3 allows concurrent verifications with one EVP_PKEY
  VerifyKind kind = VerifyKind::kEcdsaP256;
};

// LRU of parsed keys by SHA-256(SPKI). The lock covers only the map and list;
// parsing happens outside it (two threads may parse the same key once each).
class VerifyKeyCache {
 public:
  std::optional<ParsedKey> find(const Digest& id) {
    std::lock_guard<std::mutex> guard(mutex_);
    auto it = entries_.find(id);
    if (it == entries_.end()) {
      ++misses_;
      return std::nullopt;
    }
    ++hits_;
    order_.splice(order_.begin(), order_, it->second.position);  // most recently used first
    return it->second.parsed;
  }
  void insert(const Digest& id, ParsedKey parsed) {
    std::lock_guard<std::mutex> guard(mutex_);
    if (entries_.count(id) != 0) return;
    if (entries_.size() >= kVerifyKeyCacheCapacity) {
      entries_.erase(order_.back());
      order_.pop_back();
    }
    order_.push_front(id);
    entries_.emplace(id, Entry{std::move(parsed), order_.begin()});
  }
  VerifyKeyCacheStats stats() {
    std::lock_guard<std::mutex> guard(mutex_);
    return {entries_.size(), hits_, misses_};
  }
  void clear() {
    std::lock_guard<std::mutex> guard(mutex_);
    entries_.clear();
    order_.clear();
    hits_ = misses_ = 0;
  }

 private:
  struct Entry {
    ParsedKey parsed;
    std::list<Digest>::iterator position;
  };
  std::mutex mutex_;
  std::list<Digest> order_;
  std::map<Digest, Entry> entries_;
  std::uint64_t hits_ = 0;
  std::uint64_t misses_ = 0;
};

VerifyKeyCache& verify_key_cache() {
  static VerifyKeyCache cache;  // process-wide; thread-safe initialisation
  return cache;
}

Result<ParsedKey> parse_for_verify(ByteView public_key_spki) {
  EvpPkeyPtr key = parse_public_key_spki(public_key_spki.data(), public_key_spki.size());
  if (!key) {
    ERR_clear_error();
    return make_error(ErrorCode::kMalformedEncoding,
                      "public key is not a DER SubjectPublicKeyInfo");
  }
  int id = EVP_PKEY_get_base_id(key.get());
  if (id == EVP_PKEY_ED25519)
    return ParsedKey{std::shared_ptr<EVP_PKEY>(key.release(), EVP_PKEY_free), VerifyKind::kEd25519};
  if (id == EVP_PKEY_EC) {
    char group[64] = {};
    size_t len = 0;
    if (EVP_PKEY_get_group_name(key.get(), group, sizeof group, &len) != 1 ||
        std::string_view(group) != "prime256v1") {
      return make_error(ErrorCode::kUnsupportedAlgorithm, "EC key is not on P-256");
    }
    return ParsedKey{std::shared_ptr<EVP_PKEY>(key.release(), EVP_PKEY_free),
                     VerifyKind::kEcdsaP256};
  }
  return make_error(ErrorCode::kUnsupportedAlgorithm, "public key is neither P-256 nor Ed25519");
}

Result<ParsedKey> cached_key(const Digest& id, ByteView public_key_spki) {
  auto& cache = verify_key_cache();
  if (auto hit = cache.find(id)) return *hit;
  auto parsed = parse_for_verify(public_key_spki);
  if (!parsed) return parsed.error();  // not cached: a bad key costs its parse every time
  cache.insert(id, *parsed);
  return parsed;
}

}  // namespace

Result<KeyAlgorithm> key_algorithm_of_spki(ByteView public_key_spki) {
  // A key verified before is in the parsed-key cache: its kind answers without a
  // parse (an SPKI decode through OpenSSL 3's decoders costs more than a verify).
  if (auto known = verify_key_cache().find(sha256(public_key_spki))) {
    return known->kind == VerifyKind::kEd25519 ? KeyAlgorithm::kEd25519 : KeyAlgorithm::kEcdsaP256;
  }
  EvpPkeyPtr key = parse_public_key_spki(public_key_spki.data(), public_key_spki.size());
  if (!key) {
    ERR_clear_error();
    return make_error(ErrorCode::kMalformedEncoding,
                      "signer public key is not a DER SubjectPublicKeyInfo");
  }
  switch (EVP_PKEY_get_base_id(key.get())) {
    case EVP_PKEY_ED25519:
      return KeyAlgorithm::kEd25519;
    case EVP_PKEY_EC:
      return KeyAlgorithm::kEcdsaP256;  // the curve is checked on verify
    default:
      return make_error(ErrorCode::kUnsupportedAlgorithm,
                        "signer key is neither P-256 nor Ed25519");
  }
}

namespace {

Result<void> verify_with_key(const ParsedKey& parsed, const Digest& digest, ByteView signature) {
  EVP_PKEY* key = parsed.key.get();
  if (parsed.kind == VerifyKind::kEd25519) {
    EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key) != 1) {
      return openssl_error(ErrorCode::kCryptoError, "Ed25519 verify init");
    }
    int rc = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), digest.data(),
                              digest.size());
    ERR_clear_error();
    if (rc != 1)
      return make_error(ErrorCode::kSignatureInvalid, "Ed25519 signature does not verify");
    return success();
  }
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(key, nullptr));
  if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1) {
    return openssl_error(ErrorCode::kCryptoError, "ECDSA verify init");
  }
  int rc =
      EVP_PKEY_verify(ctx.get(), signature.data(), signature.size(), digest.data(), digest.size());
  ERR_clear_error();
  if (rc != 1) return make_error(ErrorCode::kSignatureInvalid, "ECDSA signature does not verify");
  return success();
}

}  // namespace

Result<void> verify_digest_signature(ByteView public_key_spki, const Digest& digest,
                                     ByteView signature) {
  const Digest key_id = sha256(public_key_spki);
  const Digest memo_key = detail::verified_signature_key(key_id, digest, signature);
  if (detail::verified_signature_known(memo_key)) return success();
  MEDLEDGER_TRY_ASSIGN(auto parsed, cached_key(key_id, public_key_spki));
  MEDLEDGER_TRY(verify_with_key(parsed, digest, signature));
  detail::remember_verified_signature(memo_key);
  return success();
}

Result<void> verify_digest_signature_without_memo(ByteView public_key_spki, const Digest& digest,
                                                  ByteView signature) {
  MEDLEDGER_TRY_ASSIGN(auto parsed, cached_key(sha256(public_key_spki), public_key_spki));
  return verify_with_key(parsed, digest, signature);
}

VerifyKeyCacheStats verify_key_cache_stats() { return verify_key_cache().stats(); }

void clear_verify_key_cache() { verify_key_cache().clear(); }

Digest public_key_fingerprint(ByteView public_key_spki) { return sha256(public_key_spki); }

}  // namespace medledger::core
