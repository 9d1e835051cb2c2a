// Rules for the consortium and identities: genesis, hospital.admit, cert.register,
// cert.revoke (docs/contract.md section 3).
#include <algorithm>
#include <set>

#include <boost/json/array.hpp>

#include "medledger/ca/revocation.h"
#include "medledger/core/canonical_json.h"
#include "transaction_types.h"

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
  MEDLEDGER_TRY_ASSIGN(auto raw, state.get(kTableConfig, text_key("policy")));
  if (!raw)
    return make_error(ErrorCode::kLedgerCorrupt, "state: no admit policy (genesis missing)");
  auto v = core::parse_restricted_json(
      std::string_view(reinterpret_cast<const char*>(raw->data()), raw->size()));
  if (!v || !v->is_object() || !v->as_object().contains("admit_quorum") ||
      !v->as_object().at("admit_quorum").is_int64()) {
    return make_error(ErrorCode::kLedgerCorrupt, "state: bad admit policy");
  }
  return v->as_object().at("admit_quorum").as_int64();
}

core::Error genesis_error(const std::string& what) {
  return make_error(ErrorCode::kGenesisInvalid, "genesis: " + what);
}

/// One member hospital of the genesis body: its id and parsed CA certificates.
Result<GenesisBody::Member> read_genesis_member(const json::value& item, std::set<std::string>& ids,
                                                std::set<core::Digest>& fingerprints) {
  if (!item.is_object()) return genesis_error("a hospital is not an object");
  const auto& h = item.as_object();
  auto id = h.find("id");
  auto certs = h.find("ca_certs");
  if (id == h.end() || !id->value().is_string() ||
      !ca::is_valid_identifier(id->value().as_string())) {
    return genesis_error("a hospital lacks a valid \"id\"");
  }
  GenesisBody::Member member{std::string(id->value().as_string()), {}};
  if (!ids.insert(member.id).second)
    return genesis_error("hospital " + member.id + " is listed twice");
  if (certs == h.end() || !certs->value().is_array() || certs->value().as_array().empty() ||
      certs->value().as_array().size() > kMaxHospitalCaCerts) {
    return genesis_error(member.id + ": \"ca_certs\" must list 1-" +
                         std::to_string(kMaxHospitalCaCerts) + " PEM certificates");
  }
  for (const auto& pem : certs->value().as_array()) {
    if (!pem.is_string() || pem.as_string().size() > kMaxCertificatePem)
      return genesis_error(member.id + ": a CA certificate is not a PEM string");
    auto cert = parse_hospital_ca(pem.as_string(), member.id);
    if (!cert) return genesis_error(cert.error().message);
    if (!fingerprints.insert(certificate_fingerprint(*cert)).second)
      return genesis_error("a CA certificate is listed twice");
    member.ca_certs.push_back(std::move(*cert));
  }
  return member;
}

/// The certificate's issuer: the CA certificate above it on its validated path.
Result<core::Digest> issuer_of(const ca::ValidatedCertificate& validated) {
  if (validated.path.size() < 2)
    return make_error(ErrorCode::kCertificateInvalid, "the certificate has no issuer");
  return certificate_fingerprint(validated.path[1]);
}

