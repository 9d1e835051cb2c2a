#include "token_options.h"

#include <cstdlib>

#include "cli_support.h"
#include "medledger/core/secret_source.h"
#include "medledger/hsm/token_selector.h"

namespace medledger::app {

namespace {
bool environment_set(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0';
}

// The PIN source rule, in one place: the option, else env:NAME when that variable
// is set, else an interactive prompt.
core::SecretBytes read_pin(const std::string& spec, const char* environment,
                           const std::string& what) {
  std::string source_spec = !spec.empty()                  ? spec
                            : environment_set(environment) ? std::string("env:") + environment
                                                           : "prompt";
  auto source = require(core::SecretSource::parse(source_spec, what));
  return require(core::read_secret(source));
}
}  // namespace

void add_module_option(CLI::App* command, TokenOptions& options) {
  command->add_option("--module", options.module,
                      "PKCS#11 module (default: $MEDLEDGER_PKCS11_MODULE, else SoftHSM2)");
  command->add_option("--module-args", options.module_args,
                      "source of the module's C_Initialize arguments (e.g. NSS's "
                      "configdir=...): file:PATH or env:NAME (default: "
                      "$MEDLEDGER_PKCS11_MODULE_ARGS if set, else none)");
}

void add_token_selector_option(CLI::App* command, TokenOptions& options) {
  command->add_option("--token", options.token, "token label, serial or pkcs11: URI")->required();
}

void add_pin_option(CLI::App* command, TokenOptions& options) {
  command->add_option("--pin", options.pin,
                      "user PIN source: file:PATH, env:NAME or prompt (default: "
                      "env:MEDLEDGER_USER_PIN if set, else prompt)");
}

void add_so_pin_option(CLI::App* command, TokenOptions& options) {
  command->add_option("--so-pin", options.so_pin,
                      "SO PIN source: file:PATH, env:NAME or prompt (default: env:MEDLEDGER_SO_PIN "
                      "if set, else prompt)");
}

void add_token_options(CLI::App* command, TokenOptions& options) {
  add_module_option(command, options);
  add_token_selector_option(command, options);
  add_pin_option(command, options);
}

bool user_pin_given(const TokenOptions& options) {
  return !options.pin.empty() || environment_set(kUserPinEnvironment);
}

core::SecretBytes read_user_pin(const TokenOptions& options, const std::string& what) {
  return read_pin(options.pin, kUserPinEnvironment, what);
}

core::SecretBytes read_so_pin(const TokenOptions& options, const std::string& what) {
  return read_pin(options.so_pin, kSoPinEnvironment, what);
}

core::SecretBytes read_module_args(const TokenOptions& options) {
  if (options.module_args.empty()) return hsm::module_args_from_environment();
  // Never "prompt" and never the string itself: the arguments may hold a password.
  if (options.module_args.rfind("file:", 0) != 0 && options.module_args.rfind("env:", 0) != 0) {
    return require(core::Result<core::SecretBytes>(
        core::make_error(core::ErrorCode::kInvalidArgument,
                         "--module-args takes file:PATH or env:NAME, not the arguments")));
  }
  auto source = require(core::SecretSource::parse(options.module_args, "module arguments"));
  return require(core::read_secret(source));
}

std::shared_ptr<hsm::Module> load_module(const TokenOptions& options) {
  return require(
      hsm::Module::load(hsm::resolve_module_path(options.module), read_module_args(options)));
}

hsm::TokenSelector token_selector(const TokenOptions& options) {
  return require(hsm::TokenSelector::parse(options.token));
}

std::shared_ptr<hsm::SessionPool> open_token(const TokenOptions& options) {
  auto module = load_module(options);
  auto selector = token_selector(options);
  auto pin = read_user_pin(options, "user PIN for " + selector.describe());
  hsm::PoolOptions pool_options;
  pool_options.max_sessions = 1;  // one command, one session
  return require(hsm::SessionPool::open(module, selector, std::move(pin), pool_options));
}

}  // namespace medledger::app
