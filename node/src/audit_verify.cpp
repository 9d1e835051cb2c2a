// verify_audit_archive: every check of VERIFY.md, offline, in the order a reader
// follows them; the first member that does not match is named (BUNDLE_MISMATCH).
#include <map>
#include <set>

#include <openssl/x509.h>

#include <boost/json.hpp>

#include "audit_tar.h"
#include "medledger/ca/export.h"
#include "medledger/ca/validation.h"
#include "medledger/core/canonical_json.h"
#include "medledger/core/error.h"
#include "medledger/ledger/ledger.h"
#include "medledger/ledger/receipt.h"
#include "medledger/node/audit_bundle.h"

namespace medledger::node {

namespace json = boost::json;

namespace {

core::Error mismatch(std::string_view member, const std::string& what) {
  return core::make_error(core::ErrorCode::kBundleMismatch, std::string(member) + ": " + what);
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}
bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

class Verifier {
 public:
  core::Result<ArchiveReport> run(std::string_view archive) {
    MEDLEDGER_TRY_ASSIGN(auto members, detail::read_tar(archive));
    for (const auto& m : members) {
      if (!starts_with(m.name, kAuditArchiveRoot))
        return mismatch(m.name, "outside " + std::string(kAuditArchiveRoot));
      std::string name = m.name.substr(kAuditArchiveRoot.size());
      if (!files_.emplace(name, m.content).second) return mismatch(m.name, "listed twice");
    }
    MEDLEDGER_TRY(fixed_text("VERIFY.md", audit_verify_md()));
    MEDLEDGER_TRY(fixed_text("verify_proofs.py", audit_verify_script()));
    MEDLEDGER_TRY(checkpoint());
    MEDLEDGER_TRY(trail());
    MEDLEDGER_TRY(anchors());
    MEDLEDGER_TRY(chains());
    MEDLEDGER_TRY(checkpoint_signature());
    MEDLEDGER_TRY(crls());
    for (const auto& [name, content] : files_)
      if (!checked_.contains(name)) return mismatch(name, "not a member this format has");
    return report_;
  }

 private:
  core::Result<std::string_view> file(const std::string& name) {
    auto it = files_.find(name);
    if (it == files_.end()) return mismatch(name, "missing");
    checked_.insert(name);
    return it->second;
  }

  core::Result<void> fixed_text(const std::string& name, std::string_view expected) {
    MEDLEDGER_TRY_ASSIGN(auto content, file(name));
    if (content != expected) return mismatch(name, "differs from the text this format carries");
    return core::success();
  }

  core::Result<void> checkpoint() {
    MEDLEDGER_TRY_ASSIGN(auto note, file("checkpoint.txt"));
    auto parsed = ledger::parse_checkpoint(note);
    if (!parsed) return mismatch("checkpoint.txt", parsed.error().message);
    if (ledger::format_checkpoint(*parsed) != note)
      return mismatch("checkpoint.txt", "not in the signed-note layout");
    checkpoint_ = std::move(*parsed);
    report_.checkpoint_size = checkpoint_.checkpoint.size;
    report_.origin = checkpoint_.checkpoint.origin;
    MEDLEDGER_TRY_ASSIGN(auto body, file("checkpoint/body.txt"));
    if (body != ledger::checkpoint_body(checkpoint_.checkpoint))
      return mismatch("checkpoint/body.txt", "not the first three lines of checkpoint.txt");
    MEDLEDGER_TRY_ASSIGN(auto signature, file("checkpoint/signature.der"));
    if (signature != core::to_string(checkpoint_.signature))
      return mismatch("checkpoint/signature.der", "not the signature in checkpoint.txt");
    return core::success();
  }

  core::Result<void> trail() {
    std::vector<std::string> names;
    for (const auto& [name, content] : files_)
      if (starts_with(name, "trail/")) names.push_back(name);
    if (names.empty()) return mismatch("trail/", "no entries");
    for (const auto& name : names) MEDLEDGER_TRY(trail_entry(name));
    if (!files_.contains("trail/00000000000000000000.json"))
      return mismatch("trail/00000000000000000000.json", "the genesis entry is missing");
    return core::success();
  }

