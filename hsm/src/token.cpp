#include "medledger/hsm/token.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>

#include "mechanism_names.h"
#include "medledger/core/assert.h"
#include "medledger/core/sha256.h"
#include "medledger/hsm/limits.h"
#include "medledger/hsm/pkcs11_error.h"
#include "medledger/hsm/session.h"

namespace medledger::hsm {

namespace {
using core::ErrorCode;

constexpr std::size_t kLabelSize = 32;  // CK_TOKEN_INFO.label and C_InitToken's label

// CK_TOKEN_INFO strings are fixed-size and blank padded, not NUL terminated.
std::string trimmed(const unsigned char* text, std::size_t size) {
  std::string s(reinterpret_cast<const char*>(text), size);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

TokenInfo to_token_info(CK_SLOT_ID slot, const CK_TOKEN_INFO& info) {
  TokenInfo t;
  t.slot = slot;
  t.label = trimmed(info.label, sizeof info.label);
  t.serial = trimmed(info.serialNumber, sizeof info.serialNumber);
  t.manufacturer = trimmed(info.manufacturerID, sizeof info.manufacturerID);
  t.model = trimmed(info.model, sizeof info.model);
  t.flags = info.flags;
  t.initialized = (info.flags & CKF_TOKEN_INITIALIZED) != 0;
  t.session_count = info.ulSessionCount;
  t.max_session_count = info.ulMaxSessionCount;
  t.rw_session_count = info.ulRwSessionCount;
  return t;
}

core::Result<std::size_t> count_objects(const Session& session, CK_OBJECT_CLASS object_class) {
  CK_BBOOL on_token = CK_TRUE;  // not this process's session objects (unwrapped keys, copies)
  MEDLEDGER_TRY_ASSIGN(auto found,
                       session.find_objects({{CKA_CLASS, &object_class, sizeof object_class},
                                             {CKA_TOKEN, &on_token, sizeof on_token}},
                                            kMaxListedObjects));
  return found.size();
}

std::string labels_seen(const std::vector<TokenInfo>& tokens) {
  std::string seen;
  for (const auto& t : tokens) {
    if (!t.initialized) continue;
    seen += (seen.empty() ? "'" : ", '") + t.label + "' (serial " + t.serial + ")";
  }
  return seen.empty() ? "no initialised tokens" : "tokens seen: " + seen;
}

// Names every candidate and the attribute that tells them apart: some modules give
// all their tokens one serial (NSS: 0000000000000000), others one label.
core::Error ambiguous(const TokenSelector& selector, const std::vector<const TokenInfo*>& matches) {
  auto distinct = [&](auto field) {
    for (std::size_t i = 1; i < matches.size(); ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (field(*matches[i]) == field(*matches[j])) return false;
    return true;
  };
  std::string listed;
  for (const auto* t : matches) {
    listed += (listed.empty() ? "" : ", ") +
              ("'" + t->label + "' (serial " + t->serial + ", model " + t->model + ")");
  }
  std::string hint;
  if (distinct([](const TokenInfo& t) { return t.label; })) {
    hint = "name one by label, e.g. pkcs11:token=" + matches.front()->label;
  } else if (distinct([](const TokenInfo& t) { return t.serial; })) {
    hint = "name one by serial, e.g. pkcs11:serial=" + matches.front()->serial;
  } else {
    hint =
        "they share label and serial: give a pkcs11: URI with token=, serial=, model= and "
        "manufacturer=, or relabel one token (NSS: tokenDescription= in the module arguments)";
  }
  return core::make_error(ErrorCode::kTokenAmbiguous, std::to_string(matches.size()) +
                                                          " tokens match " + selector.describe() +
                                                          ": " + listed + "; " + hint);
}
}  // namespace

core::Result<std::vector<TokenInfo>> list_tokens(const Module& module) {
  // Ask for the count first: besides being the standard pattern, it is when
  // SoftHSM2 adds a fresh uninitialised slot after an init.
  CK_ULONG count = 0;
  CK_RV rv = module.fn()->C_GetSlotList(CK_TRUE, nullptr, &count);
  if (rv != CKR_OK) return token_error("C_GetSlotList", rv);
  std::vector<CK_SLOT_ID> slots(std::min<CK_ULONG>(count, kMaxSlots));
  count = slots.size();
  rv = module.fn()->C_GetSlotList(CK_TRUE, slots.data(), &count);
  if (rv == CKR_BUFFER_TOO_SMALL)
    count = slots.size();  // a token arrived in between: look at the first ones
  else if (rv != CKR_OK)
    return token_error("C_GetSlotList", rv);
  std::vector<TokenInfo> tokens;
  for (CK_ULONG i = 0; i < count; ++i) {
    CK_TOKEN_INFO info{};
    rv = module.fn()->C_GetTokenInfo(slots[i], &info);
    if (rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_TOKEN_NOT_RECOGNIZED)
      continue;  // pulled between the two calls
    if (rv != CKR_OK) return token_error("C_GetTokenInfo", rv);
    tokens.push_back(to_token_info(slots[i], info));
  }
  return tokens;
}

core::Result<TokenInfo> find_token(const Module& module, const TokenSelector& selector) {
  MEDLEDGER_TRY_ASSIGN(auto tokens, list_tokens(module));
  std::vector<const TokenInfo*> matches;
  for (const auto& t : tokens) {
    if (t.initialized && selector.matches(t)) matches.push_back(&t);
  }
  if (matches.empty()) {
    return core::make_error(
        ErrorCode::kTokenNotFound,
        "no " + selector.describe() + " in module '" + module.path() + "'; " + labels_seen(tokens));
  }
  if (matches.size() > 1) return ambiguous(selector, matches);
  return *matches.front();
}

core::Result<TokenInfo> init_token(const Module& module, const std::string& label,
                                   const core::SecretBytes& so_pin,
                                   const core::SecretBytes& user_pin) {
  if (label.empty() || label.size() > kLabelSize) {
    return core::make_error(ErrorCode::kInvalidArgument, "a token label has 1 to 32 bytes");
  }
  MEDLEDGER_TRY_ASSIGN(auto tokens, list_tokens(module));
  const TokenInfo* free_token = nullptr;
  for (const auto& t : tokens) {
    if (t.initialized && t.label == label) {
      return core::make_error(
          ErrorCode::kAlreadyExists,
          "a token labelled '" + label + "' already exists (serial " + t.serial + ")");
    }
    if (!t.initialized && free_token == nullptr) free_token = &t;
  }
  if (free_token == nullptr) {
    return core::make_error(ErrorCode::kTokenNotFound,
                            "no slot holds an uninitialised token to initialise");
  }
  unsigned char padded[kLabelSize];
  std::memset(padded, ' ', sizeof padded);
  std::memcpy(padded, label.data(), label.size());
  CK_RV rv = module.fn()->C_InitToken(free_token->slot, const_cast<CK_UTF8CHAR*>(so_pin.data()),
                                      so_pin.size(), padded);
  if (rv != CKR_OK)
    return token_error("C_InitToken", rv, "initialising token '" + label + "' failed");

  // Slot ids may change once a token is initialised (SoftHSM2 does this): find it again by label.
  MEDLEDGER_TRY_ASSIGN(auto token, find_token(module, TokenSelector::by_label(label)));
  MEDLEDGER_TRY_ASSIGN(auto session, Session::open(module.share(), token.slot));
  MEDLEDGER_TRY(session.login(CKU_SO, so_pin));
  rv = module.fn()->C_InitPIN(session.handle(), const_cast<CK_UTF8CHAR*>(user_pin.data()),
                              user_pin.size());
  if (rv != CKR_OK)
    return token_error("C_InitPIN", rv, "setting the user PIN of token '" + label + "' failed");
  MEDLEDGER_TRY(session.logout());
  return find_token(module,
                    TokenSelector::by_label(label));  // flags now include CKF_USER_PIN_INITIALIZED
}

namespace {
// One requirement: any of these mechanisms.
using AnyOf = std::vector<CK_MECHANISM_TYPE>;

const std::vector<AnyOf>& requirements(Capability capability) {
  static const std::vector<AnyOf> ecdsa = {{CKM_EC_KEY_PAIR_GEN}, {CKM_ECDSA}};
  static const std::vector<AnyOf> ed25519 = {{CKM_EC_EDWARDS_KEY_PAIR_GEN}, {CKM_EDDSA}};
  static const std::vector<AnyOf> wrapped = {{CKM_EC_KEY_PAIR_GEN},
                                             {kCkmAesKeyWrapKwp, CKM_AES_KEY_WRAP_PAD}};
  static const std::vector<AnyOf> kek = {{CKM_AES_KEY_GEN}};
  static const std::vector<AnyOf> agreement = {{CKM_ECDH1_DERIVE}};
  switch (capability) {
    case Capability::kEcdsaP256:
      return ecdsa;
    case Capability::kEd25519:
      return ed25519;
    case Capability::kWrappedKeys:
      return wrapped;
    case Capability::kKekCreate:
      return kek;
    case Capability::kKeyAgreement:
      return agreement;
  }
  MEDLEDGER_ASSERT(false);
  return ecdsa;
}
}  // namespace

const char* capability_name(Capability capability) {
  switch (capability) {
    case Capability::kEcdsaP256:
      return "ecdsa-p256 signing";
    case Capability::kEd25519:
      return "ed25519 signing";
    case Capability::kWrappedKeys:
      return "wrapped person keys";
    case Capability::kKekCreate:
      return "key-encryption key creation";
    case Capability::kKeyAgreement:
      return "ECDH key agreement";
  }
  return "?";
}

std::vector<std::string> missing_for(Capability capability,
                                     const std::vector<CK_MECHANISM_TYPE>& offered) {
  std::vector<std::string> missing;
  for (const auto& any_of : requirements(capability)) {
    bool found = std::any_of(any_of.begin(), any_of.end(), [&](CK_MECHANISM_TYPE m) {
      return std::find(offered.begin(), offered.end(), m) != offered.end();
    });
    if (found) continue;
    std::string names;
    for (auto m : any_of) names += (names.empty() ? "" : " or ") + mechanism_name(m);
    missing.push_back(std::move(names));
  }
  return missing;
}

core::Result<void> check_capability(Capability capability,
                                    const std::vector<CK_MECHANISM_TYPE>& offered,
                                    const std::string& token_label) {
  auto missing = missing_for(capability, offered);
  if (missing.empty()) return core::success();
  return core::make_error(ErrorCode::kMechanismMissing, "token '" + token_label + "' lacks " +
                                                            missing.front() + ", needed for " +
                                                            capability_name(capability));
}

std::string mechanism_name(CK_MECHANISM_TYPE mechanism) {
  if (const char* name = detail::standard_mechanism_name(mechanism)) return name;
  char buffer[48];  // the longer prefix (21) + 16 hex digits + NUL
  const char* kind = mechanism >= CKM_VENDOR_DEFINED ? "CKM_VENDOR_DEFINED+0x" : "CKM_0x";
  CK_MECHANISM_TYPE shown =
      mechanism >= CKM_VENDOR_DEFINED ? mechanism - CKM_VENDOR_DEFINED : mechanism;
  std::snprintf(buffer, sizeof buffer, "%s%lx", kind, static_cast<unsigned long>(shown));
  return buffer;
}

core::Result<std::vector<CK_MECHANISM_TYPE>> token_mechanisms(const Module& module,
                                                              CK_SLOT_ID slot) {
  std::vector<CK_MECHANISM_TYPE> mechanisms(kMaxMechanisms);
  CK_ULONG count = mechanisms.size();
  CK_RV rv = module.fn()->C_GetMechanismList(slot, mechanisms.data(), &count);
  if (rv == CKR_BUFFER_TOO_SMALL)
    count = mechanisms.size();
  else if (rv != CKR_OK)
    return token_error("C_GetMechanismList", rv);
  mechanisms.resize(count);
  return mechanisms;
}

core::Result<TokenStatus> token_status(const Module& module, const TokenSelector& selector,
                                       const core::SecretBytes* user_pin) {
  MEDLEDGER_TRY_ASSIGN(auto token, find_token(module, selector));
  TokenStatus status;
  status.token = token;
  MEDLEDGER_TRY_ASSIGN(auto mechanisms, token_mechanisms(module, token.slot));
  status.mechanisms = std::move(mechanisms);
  for (auto capability : kAllCapabilities) {
    status.capabilities.push_back({capability, missing_for(capability, status.mechanisms)});
  }
  if (user_pin == nullptr) return status;
  MEDLEDGER_TRY_ASSIGN(auto session, Session::open(module.share(), token.slot));
  MEDLEDGER_TRY(session.login(CKU_USER, *user_pin));
  MEDLEDGER_TRY_ASSIGN(status.private_keys, count_objects(session, CKO_PRIVATE_KEY));
  MEDLEDGER_TRY_ASSIGN(status.public_keys, count_objects(session, CKO_PUBLIC_KEY));
  MEDLEDGER_TRY_ASSIGN(status.secret_keys, count_objects(session, CKO_SECRET_KEY));
  status.objects_counted = true;
  return status;
}

namespace {
// C_GenerateKey of the KEK in a logged-in session. `by_so`: public and CKA_TRUSTED
// (an SO session may create only public objects; only the SO may set CKA_TRUSTED);
// otherwise private and untrusted.
core::Result<CK_OBJECT_HANDLE> generate_kek(const Module& module, Session& session,
                                            const std::string& label, const core::Bytes& id,
                                            bool by_so) {
  CK_OBJECT_CLASS secret_class = CKO_SECRET_KEY;
  std::vector<CK_ATTRIBUTE> by_label = {{CKA_CLASS, &secret_class, sizeof secret_class},
                                        {CKA_LABEL, const_cast<char*>(label.data()), label.size()}};
  MEDLEDGER_TRY_ASSIGN(auto existing, session.find_objects(by_label, 1));
  if (!existing.empty()) {
    return core::make_error(ErrorCode::kAlreadyExists,
                            "a key-encryption key labelled '" + label + "' already exists");
  }
  CK_KEY_TYPE aes = CKK_AES;
  CK_ULONG key_bytes = 32;  // AES-256
  CK_BBOOL yes = CK_TRUE;
  CK_BBOOL no = CK_FALSE;
  CK_BBOOL is_private = by_so ? CK_FALSE : CK_TRUE;
  std::vector<CK_ATTRIBUTE> templ = {
      {CKA_CLASS, &secret_class, sizeof secret_class},
      {CKA_KEY_TYPE, &aes, sizeof aes},
      {CKA_VALUE_LEN, &key_bytes, sizeof key_bytes},
      {CKA_TOKEN, &yes, sizeof yes},
      {CKA_PRIVATE, &is_private, sizeof is_private},
      {CKA_SENSITIVE, &yes, sizeof yes},
      {CKA_EXTRACTABLE, &no, sizeof no},
      {CKA_WRAP, &yes, sizeof yes},
      {CKA_UNWRAP, &yes, sizeof yes},
      {CKA_ENCRYPT, &no, sizeof no},
      {CKA_DECRYPT, &no, sizeof no},
      {CKA_SIGN, &no, sizeof no},
      {CKA_LABEL, const_cast<char*>(label.data()), label.size()},
      {CKA_ID, const_cast<std::uint8_t*>(id.data()), id.size()},
  };
  if (by_so) templ.push_back({CKA_TRUSTED, &yes, sizeof yes});
  CK_MECHANISM mechanism{CKM_AES_KEY_GEN, nullptr, 0};
  CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
  CK_RV rv =
      module.fn()->C_GenerateKey(session.handle(), &mechanism, templ.data(), templ.size(), &key);
  if (rv != CKR_OK)
    return token_error("C_GenerateKey", rv, "creating the key-encryption key failed");
  return key;
}

core::Bytes kek_id_for(const std::string& label) {
  core::Digest label_digest = core::sha256(core::to_bytes(label));
  return core::Bytes(label_digest.begin(), label_digest.begin() + kKeyIdSize);
}

// Whether the token refuses to wrap a CKA_WRAP_WITH_TRUSTED key under the untrusted
// `kek` (PKCS#11 says it must; NSS's softoken does not check).
core::Result<bool> enforces_wrap_with_trusted(const Module& module, Session& session,
                                              CK_OBJECT_HANDLE kek,
                                              const std::vector<CK_MECHANISM_TYPE>& mechanisms) {
  CK_OBJECT_CLASS secret_class = CKO_SECRET_KEY;
  CK_KEY_TYPE generic = CKK_GENERIC_SECRET;
  CK_BBOOL yes = CK_TRUE;
  CK_BBOOL no = CK_FALSE;
  std::array<std::uint8_t, 16> value{};
  std::array<CK_ATTRIBUTE, 6> templ = {{
      {CKA_CLASS, &secret_class, sizeof secret_class},
      {CKA_KEY_TYPE, &generic, sizeof generic},
      {CKA_TOKEN, &no, sizeof no},
      {CKA_EXTRACTABLE, &yes, sizeof yes},
      {CKA_WRAP_WITH_TRUSTED, &yes, sizeof yes},
      {CKA_VALUE, value.data(), value.size()},
  }};
  CK_OBJECT_HANDLE probe = CK_INVALID_HANDLE;
  CK_RV rv = module.fn()->C_CreateObject(session.handle(), templ.data(), templ.size(), &probe);
  if (rv != CKR_OK) return token_error("C_CreateObject", rv, "probing CKA_WRAP_WITH_TRUSTED");
  bool kwp = std::find(mechanisms.begin(), mechanisms.end(), kCkmAesKeyWrapKwp) != mechanisms.end();
  CK_MECHANISM mechanism{kwp ? kCkmAesKeyWrapKwp : CKM_AES_KEY_WRAP_PAD, nullptr, 0};
  std::array<std::uint8_t, 64> wrapped{};
  CK_ULONG size = wrapped.size();
  rv = module.fn()->C_WrapKey(session.handle(), &mechanism, kek, probe, wrapped.data(), &size);
  (void)session.destroy(probe);
  return rv != CKR_OK;
}
}  // namespace

core::Result<core::Bytes> create_kek(const Module& module, const TokenSelector& selector,
                                     const core::SecretBytes& so_pin, const std::string& label) {
  MEDLEDGER_TRY_ASSIGN(auto token, find_token(module, selector));
  MEDLEDGER_TRY_ASSIGN(auto mechanisms, token_mechanisms(module, token.slot));
  MEDLEDGER_TRY(check_capability(Capability::kKekCreate, mechanisms, token.label));
  MEDLEDGER_TRY_ASSIGN(auto session, Session::open(module.share(), token.slot));
  auto login = session.login(CKU_SO, so_pin);
  if (!login && session.last_failure() == CKR_USER_ANOTHER_ALREADY_LOGGED_IN) {
    // Login state is per process: the SO cannot log in while a user session is open.
    return core::make_error(
        login.error().code,
        "create the KEK from a process with no user session open (" + login.error().message + ")");
  }
  if (!login && session.last_failure() == CKR_USER_TYPE_INVALID) {
    return core::make_error(login.error().code,
                            "token '" + token.label +
                                "' has no security officer (NSS's softoken once it has a "
                                "password): create the KEK without the SO (" +
                                login.error().message + ")");
  }
  if (!login) return login.error();
  core::Bytes id = kek_id_for(label);
  MEDLEDGER_TRY(generate_kek(module, session, label, id, /*by_so=*/true));
  MEDLEDGER_TRY(session.logout());
  return id;
}

core::Result<UserKek> create_kek_without_so(const Module& module, const TokenSelector& selector,
                                            const core::SecretBytes& user_pin,
                                            const std::string& label) {
  MEDLEDGER_TRY_ASSIGN(auto token, find_token(module, selector));
  MEDLEDGER_TRY_ASSIGN(auto mechanisms, token_mechanisms(module, token.slot));
  MEDLEDGER_TRY(check_capability(Capability::kKekCreate, mechanisms, token.label));
  MEDLEDGER_TRY(check_capability(Capability::kWrappedKeys, mechanisms, token.label));
  MEDLEDGER_TRY_ASSIGN(auto session, Session::open(module.share(), token.slot));
  MEDLEDGER_TRY(session.login(CKU_USER, user_pin));
  core::Bytes id = kek_id_for(label);
  MEDLEDGER_TRY_ASSIGN(auto kek, generate_kek(module, session, label, id, /*by_so=*/false));
  auto enforced = enforces_wrap_with_trusted(module, session, kek, mechanisms);
  if (!enforced || *enforced) {
    (void)session.destroy(kek);  // useless (enforced) or unchecked: leave nothing behind
    if (!enforced) return enforced.error();
    return core::make_error(ErrorCode::kInvalidArgument,
                            "token '" + token.label +
                                "' enforces CKA_WRAP_WITH_TRUSTED: a KEK made without the SO could "
                                "not wrap person keys; create it with the SO PIN");
  }
  return UserKek{std::move(id), /*trust_enforced=*/false};
}

}  // namespace medledger::hsm
