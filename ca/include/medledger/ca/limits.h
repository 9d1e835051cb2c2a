// Every bound of the ca module, in one place.
#pragma once

#include <cstddef>
#include <cstdint>

namespace medledger::ca {

/// Largest PEM/DER input parsed (certificate, CSR, CRL, bundle). A CRL of 10^5
/// entries is about 4 MiB; anything larger is not an input we produce or expect.
inline constexpr std::size_t kMaxEncodedInput = 8 * 1024 * 1024;

/// Certificates read from one PEM bundle (root -> intermediates -> leaf is at most a few).
inline constexpr std::size_t kMaxBundleCertificates = 16;

/// Longest chain validate_chain() accepts (leaf, intermediate, root, and one spare).
inline constexpr int kMaxChainDepth = 4;

/// Length bounds of a pseudonymous id or hospital id (a CN/O value; RFC 5280 ub-common-name is 64).
inline constexpr std::size_t kMaxIdLength = 64;

/// Random bytes in a serial number; the top bit is cleared so the INTEGER is
/// positive and the next one set so the length is fixed: 126 random bits, well
/// above the 64 RFC 5280 / CA/B Forum ask for.
inline constexpr std::size_t kSerialBytes = 16;

/// subjectAltName entries a node certificate may carry.
inline constexpr std::size_t kMaxSubjectAltNames = 16;

/// notBefore is set this many seconds before "now" so a relying party whose
/// clock is slightly behind does not see a fresh certificate as not yet valid.
inline constexpr long kNotBeforeBackdateSeconds = 300;

/// Default and maximum validity of a hospital CA certificate (self-signed or intermediate).
inline constexpr int kDefaultCaValidityDays = 3650;
inline constexpr int kMaxCaValidityDays = 7300;

/// Default time between a CRL's thisUpdate and nextUpdate.
inline constexpr int kDefaultCrlValidityDays = 7;
/// Longest CRL validity accepted (a CRL must be refreshed; a year is plenty).
inline constexpr int kMaxCrlValidityDays = 366;

/// Longest validity of a delegated OCSP responder certificate (id-pkix-ocsp-nocheck:
/// clients never check its status, so it must expire soon) and its default.
inline constexpr int kMaxOcspResponderValidityDays = 90;
inline constexpr int kDefaultOcspResponderValidityDays = 30;

/// Largest OCSP request accepted (`openssl ocsp` sends about 120 bytes) and most
/// certificates asked about in one.
inline constexpr std::size_t kMaxOcspRequestBytes = 4096;
inline constexpr std::size_t kMaxOcspRequestCertificates = 16;
/// Longest OCSP nonce accepted (RFC 8954: 1..32 octets, plus its OCTET STRING header).
inline constexpr std::size_t kMaxOcspNonceBytes = 34;

/// One OCSP answer in this many has its token signature verified before it is sent
/// (the first one always); certificates and CRLs are verified every time.
inline constexpr std::uint64_t kOcspVerifyEvery = 16;

/// Longest publication URL (OCSP / CRL) written into certificates.
inline constexpr std::size_t kMaxPublicationUrlLength = 512;

/// Certificates kept in one CA directory's index (a hospital of 10^6 patients
/// enrols on the ledger; the local index is for staff and nodes).
inline constexpr std::size_t kMaxIndexEntries = 1000000;

}  // namespace medledger::ca
