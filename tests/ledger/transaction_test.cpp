// Transaction codec: known-answer vectors (tests/ledger/vectors/transactions.json),
// round trips, signatures with real keys, and every way a wire transaction is refused.
#include "medledger/ledger/transaction.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/string.hpp>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "medledger/core/canonical_json.h"
#include "medledger/core/software_signer.h"

namespace medledger::ledger {
namespace {

namespace json = boost::json;
using core::ErrorCode;

// RFC 8032 section 7.1 TEST 1 key: the signer of the worked example in docs/transactions.md.
constexpr std::string_view kWorkedExampleKeyPem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";

json::object load_vectors() {
  std::ifstream file(std::string(MEDLEDGER_LEDGER_VECTORS_DIR) + "/transactions.json");
  EXPECT_TRUE(file.good());
  std::stringstream text;
  text << file.rdbuf();
  boost::system::error_code ec;
  json::value vectors = json::parse(text.str(), ec);
  EXPECT_FALSE(ec) << ec.message();
  return vectors.is_object() ? vectors.get_object() : json::object();
}

std::string str(const json::value& v) { return std::string(v.as_string()); }

core::Digest digest_of(std::string_view text) { return core::sha256(core::to_bytes(text)); }

Transaction sample_transaction() {
  Transaction tx;
  tx.type = "record.put";
  tx.time_ms = 1700000000123;
  tx.nonce = core::Bytes(16, 0x5a);
  tx.body = json::object{{"record", "rec-9"}, {"version", 2}, {"tags", json::array{"b", "a"}}};
  return tx;
}

// --- Known answers ---

TEST(TransactionVectors, ValidVectorsDecodeAndGiveTheRecordedSigningBytesAndTxId) {
  const json::object vectors = load_vectors();
  const json::array& valid = vectors.at("valid").as_array();
  ASSERT_GE(valid.size(), 8u);
  for (const json::value& v : valid) {
    const std::string name = str(v.at("name"));
    const std::string input = str(v.at("input"));
    auto tx = decode_transaction(input);
    ASSERT_TRUE(tx.ok()) << name << ": " << tx.error().to_string();
    EXPECT_EQ(core::hex_encode(core::to_bytes(signing_bytes(*tx))), str(v.at("signing_bytes_hex")))
        << name;
    EXPECT_EQ(core::hex_encode(tx_id(*tx)), str(v.at("tx_id_hex"))) << name;
    EXPECT_EQ(encode_transaction(*tx), input) << name;
  }
}

TEST(TransactionVectors, InvalidVectorsAreRejectedWithTheRecordedCode) {
  const json::object vectors = load_vectors();
  const json::array& invalid = vectors.at("invalid").as_array();
  ASSERT_GE(invalid.size(), 40u);
  for (const json::value& v : invalid) {
    const std::string name = str(v.at("name"));
    std::string input;
    if (v.as_object().contains("input_hex")) {
      input = core::to_string(*core::hex_decode(str(v.at("input_hex"))));
    } else {
      input = str(v.at("input"));
    }
    auto tx = decode_transaction(input);
    ASSERT_FALSE(tx.ok()) << name << " was accepted";
    EXPECT_EQ(core::error_code_name(tx.error().code), str(v.at("error")))
        << name << ": " << tx.error().message;
  }
}

TEST(TransactionVectors, WorkedExampleSignatureVerifiesUnderTheRfc8032Key) {
  const json::object vectors = load_vectors();
  const json::value& example = vectors.at("valid").as_array().back();
  ASSERT_EQ(str(example.at("name")).rfind("worked example", 0), 0u);
  auto tx = decode_transaction(str(example.at("input")));
  ASSERT_TRUE(tx.ok());
  auto spki = core::hex_decode(str(vectors.at("worked_example_signer_spki_hex")));
  ASSERT_TRUE(spki.ok());
  EXPECT_TRUE(verify_signature(*tx, 0, *spki).ok());
  // Ed25519 is deterministic: our signer reproduces the recorded signature exactly.
  auto signer = core::SoftwareSigner::from_pem(kWorkedExampleKeyPem);
  ASSERT_TRUE(signer.ok());
  EXPECT_EQ((*signer)->public_key_spki(), *spki);
  Transaction unsigned_tx = *tx;
  unsigned_tx.signatures.clear();
  ASSERT_TRUE(add_signature(unsigned_tx, **signer, tx->signatures[0].cert_fingerprint).ok());
  EXPECT_EQ(encode_transaction(unsigned_tx), str(example.at("input")));
}

// --- Encoding and identity ---

TEST(TransactionCodec, EncodeThenDecodeGivesTheSameTransaction) {
  Transaction tx = sample_transaction();
  tx.signatures.push_back({core::KeyAlgorithm::kEd25519, digest_of("cert"), core::Bytes(64, 7)});
  const std::string wire = encode_transaction(tx);
  EXPECT_TRUE(core::is_canonical_json(wire));
  auto decoded = decode_transaction(wire);
  ASSERT_TRUE(decoded.ok()) << decoded.error().to_string();
  EXPECT_EQ(decoded->type, tx.type);
  EXPECT_EQ(decoded->time_ms, tx.time_ms);
  EXPECT_EQ(decoded->nonce, tx.nonce);
  EXPECT_EQ(decoded->body, tx.body);
  ASSERT_EQ(decoded->signatures.size(), 1u);
  EXPECT_EQ(decoded->signatures[0].signature, tx.signatures[0].signature);
  EXPECT_EQ(encode_transaction(*decoded), wire);
}

TEST(TransactionCodec, SigningBytesAreTheCanonicalObjectWithoutSignatures) {
  Transaction tx = sample_transaction();
  EXPECT_EQ(
      signing_bytes(tx),
      R"({"body":{"record":"rec-9","tags":["b","a"],"version":2},"nonce":"WlpaWlpaWlpaWlpaWlpaWg",)"
      R"("time":1700000000123,"type":"record.put"})");
  const core::Digest before = tx_id(tx);
  tx.signatures.push_back({core::KeyAlgorithm::kEcdsaP256, digest_of("c"), core::Bytes(70, 1)});
  EXPECT_EQ(tx_id(tx), before);
  EXPECT_EQ(tx_id(tx), core::sha256(core::to_bytes(signing_bytes(tx))));
  tx.body["version"] = 3;
  EXPECT_NE(tx_id(tx), before);
}

TEST(TransactionCodec, DirectEncodingEqualsTheGenericCanonicalization) {
  Transaction tx = sample_transaction();
  tx.type = "odd \"type\" \xc3\xa9\n";  // not a known type, but still written canonically
  tx.body["\xf0\x9f\x98\x80"] = json::object{{"\xee\x80\x80", -7}};
  tx.signatures.push_back({core::KeyAlgorithm::kEd25519, digest_of("a"), core::Bytes(64, 9)});
  tx.signatures.push_back({core::KeyAlgorithm::kEcdsaP256, digest_of("b"), core::Bytes(71, 8)});
  json::object covered{{"type", tx.type},
                       {"time", tx.time_ms},
                       {"nonce", core::base64url_encode(tx.nonce)},
                       {"body", tx.body}};
  EXPECT_EQ(signing_bytes(tx), core::canonicalize(covered));
  json::array signatures;
  for (const auto& s : tx.signatures) {
    signatures.push_back(json::object{{"sig", core::base64url_encode(s.signature)},
                                      {"cert", core::base64url_encode(s.cert_fingerprint)},
                                      {"alg", core::key_algorithm_name(s.algorithm)}});
  }
  covered["signatures"] = signatures;
  EXPECT_EQ(encode_transaction(tx), core::canonicalize(covered));
}

TEST(TransactionCodec, CheckTransactionAppliesTheDecodeRulesToBuiltTransactions) {
  Transaction tx = sample_transaction();
  EXPECT_TRUE(check_transaction(tx).ok());
  Transaction unknown = tx;
  unknown.type = "record.delete";
  EXPECT_EQ(check_transaction(unknown).error().code, ErrorCode::kTxUnknownType);
  Transaction short_nonce = tx;
  short_nonce.nonce.resize(kMinNonceBytes - 1);
  EXPECT_EQ(check_transaction(short_nonce).error().code, ErrorCode::kTxMalformed);
  Transaction negative_time = tx;
  negative_time.time_ms = -1;
  EXPECT_EQ(check_transaction(negative_time).error().code, ErrorCode::kTxMalformed);
  Transaction boolean_body = tx;
  boolean_body.body["flag"] = true;
  EXPECT_EQ(check_transaction(boolean_body).error().code, ErrorCode::kTxMalformed);
  Transaction too_deep = tx;
  json::value nested = json::array{};
  for (std::size_t i = 0; i < core::kMaxJsonDepth; ++i) nested = json::array{nested};
  too_deep.body["deep"] = nested;
  EXPECT_EQ(check_transaction(too_deep).error().code, ErrorCode::kTxMalformed);
  Transaction large = tx;
  large.body["blob"] = std::string(kDefaultMaxTransactionBytes, 'x');
  EXPECT_EQ(check_transaction(large).error().code, ErrorCode::kTxTooLarge);
}

TEST(TransactionCodec, EveryKnownTypeIsKnownAndOthersAreNot) {
  for (std::string_view type : {"genesis", "hospital.admit", "cert.register", "cert.revoke",
                                "record.put", "access.grant", "access.revoke", "record.read"}) {
    EXPECT_TRUE(is_known_transaction_type(type)) << type;
  }
  for (std::string_view type : {"", "record", "record.put ", "Record.Put", "record.delete"}) {
    EXPECT_FALSE(is_known_transaction_type(type)) << type;
  }
}

// --- Limits ---

TEST(TransactionLimits, OversizedTransactionIsTooLargeBeforeParsing) {
  Transaction tx = sample_transaction();
  tx.body["blob"] = std::string(kDefaultMaxTransactionBytes, 'x');
  const std::string wire = encode_transaction(tx);
  auto decoded = decode_transaction(wire);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code, ErrorCode::kTxTooLarge);
  // Oversized garbage is refused for its size, not parsed.
  EXPECT_EQ(decode_transaction(std::string(kDefaultMaxTransactionBytes + 1, '[')).error().code,
            ErrorCode::kTxTooLarge);
}

TEST(TransactionLimits, ATransactionExactlyAtTheLimitIsAccepted) {
  Transaction tx = sample_transaction();
  tx.body["blob"] = "";
  const std::size_t base = encode_transaction(tx).size();
  tx.body["blob"] = std::string(kDefaultMaxTransactionBytes - base, 'x');
  const std::string wire = encode_transaction(tx);
  ASSERT_EQ(wire.size(), kDefaultMaxTransactionBytes);
  EXPECT_TRUE(decode_transaction(wire).ok());
  tx.body["blob"] = std::string(kDefaultMaxTransactionBytes - base + 1, 'x');
  EXPECT_EQ(decode_transaction(encode_transaction(tx)).error().code, ErrorCode::kTxTooLarge);
}

TEST(TransactionLimits, ConfiguredLimitsLowerButNeverRaiseTheCeilings) {
  Transaction tx = sample_transaction();
  for (int i = 0; i < 3; ++i) {
    tx.signatures.push_back(
        {core::KeyAlgorithm::kEd25519, digest_of(std::to_string(i)), core::Bytes(64, 1)});
  }
  const std::string wire = encode_transaction(tx);
  EXPECT_TRUE(decode_transaction(wire).ok());
  EXPECT_EQ(decode_transaction(wire, {wire.size() - 1, kMaxTransactionSignatures}).error().code,
            ErrorCode::kTxTooLarge);
  EXPECT_EQ(decode_transaction(wire, {kDefaultMaxTransactionBytes, 2}).error().code,
            ErrorCode::kTxMalformed);

  Transaction huge = sample_transaction();
  huge.body["blob"] = std::string(kMaxTransactionBytesCeiling, 'x');
  const TransactionLimits unlimited{std::size_t{1} << 40, 1000};
  EXPECT_EQ(decode_transaction(encode_transaction(huge), unlimited).error().code,
            ErrorCode::kTxTooLarge);
  Transaction many = sample_transaction();
  for (std::size_t i = 0; i <= kMaxTransactionSignatures; ++i) {
    many.signatures.push_back(
        {core::KeyAlgorithm::kEd25519, digest_of(std::to_string(i)), core::Bytes(64, 1)});
  }
  EXPECT_EQ(decode_transaction(encode_transaction(many), unlimited).error().code,
            ErrorCode::kTxMalformed);
}

TEST(TransactionCodec, RandomMutationsAreRejectedOrStillCanonical) {
  // Deterministic: a fixed seed, so a failure reproduces.
  std::mt19937 random(20240601);
  Transaction tx = sample_transaction();
  tx.body["text"] = "caf\xc3\xa9 \xf0\x9f\x98\x80 \"q\" \\";
  tx.signatures.push_back({core::KeyAlgorithm::kEcdsaP256, digest_of("c"), core::Bytes(70, 3)});
  const std::string wire = encode_transaction(tx);
  std::size_t accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string mutated = wire;
    const int edits = 1 + static_cast<int>(random() % 3);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = random() % mutated.size();
      switch (random() % 3) {
        case 0:
          mutated[at] = static_cast<char>(random() % 256);
          break;
        case 1:
          mutated.erase(at, 1);
          break;
        default:
          mutated.insert(at, 1, static_cast<char>(random() % 256));
          break;
      }
    }
    auto decoded = decode_transaction(mutated);
    if (decoded.ok()) {
      ++accepted;
      EXPECT_EQ(encode_transaction(*decoded), mutated);
    } else {
      const ErrorCode code = decoded.error().code;
      EXPECT_TRUE(code == ErrorCode::kTxMalformed || code == ErrorCode::kTxNotCanonical ||
                  code == ErrorCode::kTxUnknownType)
          << core::error_code_name(code);
    }
  }
  EXPECT_LT(accepted, 20000u);
}

