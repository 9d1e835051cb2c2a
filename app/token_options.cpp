#include "token_options.h"

#include <cstdlib>

#include "cli_support.h"
#include "medledger/core/secret_source.h"
#include "medledger/hsm/module.h"
#include "medledger/hsm/token_selector.h"

namespace medledger::app {

void add_token_options(CLI::App* command, TokenOptions& options) {
  command->add_option("--module", options.module, "PKCS#11 module (default: $MEDLEDGER_PKCS11_MODULE, else SoftHSM2)");
  command->add_option("--token", options.token, "token label, serial or pkcs11: URI")->required();
  command->add_option("--pin", options.pin,
                      "user PIN source: file:PATH, env:NAME or prompt (default: env:MEDLEDGER_USER_PIN if set, else prompt)");
}

std::shared_ptr<hsm::SessionPool> open_token(const TokenOptions& options) {
  auto module = require(hsm::Module::load(hsm::resolve_module_path(options.module)));
  auto selector = require(hsm::TokenSelector::parse(options.token));
  std::string spec = options.pin;
  if (spec.empty()) {
    const char* value = std::getenv(kUserPinEnvironment);
    spec = value != nullptr && *value != '\0' ? std::string("env:") + kUserPinEnvironment : "prompt";
  }
  auto source = require(core::SecretSource::parse(spec, "user PIN for " + selector.describe()));
  auto pin = require(core::read_secret(source));
  hsm::PoolOptions pool_options;
  pool_options.max_sessions = 1;  // one command, one session
  return require(hsm::SessionPool::open(module, selector, std::move(pin), pool_options));
}

}  // namespace medledger::app
