// `medledger token ...` and `medledger key ...`: provisioning and token keys.
//
// PINs come only from a SecretSource (file:, env:, prompt), never from argv.
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "cli_support.h"
#include "commands.h"
#include "token_options.h"
#include "medledger/core/bytes.h"
#include "medledger/hsm/key_store.h"
#include "medledger/hsm/module.h"
#include "medledger/hsm/public_key.h"
#include "medledger/hsm/session_pool.h"
#include "medledger/hsm/token.h"
#include "medledger/hsm/token_signer.h"

namespace medledger::app {

namespace {

using core::ErrorCode;

struct HsmOptions {
  TokenOptions
      token;  // --module, --token, --pin, --so-pin: defaults and PIN rules in token_options
  std::string label;
  std::string algorithm = "ecdsa-p256";
  std::string id_hex;
  std::string digest_hex;
  std::string out;
  bool without_so = false;
};

hsm::KeyInfo find_key(hsm::KeyStore& store, const HsmOptions& o) {
  if (!o.id_hex.empty()) return require(store.find_by_id(require(core::hex_decode(o.id_hex))));
  if (o.label.empty())
    fail(core::make_error(ErrorCode::kInvalidArgument, "name the key with --id HEX or --label L"));
  return require(store.find_by_label(o.label));
}

void print_token(const hsm::TokenInfo& t) {
  std::cout << "label: " << t.label << "\n"
            << "serial: " << t.serial << "\n"
            << "manufacturer: " << t.manufacturer << "\n"
            << "model: " << t.model << "\n"
            << "initialized: " << (t.initialized ? "yes" : "no") << "\n"
            << "user pin initialized: "
            << ((t.flags & CKF_USER_PIN_INITIALIZED) != 0 ? "yes" : "no") << "\n";
}

// ulSessionCount / ulMaxSessionCount as PKCS#11 2.40 defines them: a number, or
// one of the two special values, named so nobody reads them as counts.
std::string session_count_text(CK_ULONG value) {
  if (value == CK_UNAVAILABLE_INFORMATION) return "not reported (CK_UNAVAILABLE_INFORMATION)";
  return std::to_string(value);
}
std::string session_limit_text(CK_ULONG value) {
  if (value == CK_UNAVAILABLE_INFORMATION) return "not reported (CK_UNAVAILABLE_INFORMATION)";
  if (value == CK_EFFECTIVELY_INFINITE) return "none (CK_EFFECTIVELY_INFINITE)";
  return std::to_string(value);
}

void add_key_choice(CLI::App* cmd, HsmOptions& o) {
  auto* id = cmd->add_option("--id", o.id_hex, "CKA_ID of the key, hex");
  auto* label = cmd->add_option("--label", o.label, "CKA_LABEL of the key");
  id->excludes(label);
}

void register_token_commands(CLI::App& app, const std::shared_ptr<HsmOptions>& o) {
  auto* token = app.add_subcommand("token", "provision and inspect PKCS#11 tokens");
  token->require_subcommand(1);

  auto* init = token->add_subcommand("init", "initialise a free token: label, SO PIN, user PIN");
  add_module_option(init, o->token);
  init->add_option("--label", o->label, "label of the new token (1-32 bytes)")->required();
  add_so_pin_option(init, o->token);
  add_pin_option(init, o->token);
  init->callback([o] {
    auto module = load_module(o->token);
    auto so_pin = read_so_pin(o->token, "new SO PIN");
    auto user_pin = read_user_pin(o->token, "new user PIN");
    auto t = require(hsm::init_token(*module, o->label, so_pin, user_pin));
    std::cout << "initialised token '" << t.label << "' (serial " << t.serial << ")\n";
  });

  auto* list = token->add_subcommand("list", "list the tokens the module offers");
  add_module_option(list, o->token);
  list->callback([o] {
    auto module = load_module(o->token);
    auto tokens = require(hsm::list_tokens(*module));
    for (const auto& t : tokens) {
      std::cout << (t.initialized ? t.label : std::string("(free)")) << "\tserial=" << t.serial
                << "\tmanufacturer=" << t.manufacturer << "\tmodel=" << t.model
                << "\tinitialized=" << (t.initialized ? "yes" : "no") << "\n";
    }
  });

  auto* status = token->add_subcommand("status", "mechanisms, capabilities, sessions, objects");
  add_token_options(status, o->token);
  status->callback([o] {
    auto module = load_module(o->token);
    auto selector = token_selector(o->token);
    // Counting private objects needs a login; without a PIN source the counts are skipped.
    std::unique_ptr<core::SecretBytes> pin;
    if (user_pin_given(o->token)) {
      pin = std::make_unique<core::SecretBytes>(
          read_user_pin(o->token, "user PIN for " + selector.describe()));
    }
    auto s = require(hsm::token_status(*module, selector, pin.get()));
    print_token(s.token);
    std::cout << "sessions open: " << session_count_text(s.token.session_count) << "\n"
              << "session limit: " << session_limit_text(s.token.max_session_count) << "\n";
    std::cout << "mechanisms:";
    for (auto m : s.mechanisms) std::cout << " " << hsm::mechanism_name(m);
    std::cout << "\ncapabilities:\n";
    for (const auto& c : s.capabilities) {
      std::cout << "  " << hsm::capability_name(c.capability) << ": ";
      if (c.missing.empty()) {
        std::cout << "yes\n";
        continue;
      }
      std::cout << "no (lacks";
      for (std::size_t i = 0; i < c.missing.size(); ++i)
        std::cout << (i == 0 ? " " : ", ") << c.missing[i];
      std::cout << ")\n";
    }
    if (s.objects_counted) {
      std::cout << "objects: " << s.private_keys << " private keys, " << s.public_keys
                << " public keys, " << s.secret_keys << " secret keys\n";
    } else {
      std::cout << "objects: not counted (give --pin or set MEDLEDGER_USER_PIN)\n";
    }
  });
}

void register_key_commands(CLI::App& app, const std::shared_ptr<HsmOptions>& o) {
  auto* key = app.add_subcommand("key", "signing keys in the token");
  key->require_subcommand(1);

  auto* generate =
      key->add_subcommand("generate", "generate a non-extractable signing key pair in the token");
  add_token_options(generate, o->token);
  generate->add_option("--label", o->label, "CKA_LABEL of the new key")->required();
  generate->add_option("--algorithm", o->algorithm, "ecdsa-p256 (default) or ed25519");
  generate->callback([o] {
    auto algorithm = require(core::parse_key_algorithm(o->algorithm));
    hsm::KeyStore store(open_token(o->token));
    auto k = require(store.generate({o->label, algorithm}));
    std::cout << "id: " << core::hex_encode(k.id) << "\nlabel: " << k.label
              << "\nalgorithm: " << core::key_algorithm_name(k.algorithm) << "\n";
  });

  auto* list = key->add_subcommand("list", "list the key pairs in the token");
  add_token_options(list, o->token);
  list->callback([o] {
    hsm::KeyStore store(open_token(o->token));
    for (const auto& k : require(store.list())) {
      std::cout << core::hex_encode(k.id) << "\t" << core::key_algorithm_name(k.algorithm) << "\t"
                << k.label << "\n";
    }
  });

  auto* export_public = key->add_subcommand("export-public", "write a public key as PEM");
  add_token_options(export_public, o->token);
  add_key_choice(export_public, *o);
  export_public->add_option("--out", o->out, "output file (default: stdout)");
  export_public->callback([o] {
    hsm::KeyStore store(open_token(o->token));
    std::string pem = hsm::spki_to_pem(find_key(store, *o).public_key_spki);
    if (o->out.empty()) {
      std::cout << pem;
      return;
    }
    std::ofstream file(o->out, std::ios::binary);
    file << pem;
    if (!file.flush()) fail(core::make_error(ErrorCode::kIoError, "cannot write '" + o->out + "'"));
  });

  auto* sign = key->add_subcommand(
      "sign", "sign a SHA-256 digest; prints the signature (DER for ECDSA) as hex");
  add_token_options(sign, o->token);
  add_key_choice(sign, *o);
  sign->add_option("--digest", o->digest_hex, "SHA-256 digest, 64 hex characters")->required();
  sign->callback([o] {
    auto bytes = require(core::hex_decode(o->digest_hex));
    if (bytes.size() != core::kSha256Size) {
      fail(core::make_error(ErrorCode::kInvalidArgument,
                            "--digest must be 32 bytes (64 hex characters)"));
    }
    core::Digest digest{};
    std::copy(bytes.begin(), bytes.end(), digest.begin());
    hsm::KeyStore store(open_token(o->token));
    auto signer = require(store.signer(find_key(store, *o).id));
    std::cout << core::hex_encode(require(signer->sign_digest(digest))) << "\n";
  });

  auto* kek = key->add_subcommand("kek", "the key-encryption key that wraps person keys");
  kek->require_subcommand(1);
  auto* kek_create = kek->add_subcommand(
      "create", "create the AES-256 KEK: trusted with the SO PIN, or --without-so as the user");
  add_module_option(kek_create, o->token);
  add_token_selector_option(kek_create, o->token);
  add_so_pin_option(kek_create, o->token);
  add_pin_option(kek_create, o->token);
  kek_create->add_option("--label", o->label, "KEK label (default: medledger-kek)");
  kek_create->add_flag("--without-so", o->without_so,
                       "for tokens with no security officer (NSS): log in as the user (--pin); "
                       "the KEK is private and not CKA_TRUSTED");
  kek_create->callback([o] {
    auto module = load_module(o->token);
    auto selector = token_selector(o->token);
    const std::string label = o->label.empty() ? hsm::kDefaultKekLabel : o->label;
    if (!o->without_so) {
      auto so_pin = read_so_pin(o->token, "SO PIN for " + selector.describe());
      std::cout << "kek id: "
                << core::hex_encode(require(hsm::create_kek(*module, selector, so_pin, label)))
                << "\n";
      return;
    }
    auto pin = read_user_pin(o->token, "user PIN for " + selector.describe());
    auto kek = require(hsm::create_kek_without_so(*module, selector, pin, label));
    // create_kek_without_so succeeds only where the token does not enforce the attribute.
    std::cerr << "medledger: warning: this token does not enforce CKA_WRAP_WITH_TRUSTED: any key "
                 "with CKA_WRAP in it could wrap person keys out; guard the user PIN as the "
                 "person keys' custody (docs/hsm.md)\n";
    std::cout << "kek id: " << core::hex_encode(kek.id) << "\n";
  });
}

}  // namespace

void register_hsm_commands(CLI::App& app) {
  auto options = std::make_shared<HsmOptions>();
  register_token_commands(app, options);
  register_key_commands(app, options);
}

}  // namespace medledger::app