// --- Signatures with real keys ---

class TransactionSignatures : public ::testing::TestWithParam<core::KeyAlgorithm> {};

TEST_P(TransactionSignatures, SignatureAddedWithASignerVerifiesAfterARoundTrip) {
  auto signer = core::SoftwareSigner::generate(GetParam());
  ASSERT_TRUE(signer.ok());
  Transaction tx = sample_transaction();
  ASSERT_TRUE(add_signature(tx, **signer, digest_of("signer cert")).ok());
  auto decoded = decode_transaction(encode_transaction(tx));
  ASSERT_TRUE(decoded.ok()) << decoded.error().to_string();
  EXPECT_EQ(decoded->signatures[0].algorithm, GetParam());
  EXPECT_TRUE(verify_signature(*decoded, 0, (*signer)->public_key_spki()).ok());
  // The signature is over tx_id, exactly as core::verify_digest_signature checks it.
  EXPECT_TRUE(core::verify_digest_signature((*signer)->public_key_spki(), tx_id(*decoded),
                                            decoded->signatures[0].signature)
                  .ok());
}

TEST_P(TransactionSignatures, ChangedBodyOrOtherKeyDoesNotVerify) {
  auto signer = core::SoftwareSigner::generate(GetParam());
  auto other = core::SoftwareSigner::generate(GetParam());
  ASSERT_TRUE(signer.ok() && other.ok());
  Transaction tx = sample_transaction();
  ASSERT_TRUE(add_signature(tx, **signer, digest_of("signer cert")).ok());
  EXPECT_EQ(verify_signature(tx, 0, (*other)->public_key_spki()).error().code,
            ErrorCode::kSignatureInvalid);
  Transaction changed = tx;
  changed.body["version"] = 3;
  EXPECT_EQ(verify_signature(changed, 0, (*signer)->public_key_spki()).error().code,
            ErrorCode::kSignatureInvalid);
  Transaction retimed = tx;
  retimed.time_ms += 1;
  EXPECT_EQ(verify_signature(retimed, 0, (*signer)->public_key_spki()).error().code,
            ErrorCode::kSignatureInvalid);
  Transaction flipped = tx;
  flipped.signatures[0].signature.back() ^= 0x01;
  EXPECT_FALSE(verify_signature(flipped, 0, (*signer)->public_key_spki()).ok());
}

