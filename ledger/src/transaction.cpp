// Transaction codec: decoding and checking the wire form, signing bytes, tx_id,
// canonical encoding. Signing and verification are in transaction_signature.cpp.
#include "medledger/ledger/transaction.h"

#include <algorithm>
#include <string>

#include <boost/json/array.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>

#include "medledger/core/assert.h"
#include "medledger/core/canonical_json.h"

namespace medledger::ledger {
namespace {

namespace json = boost::json;
using core::ErrorCode;
using core::make_error;
using core::Result;

// Member names on the wire (docs/transactions.md).
constexpr std::string_view kTypeMember = "type";
constexpr std::string_view kTimeMember = "time";
constexpr std::string_view kNonceMember = "nonce";
constexpr std::string_view kBodyMember = "body";
constexpr std::string_view kSignaturesMember = "signatures";
constexpr std::string_view kAlgMember = "alg";
constexpr std::string_view kCertMember = "cert";
constexpr std::string_view kSigMember = "sig";

core::Error malformed(std::string what) {
  return make_error(ErrorCode::kTxMalformed, "transaction: " + std::move(what));
}

std::size_t effective_max_bytes(const TransactionLimits& limits) {
  return std::min(limits.max_bytes, kMaxTransactionBytesCeiling);
}
std::size_t effective_max_signatures(const TransactionLimits& limits) {
  return std::min(limits.max_signatures, kMaxTransactionSignatures);
}

Result<void> require_only_members(const json::object& object,
                                  std::initializer_list<std::string_view> names,
                                  std::string_view where) {
  for (std::string_view name : names) {
    if (!object.contains(name))
      return malformed(std::string(where) + " lacks member \"" + std::string(name) + "\"");
  }
  for (const auto& member : object) {
    if (std::find(names.begin(), names.end(), std::string_view(member.key())) == names.end()) {
      return malformed(std::string(where) + " has unknown member \"" + std::string(member.key()) +
                       "\"");
    }
  }
  return core::success();
}

Result<core::Bytes> base64url_member(const json::object& object, std::string_view name,
                                     std::size_t min_bytes, std::size_t max_bytes,
                                     std::string_view where) {
  const json::value& value = object.at(name);
  const std::string field = std::string(where) + "." + std::string(name);
  if (!value.is_string()) return malformed(field + " is not a string");
  auto bytes = core::base64url_decode(value.get_string());
  if (!bytes) return malformed(field + " is not base64url without padding");
  if (bytes->size() < min_bytes || bytes->size() > max_bytes) {
    return malformed(field + " must decode to " + std::to_string(min_bytes) + ".." +
                     std::to_string(max_bytes) + " bytes, got " + std::to_string(bytes->size()));
  }
  return bytes;
}

// The one spelling of an algorithm on the wire (core's parser also accepts CLI aliases).
Result<core::KeyAlgorithm> parse_wire_algorithm(const json::value& value) {
  if (!value.is_string()) return malformed("signature alg is not a string");
  for (core::KeyAlgorithm algorithm :
       {core::KeyAlgorithm::kEcdsaP256, core::KeyAlgorithm::kEd25519}) {
    if (value.get_string() == core::key_algorithm_name(algorithm)) return algorithm;
  }
  return malformed("signature alg \"" + std::string(value.get_string()) +
                   "\" is not ecdsa-p256 or ed25519");
}

Result<TransactionSignature> decode_signature(const json::value& value) {
  if (!value.is_object()) return malformed("a signature is not an object");
  const json::object& object = value.get_object();
  MEDLEDGER_TRY(require_only_members(object, {kAlgMember, kCertMember, kSigMember}, "signature"));
  TransactionSignature signature;
  auto algorithm = parse_wire_algorithm(object.at(kAlgMember));
  if (!algorithm) return algorithm.error();
  signature.algorithm = *algorithm;
  auto cert = base64url_member(object, kCertMember, kCertFingerprintBytes, kCertFingerprintBytes,
                               "signature");
  if (!cert) return cert.error();
  std::copy(cert->begin(), cert->end(), signature.cert_fingerprint.begin());
  MEDLEDGER_TRY_ASSIGN(auto sig,
                       base64url_member(object, kSigMember, 1, kMaxSignatureBytes, "signature"));
  signature.signature = std::move(sig);
  return signature;
}

Result<void> check_signatures(const std::vector<TransactionSignature>& signatures,
                              const TransactionLimits& limits) {
  if (signatures.size() > effective_max_signatures(limits)) {
    return malformed("more than " + std::to_string(effective_max_signatures(limits)) +
                     " signatures");
  }
  for (std::size_t i = 0; i < signatures.size(); ++i) {
    const TransactionSignature& s = signatures[i];
    if (s.signature.empty() || s.signature.size() > kMaxSignatureBytes) {
      return malformed("signature " + std::to_string(i) + " has a wrong length");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (signatures[j].cert_fingerprint == s.cert_fingerprint) {
        return malformed("two signatures name the same certificate");
      }
    }
  }
  return core::success();
}

// Checks of the covered fields shared by decode (after parsing) and check_transaction.
Result<void> check_covered_fields(const Transaction& tx) {
  if (tx.type.empty() || tx.type.size() > kMaxTypeNameBytes)
    return malformed("type has a wrong length");
  if (tx.time_ms < 0 || tx.time_ms > core::kMaxJsonInteger)
    return malformed("time is out of range");
  if (tx.nonce.size() < kMinNonceBytes || tx.nonce.size() > kMaxNonceBytes) {
    return malformed("nonce must be " + std::to_string(kMinNonceBytes) + ".." +
                     std::to_string(kMaxNonceBytes) + " bytes");
  }
  return core::success();
}

Result<void> check_type_known(const std::string& type) {
  if (is_known_transaction_type(type)) return core::success();
  return make_error(ErrorCode::kTxUnknownType, "transaction type \"" + type + "\" is not known");
}

json::object covered_object(const Transaction& tx) {
  json::object object;
  object.emplace(kTypeMember, json::string(tx.type));
  object.emplace(kTimeMember, tx.time_ms);
  object.emplace(kNonceMember, core::base64url_encode(tx.nonce));
  object.emplace(kBodyMember, tx.body);
  return object;
}

// The canonical text written directly, without copying the body into a new tree:
// the member names are fixed ASCII, so their RFC 8785 order is fixed too
// (body < nonce < signatures < time < type), and base64url and algorithm names
// never need escaping. Equal to canonicalize(covered_object + signatures) (tested).
std::string canonical_envelope(const Transaction& tx, bool with_signatures) {
  MEDLEDGER_ASSERT(tx.time_ms >= 0 && tx.time_ms <= core::kMaxJsonInteger);
  std::string out = "{\"body\":";
  out += core::canonicalize(tx.body);
  out += ",\"nonce\":\"";
  out += core::base64url_encode(tx.nonce);
  out += '"';
  if (with_signatures) {
    out += ",\"signatures\":[";
    for (std::size_t i = 0; i < tx.signatures.size(); ++i) {
      const TransactionSignature& s = tx.signatures[i];
      if (i > 0) out += ',';
      out += "{\"alg\":\"";
      out += core::key_algorithm_name(s.algorithm);
      out += "\",\"cert\":\"";
      out += core::base64url_encode(s.cert_fingerprint);
      out += "\",\"sig\":\"";
      out += core::base64url_encode(s.signature);
      out += "\"}";
    }
    out += ']';
  }
  out += ",\"time\":";
  out += std::to_string(tx.time_ms);
  out += ",\"type\":";
  out += core::canonicalize(json::value(json::string(tx.type)));
  out += '}';
  return out;
}

}  // namespace

bool is_known_transaction_type(std::string_view type) {
  const auto names = transaction_type_names();
  return std::find(names.begin(), names.end(), type) != names.end();
}

Result<Transaction> decode_transaction(std::string_view text, const TransactionLimits& limits) {
  const std::size_t max_bytes = effective_max_bytes(limits);
  if (text.size() > max_bytes) {
    return make_error(ErrorCode::kTxTooLarge, "transaction of " + std::to_string(text.size()) +
                                                  " bytes exceeds the limit of " +
                                                  std::to_string(max_bytes));
  }
  auto parsed = core::parse_restricted_json(text, max_bytes);
  if (!parsed) return malformed(parsed.error().message);
  if (!parsed->is_object()) return malformed("the top-level value is not an object");
  json::object& object = parsed->get_object();
  MEDLEDGER_TRY(require_only_members(
      object, {kTypeMember, kTimeMember, kNonceMember, kBodyMember, kSignaturesMember},
      "transaction"));

  Transaction tx;
  const json::value& type = object.at(kTypeMember);
  if (!type.is_string()) return malformed("type is not a string");
  tx.type = std::string(type.get_string());
  const json::value& time = object.at(kTimeMember);
  if (!time.is_int64()) return malformed("time is not an integer");
  tx.time_ms = time.get_int64();
  auto nonce =
      base64url_member(object, kNonceMember, kMinNonceBytes, kMaxNonceBytes, "transaction");
  if (!nonce) return nonce.error();
  tx.nonce = std::move(*nonce);
  json::value& body = object.at(kBodyMember);
  if (!body.is_object()) return malformed("body is not an object");
  tx.body = std::move(body.get_object());
  const json::value& signatures = object.at(kSignaturesMember);
  if (!signatures.is_array()) return malformed("signatures is not an array");
  if (signatures.get_array().size() > effective_max_signatures(limits)) {
    return malformed("more than " + std::to_string(effective_max_signatures(limits)) +
                     " signatures");
  }
  for (const json::value& value : signatures.get_array()) {
    MEDLEDGER_TRY_ASSIGN(auto signature, decode_signature(value));
    tx.signatures.push_back(std::move(signature));
  }
  MEDLEDGER_TRY(check_covered_fields(tx));
  MEDLEDGER_TRY(check_signatures(tx.signatures, limits));
  MEDLEDGER_TRY(check_type_known(tx.type));
  // One meaning, one spelling: the stored bytes are exactly the canonical encoding.
  if (encode_transaction(tx) != text) {
    return make_error(
        ErrorCode::kTxNotCanonical,
        "transaction is not in canonical form (RFC 8785: sorted members, no whitespace, "
        "minimal escapes); see docs/transactions.md");
  }
  return tx;
}

Result<void> check_transaction(const Transaction& tx, const TransactionLimits& limits) {
  MEDLEDGER_TRY(check_covered_fields(tx));
  // The whole covered object, so the depth limit counts the body's place in it.
  if (auto schema = core::check_restricted_schema(json::value(covered_object(tx))); !schema) {
    return malformed("body: " + schema.error().message);
  }
  MEDLEDGER_TRY(check_signatures(tx.signatures, limits));
  MEDLEDGER_TRY(check_type_known(tx.type));
  const std::size_t size = encode_transaction(tx).size();
  if (size > effective_max_bytes(limits)) {
    return make_error(ErrorCode::kTxTooLarge, "transaction of " + std::to_string(size) +
                                                  " bytes exceeds the limit of " +
                                                  std::to_string(effective_max_bytes(limits)));
  }
  return core::success();
}

std::string signing_bytes(const Transaction& tx) { return canonical_envelope(tx, false); }

core::Digest tx_id(const Transaction& tx) {
  return core::sha256(core::to_bytes(signing_bytes(tx)));
}

std::string encode_transaction(const Transaction& tx) { return canonical_envelope(tx, true); }

}  // namespace medledger::ledger