  core::Result<void> trail_entry(const std::string& name) {
    MEDLEDGER_TRY_ASSIGN(auto content, file(name));
    std::error_code ec;
    json::value parsed = json::parse(content, ec);
    if (ec || !parsed.is_object()) return mismatch(name, "not a JSON object");
    if (core::canonicalize(parsed) + "\n" != content)
      return mismatch(name, "not canonical JSON followed by a newline");
    const json::object& o = parsed.as_object();
    const auto* sequence = o.if_contains("sequence");
    const auto* result = o.if_contains("result");
    const auto* result_name = o.if_contains("result_name");
    const auto* kind = o.if_contains("kind");
    const auto* wire = o.if_contains("transaction");
    const auto* proof = o.if_contains("inclusion_proof");
    if (o.size() != 6 || !sequence || !sequence->is_int64() || sequence->as_int64() < 0 ||
        !result || !result->is_int64() || result->as_int64() < 0 || result->as_int64() > 0xffff ||
        !result_name || !result_name->is_string() || !kind || !kind->is_string() || !wire ||
        !wire->is_string() || !proof || !proof->is_array()) {
      return mismatch(name, "members missing, extra or of the wrong type");
    }
    const auto seq = static_cast<std::uint64_t>(sequence->as_int64());
    std::string digits = std::to_string(seq);
    if (name != "trail/" + std::string(20 - std::min<std::size_t>(20, digits.size()), '0') +
                    digits + ".json")
      return mismatch(name, "the name is not the entry's sequence");
    const auto code = static_cast<std::uint16_t>(result->as_int64());
    if (result_name->as_string() != ledger::result_name(code))
      return mismatch(name, "result_name is not the name of result");
    const std::string_view text(wire->as_string());
    auto tx = ledger::decode_transaction(
        text, {ledger::kMaxTransactionBytesCeiling, ledger::kMaxTransactionSignatures});
    if (!tx) return mismatch(name, "the transaction does not decode: " + tx.error().message);
    auto expected_kind = trail_kind_of(tx->type);
    if (!expected_kind || trail_kind_name(*expected_kind) != kind->as_string())
      return mismatch(name, "kind is not that of a " + tx->type + " transaction");
    std::vector<ledger::MerkleHash> path;
    for (const auto& h : proof->as_array()) {
      auto bytes = h.is_string() ? core::base64url_decode(std::string_view(h.as_string()))
                                 : core::Result<core::Bytes>(core::make_error(
                                       core::ErrorCode::kMalformedEncoding, "not a string"));
      if (!bytes || bytes->size() != core::kSha256Size)
        return mismatch(name, "a proof hash is not 32 bytes of base64url");
      ledger::MerkleHash hash{};
      std::copy(bytes->begin(), bytes->end(), hash.begin());
      path.push_back(hash);
    }
    const auto leaf = ledger::merkle_leaf_hash(ledger::log_entry(code, text));
    if (!ledger::verify_inclusion(seq, checkpoint_.checkpoint.size, leaf, path,
                                  checkpoint_.checkpoint.root))
      return mismatch(name, "the inclusion proof does not lead to the checkpoint's root");
    if (*expected_kind == TrailKind::kGenesis || *expected_kind == TrailKind::kAdmit) {
      auto pems = detail::anchor_pems(*tx);
      if (!pems) return mismatch(name, "a CA certificate does not parse");
      anchor_pems_ += *pems;
    } else {
      for (const auto& signature : tx->signatures) signers_.insert(signature.cert_fingerprint);
    }
    ++report_.entries;
    return core::success();
  }

  core::Result<void> anchors() {
    MEDLEDGER_TRY_ASSIGN(auto content, file("anchors.pem"));
    if (content != anchor_pems_)
      return mismatch("anchors.pem",
                      "not the CA certificates of the proven genesis and admissions");
    auto certificates = ca::parse_pem_bundle(content);
    if (!certificates) return mismatch("anchors.pem", certificates.error().message);
    anchors_ = std::move(*certificates);
    return core::success();
  }

  core::Result<void> chains() {
    std::vector<std::string> names;
    for (const auto& [name, content] : files_)
      if (starts_with(name, "chains/") && ends_with(name, ".pem")) names.push_back(name);
    for (const auto& name : names) MEDLEDGER_TRY(chain(name));
    for (const auto& fingerprint : signers_) {
      if (!chains_.contains(fingerprint))
        return mismatch("chains/" + core::hex_encode(fingerprint) + ".pem",
                        "missing: a trail transaction is signed with that certificate");
    }
    return core::success();
  }

