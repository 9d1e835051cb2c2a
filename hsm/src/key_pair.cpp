#include "key_pair.h"

#include <algorithm>

#include "medledger/hsm/public_key.h"

namespace medledger::hsm::detail {

namespace {
using core::ErrorCode;

bool same_bytes(core::ByteView a, core::ByteView b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}
}  // namespace

core::Result<GeneratedKeyPair> generate_key_pair(SessionPool::Lease& lease,
                                                 core::KeyAlgorithm algorithm,
                                                 const std::string& label, KeyResidence residence,
                                                 KeyUsage usage) {
  const bool p256 = algorithm == core::KeyAlgorithm::kEcdsaP256;
  const bool signs = usage == KeyUsage::kSign;
  if (!signs && !p256) {
    return core::make_error(ErrorCode::kUnsupportedAlgorithm,
                            "key agreement keys are P-256 (ECDH) only");
  }
  const bool on_token = residence == KeyResidence::kToken;
  CK_BBOOL yes = CK_TRUE;
  CK_BBOOL no = CK_FALSE;
  CK_BBOOL sign = signs ? CK_TRUE : CK_FALSE;  // one key, one purpose: sign XOR derive
  CK_BBOOL derive = signs ? CK_FALSE : CK_TRUE;
  CK_BBOOL token = on_token ? CK_TRUE : CK_FALSE;
  // Only keys that must leave the token wrapped are extractable, and then only
  // under a CKA_TRUSTED key (CKA_WRAP_WITH_TRUSTED).
  CK_BBOOL extractable = on_token ? CK_FALSE : CK_TRUE;
  core::ByteView params = p256 ? p256_ec_params() : ed25519_ec_params();
  CK_ULONG label_size = label.size();
  char* label_data = const_cast<char*>(label.data());

  std::vector<CK_ATTRIBUTE> public_template = {
      {CKA_TOKEN, &token, sizeof token},
      {CKA_PRIVATE, &no, sizeof no},
      {CKA_VERIFY, &sign, sizeof sign},
      {CKA_ENCRYPT, &no, sizeof no},
      {CKA_WRAP, &no, sizeof no},
      {CKA_DERIVE, &no, sizeof no},
      {CKA_EC_PARAMS, const_cast<std::uint8_t*>(params.data()), params.size()},
      {CKA_LABEL, label_data, label_size},
  };
  std::vector<CK_ATTRIBUTE> private_template = {
      {CKA_TOKEN, &token, sizeof token},    {CKA_PRIVATE, &yes, sizeof yes},
      {CKA_SENSITIVE, &yes, sizeof yes},    {CKA_EXTRACTABLE, &extractable, sizeof extractable},
      {CKA_SIGN, &sign, sizeof sign},       {CKA_DECRYPT, &no, sizeof no},
      {CKA_DERIVE, &derive, sizeof derive}, {CKA_UNWRAP, &no, sizeof no},
      {CKA_LABEL, label_data, label_size},
  };
  if (!on_token) private_template.push_back({CKA_WRAP_WITH_TRUSTED, &yes, sizeof yes});

  CK_MECHANISM mechanism{p256 ? CKM_EC_KEY_PAIR_GEN : CKM_EC_EDWARDS_KEY_PAIR_GEN, nullptr, 0};
  GeneratedKeyPair pair;
  std::string context = std::string("generating an ") +
                        std::string(core::key_algorithm_name(algorithm)) + " key with " +
                        (p256 ? "CKM_EC_KEY_PAIR_GEN" : "CKM_EC_EDWARDS_KEY_PAIR_GEN");
  MEDLEDGER_TRY(lease.check(
      "C_GenerateKeyPair",
      lease.fn()->C_GenerateKeyPair(lease.handle(), &mechanism, public_template.data(),
                                    public_template.size(), private_template.data(),
                                    private_template.size(), &pair.public_key, &pair.private_key),
      context));

  auto finish = [&]() -> core::Result<void> {
    core::KeyAlgorithm read_algorithm = algorithm;
    MEDLEDGER_TRY_ASSIGN(auto spki,
                         read_public_key(lease.session(), pair.public_key, &read_algorithm));
    pair.spki = std::move(spki);
    pair.id = key_id_for(pair.spki);
    CK_ATTRIBUTE id{CKA_ID, pair.id.data(), pair.id.size()};
    MEDLEDGER_TRY(
        lease.check("C_SetAttributeValue",
                    lease.fn()->C_SetAttributeValue(lease.handle(), pair.public_key, &id, 1),
                    "setting CKA_ID on the public key"));
    MEDLEDGER_TRY(
        lease.check("C_SetAttributeValue",
                    lease.fn()->C_SetAttributeValue(lease.handle(), pair.private_key, &id, 1),
                    "setting CKA_ID on the private key"));
    return core::success();
  };
  if (auto done = finish(); !done) {
    CK_RV failure = lease.last_failure();
    (void)lease.session().destroy(pair.private_key);  // no half-made key stays behind
    (void)lease.session().destroy(pair.public_key);
    if (failure != CKR_OK)
      (void)lease.check("C_SetAttributeValue", failure);  // keep the cause for with_retry
    return done.error();
  }
  return pair;
}

core::Result<core::Bytes> read_public_key(Session& session, CK_OBJECT_HANDLE public_key,
                                          core::KeyAlgorithm* algorithm) {
  MEDLEDGER_TRY_ASSIGN(auto key_type, session.ulong_attribute(public_key, CKA_KEY_TYPE));
  if (key_type != CKK_EC && key_type != CKK_EC_EDWARDS) {
    return core::make_error(ErrorCode::kUnsupportedAlgorithm, "key is neither P-256 nor Ed25519");
  }
  MEDLEDGER_TRY_ASSIGN(auto params, session.attribute(public_key, CKA_EC_PARAMS));
  if (key_type == CKK_EC && same_bytes(params, p256_ec_params())) {
    *algorithm = core::KeyAlgorithm::kEcdsaP256;
  } else if (key_type == CKK_EC_EDWARDS && same_bytes(params, ed25519_ec_params())) {
    *algorithm = core::KeyAlgorithm::kEd25519;
  } else {
    return core::make_error(ErrorCode::kUnsupportedAlgorithm, "key is neither P-256 nor Ed25519");
  }
  MEDLEDGER_TRY_ASSIGN(auto point, session.attribute(public_key, CKA_EC_POINT));
  return spki_from_ec_point(*algorithm, point);
}

}  // namespace medledger::hsm::detail
