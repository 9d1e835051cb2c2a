// `medledger audit bundle|events|verify`: the auditor's self-verifying archive written
// to a file as it is made (progress on a terminal), the FHIR AuditEvent form, and the
// offline check of an archive (docs/audit.md). `audit export` (the JSON bundle) is in
// node_commands.cpp; these add to the same `audit` command.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli_support.h"
#include "commands.h"
#include "medledger/core/error.h"
#include "medledger/hsm/token_signer.h"
#include "medledger/node/audit_bundle.h"
#include "medledger/node/consortium_ledger.h"
#include "medledger/node/hospital_node.h"
#include "medledger/node/node_config.h"
#include "open_node.h"
#include "token_options.h"

namespace medledger::app {
namespace {

namespace fs = std::filesystem;
using core::ErrorCode;

struct AuditCliOptions {
  TokenOptions token;
  std::string data, patient, record, out, bundle;
  std::int64_t from_ms = -1, to_ms = -1;
};

fs::path data_dir(const AuditCliOptions& o) { return node_data_dir(o.data); }

OpenNode open_node(const AuditCliOptions& o) { return open_hospital_node(o.token, data_dir(o)); }

node::AuditQuery query_of(const AuditCliOptions& o) {
  node::AuditQuery query;
  if (!o.patient.empty()) query.patient = o.patient;
  if (!o.record.empty()) query.record = o.record;
  if (o.from_ms != -1) query.from_ms = o.from_ms;
  if (o.to_ms != -1) query.to_ms = o.to_ms;
  return query;
}

// Writes an export to `path` as it is made: a temporary file renamed at the end, so a
// failed export leaves nothing behind. On a terminal, stderr shows the bytes so far.
class FileSink {
 public:
  explicit FileSink(const std::string& path)
      : path_(path),
        partial_(path + ".partial"),
        out_(partial_, std::ios::binary | std::ios::trunc),
        progress_(isatty(STDERR_FILENO) == 1) {
    if (!out_) fail(core::make_error(ErrorCode::kIoError, "cannot write " + partial_));
  }
  ~FileSink() { discard(); }

  // Removes the partial file of a failed export (fail() exits without unwinding).
  void discard() {
    if (done_) return;
    out_.close();
    std::error_code ec;
    fs::remove(partial_, ec);
  }

  // The export's value, or its error after the partial file is removed.
  template <typename T>
  T require_or_discard(core::Result<T> result) {
    if (!result) {
      discard();
      fail(result.error());
    }
    return std::move(*result);
  }

  node::ByteSink sink() {
    return [this](std::string_view bytes) -> core::Result<void> {
      out_.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      if (!out_) return core::make_error(ErrorCode::kIoError, "cannot write " + partial_);
      written_ += bytes.size();
      show(false);
      return core::success();
    };
  }

  void finish() {
    out_.close();
    if (!out_) fail(core::make_error(ErrorCode::kIoError, "cannot write " + partial_));
    std::error_code ec;
    fs::rename(partial_, path_, ec);
    if (ec) fail(core::make_error(ErrorCode::kIoError, "cannot rename to " + path_));
    done_ = true;
    show(true);
  }

  std::uint64_t written() const { return written_; }

 private:
  void show(bool last) {
    if (!progress_) return;
    const auto now = std::chrono::steady_clock::now();
    if (!last && now - shown_ < std::chrono::milliseconds(200)) return;
    shown_ = now;
    std::fprintf(stderr, "\r%s: %.1f MiB%s", path_.c_str(),
                 static_cast<double>(written_) / (1024.0 * 1024.0), last ? "\n" : "");
  }

  std::string path_, partial_;
  std::ofstream out_;
  bool progress_;
  bool done_ = false;
  std::uint64_t written_ = 0;
  std::chrono::steady_clock::time_point shown_{};
};

void audit_bundle(const AuditCliOptions& o) {
  auto n = open_node(o);
  FileSink file(o.out);
  // The CLI writes to a file as the archive is made: no size limit applies.
  auto entries =
      file.require_or_discard(node::write_audit_archive(*n.node, query_of(o), 0, file.sink()));
  file.finish();
  std::cout << "audit archive " << o.out << ": " << entries << " trail entries, " << file.written()
            << " bytes; check it with `medledger audit verify " << o.out
            << "` or VERIFY.md inside\n";
}

void audit_events(const AuditCliOptions& o) {
  auto n = open_node(o);
  FileSink file(o.out);
  auto events = file.require_or_discard(n.node->audit().export_fhir(query_of(o), 0, file.sink()));
  file.finish();
  std::cout << "FHIR Bundle " << o.out << ": " << events << " AuditEvent(s)\n";
}

void audit_verify(const AuditCliOptions& o) {
  std::ifstream in(o.bundle, std::ios::binary);
  if (!in) fail(core::make_error(ErrorCode::kIoError, "cannot read " + o.bundle));
  std::ostringstream bytes;
  bytes << in.rdbuf();
  auto report = require(node::verify_audit_archive(bytes.str()));
  std::cout << o.bundle << ": OK -- " << report.entries << " trail entries prove into "
            << report.origin << " at size " << report.checkpoint_size
            << " (checkpoint signature valid), " << report.chains
            << " certificate chains (PEM and PKCS#7) to the anchors, " << report.crls
            << " CRL(s) signed by their CA\n";
  for (const auto& revoked : report.revoked) std::cout << "revoked: " << revoked << "\n";
}

CLI::App* node_command(CLI::App* parent, const std::string& name, const std::string& help,
                       AuditCliOptions& o) {
  auto* cmd = parent->add_subcommand(name, help);
  cmd->add_option("--data", o.data,
                  "node data directory (default: $MEDLEDGER_DATA_DIR/node, else .medledger/node)");
  add_token_options(cmd, o.token);
  cmd->add_option("--patient", o.patient, "one patient's records, reads and grants");
  cmd->add_option("--record", o.record, "one record (and its owner's grants covering it)");
  cmd->add_option("--from", o.from_ms, "from block time (Unix ms, inclusive)");
  cmd->add_option("--to", o.to_ms, "to block time (Unix ms, exclusive)");
  return cmd;
}

}  // namespace

void register_audit_commands(CLI::App& app) {
  auto o = std::make_shared<AuditCliOptions>();
  CLI::App* audit = app.get_subcommand("audit");
  auto* bundle =
      node_command(audit, "bundle",
                   "the self-verifying tar archive: trail, proofs, checkpoint, chains, CRL", *o);
  bundle->add_option("--out", o->out, "archive file (.tar)")->required();
  bundle->callback([o] { audit_bundle(*o); });
  auto* events = node_command(audit, "events", "the trail as FHIR R4 AuditEvents (BALP)", *o);
  events->add_option("--out", o->out, "FHIR Bundle JSON file")->required();
  events->callback([o] { audit_events(*o); });
  auto* verify = audit->add_subcommand(
      "verify", "check an archive offline: proofs, checkpoint signature, chains, CRLs");
  verify->add_option("bundle", o->bundle, "the archive (.tar)")->required();
  verify->callback([o] { audit_verify(*o); });
}

}  // namespace medledger::app
