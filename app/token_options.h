// Token options shared by command families that need a key in the token (ca ...,
// later enrol ...): --module, --token, --pin, with the same meaning and defaults
// as `medledger key ...`. PINs come only from a SecretSource, never from argv.
#pragma once

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "medledger/hsm/session_pool.h"

namespace medledger::app {

/// Where the user PIN comes from when --pin is not given and the variable is set.
inline constexpr const char* kUserPinEnvironment = "MEDLEDGER_USER_PIN";

struct TokenOptions {
  std::string module;  // empty: $MEDLEDGER_PKCS11_MODULE, else SoftHSM2
  std::string token;   // label, serial or pkcs11: URI
  std::string pin;     // user PIN source: file:PATH, env:NAME or prompt
};

/// Adds --module, --token (required) and --pin to `command`.
void add_token_options(CLI::App* command, TokenOptions& options);

/// Loads the module, finds the token, reads the PIN and logs in (one session).
/// Ends the command with the stable error code on failure.
std::shared_ptr<hsm::SessionPool> open_token(const TokenOptions& options);

}  // namespace medledger::app
