// The CA's parsers of outside bytes (ca/certificate.h): certificates (PEM or DER, and PEM
// bundles), CSRs, public keys and CRLs, each tried on every input. What parses goes on
// down the production paths: a certificate is read and validated against a CA made at
// start-up, a CSR or public key is issued a certificate by that CA (the CSR signature and
// the profile checks), a CRL is read and used to check a certificate the CA issued.
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <optional>
#include <vector>

#include "fuzz_support.h"
#include "medledger/ca/authority.h"
#include "medledger/ca/certificate.h"
#include "medledger/ca/validation.h"

using namespace medledger;

namespace {

constexpr std::time_t kNow = 1767225600;  // 2026-01-01T00:00:00Z

struct Fixture {
  std::optional<ca::CertificateAuthority> authority;
  std::optional<ca::Certificate> doctor;
  ca::TrustAnchors anchors;
};

Fixture& fixture() {
  static Fixture* made = [] {
    auto* f = new Fixture;
    auto& signer = fuzz::p256_signer();
    auto cert = ca::CertificateAuthority::self_signed(signer, {.hospital_id = "hospital-a"}, kNow);
    if (!cert) std::abort();
    auto opened = ca::CertificateAuthority::open(signer, *cert, {});
    if (!opened) std::abort();
    f->authority.emplace(std::move(*opened));
    f->anchors.roots = {*cert};
    auto doctor =
        f->authority->issue_for_key(fuzz::ed25519_signer().public_key_spki(),
                                    {.role = ca::Role::kDoctor, .subject_id = "dr-1"}, kNow);
    if (!doctor) std::abort();
    f->doctor.emplace(std::move(*doctor));
    return f;
  }();
  return *made;
}

void read_certificate(const ca::Certificate& cert) {
  (void)cert.to_pem();
  (void)cert.to_der();
  (void)cert.subject();
  (void)cert.issuer();
  (void)cert.subject_attribute("CN");
  (void)cert.serial_hex();
  (void)ca::utc_text(cert.not_before());
  (void)ca::utc_text(cert.not_after());
  (void)cert.public_key_spki();
  (void)cert.is_ca();
  (void)cert.is_self_signed();
  (void)ca::validate_chain(cert, fixture().anchors, {}, kNow + 3600, std::nullopt);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Fixture& f = fixture();
  const core::ByteView bytes(data, size);
  if (auto cert = ca::Certificate::parse(bytes)) read_certificate(*cert);
  if (auto bundle = ca::parse_pem_bundle(fuzz::as_text(data, size))) {
    for (const auto& cert : *bundle) read_certificate(cert);
  }
  if (auto csr = ca::CertificateRequest::parse(bytes)) {
    (void)csr->to_pem();
    (void)csr->subject();
    (void)csr->public_key_spki();
    if (csr->verify_signature()) {
      (void)f.authority->issue(*csr, {.role = ca::Role::kDoctor, .subject_id = "dr-2"}, kNow);
    }
  }
  if (auto spki = ca::parse_public_key(bytes)) {
    (void)f.authority->issue_for_key(*spki, {.role = ca::Role::kPatient, .subject_id = "p-1"},
                                     kNow);
  }
  if (auto crl = ca::Crl::parse(bytes)) {
    (void)crl->to_der();
    (void)crl->issuer();
    (void)crl->number();
    (void)crl->this_update();
    (void)crl->next_update();
    (void)crl->revoked_serials();
    (void)ca::validate_chain(*f.doctor, f.anchors, {*crl}, kNow + 3600, ca::Role::kDoctor);
  }
  return 0;
}
