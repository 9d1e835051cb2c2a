#include "medledger/api/client_auth.h"

#include <ctime>

#include "medledger/core/sha256.h"

namespace medledger::api {

namespace {
using core::ErrorCode;

// A client cannot make us parse an unbounded chain: leaf + intermediates.
constexpr std::size_t kMaxPeerChainLength = 8;
}  // namespace

ChainValidatingAuthenticator::ChainValidatingAuthenticator(TrustProvider trust)
    : trust_(std::move(trust)) {}

std::uint64_t ChainValidatingAuthenticator::trust_generation() const {
  auto snapshot = trust_();
  return snapshot ? snapshot->generation : 0;
}

core::Result<Principal> ChainValidatingAuthenticator::authenticate(
    const std::vector<core::Bytes>& peer_chain_der) {
  if (peer_chain_der.empty()) {
    return core::make_error(ErrorCode::kClientCertificateRequired,
                            "no client certificate was presented");
  }
  if (peer_chain_der.size() > kMaxPeerChainLength) {
    return core::make_error(ErrorCode::kCertificateInvalid,
                            "the client sent too many certificates");
  }
  auto snapshot = trust_();
  if (!snapshot || snapshot->anchors.roots.empty()) {
    return core::make_error(ErrorCode::kCertificateUntrusted, "no hospital CA is trusted yet");
  }
  MEDLEDGER_TRY_ASSIGN(auto leaf, ca::Certificate::from_der(peer_chain_der.front()));

  ca::TrustAnchors anchors = snapshot->anchors;
  for (std::size_t i = 1; i < peer_chain_der.size(); ++i) {
    MEDLEDGER_TRY_ASSIGN(auto intermediate, ca::Certificate::from_der(peer_chain_der[i]));
    // A self-signed certificate from the client is never an anchor; roots come from trust only.
    if (!intermediate.is_self_signed()) anchors.intermediates.push_back(intermediate);
  }
  // Only the leaf issuer's CRL applies; ledger CAs have none (is_revoked below).
  std::vector<ca::Crl> crls;
  const std::string issuer = leaf.issuer();
  for (const auto& crl : snapshot->crls) {
    if (crl.issuer() == issuer) crls.push_back(crl);
  }
  MEDLEDGER_TRY_ASSIGN(auto validated,
                       ca::validate_chain(leaf, anchors, crls, std::time(nullptr), std::nullopt));
  if (snapshot->is_revoked) {
    for (const auto& der : peer_chain_der) {
      auto revoked = snapshot->is_revoked(core::sha256(der));
      if (!revoked) return revoked.error();  // fail closed: unknown status is no access
      if (*revoked)
        return core::make_error(ErrorCode::kCertificateRevoked,
                                "the certificate is revoked on the ledger");
    }
  }

  Principal principal;
  principal.role = validated.role;
  principal.id = validated.subject_id;
  principal.hospital = validated.hospital_id;
  principal.fingerprint = certificate_fingerprint(peer_chain_der.front());
  return principal;
}

core::Result<std::shared_ptr<const TrustSnapshot>> trust_snapshot_from_pem(
    std::string_view ca_bundle_pem, const std::vector<std::string>& crl_pems,
    std::uint64_t generation) {
  MEDLEDGER_TRY_ASSIGN(auto certificates, ca::parse_pem_bundle(ca_bundle_pem));
  auto snapshot = std::make_shared<TrustSnapshot>();
  for (auto& certificate : certificates) {
    if (certificate.is_self_signed())
      snapshot->anchors.roots.push_back(certificate);
    else
      snapshot->anchors.intermediates.push_back(certificate);
  }
  for (const auto& pem : crl_pems) {
    MEDLEDGER_TRY_ASSIGN(
        auto crl, ca::Crl::parse(core::ByteView(reinterpret_cast<const std::uint8_t*>(pem.data()),
                                                pem.size())));
    snapshot->crls.push_back(crl);
  }
  snapshot->generation = generation;
  return std::shared_ptr<const TrustSnapshot>(std::move(snapshot));
}

std::string certificate_fingerprint(core::ByteView der) {
  return core::hex_encode(core::sha256(der));
}

}  // namespace medledger::api