  core::Result<void> chain(const std::string& name) {
    MEDLEDGER_TRY_ASSIGN(auto content, file(name));
    auto certificates = ca::parse_pem_bundle(content);
    if (!certificates) return mismatch(name, certificates.error().message);
    if (ca::pem_bundle(*certificates) != content)
      return mismatch(name, "not PEM as written (bytes outside the certificates changed)");
    const auto der = certificates->front().to_der();
    const auto fingerprint = core::sha256(der);
    const std::string stem = name.substr(0, name.size() - 4);
    if (stem != "chains/" + core::hex_encode(fingerprint))
      return mismatch(name, "the leaf's SHA-256 is not the file name");
    ca::TrustAnchors trust;
    for (const auto& a : anchors_)
      (a.is_self_signed() ? trust.roots : trust.intermediates).push_back(a);
    for (std::size_t i = 1; i < certificates->size(); ++i)
      trust.intermediates.push_back((*certificates)[i]);
    auto valid = ca::validate_chain(certificates->front(), trust, {},
                                    certificates->front().not_before(), std::nullopt);
    if (!valid) return mismatch(name, "does not chain to anchors.pem: " + valid.error().message);
    MEDLEDGER_TRY_ASSIGN(auto p7b, file(stem + ".p7b"));
    auto expected = ca::pkcs7_certs_only_der(*certificates);
    if (!expected || core::to_string(*expected) != p7b)
      return mismatch(stem + ".p7b", "not the PKCS#7 of the certificates in " + name);
    chains_.emplace(fingerprint, std::move(*certificates));
    ++report_.chains;
    return core::success();
  }

  core::Result<void> checkpoint_signature() {
    MEDLEDGER_TRY_ASSIGN(auto content, file("checkpoint/signer.pem"));
    auto certificates = ca::parse_pem_bundle(content);
    if (!certificates) return mismatch("checkpoint/signer.pem", certificates.error().message);
    const auto fingerprint = core::sha256(certificates->front().to_der());
    auto it = chains_.find(fingerprint);
    if (it == chains_.end() || ca::pem_bundle(it->second) != content)
      return mismatch("checkpoint/signer.pem", "not one of the chains in chains/");
    auto verified = ledger::verify_checkpoint(checkpoint_, certificates->front().public_key_spki());
    if (!verified)
      return mismatch(
          "checkpoint.txt",
          "the signature does not verify with checkpoint/signer.pem: " + verified.error().message);
    return core::success();
  }

  core::Result<void> crls() {
    std::vector<std::string> names;
    for (const auto& [name, content] : files_)
      if (starts_with(name, "crl/")) names.push_back(name);
    for (const auto& name : names) {
      MEDLEDGER_TRY_ASSIGN(auto content, file(name));
      if (!ends_with(name, ".crl.pem")) return mismatch(name, "not a .crl.pem file");
      const std::string hospital = name.substr(4, name.size() - 4 - 8);
      auto crl = ca::Crl::parse(core::to_bytes(content));
      if (!crl) return mismatch(name, crl.error().message);
      if (crl->to_pem() != content) return mismatch(name, "not PEM as written");
      const ca::Certificate* issuer = nullptr;
      for (const auto& a : anchors_) {
        if (X509_NAME_cmp(X509_get_subject_name(a.get()), X509_CRL_get_issuer(crl->get())) == 0 &&
            X509_CRL_verify(crl->get(), X509_get0_pubkey(a.get())) == 1) {
          issuer = &a;
          break;
        }
      }
      if (issuer == nullptr) return mismatch(name, "not signed by a CA in anchors.pem");
      if (issuer->subject_attribute("O").value_or("") != hospital)
        return mismatch(name, "signed by another hospital's CA");
      const auto revoked = crl->revoked_serials();
      for (const auto& [fingerprint, chain] : chains_) {
        const auto& leaf = chain.front();
        if (X509_NAME_cmp(X509_get_issuer_name(leaf.get()), X509_CRL_get_issuer(crl->get())) != 0)
          continue;
        if (std::find(revoked.begin(), revoked.end(), leaf.serial_hex()) != revoked.end())
          report_.revoked.push_back(core::hex_encode(fingerprint) + " (" + hospital + " CRL)");
      }
      ++report_.crls;
    }
    return core::success();
  }

  std::map<std::string, std::string_view> files_;
  std::set<std::string> checked_;
  ledger::SignedCheckpoint checkpoint_;
  std::string anchor_pems_;
  std::vector<ca::Certificate> anchors_;
  std::set<core::Digest> signers_;
  std::map<core::Digest, std::vector<ca::Certificate>> chains_;
  ArchiveReport report_;
};

}  // namespace

core::Result<ArchiveReport> verify_audit_archive(std::string_view archive) {
  return Verifier().run(archive);
}

}  // namespace medledger::node
