// `medledger ca ...`: the hospital CA with its key in the token.
//
// State lives in --ca-dir (default $MEDLEDGER_DATA_DIR/ca, else .medledger/ca);
// the CA key never leaves the token: init generates it there, and issue / crl /
// import sign through hsm::TokenSigner. Only the offline root of the intermediate
// flow (root-init, sign-intermediate) uses a software key in a PEM file.
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli_support.h"
#include "commands.h"
#include "medledger/ca/authority.h"
#include "medledger/ca/export.h"
#include "medledger/ca/limits.h"
#include "medledger/ca/ocsp.h"
#include "medledger/ca/store.h"
#include "medledger/ca/validation.h"
#include "medledger/core/secret_source.h"
#include "medledger/core/software_signer.h"
#include "medledger/hsm/key_store.h"
#include "medledger/hsm/token_signer.h"
#include "medledger/ledger/ledger.h"
#include "medledger/ledger/records_contract.h"
#include "medledger/ledger/records_state.h"
#include "medledger/node/ca_operations.h"
#include "medledger/node/node_config.h"
#include "token_options.h"

namespace medledger::app {

namespace {

using core::ErrorCode;
namespace fs = std::filesystem;

struct CaCommandOptions {
  TokenOptions token;
  std::string ca_dir;
  std::string hospital;
  std::string key_label;
  std::string csr;
  std::string public_key;
  std::string role;
  std::string id;
  std::string serial;
  std::string reason = "unspecified";
  std::string out;
  std::string format = "pem";
  std::string cert;
  std::string chain;
  std::string crl;
  std::string root_key;
  std::string root_cert;
  std::string key_out;
  std::string intermediate_csr;
  std::vector<std::string> subject_alt_names;
  std::string node_dir;
  std::optional<std::string> ocsp_url;
  std::optional<std::string> crl_url;
  std::optional<int> crl_validity_hours;
  std::optional<int> crl_refresh_hours;
  std::optional<int> ocsp_validity_minutes;
  int days = 0;
  bool der = false;
};

fs::path ca_dir(const CaCommandOptions& o) {
  if (!o.ca_dir.empty()) return o.ca_dir;
  const char* data = std::getenv("MEDLEDGER_DATA_DIR");
  return data != nullptr && *data != '\0' ? fs::path(data) / "ca" : fs::path(".medledger") / "ca";
}

core::Bytes read_input(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(core::make_error(ErrorCode::kIoError, "cannot read " + path));
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > ca::kMaxEncodedInput)
    fail(core::make_error(ErrorCode::kInvalidArgument, path + " is too large"));
  return core::to_bytes(text.str());
}

// Writes to a file atomically, or to stdout when no path is given.
void write_output(const std::string& path, const core::Bytes& content) {
  if (path.empty()) {
    std::cout.write(reinterpret_cast<const char*>(content.data()),
                    static_cast<std::streamsize>(content.size()));
    std::cout.flush();
    return;
  }
  require(ca::write_file_atomically(path, content));
}

std::time_t now() { return std::time(nullptr); }

void describe(const ca::Certificate& cert, std::ostream& out) {
  out << "subject: " << cert.subject() << "\nissuer: " << cert.issuer()
      << "\nserial: " << cert.serial_hex() << "\nvalid: " << ca::utc_text(cert.not_before())
      << " .. " << ca::utc_text(cert.not_after())
      << "\nsha256: " << core::hex_encode(core::sha256(cert.to_der())) << "\n";
}

// The token key of a CA directory, and the CA bound to it. Members in
// dependency order: the signer outlives the CA that points at it.
struct TokenCa {
  std::shared_ptr<hsm::SessionPool> pool;
  std::unique_ptr<hsm::TokenSigner> signer;
  std::optional<ca::CaDirectory> store;
  std::optional<ca::CertificateAuthority> authority;
};

std::unique_ptr<hsm::TokenSigner> token_signer(const std::shared_ptr<hsm::SessionPool>& pool,
                                               const ca::CaSettings& settings) {
  hsm::KeyStore keys(pool);
  return require(keys.signer(require(core::hex_decode(settings.key_id_hex))));
}

TokenCa open_token_ca(const CaCommandOptions& o) {
  TokenCa out;
  out.store.emplace(require(ca::CaDirectory::open(ca_dir(o))));
  out.pool = open_token(o.token);
  out.signer = token_signer(out.pool, out.store->settings());
  const auto& chain = out.store->chain();
  out.authority.emplace(require(ca::CertificateAuthority::open(
      *out.signer, chain.front(), std::vector<ca::Certificate>(chain.begin() + 1, chain.end()))));
  const ca::RevocationSettings& revocation = out.store->settings().revocation;
  require(out.authority->set_publication_points({revocation.ocsp_url, revocation.crl_url}));
  return out;
}

std::optional<int> days_option(const CaCommandOptions& o) {
  return o.days > 0 ? std::optional<int>(o.days) : std::nullopt;
}

void init_ca(const CaCommandOptions& o) {
  fs::path dir = ca_dir(o);
  if (ca::CaDirectory::read_settings(dir).ok()) {
    fail(core::make_error(ErrorCode::kAlreadyExists,
                          "a CA (or a pending intermediate) already exists in " + dir.string()));
  }
  auto pool = open_token(o.token);
  hsm::KeyStore keys(pool);
  std::string label = o.key_label.empty() ? "ca-" + o.hospital : o.key_label;
  auto key = require(keys.generate({label, core::KeyAlgorithm::kEcdsaP256}));
  auto signer = require(keys.signer(key.id));
  ca::CaSettings settings{o.hospital, label, core::hex_encode(key.id)};
  ca::CaOptions options;
  options.hospital_id = o.hospital;
  options.validity_days = o.days;
  if (!o.intermediate_csr.empty()) {
    auto csr = require(ca::CertificateAuthority::intermediate_request(*signer, options));
    require(ca::CaDirectory::create(dir, settings, {}));
    write_output(o.intermediate_csr, core::to_bytes(csr.to_pem()));
    std::cout << "CA key '" << label << "' generated in the token; intermediate request written to "
              << o.intermediate_csr
              << "\nhave the root sign it (medledger ca sign-intermediate), then run medledger ca "
                 "import\n";
    return;
  }
  auto cert = require(ca::CertificateAuthority::self_signed(*signer, options, now()));
  require(ca::CaDirectory::create(dir, settings, {cert}));
  std::cout << "CA initialised in " << dir.string() << " (key '" << label << "' in the token)\n";
  describe(cert, std::cout);
}

// A PKCS#10 request signed by a key in the token (e.g. the node's TLS key, which
// `serve` then uses as pkcs11:object=<label>): the private key never leaves it.
void request_for_token_key(const CaCommandOptions& o) {
  hsm::KeyStore store(open_token(o.token));
  auto key = require(store.find_by_label(o.key_label));
  auto signer = require(store.signer(key.id));
  auto csr = require(ca::CertificateRequest::for_key(*signer, o.id, o.subject_alt_names));
  write_output(o.out, core::to_bytes(csr.to_pem()));
}

void issue(const CaCommandOptions& o) {
  auto role = require(ca::parse_role(o.role));
  TokenCa ca = open_token_ca(o);
  ca::IssueRequest request;
  request.role = role;
  request.subject_id = o.id;
  request.validity_days = days_option(o);
  std::optional<ca::Certificate> cert;
  if (!o.csr.empty()) {
    auto csr = require(ca::CertificateRequest::parse(read_input(o.csr)));
    cert.emplace(require(ca.authority->issue(csr, request, now())));
  } else {
    auto spki = require(ca::parse_public_key(read_input(o.public_key)));
    cert.emplace(require(ca.authority->issue_for_key(spki, request, now())));
  }
  require(ca.store->record_issued(*cert, role));
  write_output(o.out, o.der ? cert->to_der() : core::to_bytes(cert->to_pem()));
  (o.out.empty() ? std::cerr : std::cout)
      << "issued " << cert->serial_hex() << " " << cert->subject() << " until "
      << ca::utc_text(cert->not_after()) << "\n";
}

// With --node-dir, what the node's CRL says: the ledger's revocations of this CA's
// certificates (read from the node's ledger directory) and the CA directory's.
std::vector<ca::RevokedEntry> revoked_for_crl(const CaCommandOptions& o, const TokenCa& ca) {
  auto records = require(ca.store->records());
  if (o.node_dir.empty()) return ca::revoked_entries(records);
  auto config = require(node::load_node_config(o.node_dir));
  auto ledger = require(ledger::Ledger::open(config.ledger_dir));
  auto state = require(ledger::StateSnapshot::open(ledger->store()));
  auto statuses = require(node::ledger_certificate_statuses(
      *state, ledger::certificate_fingerprint(ca.store->chain().front())));
  for (const auto& entry : ca::revoked_entries(records)) {
    statuses.emplace(entry.serial_hex, ca::OcspCertStatus{ca::OcspCertStatus::Kind::kRevoked,
                                                          entry.revoked_at, entry.reason});
  }
  return node::crl_entries(statuses);
}

void make_crl(const CaCommandOptions& o) {
  TokenCa ca = open_token_ca(o);
  const std::vector<ca::RevokedEntry> revoked = revoked_for_crl(o, ca);
  std::uint64_t number = require(ca.store->next_crl_number());
  const std::time_t next_update =
      now() +
      (o.days > 0
           ? static_cast<std::time_t>(o.days) * 86400
           : static_cast<std::time_t>(ca.store->settings().revocation.crl_validity_hours) * 3600);
  auto crl = require(ca.authority->make_crl_until(revoked, number, now(), next_update));
  // The published CRL: what a node serving this CA hands out after its next restart.
  require(ca.store->save_crl(crl));
  write_output(o.out, o.der ? crl.to_der() : core::to_bytes(crl.to_pem()));
  (o.out.empty() ? std::cerr : std::cout)
      << "CRL number " << number << " with " << crl.revoked_serials().size()
      << " revoked, next update " << ca::utc_text(*crl.next_update()) << "\n";
}

// A delegated OCSP responder: a P-256 key in the token (made if the label is new,
// else re-certified) and a short-lived certificate from the CA, named in ca.json.
void ocsp_responder(const CaCommandOptions& o) {
  TokenCa ca = open_token_ca(o);
  hsm::KeyStore keys(ca.pool);
  const std::string label =
      o.key_label.empty() ? "ocsp-" + ca.store->settings().hospital_id : o.key_label;
  auto found = keys.find_by_label(label);
  if (!found && found.error().code != ErrorCode::kKeyNotFound) fail(found.error());
  auto key = found ? *found : require(keys.generate({label, core::KeyAlgorithm::kEcdsaP256}));
  auto signer = require(keys.signer(key.id));
  auto cert = require(ca.authority->issue_ocsp_responder(
      signer->public_key_spki(), o.days > 0 ? o.days : ca::kDefaultOcspResponderValidityDays,
      now()));
  require(ca.store->save_responder_certificate(cert));
  ca::CaSettings settings = ca.store->settings();
  settings.revocation.ocsp_responder_key_id_hex = core::hex_encode(key.id);
  require(ca.store->save_settings(settings));
  write_output(o.out, core::to_bytes(cert.to_pem()));
  (o.out.empty() ? std::cerr : std::cout)
      << "OCSP responder certificate " << cert.serial_hex() << " for key '" << label << "' until "
      << ca::utc_text(cert.not_after())
      << "; restart `medledger serve` to sign OCSP answers with it\n";
}

// The publishing settings in ca.json; options not given keep their value.
void configure(const CaCommandOptions& o) {
  auto store = require(ca::CaDirectory::open(ca_dir(o)));
  ca::CaSettings settings = store.settings();
  ca::RevocationSettings& r = settings.revocation;
  if (o.ocsp_url) r.ocsp_url = *o.ocsp_url;
  if (o.crl_url) r.crl_url = *o.crl_url;
  if (o.crl_validity_hours) r.crl_validity_hours = *o.crl_validity_hours;
  if (o.crl_refresh_hours) {
    r.crl_refresh_hours = *o.crl_refresh_hours;
  } else if (o.crl_validity_hours && r.crl_refresh_hours >= r.crl_validity_hours) {
    r.crl_refresh_hours = r.crl_validity_hours / 2;  // a shorter validity keeps the same share
  }
  if (o.ocsp_validity_minutes) r.ocsp_validity_minutes = *o.ocsp_validity_minutes;
  require(store.save_settings(settings));
  std::cout << "ocsp_url: " << (r.ocsp_url.empty() ? "(none)" : r.ocsp_url)
            << "\ncrl_url: " << (r.crl_url.empty() ? "(none)" : r.crl_url)
            << "\ncrl_validity_hours: " << r.crl_validity_hours
            << "\ncrl_refresh_before_hours: " << r.crl_refresh_hours
            << "\nocsp_validity_minutes: " << r.ocsp_validity_minutes << "\nocsp_responder_key_id: "
            << (r.ocsp_responder_key_id_hex.empty() ? "(none: the CA key signs)"
                                                    : r.ocsp_responder_key_id_hex)
            << "\n";
}

void revoke(const CaCommandOptions& o) {
  auto store = require(ca::CaDirectory::open(ca_dir(o)));
  auto reason = require(ca::parse_revocation_reason(o.reason));
  auto cert = require(store.issued_certificate(o.serial));
  require(store.mark_revoked({cert.serial_hex(), now(), reason}));
  std::cout << "revoked " << cert.serial_hex() << " " << cert.subject() << " ("
            << ca::revocation_reason_name(reason) << "); publish a new CRL with medledger ca crl\n";
}

void export_chain(const CaCommandOptions& o) {
  auto store = require(ca::CaDirectory::open(ca_dir(o)));
  std::vector<ca::Certificate> certs;
  if (!o.serial.empty()) certs.push_back(require(store.issued_certificate(o.serial)));
  certs.insert(certs.end(), store.chain().begin(), store.chain().end());
  if (o.format == "pem") return write_output(o.out, core::to_bytes(ca::pem_bundle(certs)));
  if (o.format == "p7b") return write_output(o.out, require(ca::pkcs7_certs_only_der(certs)));
  if (o.format == "p7b-pem")
    return write_output(o.out, core::to_bytes(require(ca::pkcs7_certs_only_pem(certs))));
  fail(core::make_error(ErrorCode::kInvalidArgument, "--format must be pem, p7b or p7b-pem"));
}

void show(const CaCommandOptions& o) {
  auto store = require(ca::CaDirectory::open(ca_dir(o)));
  if (!o.serial.empty()) {
    auto cert = require(store.issued_certificate(o.serial));
    describe(cert, std::cout);
    for (const auto& record : require(store.records())) {
      if (record.serial_hex == cert.serial_hex() && record.revocation) {
        std::cout << "revoked: " << ca::utc_text(record.revocation->revoked_at) << " ("
                  << ca::revocation_reason_name(record.revocation->reason) << ")\n";
      }
    }
    return;
  }
  std::cout << "hospital: " << store.settings().hospital_id
            << "\nkey: " << store.settings().key_label << " (id " << store.settings().key_id_hex
            << ")\n";
  describe(store.chain().front(), std::cout);
  for (std::size_t i = 1; i < store.chain().size(); ++i)
    std::cout << "chain[" << i << "]: " << store.chain()[i].subject() << "\n";
  for (const auto& record : require(store.records())) {
    std::cout << record.serial_hex << "\t" << ca::role_name(record.role) << "\t" << record.subject
              << "\t" << ca::utc_text(record.not_after) << "\t"
              << (record.revocation
                      ? "revoked:" +
                            std::string(ca::revocation_reason_name(record.revocation->reason))
                      : "valid")
              << "\n";
  }
}

void verify(const CaCommandOptions& o) {
  auto leaf = require(ca::Certificate::parse(read_input(o.cert)));
  std::vector<ca::Certificate> chain =
      o.chain.empty() ? require(ca::CaDirectory::open(ca_dir(o))).chain()
                      : require(ca::parse_pem_bundle(core::to_string(read_input(o.chain))));
  ca::TrustAnchors anchors{{chain.back()},
                           std::vector<ca::Certificate>(chain.begin(), chain.end() - 1)};
  std::vector<ca::Crl> crls;
  if (!o.crl.empty()) crls.push_back(require(ca::Crl::parse(read_input(o.crl))));
  std::optional<ca::Role> role;
  if (!o.role.empty()) role = require(ca::parse_role(o.role));
  auto valid = require(ca::validate_chain(leaf, anchors, crls, now(), role));
  std::cout << "OK " << ca::role_name(valid.role) << " " << valid.subject_id << " of "
            << valid.hospital_id << "\n";
}

void root_init(const CaCommandOptions& o) {
  auto signer = require(core::SoftwareSigner::generate(core::KeyAlgorithm::kEcdsaP256));
  ca::CaOptions options;
  options.hospital_id = o.hospital;
  options.common_name = o.hospital + " Root CA";
  options.validity_days = o.days;
  options.path_length = 1;
  auto cert = require(ca::CertificateAuthority::self_signed(*signer, options, now()));
  core::SecretBytes key_pem = signer->private_key_pem();
  require(ca::write_file_atomically(o.key_out, key_pem.view()));
  write_output(o.out, core::to_bytes(cert.to_pem()));
  describe(cert, o.out.empty() ? std::cerr : std::cout);
}

void sign_intermediate(const CaCommandOptions& o) {
  // Read as a secret (wiped after use), never into a plain string.
  auto source = require(core::SecretSource::parse("file:" + o.root_key, "root key"));
  core::SecretBytes key_pem = require(core::read_secret(source));
  auto signer = require(core::SoftwareSigner::from_pem(std::string_view(
      reinterpret_cast<const char*>(key_pem.view().data()), key_pem.view().size())));
  auto root_cert = require(ca::Certificate::parse(read_input(o.root_cert)));
  auto root = require(ca::CertificateAuthority::open(*signer, root_cert, {}));
  auto csr = require(ca::CertificateRequest::parse(read_input(o.csr)));
  ca::CaOptions options;
  options.hospital_id = o.hospital;
  options.validity_days = o.days;
  auto cert = require(root.issue_intermediate(csr, options, now()));
  write_output(o.out, core::to_bytes(cert.to_pem()));
  describe(cert, o.out.empty() ? std::cerr : std::cout);
}

void import_intermediate(const CaCommandOptions& o) {
  fs::path dir = ca_dir(o);
  auto settings = require(ca::CaDirectory::read_settings(dir));
  auto cert = require(ca::Certificate::parse(read_input(o.cert)));
  auto above = require(ca::parse_pem_bundle(core::to_string(read_input(o.chain))));
  auto pool = open_token(o.token);
  auto signer = token_signer(pool, settings);
  auto authority = require(ca::CertificateAuthority::open(*signer, cert, above));
  require(ca::CaDirectory::create(dir, settings, authority.chain()));
  std::cout << "intermediate CA imported into " << dir.string() << "\n";
  describe(cert, std::cout);
}

CLI::App* subcommand(CLI::App* parent, const char* name, const char* help, CaCommandOptions& o) {
  auto* cmd = parent->add_subcommand(name, help);
  cmd->add_option("--ca-dir", o.ca_dir,
                  "CA state directory (default: $MEDLEDGER_DATA_DIR/ca, else .medledger/ca)");
  return cmd;
}

}  // namespace