/// cert.register's signers: CAs only, the issuing CA among them.
Result<void> require_issuer_signed(const std::vector<ResolvedSigner>& signers,
                                   const core::Digest& issuer) {
  bool issuer_signed = false;
  for (const auto& s : signers) {
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
  return core::success();
}

/// A person holds fewer than kMaxCertsPerPerson certificates that are not revoked.
Result<void> check_person_cert_limit(const StateView& state, const std::string& who) {
  MEDLEDGER_TRY_ASSIGN(const auto held, person_certificates(state, who));
  std::size_t active = 0;
  for (const auto& other : held) {
    MEDLEDGER_TRY_ASSIGN(const auto entry, find_certificate(state, other));
    if (entry && entry->status != "revoked") ++active;
  }
  if (active >= kMaxCertsPerPerson) {
    return make_error(ErrorCode::kPersonCertLimit,
                      who + " already holds " + std::to_string(active) + " certificates");
  }
  return core::success();
}

/// hospital.admit's signers: the candidate's CA and member CAs (valid at `at`) of at
/// least the policy's quorum of hospitals; no role certificate.
Result<void> require_candidate_and_quorum(const std::vector<ResolvedSigner>& signers,
                                          const StateView& state, std::time_t at) {
  bool candidate_signed = false;
  std::set<std::string> members;
  for (const auto& s : signers) {
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
  MEDLEDGER_TRY_ASSIGN(const std::int64_t quorum, admit_quorum(state));
  if (static_cast<std::int64_t>(members.size()) < quorum) {
    return make_error(ErrorCode::kAdmitQuorumNotMet, std::to_string(members.size()) +
                                                         " member hospital(s) signed, " +
                                                         std::to_string(quorum) + " required");
  }
  return core::success();
}

}  // namespace

Result<GenesisBody> read_genesis_body(BodyReader& reader, const BlockContext& ctx) {
  if (ctx.height != 0) return genesis_error("only block 0 may hold the consortium configuration");
  // Members other than these two are the ledger's (proposers) or free: not read here.
  const json::object& body = reader.object();
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
  GenesisBody out;
  out.admit_quorum = quorum->value().as_int64();
  std::set<std::string> ids;
  std::set<core::Digest> fingerprints;
  for (const auto& item : hospitals->value().as_array()) {
    MEDLEDGER_TRY_ASSIGN(auto member, read_genesis_member(item, ids, fingerprints));
    out.hospitals.push_back(std::move(member));
  }
  return out;
}

Result<Plan> check_genesis(const GenesisBody& body, ChosenSigners, const Transaction& tx,
                           const StateView&, const BlockContext& ctx) {
  Plan plan;
  for (const auto& member : body.hospitals) admit_writes(plan, member.id, member.ca_certs, ctx);
  plan.push_back({kTableConfig, text_key("genesis"), core::canonicalize(tx.body)});
  plan.push_back({kTableConfig, text_key("policy"),
                  core::canonicalize(json::object{{"admit_quorum", body.admit_quorum}})});
  return plan;
}

Result<AdmitBody> read_hospital_admit_body(BodyReader& body, const BlockContext& ctx) {
  AdmitBody admit;
  MEDLEDGER_TRY_ASSIGN(admit.hospital, body.identifier("hospital"));
  MEDLEDGER_TRY_ASSIGN(const json::value* list, body.value("ca_certs"));
  if (!list->is_array() || list->as_array().empty() ||
      list->as_array().size() > kMaxHospitalCaCerts) {
    return body.invalid("ca_certs", "must be an array of 1-" + std::to_string(kMaxHospitalCaCerts) +
                                        " PEM strings");
  }
  MEDLEDGER_TRY(body.finish());
  const std::time_t at = block_seconds(ctx);
  for (const auto& pem : list->as_array()) {
    if (!pem.is_string() || pem.as_string().size() > kMaxCertificatePem)
      return body.invalid("ca_certs", "must hold PEM strings");
    MEDLEDGER_TRY_ASSIGN(auto cert, parse_hospital_ca(pem.as_string(), admit.hospital));
    MEDLEDGER_TRY(check_ca_validity(cert, at, "the candidate CA certificate"));
    admit.candidates.push_back(std::move(cert));
  }
  return admit;
}

Result<Plan> check_hospital_admit(const AdmitBody& body, ChosenSigners, const Transaction& tx,
                                  const StateView& state, const BlockContext& ctx) {
  MEDLEDGER_TRY_ASSIGN(const auto signers, resolve_signers(tx, state, body.candidates));
  MEDLEDGER_TRY_ASSIGN(const auto existing, find_hospital(state, body.hospital));
  if (existing)
    return make_error(ErrorCode::kHospitalAlreadyAdmitted,
                      "hospital " + body.hospital + " is already admitted");
  for (const auto& cert : body.candidates) {
    MEDLEDGER_TRY_ASSIGN(const auto known,
                         state.get(kTableCaCerts, digest_key(certificate_fingerprint(cert))));
    if (known)
      return make_error(ErrorCode::kHospitalAlreadyAdmitted,
                        "a candidate CA certificate is already admitted");
  }
  MEDLEDGER_TRY(require_candidate_and_quorum(signers, state, block_seconds(ctx)));
  Plan plan;
  admit_writes(plan, body.hospital, body.candidates, ctx);
  return plan;
}

Result<CertRegisterBody> read_cert_register_body(BodyReader& body, const BlockContext&) {
  CertRegisterBody out;
  MEDLEDGER_TRY_ASSIGN(out.der, body.bytes("cert", kMaxCertificateDer));
  MEDLEDGER_TRY(body.finish());
  return out;
}

Result<Plan> check_cert_register(const CertRegisterBody& body, ChosenSigners, const Transaction& tx,
                                 const StateView& state, const BlockContext& ctx) {
  MEDLEDGER_TRY_ASSIGN(const auto cert, ca::Certificate::from_der(body.der));
  MEDLEDGER_TRY_ASSIGN(const auto signers, resolve_signers(tx, state));
  MEDLEDGER_TRY_ASSIGN(const auto anchors, load_trust_anchors(state));
  // A certificate may be registered before its notBefore (then unusable until it
  // starts), never after its notAfter: validate at the later of the two.
  const std::time_t at = std::max<std::time_t>(block_seconds(ctx), cert.not_before());
  MEDLEDGER_TRY_ASSIGN(const auto validated,
                       ca::validate_chain(cert, anchors, {}, at, std::nullopt));
  MEDLEDGER_TRY_ASSIGN(const core::Digest issuer, issuer_of(validated));
  MEDLEDGER_TRY(require_issuer_signed(signers, issuer));

  const core::Digest fp = core::sha256(body.der);
  MEDLEDGER_TRY_ASSIGN(const auto existing, find_certificate(state, fp));
  if (existing)
    return make_error(ErrorCode::kCertAlreadyRegistered,
                      "the certificate is already on the ledger");
  const std::string who = principal(validated.hospital_id, validated.subject_id);
  MEDLEDGER_TRY(check_person_cert_limit(state, who));

  CertificateEntry entry;
  entry.fingerprint = fp;
  entry.der = body.der;
  entry.role = std::string(ca::role_name(validated.role));
  entry.id = validated.subject_id;
  entry.hospital = validated.hospital_id;
  entry.issuer = issuer;
  entry.not_before = cert.not_before();
  entry.not_after = cert.not_after();
  entry.status = "valid";
  entry.registered_at_ms = ctx.time_ms;
  Plan plan;
  plan.push_back({kTableCerts, digest_key(fp), core::canonicalize(certificate_json(entry))});
  plan.push_back({kTablePersons, pair_key(who, core::ByteView(fp.data(), fp.size())),
                  core::canonicalize(json::object{{"role", entry.role}})});
  return plan;
}

Result<CertRevokeBody> read_cert_revoke_body(BodyReader& body, const BlockContext&) {
  CertRevokeBody out;
  MEDLEDGER_TRY_ASSIGN(out.fingerprint, body.digest("cert"));
  MEDLEDGER_TRY_ASSIGN(const std::string reason_text, body.string("reason", 64));
  MEDLEDGER_TRY(body.finish());
  auto reason = ca::parse_revocation_reason(reason_text);
  if (!reason) return body.invalid("reason", "is not an RFC 5280 reason name");
  if (*reason == ca::RevocationReason::kRemoveFromCrl) {
    return body.invalid("reason", "removeFromCRL is not allowed: ledger revocation is final");
  }
  out.reason = *reason;
  return out;
}

Result<Plan> check_cert_revoke(const CertRevokeBody& body, ChosenSigners, const Transaction& tx,
                               const StateView& state, const BlockContext& ctx) {
  MEDLEDGER_TRY_ASSIGN(const auto signers, resolve_signers(tx, state));
  MEDLEDGER_TRY_ASSIGN(auto entry, find_certificate(state, body.fingerprint));
  if (!entry)
    return make_error(ErrorCode::kCertNotOnLedger,
                      "the certificate to revoke is not on the ledger");
  if (entry->status == "revoked")
    return make_error(ErrorCode::kCertAlreadyRevoked, "the certificate is already revoked");
  if (signers.empty())
    return make_error(ErrorCode::kRevokeNotAuthorized, "cert.revoke carries no signature");
  for (const auto& s : signers) {
    if (s.fingerprint != entry->issuer && s.fingerprint != body.fingerprint) {
      return make_error(
          ErrorCode::kRevokeNotAuthorized,
          "signature " + std::to_string(s.index) + " is by neither the issuing CA nor the subject");
    }
  }
  CertificateEntry updated = std::move(*entry);
  updated.status = "revoked";
  updated.revoked_at_ms = ctx.time_ms;
  updated.reason = std::string(ca::revocation_reason_name(body.reason));
  Plan plan;
  plan.push_back(
      {kTableCerts, digest_key(body.fingerprint), core::canonicalize(certificate_json(updated))});
  return plan;
}

}  // namespace medledger::ledger::records
