// Who signed a transaction: certificate lookup, signature verification, role
// requirements and chain validation at the block time (records_internal.h).
#include <algorithm>
#include <map>
#include <mutex>

#include "medledger/core/canonical_json.h"
#include "transaction_types.h"

namespace medledger::ledger::records {

using core::ErrorCode;
using core::make_error;
using core::Result;

namespace {

std::string short_fp(const core::Digest& fp) { return core::base64url_encode(fp).substr(0, 12); }

/// Most parsed CA certificates kept in memory (hospitals x certificates, with room).
constexpr std::size_t kMaxCachedCaCertificates = 1024;

/// Parsed CA certificates and whether each is self-signed, by SHA-256 of the DER.
/// Every record.put needs the trust anchors; parsing them and checking their
/// self-signatures each time would cost one verification per hospital. The cache
/// holds pure functions of the DER bytes, so results do not depend on it.
Result<std::pair<ca::Certificate, bool>> parse_ca_der(const core::Bytes& der) {
  static std::mutex mutex;
  static std::map<core::Digest, std::pair<ca::Certificate, bool>> cache;
  const core::Digest key = core::sha256(der);
  {
    std::lock_guard lock(mutex);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
  }
  MEDLEDGER_TRY_ASSIGN(auto cert, ca::Certificate::from_der(der));
  std::pair<ca::Certificate, bool> parsed(cert, cert.is_self_signed());
  std::lock_guard lock(mutex);
  if (cache.size() >= kMaxCachedCaCertificates) cache.clear();
  cache.emplace(key, parsed);
  return parsed;
}

/// A CA certificate of an admitted hospital: {"der","hospital"}.
Result<std::optional<std::pair<std::string, ca::Certificate>>> find_ca_certificate(
    const StateView& state, const core::Digest& fp) {
  using Found = std::optional<std::pair<std::string, ca::Certificate>>;
  MEDLEDGER_TRY_ASSIGN(auto raw, state.get(kTableCaCerts, digest_key(fp)));
  if (!raw) return Found{};
  auto value = core::parse_restricted_json(
      std::string_view(reinterpret_cast<const char*>(raw->data()), raw->size()));
  if (!value || !value->is_object())
    return make_error(ErrorCode::kLedgerCorrupt, "state: bad cacerts entry");
  const auto& o = value->as_object();
  auto der = o.find("der");
  auto hospital = o.find("hospital");
  if (der == o.end() || !der->value().is_string() || hospital == o.end() ||
      !hospital->value().is_string()) {
    return make_error(ErrorCode::kLedgerCorrupt, "state: bad cacerts entry");
  }
  auto bytes = core::base64url_decode(std::string_view(der->value().as_string()));
  if (!bytes) return make_error(ErrorCode::kLedgerCorrupt, "state: bad cacerts DER");
  auto cert = parse_ca_der(*bytes);
  if (!cert) return make_error(ErrorCode::kLedgerCorrupt, "state: cacerts DER does not parse");
  return Found(std::make_pair(std::string(hospital->value().as_string()), std::move(cert->first)));
}

ca::Role role_of(const CertificateEntry& entry) {
  auto role = ca::parse_role(entry.role);
  return role ? *role : ca::Role::kAdmin;  // the role was checked at registration
}

ErrorCode missing_code(ca::Role role) {
  switch (role) {
    case ca::Role::kDoctor:
      return ErrorCode::kDoctorSignatureMissing;
    case ca::Role::kPatient:
      return ErrorCode::kPatientSignatureMissing;
    case ca::Role::kNode:
      return ErrorCode::kNodeSignatureMissing;
    default:
      return ErrorCode::kCertificateWrongRole;
  }
}

}  // namespace

Result<std::vector<ResolvedSigner>> resolve_signers(
    const Transaction& tx, const StateView& state, const std::vector<ca::Certificate>& candidates) {
  std::vector<ResolvedSigner> out;
  out.reserve(tx.signatures.size());
  const core::Digest id = tx_id(tx);
  for (std::size_t i = 0; i < tx.signatures.size(); ++i) {
    ResolvedSigner signer;
    signer.index = i;
    signer.fingerprint = tx.signatures[i].cert_fingerprint;
    auto entry = find_certificate(state, signer.fingerprint);
    if (!entry) return entry.error();
    std::optional<ParsedRoleCertificate> parsed;  // role certificates: parsed once per DER
    if (*entry) {
      auto cert = parse_role_certificate((*entry)->der);
      if (!cert)
        return make_error(ErrorCode::kLedgerCorrupt,
                          "state: a registered certificate does not parse");
      signer.kind = SignerKind::kRoleCertificate;
      signer.entry = std::move(**entry);
      signer.certificate = cert->certificate;
      parsed = std::move(*cert);
    } else {
      MEDLEDGER_TRY_ASSIGN(auto ca_cert, find_ca_certificate(state, signer.fingerprint));
      if (ca_cert) {
        signer.kind = SignerKind::kHospitalCa;
        signer.hospital = ca_cert->first;
        signer.certificate = std::move(ca_cert->second);
      } else {
        auto it = std::find_if(candidates.begin(), candidates.end(), [&](const ca::Certificate& c) {
          return certificate_fingerprint(c) == signer.fingerprint;
        });
        if (it == candidates.end()) {
          return make_error(ErrorCode::kCertNotOnLedger,
                            "signature " + std::to_string(i) + ": certificate " +
                                short_fp(signer.fingerprint) + "... is not on the ledger");
        }
        signer.kind = SignerKind::kCandidateCa;
        signer.certificate = *it;
      }
    }
    auto verified = parsed ? verify_with(tx, i, *parsed, id)
                           : verify_signature(tx, i, signer.certificate->public_key_spki());
    if (!verified) {
      ErrorCode code = verified.error().code == ErrorCode::kUnsupportedAlgorithm
                           ? ErrorCode::kUnsupportedAlgorithm
                           : ErrorCode::kSignatureInvalid;
      return make_error(code, "signature " + std::to_string(i) + " (certificate " +
                                  short_fp(signer.fingerprint) +
                                  "...): " + verified.error().message);
    }
    out.push_back(std::move(signer));
  }
  return out;
}

Result<ca::TrustAnchors> load_trust_anchors(const StateView& state) {
  ca::TrustAnchors anchors;
  std::optional<core::Error> failure;
  auto scanned = state.scan(kTableCaCerts, {}, [&](core::ByteView key, core::ByteView) {
    core::Digest fp{};
    if (key.size() != fp.size()) {
      failure = make_error(ErrorCode::kLedgerCorrupt, "state: bad cacerts key");
      return false;
    }
    std::copy(key.begin(), key.end(), fp.begin());
    auto found = find_ca_certificate(state, fp);
    if (!found || !*found) {
      failure =
          found ? make_error(ErrorCode::kLedgerCorrupt, "state: cacerts vanished") : found.error();
      return false;
    }
    auto& cert = (*found)->second;
    auto parsed = parse_ca_der(cert.to_der());  // a cache hit: find_ca_certificate parsed it
    const bool self_signed = parsed && parsed->second;
    (self_signed ? anchors.roots : anchors.intermediates).push_back(std::move(cert));
    return true;
  });
  if (!scanned) return scanned.error();
  if (failure) return *failure;
  return anchors;
}

Result<std::vector<const ResolvedSigner*>> require_roles(const std::vector<ResolvedSigner>& signers,
                                                         std::span<const ca::Role> roles,
                                                         const ca::TrustAnchors& anchors,
                                                         std::time_t at) {
  std::vector<const ResolvedSigner*> chosen;
  for (ca::Role role : roles) {
    const ResolvedSigner* found = nullptr;
    for (const auto& s : signers) {
      if (s.kind != SignerKind::kRoleCertificate || role_of(*s.entry) != role) continue;
      if (found != nullptr) {
        return make_error(
            ErrorCode::kSignerRoleDuplicated,
            "two signatures by " + std::string(ca::role_name(role)) + " certificates");
      }
      found = &s;
    }
    if (found == nullptr) {
      return make_error(missing_code(role),
                        "no signature by a " + std::string(ca::role_name(role)) + " certificate");
    }
    chosen.push_back(found);
  }
  for (const auto& s : signers) {
    if (std::find(chosen.begin(), chosen.end(), &s) != chosen.end()) continue;
    std::string what = s.kind == SignerKind::kRoleCertificate
                           ? "a " + s.entry->role + " certificate"
                           : "a CA certificate";
    return make_error(ErrorCode::kCertificateWrongRole,
                      "signature " + std::to_string(s.index) + " is by " + what +
                          ", which this transaction does not take");
  }
  const core::Digest anchors_digest = trust_anchors_digest(anchors);
  for (std::size_t i = 0; i < roles.size(); ++i) {
    const ResolvedSigner& s = *chosen[i];
    const std::string who = std::string(ca::role_name(roles[i])) + " certificate " + s.principal();
    if (s.entry->status == "revoked") {
      return make_error(ErrorCode::kCertificateRevoked,
                        who + " was revoked (" + s.entry->reason + ")");
    }
    // Revocation was read from state just above, for this transaction; the cache
    // only skips rebuilding a path that already validated under the same CA set.
    auto valid =
        validate_chain_cached(*s.certificate, s.fingerprint, anchors, anchors_digest, at, roles[i]);
    if (!valid) return make_error(valid.error().code, who + ": " + valid.error().message);
  }
  return chosen;
}

Result<std::vector<const ResolvedSigner*>> require_signers(const Transaction& tx,
                                                           const StateView& state,
                                                           const BlockContext& ctx,
                                                           std::span<const ca::Role> roles,
                                                           std::vector<ResolvedSigner>& storage) {
  MEDLEDGER_TRY_ASSIGN(storage, resolve_signers(tx, state));
  MEDLEDGER_TRY_ASSIGN(const auto anchors, load_trust_anchors(state));
  return require_roles(storage, roles, anchors, block_seconds(ctx));
}

}  // namespace medledger::ledger::records