// A fault-injecting wrapper: signs with the real key, then flips a bit of the
// signature (a faulty token), or reports another signer's public key.
class FaultySigner final : public core::Signer {
 public:
  FaultySigner(core::Signer& inner, const core::Bytes& reported_spki, bool flip_bit)
      : inner_(inner), reported_spki_(reported_spki), flip_bit_(flip_bit) {}
  core::Result<core::Bytes> sign_digest(const core::Digest& digest) override {
    auto signature = inner_.sign_digest(digest);
    if (signature && flip_bit_) (*signature)[signature->size() / 2] ^= 0x01;
    return signature;
  }
  const core::Bytes& public_key_spki() const override { return reported_spki_; }
  core::KeyAlgorithm algorithm() const override { return inner_.algorithm(); }

 private:
  core::Signer& inner_;
  core::Bytes reported_spki_;
  bool flip_bit_;
};

TEST_P(TransactionSignatures, AFaultySignatureIsRefusedBeforeItIsAttached) {
  auto signer = core::SoftwareSigner::generate(GetParam());
  ASSERT_TRUE(signer.ok());
  FaultySigner faulty(**signer, (*signer)->public_key_spki(), /*flip_bit=*/true);
  Transaction tx = sample_transaction();
  auto added = add_signature(tx, faulty, digest_of("signer cert"));
  ASSERT_FALSE(added);
  EXPECT_EQ(added.error().code, ErrorCode::kSignatureInvalid);
  EXPECT_TRUE(tx.signatures.empty());
  // The certificate may still sign once the signer works.
  EXPECT_TRUE(add_signature(tx, **signer, digest_of("signer cert")).ok());
}

