// Helpers for the ca tests: a software-key CA, CSRs of any shape made with
// OpenSSL directly, a temporary directory and the openssl CLI.
#pragma once

#include "temp_dir.h"

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "medledger/ca/authority.h"
#include "medledger/core/software_signer.h"

namespace medledger::ca::testing {

inline constexpr std::time_t kNow = 1767225600;  // 2026-01-01T00:00:00Z
inline constexpr long kDay = 86400;

/// An IssueRequest (designated initialisers that omit fields trip -Wextra on g++ 12).
IssueRequest request(Role role, std::string subject_id,
                     std::optional<int> validity_days = std::nullopt);
/// CaOptions with the given fields.
CaOptions ca_options(std::string hospital, int validity_days = 0, int path_length = 0,
                     std::string common_name = "");

/// A CA with an in-memory P-256 key (self-signed, or an intermediate under a root).
struct SoftwareCa {
  std::unique_ptr<core::SoftwareSigner> signer;
  std::unique_ptr<CertificateAuthority> ca;
};
SoftwareCa make_ca(const std::string& hospital = "hospital-a", std::time_t now = kNow,
                   int days = 0);
/// A root (pathlen 1) and an intermediate below it; returns {root, intermediate}.
std::pair<SoftwareCa, SoftwareCa> make_root_and_intermediate(
    const std::string& hospital = "hospital-a");

enum class TestKey { kP256, kP384, kRsa2048, kEd25519 };
core::EvpPkeyPtr generate_key(TestKey type);

/// What make_csr builds; set fields with the with_* calls.
struct CsrSpec {
  using Subject = std::vector<std::pair<std::string, std::string>>;  // e.g. {"CN","dr-1"}
  using Extensions = std::vector<std::pair<int, std::string>>;       // {NID, openssl.cnf value}
  TestKey key = TestKey::kP256;
  Subject subject;
  Extensions extensions;
  bool corrupt_signature = false;

  CsrSpec& with_key(TestKey k) {
    key = k;
    return *this;
  }
  CsrSpec& with_subject(Subject s) {
    subject = std::move(s);
    return *this;
  }
  CsrSpec& with_extensions(Extensions e) {
    extensions = std::move(e);
    return *this;
  }
  CsrSpec& corrupted() {
    corrupt_signature = true;
    return *this;
  }
};
/// A CSR signed with a fresh key (corrupt_signature flips one signature bit).
CertificateRequest make_csr(const CsrSpec& spec = {});
/// SPKI DER of a fresh key.
core::Bytes make_spki(TestKey type);

using medledger::testing::TempDir;  // tests/support/temp_dir.h

struct CommandResult {
  int exit_code;
  std::string output;  // stdout and stderr together
};
/// Runs a shell command line (arguments already quoted by the caller).
CommandResult run(const std::string& command_line);

}  // namespace medledger::ca::testing
