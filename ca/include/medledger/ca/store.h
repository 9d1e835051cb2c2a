// Where a CA keeps its state: its certificate and chain, the certificates it
// issued (with revocation status) and the CRL number counter.
//
// IssuanceLog is the narrow interface the CA operations need; the ledger (later)
// can implement it from ledger state. CaDirectory is the on-disk implementation:
//
//   <dir>/ca.json       hospital id + reference of the CA key in the token
//   <dir>/ca.pem        the CA certificate
//   <dir>/chain.pem     the CA certificate followed by its issuers up to the root
//   <dir>/index.json    issued certificates (serial, subject, role, notAfter,
//                       status, revocation time + reason) and the last CRL number
//   <dir>/issued/<SERIAL>.pem  each issued certificate
//   <dir>/crl.der       the CRL last published (its number is index.json's crl_number)
//   <dir>/ocsp-responder.pem  a delegated OCSP responder certificate, if one was issued
//
// Every write is atomic: a temporary file, fsync, rename, fsync of the directory.
// One writer at a time (the CLI); cost: a file rewrite per change.
#pragma once

#include <cstdint>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "medledger/ca/certificate.h"
#include "medledger/ca/profile.h"
#include "medledger/ca/revocation.h"

namespace medledger::ca {

struct IssuedRecord {
  std::string serial_hex;
  std::string subject;
  Role role = Role::kDoctor;
  std::time_t not_after = 0;
  std::optional<RevokedEntry> revocation;  // set once revoked
};

class IssuanceLog {
 public:
  virtual ~IssuanceLog() = default;
  /// Records a newly issued certificate; kAlreadyExists for a known serial.
  virtual core::Result<void> record_issued(const Certificate& certificate, Role role) = 0;
  /// Marks a certificate revoked; kNotFound for an unknown serial, kAlreadyExists if revoked
  /// already.
  virtual core::Result<void> mark_revoked(const RevokedEntry& entry) = 0;
  /// Every record, in issue order.
  virtual core::Result<std::vector<IssuedRecord>> records() const = 0;
  /// Increments and returns the CRL number (1 for the first CRL).
  virtual core::Result<std::uint64_t> next_crl_number() = 0;
};

/// The revoked entries among `records`, for CertificateAuthority::make_crl.
std::vector<RevokedEntry> revoked_entries(const std::vector<IssuedRecord>& records);

/// How the CA publishes revocation (optional members of ca.json, docs/ca.md "Publishing
/// revocation"); the defaults apply to a ca.json that names none.
struct RevocationSettings {
  std::string ocsp_url;            // authorityInfoAccess OCSP of issued certificates ("": none)
  std::string crl_url;             // their crlDistributionPoints ("": none)
  int crl_validity_hours = 168;    // nextUpdate - thisUpdate of a CRL (1..kMaxCrlValidityDays*24)
  int crl_refresh_hours = 84;      // a CRL is re-signed this long before its nextUpdate
  int ocsp_validity_minutes = 60;  // nextUpdate - thisUpdate of an OCSP answer (1..10080)
  std::string ocsp_responder_key_id_hex;  // CKA_ID of a delegated responder key; "": the CA key
};

/// Settings of a CA directory: which hospital, and where its key is in the token.
struct CaSettings {
  std::string hospital_id;
  std::string key_label;   // CKA_LABEL of the CA key in the token
  std::string key_id_hex;  // CKA_ID of the CA key, hex
  RevocationSettings revocation = {};  // ca.json's optional members
};

/// kConfigInvalid (naming the member) unless the settings are in range, the URLs
/// pass check_publication_url and the refresh time is shorter than the validity.
core::Result<void> check_revocation_settings(const RevocationSettings& settings);

class CaDirectory final : public IssuanceLog {
 public:
  /// Creates `dir` (mode 0700) and writes settings, ca.pem, chain.pem and an empty
  /// index; kAlreadyExists if ca.pem is there already, kIoError on I/O failure.
  /// An empty `chain` leaves the directory pending (settings only, no ca.pem): an
  /// intermediate waiting for its root's signature; create() again to import it.
  static core::Result<CaDirectory> create(const std::filesystem::path& dir,
                                          const CaSettings& settings,
                                          const std::vector<Certificate>& chain);
  /// Opens an existing directory; kCaNotInitialized if there is no ca.pem,
  /// kMalformedEncoding / kConfigInvalid for damaged files.
  static core::Result<CaDirectory> open(const std::filesystem::path& dir);

  /// Reads ca.json alone (works on a pending directory). kCaNotInitialized if absent.
  static core::Result<CaSettings> read_settings(const std::filesystem::path& dir);

  const std::filesystem::path& path() const { return dir_; }
  const CaSettings& settings() const { return settings_; }
  /// The CA certificate followed by its issuers (chain.pem).
  const std::vector<Certificate>& chain() const { return chain_; }
  /// Replaces ca.pem/chain.pem (importing a root-signed intermediate certificate).
  core::Result<void> replace_chain(const std::vector<Certificate>& chain);
  /// Rewrites ca.json with `settings` (check_revocation_settings first). kIoError.
  core::Result<void> save_settings(const CaSettings& settings);
  /// The last CRL this CA published (<dir>/crl.der), nullopt before the first.
  /// kCrlInvalid if the file is damaged.
  core::Result<std::optional<Crl>> current_crl() const;
  /// Replaces crl.der atomically. kIoError.
  core::Result<void> save_crl(const Crl& crl);
  /// The delegated OCSP responder certificate (<dir>/ocsp-responder.pem), nullopt if none.
  core::Result<std::optional<Certificate>> responder_certificate() const;
  /// Replaces ocsp-responder.pem atomically. kIoError.
  core::Result<void> save_responder_certificate(const Certificate& certificate);
  /// An issued certificate by serial (hex, any case); kNotFound otherwise.
  core::Result<Certificate> issued_certificate(const std::string& serial_hex) const;

  core::Result<void> record_issued(const Certificate& certificate, Role role) override;
  core::Result<void> mark_revoked(const RevokedEntry& entry) override;
  core::Result<std::vector<IssuedRecord>> records() const override;
  core::Result<std::uint64_t> next_crl_number() override;

 private:
  CaDirectory(std::filesystem::path dir, CaSettings settings, std::vector<Certificate> chain)
      : dir_(std::move(dir)), settings_(std::move(settings)), chain_(std::move(chain)) {}
  struct Index {
    std::vector<IssuedRecord> records;
    std::uint64_t crl_number = 0;
  };
  core::Result<Index> load_index() const;
  core::Result<void> save_index(const Index& index) const;

  std::filesystem::path dir_;
  CaSettings settings_;
  std::vector<Certificate> chain_;
};

/// Writes `content` to `path` atomically (temp file in the same directory,
/// fsync, rename, fsync of the directory), mode 0600 for new files. kIoError.
core::Result<void> write_file_atomically(const std::filesystem::path& path, core::ByteView content);

}  // namespace medledger::ca