TEST_P(TransactionSignatures, ASignerWhosePublicKeyIsNotItsPrivateKeysIsRefused) {
  auto signer = core::SoftwareSigner::generate(GetParam());
  auto other = core::SoftwareSigner::generate(GetParam());
  ASSERT_TRUE(signer.ok() && other.ok());
  FaultySigner mismatched(**signer, (*other)->public_key_spki(), /*flip_bit=*/false);
  Transaction tx = sample_transaction();
  auto added = add_signature(tx, mismatched, digest_of("signer cert"));
  ASSERT_FALSE(added);
  EXPECT_EQ(added.error().code, ErrorCode::kSignatureInvalid);
  EXPECT_TRUE(tx.signatures.empty());
}

INSTANTIATE_TEST_SUITE_P(BothAlgorithms, TransactionSignatures,
                         ::testing::Values(core::KeyAlgorithm::kEcdsaP256,
                                           core::KeyAlgorithm::kEd25519));

TEST(TransactionSignatureChecks, AlgorithmMustMatchTheSignerKey) {
  auto ed = core::SoftwareSigner::generate(core::KeyAlgorithm::kEd25519);
  auto ec = core::SoftwareSigner::generate(core::KeyAlgorithm::kEcdsaP256);
  ASSERT_TRUE(ed.ok() && ec.ok());
  Transaction tx = sample_transaction();
  ASSERT_TRUE(add_signature(tx, **ed, digest_of("ed cert")).ok());
  tx.signatures[0].algorithm = core::KeyAlgorithm::kEcdsaP256;  // claims ECDSA, key is Ed25519
  EXPECT_EQ(verify_signature(tx, 0, (*ed)->public_key_spki()).error().code,
            ErrorCode::kUnsupportedAlgorithm);
  tx.signatures[0].algorithm = core::KeyAlgorithm::kEd25519;
  EXPECT_EQ(verify_signature(tx, 0, (*ec)->public_key_spki()).error().code,
            ErrorCode::kUnsupportedAlgorithm);
}

