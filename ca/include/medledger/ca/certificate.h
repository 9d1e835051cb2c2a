// Certificate, Crl and CertificateRequest: owned, immutable OpenSSL objects with
// strict parsing (PEM or DER, nothing trailing, size-bounded) and re-encoding.
//
// All parsing errors are kMalformedEncoding (certificate), kCrlInvalid (CRL) or
// kCsrInvalid (CSR), with what failed in the message. Cost: CPU only.
#pragma once

#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/x509.h>

#include "medledger/ca/revocation.h"
#include "medledger/core/bytes.h"
#include "medledger/core/openssl.h"
#include "medledger/core/result.h"
#include "medledger/core/signer.h"

namespace medledger::ca {

using X509CrlPtr = std::unique_ptr<X509_CRL, core::OpenSslDeleter<X509_CRL_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, core::OpenSslDeleter<X509_REQ_free>>;

/// `time` as "YYYY-MM-DDTHH:MM:SSZ" (UTC): how validity dates are shown to people.
std::string utc_text(std::time_t time);

/// One X.509 certificate. Copies share the (immutable) OpenSSL object.
class Certificate {
 public:
  /// Parses one PEM certificate ("-----BEGIN CERTIFICATE-----"); kMalformedEncoding otherwise.
  static core::Result<Certificate> from_pem(std::string_view pem);
  /// Parses one DER certificate with no trailing bytes; kMalformedEncoding otherwise.
  static core::Result<Certificate> from_der(core::ByteView der);
  /// PEM if the input starts with "-----BEGIN", DER otherwise.
  static core::Result<Certificate> parse(core::ByteView pem_or_der);
  /// Takes ownership of an OpenSSL object (must not be null).
  static Certificate adopt(core::X509Ptr x509);

  std::string to_pem() const;
  core::Bytes to_der() const;

  /// RFC 2253 form, most specific first: "CN=dr-17,OU=doctor,O=hospital-a".
  std::string subject() const;
  std::string issuer() const;
  /// The value of the first subject attribute `short_name` ("CN", "OU", "O"), if any.
  std::optional<std::string> subject_attribute(std::string_view short_name) const;
  /// Serial number as uppercase hex without leading zeros (as `openssl x509 -serial` prints it).
  std::string serial_hex() const;
  std::time_t not_before() const;
  std::time_t not_after() const;
  /// DER SubjectPublicKeyInfo of the certified key.
  core::Bytes public_key_spki() const;
  /// basicConstraints CA:TRUE.
  bool is_ca() const;
  /// Issuer and subject names equal and the signature verifies with the own key.
  bool is_self_signed() const;

  X509* get() const { return x509_.get(); }

 private:
  explicit Certificate(std::shared_ptr<X509> x509) : x509_(std::move(x509)) {}
  std::shared_ptr<X509> x509_;
};

/// Parses a PEM bundle of up to kMaxBundleCertificates certificates (at least one).
core::Result<std::vector<Certificate>> parse_pem_bundle(std::string_view pem);

/// A public key as DER SubjectPublicKeyInfo, from PEM ("-----BEGIN PUBLIC KEY-----")
/// or DER SPKI (what `medledger key export-public` and `openssl pkey -pubout` write).
/// kMalformedEncoding otherwise.
core::Result<core::Bytes> parse_public_key(core::ByteView pem_or_der);

/// One X.509 v2 certificate revocation list.
class Crl {
 public:
  /// PEM ("-----BEGIN X509 CRL-----") or DER; kCrlInvalid otherwise.
  static core::Result<Crl> parse(core::ByteView pem_or_der);
  static Crl adopt(X509CrlPtr crl);

  std::string to_pem() const;
  core::Bytes to_der() const;
  std::string issuer() const;
  /// The cRLNumber extension (absent -> nullopt).
  std::optional<std::uint64_t> number() const;
  std::time_t this_update() const;
  std::optional<std::time_t> next_update() const;
  /// Serials (as Certificate::serial_hex) listed as revoked.
  std::vector<std::string> revoked_serials() const;
  /// Every entry: serial, revocationDate and reasonCode (absent -> unspecified), in CRL order.
  std::vector<RevokedEntry> entries() const;

  X509_CRL* get() const { return crl_.get(); }

 private:
  explicit Crl(std::shared_ptr<X509_CRL> crl) : crl_(std::move(crl)) {}
  std::shared_ptr<X509_CRL> crl_;
};

/// A PKCS#10 certificate signing request. Parsing does NOT check its signature;
/// CertificateAuthority::issue does (kCsrSignatureInvalid).
class CertificateRequest {
 public:
  /// PEM ("-----BEGIN CERTIFICATE REQUEST-----") or DER; kCsrInvalid otherwise.
  static core::Result<CertificateRequest> parse(core::ByteView pem_or_der);
  static CertificateRequest adopt(X509ReqPtr req);
  /// A request for `signer`'s key (e.g. a TLS key in the token, which cannot sign
  /// through OpenSSL's own CSR code), subject CN=`common_name`, with a
  /// subjectAltName extension of `subject_alt_names` in OpenSSL's form
  /// ("IP:127.0.0.1", "DNS:node-a.example") when not empty; signed by `signer`
  /// (ECDSA P-256 only). kInvalidArgument (empty CN, bad SAN),
  /// kUnsupportedAlgorithm, the signer's errors. Cost: one signature.
  static core::Result<CertificateRequest> for_key(
      core::Signer& signer, const std::string& common_name,
      const std::vector<std::string>& subject_alt_names);

  std::string to_pem() const;
  core::Bytes to_der() const;
  /// RFC 2253 subject, "" when empty.
  std::string subject() const;
  /// DER SubjectPublicKeyInfo; kCsrInvalid if the key cannot be read.
  core::Result<core::Bytes> public_key_spki() const;
  /// Checks the self-signature with the enclosed key: kCsrSignatureInvalid if it fails.
  core::Result<void> verify_signature() const;

  X509_REQ* get() const { return req_.get(); }

 private:
  explicit CertificateRequest(std::shared_ptr<X509_REQ> req) : req_(std::move(req)) {}
  std::shared_ptr<X509_REQ> req_;
};

}  // namespace medledger::ca