void register_ca_commands(CLI::App& app) {
  auto o = std::make_shared<CaCommandOptions>();
  auto* ca = app.add_subcommand("ca", "the hospital certificate authority (key in the token)");
  ca->require_subcommand(1);

  auto* init = subcommand(ca, "init",
                          "generate the CA key in the token and a self-signed CA certificate", *o);
  add_token_options(init, o->token);
  init->add_option("--hospital", o->hospital, "hospital id (O= of every certificate)")->required();
  init->add_option("--key-label", o->key_label, "CKA_LABEL of the CA key (default: ca-<hospital>)");
  init->add_option("--days", o->days, "validity of the CA certificate (default 3650)");
  init->add_option("--intermediate-csr", o->intermediate_csr,
                   "instead of self-signing, write an intermediate CA request here");
  init->callback([o] { init_ca(*o); });

  auto* issue_cmd =
      subcommand(ca, "issue", "issue a role certificate from a CSR or a public key", *o);
  add_token_options(issue_cmd, o->token);
  auto* csr = issue_cmd->add_option("--csr", o->csr, "PKCS#10 request (PEM or DER)");
  auto* key =
      issue_cmd->add_option("--public-key", o->public_key,
                            "public key (PEM or DER SPKI), e.g. from medledger key export-public");
  csr->excludes(key);
  issue_cmd->add_option("--role", o->role, "doctor, patient, node, auditor or admin")->required();
  issue_cmd->add_option("--id", o->id, "pseudonymous id (CN=)")->required();
  issue_cmd->add_option("--days", o->days, "validity (default: the role's)");
  issue_cmd->add_option("--out", o->out, "certificate file (default: stdout)");
  issue_cmd->add_flag("--der", o->der, "write DER instead of PEM");
  issue_cmd->callback([o] {
    if (o->csr.empty() && o->public_key.empty())
      fail(core::make_error(ErrorCode::kInvalidArgument, "give --csr FILE or --public-key FILE"));
    issue(*o);
  });

  auto* request_cmd = subcommand(
      ca, "request",
      "write a CSR for a key in the token (e.g. the node's TLS key), signed by that key", *o);
  add_token_options(request_cmd, o->token);
  request_cmd
      ->add_option("--key-label", o->key_label,
                   "CKA_LABEL of the key (medledger key generate --label)")
      ->required();
  request_cmd->add_option("--id", o->id, "CN= of the request")->required();
  request_cmd->add_option("--san", o->subject_alt_names,
                          "subjectAltName, IP:<address> or DNS:<name> (repeatable)");
  request_cmd->add_option("--out", o->out, "request file (default: stdout)");
  request_cmd->callback([o] { request_for_token_key(*o); });

  auto* revoke_cmd =
      subcommand(ca, "revoke", "mark an issued certificate revoked (then run ca crl)", *o);
  revoke_cmd->add_option("--serial", o->serial, "serial number, hex")->required();
  revoke_cmd->add_option("--reason", o->reason,
                         "RFC 5280 reason: unspecified, keyCompromise, affiliationChanged, "
                         "superseded, cessationOfOperation, ...");
  revoke_cmd->callback([o] { revoke(*o); });

  auto* crl =
      subcommand(ca, "crl", "sign a CRL of every revoked certificate with the token key", *o);
  add_token_options(crl, o->token);
  crl->add_option("--out", o->out, "CRL file (default: stdout)");
  crl->add_flag("--der", o->der, "write DER instead of PEM");
  crl->add_option("--days", o->days, "days until nextUpdate (default: ca.json crl_validity_hours)");
  crl->add_option("--node-dir", o->node_dir,
                  "a node data directory: list the revocations on its ledger too (as serve does)");
  crl->callback([o] { make_crl(*o); });

  auto* responder = subcommand(
      ca, "ocsp-responder",
      "issue a delegated OCSP responder certificate for a token key and name it in ca.json", *o);
  add_token_options(responder, o->token);
  responder->add_option("--key-label", o->key_label,
                        "CKA_LABEL of the responder key (default ocsp-<hospital>; made if absent)");
  responder->add_option("--days", o->days, "validity (default 30, at most 90)");
  responder->add_option("--out", o->out, "also write the certificate here (default: stdout)");
  responder->callback([o] { ocsp_responder(*o); });

  auto* configure_cmd =
      subcommand(ca, "configure", "set how the CA publishes revocation (ca.json)", *o);
  configure_cmd->add_option("--ocsp-url", o->ocsp_url,
                            "authorityInfoAccess OCSP URL of issued certificates (\"\": none)");
  configure_cmd->add_option("--crl-url", o->crl_url,
                            "crlDistributionPoints URL of issued certificates (\"\": none)");
  configure_cmd->add_option("--crl-validity-hours", o->crl_validity_hours,
                            "nextUpdate - thisUpdate of a CRL (default 168)");
  configure_cmd->add_option("--crl-refresh-before-hours", o->crl_refresh_hours,
                            "re-sign a CRL this long before its nextUpdate (default 84)");
  configure_cmd->add_option("--ocsp-validity-minutes", o->ocsp_validity_minutes,
                            "nextUpdate - thisUpdate of an OCSP answer (default 60)");
  configure_cmd->callback([o] { configure(*o); });

  auto* exp = subcommand(ca, "export",
                         "the CA chain (optionally led by an issued certificate) for auditors", *o);
  exp->add_option("--format", o->format, "pem (bundle), p7b (PKCS#7 DER) or p7b-pem");
  exp->add_option("--serial", o->serial, "put this issued certificate first");
  exp->add_option("--out", o->out, "output file (default: stdout)");
  exp->callback([o] { export_chain(*o); });

  auto* show_cmd = subcommand(ca, "show", "the CA and the certificates it issued", *o);
  show_cmd->add_option("--serial", o->serial, "show one issued certificate");
  show_cmd->callback([o] { show(*o); });

  auto* verify_cmd =
      subcommand(ca, "verify", "validate a certificate against the CA chain (RFC 5280)", *o);
  verify_cmd->add_option("--cert", o->cert, "certificate (PEM or DER)")->required();
  verify_cmd->add_option("--chain", o->chain,
                         "PEM bundle CA..root (default: the CA directory's chain)");
  verify_cmd->add_option("--crl", o->crl, "check revocation against this CRL");
  verify_cmd->add_option("--role", o->role, "require this role");
  verify_cmd->callback([o] { verify(*o); });

  auto* root =
      ca->add_subcommand("root-init", "offline root in software (pathlen 1) to sign intermediates");
  root->add_option("--hospital", o->hospital, "hospital or consortium id (O=)")->required();
  root->add_option("--key-out", o->key_out, "root private key PEM (mode 0600; keep offline)")
      ->required();
  root->add_option("--out", o->out, "root certificate (default: stdout)");
  root->add_option("--days", o->days, "validity (default 3650)");
  root->callback([o] { root_init(*o); });

  auto* sign = ca->add_subcommand("sign-intermediate",
                                  "sign an intermediate CA request with the offline root key");
  sign->add_option("--root-key", o->root_key, "root private key PEM")->required();
  sign->add_option("--root-cert", o->root_cert, "root certificate")->required();
  sign->add_option("--csr", o->csr, "request from ca init --intermediate-csr")->required();
  sign->add_option("--hospital", o->hospital, "hospital id of the intermediate")->required();
  sign->add_option("--days", o->days, "validity (default 3650, never past the root)");
  sign->add_option("--out", o->out, "intermediate certificate (default: stdout)");
  sign->callback([o] { sign_intermediate(*o); });

  auto* import = subcommand(ca, "import", "import the root-signed intermediate certificate", *o);
  add_token_options(import, o->token);
  import->add_option("--cert", o->cert, "intermediate certificate")->required();
  import->add_option("--chain", o->chain, "PEM bundle of its issuers up to the root")->required();
  import->callback([o] { import_intermediate(*o);
});
}  // namespace medledger::app

}  // namespace medledger::app