TEST(TransactionSignatureChecks, BadIndexOrKeyEncodingIsReported) {
  auto ed = core::SoftwareSigner::generate(core::KeyAlgorithm::kEd25519);
  ASSERT_TRUE(ed.ok());
  Transaction tx = sample_transaction();
  EXPECT_EQ(verify_signature(tx, 0, (*ed)->public_key_spki()).error().code,
            ErrorCode::kInvalidArgument);
  ASSERT_TRUE(add_signature(tx, **ed, digest_of("ed cert")).ok());
  EXPECT_EQ(verify_signature(tx, 1, (*ed)->public_key_spki()).error().code,
            ErrorCode::kInvalidArgument);
  const core::Bytes garbage = core::to_bytes("not a key");
  EXPECT_EQ(verify_signature(tx, 0, garbage).error().code, ErrorCode::kMalformedEncoding);
}

TEST(TransactionSignatureChecks, TheSameCertificateCannotSignTwice) {
  auto ed = core::SoftwareSigner::generate(core::KeyAlgorithm::kEd25519);
  ASSERT_TRUE(ed.ok());
  Transaction tx = sample_transaction();
  ASSERT_TRUE(add_signature(tx, **ed, digest_of("cert")).ok());
  auto again = add_signature(tx, **ed, digest_of("cert"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(tx.signatures.size(), 1u);
}

TEST(TransactionSignatureChecks, NoMoreThanTheMaximumNumberOfSignatures) {
  auto ed = core::SoftwareSigner::generate(core::KeyAlgorithm::kEd25519);
  ASSERT_TRUE(ed.ok());
  Transaction tx = sample_transaction();
  for (std::size_t i = 0; i < kMaxTransactionSignatures; ++i) {
    ASSERT_TRUE(add_signature(tx, **ed, digest_of(std::to_string(i))).ok());
  }
  auto extra = add_signature(tx, **ed, digest_of("one more"));
  ASSERT_FALSE(extra.ok());
  EXPECT_EQ(extra.error().code, ErrorCode::kTxMalformed);
  EXPECT_TRUE(decode_transaction(encode_transaction(tx)).ok());
}

}  // namespace
}  // namespace medledger::ledger
