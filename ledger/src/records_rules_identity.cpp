// Rules for the consortium and identities: genesis, hospital.admit, cert.register,
// cert.revoke (docs/contract.md section 3).
#include <algorithm>
#include <set>

#include <boost/json/array.hpp>

#include "medledger/ca/revocation.h"
#include "medledger/core/canonical_json.h"
#include "records_internal.h"

namespace medledger::ledger::records {

using core::ErrorCode;
using core::make_error;
using core::Result;

namespace {

/// Largest DER certificate accepted in cert.register (role certificates are ~600 bytes).
constexpr std::size_t kMaxCertificateDer = 16 * 1024;
/// Largest PEM CA certificate in genesis / hospital.admit.
constexpr std::size_t kMaxCertificatePem = 24 * 1024;

Result<void> check_ca_validity(const ca::Certificate& cert, std::time_t at, std::string_view what) {
  if (at < cert.not_before()) {
    return make_error(ErrorCode::kCertificateNotYetValid,
                      std::string(what) + " is not valid yet at the block time");
  }
  if (at >= cert.not_after()) {
    return make_error(ErrorCode::kCertificateExpired,
                      std::string(what) + " has expired at the block time");
  }
  return core::success();
}

/// Parses a hospital's CA certificate and checks it is a CA of that hospital.
Result<ca::Certificate> parse_hospital_ca(std::string_view pem, std::string_view hospital) {
  auto cert = ca::Certificate::from_pem(pem);
  if (!cert)
    return make_error(ErrorCode::kCertificateInvalid,
                      "a CA certificate of " + std::string(hospital) +
                          " does not parse: " + cert.error().message);
  if (!cert->is_ca()) {
    return make_error(ErrorCode::kCertificateInvalid,
                      "a certificate of " + std::string(hospital) + " is not a CA");
  }
  if (cert->subject_attribute("O").value_or("") != hospital) {
    return make_error(
        ErrorCode::kCertificateInvalid,
        "a CA certificate of " + std::string(hospital) + " names another organisation (O)");
  }
  return cert;
}

/// The writes admitting one hospital with its CA certificates.
void admit_writes(Plan& plan, const std::string& hospital,
                  const std::vector<ca::Certificate>& certs, const BlockContext& ctx) {
  HospitalEntry entry;
  entry.id = hospital;
  entry.admitted_at_ms = ctx.time_ms;
  entry.admitted_by = ctx.tx_id;
  for (const auto& cert : certs) {
    const core::Digest fp = certificate_fingerprint(cert);
    entry.ca_certs.push_back(fp);
    plan.push_back({kTableCaCerts, digest_key(fp),
                    core::canonicalize(json::object{{"der", core::base64url_encode(cert.to_der())},
                                                    {"hospital", hospital}})});
  }
  plan.push_back({kTableHospitals, text_key(hospital), core::canonicalize(hospital_json(entry))});
}

Result<std::int64_t> admit_quorum(const StateView& state) {
  auto raw = state.get(kTableConfig, text_key("policy"));
  if (!raw) return raw.error();
  if (!*raw)
    return make_error(ErrorCode::kLedgerCorrupt, "state: no admit policy (genesis missing)");
  auto v = core::parse_restricted_json(
      std::string_view(reinterpret_cast<const char*>((*raw)->data()), (*raw)->size()));
  if (!v || !v->is_object() || !v->as_object().contains("admit_quorum") ||
      !v->as_object().at("admit_quorum").is_int64()) {
    return make_error(ErrorCode::kLedgerCorrupt, "state: bad admit policy");
  }
  return v->as_object().at("admit_quorum").as_int64();
}

core::Error genesis_error(const std::string& what) {
  return make_error(ErrorCode::kGenesisInvalid, "genesis: " + what);
}

}  // namespace

Result<Plan> check_genesis(const Transaction& tx, const StateView&, const BlockContext& ctx) {
  if (ctx.height != 0) return genesis_error("only block 0 may hold the consortium configuration");
  const json::object& body = tx.body;
  auto hospitals = body.find("hospitals");
  if (hospitals == body.end() || !hospitals->value().is_array() ||
      hospitals->value().as_array().empty() ||
      hospitals->value().as_array().size() > kMaxHospitals) {
    return genesis_error("\"hospitals\" must list 1-" + std::to_string(kMaxHospitals) +
                         " hospitals");
  }
  auto policies = body.find("policies");
  if (policies == body.end() || !policies->value().is_object())
    return genesis_error("\"policies\" is missing");
  auto quorum = policies->value().as_object().find("admit_quorum");
  if (quorum == policies->value().as_object().end() || !quorum->value().is_int64() ||
      quorum->value().as_int64() < 1) {
    return genesis_error("\"policies.admit_quorum\" must be an integer >= 1");
  }
  Plan plan;
  std::set<std::string> ids;
  std::set<core::Digest> fingerprints;
  for (const auto& item : hospitals->value().as_array()) {
    if (!item.is_object()) return genesis_error("a hospital is not an object");
    const auto& h = item.as_object();
    auto id = h.find("id");
    auto certs = h.find("ca_certs");
    if (id == h.end() || !id->value().is_string() ||
        !ca::is_valid_identifier(id->value().as_string())) {
      return genesis_error("a hospital lacks a valid \"id\"");
    }
    const std::string hospital(id->value().as_string());
    if (!ids.insert(hospital).second)
      return genesis_error("hospital " + hospital + " is listed twice");
    if (certs == h.end() || !certs->value().is_array() || certs->value().as_array().empty() ||
        certs->value().as_array().size() > kMaxHospitalCaCerts) {
      return genesis_error(hospital + ": \"ca_certs\" must list 1-" +
                           std::to_string(kMaxHospitalCaCerts) + " PEM certificates");
    }
    std::vector<ca::Certificate> parsed;
    for (const auto& pem : certs->value().as_array()) {
      if (!pem.is_string() || pem.as_string().size() > kMaxCertificatePem)
        return genesis_error(hospital + ": a CA certificate is not a PEM string");
      auto cert = parse_hospital_ca(pem.as_string(), hospital);
      if (!cert) return genesis_error(cert.error().message);
      if (!fingerprints.insert(certificate_fingerprint(*cert)).second)
        return genesis_error("a CA certificate is listed twice");
      parsed.push_back(std::move(*cert));
    }
    admit_writes(plan, hospital, parsed, ctx);
  }
  plan.push_back({kTableConfig, text_key("genesis"), core::canonicalize(body)});
  plan.push_back({kTableConfig, text_key("policy"),
                  core::canonicalize(json::object{{"admit_quorum", quorum->value().as_int64()}})});
  return plan;
}

Result<Plan> check_hospital_admit(const Transaction& tx, const StateView& state,
                                  const BlockContext& ctx) {
  BodyReader body(tx.body, tx.type);
  auto hospital = body.identifier("hospital");
  if (!hospital) return hospital.error();
  auto list = body.value("ca_certs");
  if (!list) return list.error();
  if (!(*list)->is_array() || (*list)->as_array().empty() ||
      (*list)->as_array().size() > kMaxHospitalCaCerts) {
    return body.invalid("ca_certs", "must be an array of 1-" + std::to_string(kMaxHospitalCaCerts) +
                                        " PEM strings");
  }
  MEDLEDGER_TRY(body.finish());
  const std::time_t at = block_seconds(ctx);
  std::vector<ca::Certificate> candidates;
  for (const auto& pem : (*list)->as_array()) {
    if (!pem.is_string() || pem.as_string().size() > kMaxCertificatePem)
      return body.invalid("ca_certs", "must hold PEM strings");
    auto cert = parse_hospital_ca(pem.as_string(), *hospital);
    if (!cert) return cert.error();
    MEDLEDGER_TRY(check_ca_validity(*cert, at, "the candidate CA certificate"));
    candidates.push_back(std::move(*cert));
  }
  auto signers = resolve_signers(tx, state, candidates);
  if (!signers) return signers.error();

  auto existing = find_hospital(state, *hospital);
  if (!existing) return existing.error();
  if (*existing)
    return make_error(ErrorCode::kHospitalAlreadyAdmitted,
                      "hospital " + *hospital + " is already admitted");
  for (const auto& cert : candidates) {
    auto known = state.get(kTableCaCerts, digest_key(certificate_fingerprint(cert)));
    if (!known) return known.error();
    if (*known)
      return make_error(ErrorCode::kHospitalAlreadyAdmitted,
                        "a candidate CA certificate is already admitted");
  }

  bool candidate_signed = false;
  std::set<std::string> members;
  for (const auto& s : *signers) {
    switch (s.kind) {
      case SignerKind::kCandidateCa:
        candidate_signed = true;
        break;
      case SignerKind::kHospitalCa:
        MEDLEDGER_TRY(
            check_ca_validity(*s.certificate, at, "the CA certificate of member " + s.hospital));
        members.insert(s.hospital);
        break;
      case SignerKind::kRoleCertificate:
        return make_error(
            ErrorCode::kCertificateWrongRole,
            "hospital.admit is signed by CAs only, not by a " + s.entry->role + " certificate");
    }
  }
  if (!candidate_signed) {
    return make_error(ErrorCode::kIssuerSignatureMissing,
                      "hospital.admit lacks the signature of the candidate's CA");
  }
  auto quorum = admit_quorum(state);
  if (!quorum) return quorum.error();
  if (static_cast<std::int64_t>(members.size()) < *quorum) {
    return make_error(ErrorCode::kAdmitQuorumNotMet, std::to_string(members.size()) +
                                                         " member hospital(s) signed, " +
                                                         std::to_string(*quorum) + " required");
  }
  Plan plan;
  admit_writes(plan, *hospital, candidates, ctx);
  return plan;
}

Result<Plan> check_cert_register(const Transaction& tx, const StateView& state,
                                 const BlockContext& ctx) {
  BodyReader body(tx.body, tx.type);
  auto der = body.bytes("cert", kMaxCertificateDer);
  if (!der) return der.error();
  MEDLEDGER_TRY(body.finish());
  auto cert = ca::Certificate::from_der(*der);
  if (!cert) return cert.error();
  auto signers = resolve_signers(tx, state);
  if (!signers) return signers.error();

  auto anchors = load_trust_anchors(state);
  if (!anchors) return anchors.error();
  // A certificate may be registered before its notBefore (then unusable until it
  // starts), never after its notAfter: validate at the later of the two.
  const std::time_t at = std::max<std::time_t>(block_seconds(ctx), cert->not_before());
  auto validated = ca::validate_chain(*cert, *anchors, {}, at, std::nullopt);
  if (!validated) return validated.error();
  if (validated->path.size() < 2)
    return make_error(ErrorCode::kCertificateInvalid, "the certificate has no issuer");
  const core::Digest issuer = certificate_fingerprint(validated->path[1]);

  bool issuer_signed = false;
  for (const auto& s : *signers) {
    if (s.kind == SignerKind::kRoleCertificate) {
      return make_error(
          ErrorCode::kCertificateWrongRole,
          "cert.register is signed by the issuing CA, not by a " + s.entry->role + " certificate");
    }
    if (s.fingerprint == issuer) issuer_signed = true;
  }
  if (!issuer_signed) {
    return make_error(ErrorCode::kIssuerSignatureMissing,
                      "cert.register lacks the signature of the issuing CA");
  }

  const core::Digest fp = core::sha256(*der);
  auto existing = find_certificate(state, fp);
  if (!existing) return existing.error();
  if (*existing)
    return make_error(ErrorCode::kCertAlreadyRegistered,
                      "the certificate is already on the ledger");

  const std::string who = principal(validated->hospital_id, validated->subject_id);
  auto held = person_certificates(state, who);
  if (!held) return held.error();
  std::size_t active = 0;
  for (const auto& other : *held) {
    auto entry = find_certificate(state, other);
    if (!entry) return entry.error();
    if (*entry && (*entry)->status != "revoked") ++active;
  }
  if (active >= kMaxCertsPerPerson) {
    return make_error(ErrorCode::kPersonCertLimit,
                      who + " already holds " + std::to_string(active) + " certificates");
  }

  CertificateEntry entry;
  entry.fingerprint = fp;
  entry.der = std::move(*der);
  entry.role = std::string(ca::role_name(validated->role));
  entry.id = validated->subject_id;
  entry.hospital = validated->hospital_id;
  entry.issuer = issuer;
  entry.not_before = cert->not_before();
  entry.not_after = cert->not_after();
  entry.status = "valid";
  entry.registered_at_ms = ctx.time_ms;
  Plan plan;
  plan.push_back({kTableCerts, digest_key(fp), core::canonicalize(certificate_json(entry))});
  plan.push_back({kTablePersons, pair_key(who, core::ByteView(fp.data(), fp.size())),
                  core::canonicalize(json::object{{"role", entry.role}})});
  return plan;
}

Result<Plan> check_cert_revoke(const Transaction& tx, const StateView& state,
                               const BlockContext& ctx) {
  BodyReader body(tx.body, tx.type);
  auto fp = body.digest("cert");
  if (!fp) return fp.error();
  auto reason_text = body.string("reason", 64);
  if (!reason_text) return reason_text.error();
  MEDLEDGER_TRY(body.finish());
  auto reason = ca::parse_revocation_reason(*reason_text);
  if (!reason) return body.invalid("reason", "is not an RFC 5280 reason name");
  if (*reason == ca::RevocationReason::kRemoveFromCrl) {
    return body.invalid("reason", "removeFromCRL is not allowed: ledger revocation is final");
  }
  auto signers = resolve_signers(tx, state);
  if (!signers) return signers.error();

  auto entry = find_certificate(state, *fp);
  if (!entry) return entry.error();
  if (!*entry)
    return make_error(ErrorCode::kCertNotOnLedger,
                      "the certificate to revoke is not on the ledger");
  if ((*entry)->status == "revoked")
    return make_error(ErrorCode::kCertAlreadyRevoked, "the certificate is already revoked");
  if (signers->empty())
    return make_error(ErrorCode::kRevokeNotAuthorized, "cert.revoke carries no signature");
  for (const auto& s : *signers) {
    if (s.fingerprint != (*entry)->issuer && s.fingerprint != *fp) {
      return make_error(
          ErrorCode::kRevokeNotAuthorized,
          "signature " + std::to_string(s.index) + " is by neither the issuing CA nor the subject");
    }
  }
  CertificateEntry updated = std::move(**entry);
  updated.status = "revoked";
  updated.revoked_at_ms = ctx.time_ms;
  updated.reason = std::string(ca::revocation_reason_name(*reason));
  Plan plan;
  plan.push_back({kTableCerts, digest_key(*fp), core::canonicalize(certificate_json(updated))});
  return plan;
}

}  // namespace medledger::ledger::records
