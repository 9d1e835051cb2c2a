#include "ca_test_support.h"

#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include <array>
#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

namespace medledger::ca::testing {

namespace {
using ExtensionStack =
    std::unique_ptr<STACK_OF(X509_EXTENSION), void (*)(STACK_OF(X509_EXTENSION)*)>;
void free_extensions(STACK_OF(X509_EXTENSION) * s) {
  sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
}

std::unique_ptr<core::SoftwareSigner> p256_signer() {
  auto signer = core::SoftwareSigner::generate(core::KeyAlgorithm::kEcdsaP256);
  EXPECT_TRUE(signer.ok());
  return std::move(*signer);
}
}  // namespace

IssueRequest request(Role role, std::string subject_id, std::optional<int> validity_days) {
  IssueRequest out;
  out.role = role;
  out.subject_id = std::move(subject_id);
  out.validity_days = validity_days;
  return out;
}

CaOptions ca_options(std::string hospital, int validity_days, int path_length,
                     std::string common_name) {
  CaOptions out;
  out.hospital_id = std::move(hospital);
  out.validity_days = validity_days;
  out.path_length = path_length;
  out.common_name = std::move(common_name);
  return out;
}

SoftwareCa make_ca(const std::string& hospital, std::time_t now, int days) {
  SoftwareCa out{p256_signer(), nullptr};
  auto cert =
      CertificateAuthority::self_signed(*out.signer, testing::ca_options(hospital, days), now);
  EXPECT_TRUE(cert.ok()) << cert.error().to_string();
  auto ca = CertificateAuthority::open(*out.signer, *cert, {});
  EXPECT_TRUE(ca.ok()) << ca.error().to_string();
  out.ca = std::make_unique<CertificateAuthority>(std::move(*ca));
  return out;
}

std::pair<SoftwareCa, SoftwareCa> make_root_and_intermediate(const std::string& hospital) {
  SoftwareCa root{p256_signer(), nullptr};
  auto root_cert = CertificateAuthority::self_signed(
      *root.signer, ca_options(hospital, 0, 1, hospital + " Root CA"), kNow);
  EXPECT_TRUE(root_cert.ok()) << root_cert.error().to_string();
  root.ca = std::make_unique<CertificateAuthority>(
      *CertificateAuthority::open(*root.signer, *root_cert, {}));

  SoftwareCa intermediate{p256_signer(), nullptr};
  CaOptions options = ca_options(hospital, 1825);
  auto csr = CertificateAuthority::intermediate_request(*intermediate.signer, options);
  EXPECT_TRUE(csr.ok()) << csr.error().to_string();
  auto cert = root.ca->issue_intermediate(*csr, options, kNow);
  EXPECT_TRUE(cert.ok()) << cert.error().to_string();
  auto ca = CertificateAuthority::open(*intermediate.signer, *cert, {*root_cert});
  EXPECT_TRUE(ca.ok()) << ca.error().to_string();
  intermediate.ca = std::make_unique<CertificateAuthority>(std::move(*ca));
  return {std::move(root), std::move(intermediate)};
}

core::EvpPkeyPtr generate_key(TestKey type) {
  switch (type) {
    case TestKey::kP256:
      return core::EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    case TestKey::kP384:
      return core::EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
    case TestKey::kRsa2048:
      return core::EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
    case TestKey::kEd25519:
      return core::EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  }
  return nullptr;
}

CertificateRequest make_csr(const CsrSpec& spec) {
  core::EvpPkeyPtr key = generate_key(spec.key);
  X509ReqPtr req(X509_REQ_new());
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  for (const auto& [field, value] : spec.subject) {
    X509_NAME_add_entry_by_txt(name, field.c_str(), MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(value.data()), -1, -1, 0);
  }
  X509_REQ_set_pubkey(req.get(), key.get());
  if (!spec.extensions.empty()) {
    ExtensionStack stack(sk_X509_EXTENSION_new_null(), free_extensions);
    for (const auto& [nid, value] : spec.extensions) {
      X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, nid, value.c_str());
      EXPECT_NE(ext, nullptr) << value;
      sk_X509_EXTENSION_push(stack.get(), ext);
    }
    X509_REQ_add_extensions(req.get(), stack.get());
  }
  EXPECT_GT(
      X509_REQ_sign(req.get(), key.get(), spec.key == TestKey::kEd25519 ? nullptr : EVP_sha256()),
      0);
  core::Bytes der(static_cast<std::size_t>(i2d_X509_REQ(req.get(), nullptr)));
  unsigned char* p = der.data();
  i2d_X509_REQ(req.get(), &p);
  if (spec.corrupt_signature) der[der.size() - 3] ^= 0x01;  // inside the signature BIT STRING
  auto parsed = CertificateRequest::parse(der);
  EXPECT_TRUE(parsed.ok());
  return *parsed;
}

core::Bytes make_spki(TestKey type) {
  core::EvpPkeyPtr key = generate_key(type);
  core::Bytes der(static_cast<std::size_t>(i2d_PUBKEY(key.get(), nullptr)));
  unsigned char* p = der.data();
  i2d_PUBKEY(key.get(), &p);
  return der;
}

CommandResult run(const std::string& command_line) {
  std::string full = command_line + " 2>&1";
  FILE* pipe = popen(full.c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  std::string output;
  std::array<char, 4096> buffer{};
  size_t n = 0;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) output.append(buffer.data(), n);
  int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

}  // namespace medledger::ca::testing
