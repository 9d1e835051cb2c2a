// Where a PIN or passphrase comes from: a file, an environment variable or an
// interactive prompt -- never argv, so it cannot be read from /proc/<pid>/cmdline
// or shell history.
#pragma once

#include <string>

#include "medledger/core/result.h"
#include "medledger/core/secret.h"

namespace medledger::core {

struct SecretSource {
  enum class Kind { kFile, kEnv, kPrompt };
  Kind kind = Kind::kPrompt;
  std::string location;  // file path, variable name or prompt text

  /// Parses "file:/path", "env:NAME" or "prompt" (prompt text defaults to `what`).
  static Result<SecretSource> parse(const std::string& spec, const std::string& what);
  /// "file:/path", "env:NAME" or "prompt" (never the secret itself).
  std::string describe() const;
};

/// Reads the secret. A file's trailing newline(s) are dropped; an empty secret,
/// an unset variable or an unreadable file is kSecretUnavailable. A prompt reads
/// from /dev/tty with echo off and fails if there is no terminal.
Result<SecretBytes> read_secret(const SecretSource& source);

}  // namespace medledger::core
