// Token options shared by every command family that talks to a token (token ...,
// key ..., ca ..., later enrol ...): --module, --token, --pin, --so-pin, with one
// meaning and one set of defaults. PINs come only from a SecretSource
// (file:PATH, env:NAME, prompt), never from argv.
#pragma once

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "medledger/core/secret.h"
#include "medledger/hsm/module.h"
#include "medledger/hsm/session_pool.h"

namespace medledger::app {

/// Where the user PIN comes from when --pin is not given and the variable is set.
inline constexpr const char* kUserPinEnvironment = "MEDLEDGER_USER_PIN";
/// Where the SO PIN comes from when --so-pin is not given and the variable is set.
inline constexpr const char* kSoPinEnvironment = "MEDLEDGER_SO_PIN";

struct TokenOptions {
  std::string module;       // empty: $MEDLEDGER_PKCS11_MODULE, else SoftHSM2
  std::string module_args;  // init-args source: file:PATH or env:NAME (may hold a password)
  std::string token;        // label, serial or pkcs11: URI
  std::string pin;          // user PIN source: file:PATH, env:NAME or prompt
  std::string so_pin;       // SO PIN source, for the commands that take --so-pin
};

/// Adds --module and --module-args to `command`.
void add_module_option(CLI::App* command, TokenOptions& options);
/// Adds --token (required: label, serial or pkcs11: URI) to `command`.
void add_token_selector_option(CLI::App* command, TokenOptions& options);
/// Adds --pin (user PIN source) to `command`.
void add_pin_option(CLI::App* command, TokenOptions& options);
/// Adds --so-pin (SO PIN source) to `command`.
void add_so_pin_option(CLI::App* command, TokenOptions& options);
/// Adds --module, --token (required) and --pin to `command`.
void add_token_options(CLI::App* command, TokenOptions& options);

/// True when a user PIN source was named: --pin, or $MEDLEDGER_USER_PIN set.
bool user_pin_given(const TokenOptions& options);

/// Reads the user PIN from --pin, else env:MEDLEDGER_USER_PIN if set, else a
/// prompt naming `what`. Ends the command with SECRET_UNAVAILABLE on failure.
core::SecretBytes read_user_pin(const TokenOptions& options, const std::string& what);
/// The same for the SO PIN (--so-pin, env:MEDLEDGER_SO_PIN, prompt).
core::SecretBytes read_so_pin(const TokenOptions& options, const std::string& what);

/// The --module-args secret (file:PATH or env:NAME), else $MEDLEDGER_PKCS11_MODULE_ARGS,
/// else empty. A literal string is INVALID_ARGUMENT (it would sit in argv).
core::SecretBytes read_module_args(const TokenOptions& options);

/// Loads the module named by --module (resolve_module_path) with the initialisation
/// arguments from --module-args (file:PATH or env:NAME), else $MEDLEDGER_PKCS11_MODULE_ARGS
/// if set, else none. Ends the command with MODULE_LOAD_FAILED / MODULE_INIT_FAILED,
/// or SECRET_UNAVAILABLE for an unreadable source, on failure.
std::shared_ptr<hsm::Module> load_module(const TokenOptions& options);

/// Parses --token. Ends the command with URI_INVALID on a malformed URI.
hsm::TokenSelector token_selector(const TokenOptions& options);

/// Loads the module, finds the token, reads the PIN and logs in (one session).
/// Ends the command with the stable error code on failure.
std::shared_ptr<hsm::SessionPool> open_token(const TokenOptions& options);

}  // namespace medledger::app
