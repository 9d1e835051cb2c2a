// Error: a stable code plus a message for the person who reads it.
//
// Codes are stable: they appear in CLI output, exit codes, API responses and
// docs/errors.md, so existing names and numbers never change meaning. Each
// module owns a block of numbers; add new codes at the end of its block.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace medledger::core {

enum class ErrorCode : std::uint16_t {
  // core (1-99)
  kInternal = 1,           // a bug: an invariant that should hold did not
  kInvalidArgument = 2,    // a caller passed something malformed
  kIoError = 3,            // a file could not be read or written
  kMalformedEncoding = 4,  // bad hex / base64url / PEM / DER
  kSecretUnavailable = 5,  // PIN file/env/prompt gave nothing usable
  kConfigInvalid = 6,      // a config file or option is wrong
  kCryptoError = 7,        // OpenSSL failed on well-formed input
  kSignatureInvalid = 8,   // a signature did not verify
  kUnsupportedAlgorithm = 9,
  kNotFound = 10,  // a named thing does not exist
  kAlreadyExists = 11,

  // hsm (100-199)
  kModuleLoadFailed = 100,  // dlopen / C_GetFunctionList failed
  kModuleInitFailed = 101,  // C_Initialize failed
  kTokenNotFound = 102,     // no token matches label / serial / URI
  kTokenAmbiguous = 103,    // more than one token matches
  kPinIncorrect = 104,      // CKR_PIN_INCORRECT
  kPinLocked = 105,         // CKR_PIN_LOCKED
  kPinInvalid = 106,        // CKR_PIN_LEN_RANGE / CKR_PIN_INVALID
  kMechanismMissing = 107,  // the token lacks a mechanism we need
  kKeyNotFound = 108,       // no key with that CKA_ID / label
  kTokenError = 109,        // any other CKR_ error (name in message)
  kTokenUnavailable = 110,  // device error / removed after one retry
  kSessionExhausted = 111,  // no session free within the wait bound
  kTokenNotInitialized = 112,
  kUriInvalid = 113,         // malformed RFC 7512 pkcs11: URI
  kWrappedKeyInvalid = 114,  // a wrapped key blob is malformed or does not unwrap
  kKeyUsageUnsafe = 115,     // a token key can do more than its one use and stays so

  // ca (200-299)
  kCsrInvalid = 200,
  kCsrSignatureInvalid = 201,
  kProfileViolation = 202,  // the request asks for what the role's profile forbids
  kCertificateInvalid = 203,
  kCertificateExpired = 204,
  kCertificateNotYetValid = 205,
  kCertificateRevoked = 206,
  kCertificateUntrusted = 207,  // does not chain to a trusted CA
  kCertificateWrongRole = 208,
  kCaNotInitialized = 209,
  kCrlInvalid = 210,
  kOcspRequestMalformed =
      211,                   // an OCSP request is not well-formed DER (RFC 6960 malformedRequest)
  kOcspIssuerUnknown = 212,  // an OCSP request names an issuer this responder does not serve

  // ledger (300-399)
  kTxMalformed = 300,
  kTxNotCanonical = 301,
  kTxDuplicate = 302,
  kTxTooLarge = 303,
  kTxUnknownType = 304,
  kTxRejected = 305,     // the contract refused it (reason in message)
  kLedgerCorrupt = 306,  // verify found a mismatch
  kLedgerStorage = 307,  // LMDB failed (mdb_strerror in message)
  kLedgerNotFound = 308,
  kProofInvalid = 309,
  kOrderingStopped = 310,
  kLedgerFull = 311,  // the disk is full; nothing acknowledged was lost
  kCommitUnconfirmed =
      312,  // no durable commit reported within the wait limit; it may still commit
  kOrderingUnavailable = 313,  // the ordering service (etcd) is unreachable or has no quorum
  kBlockInvalid = 314,         // a block from another replica failed its checks (evidence kept)
  kReplicaHalted = 315,        // this replica stopped taking writes (an invalid block, a fork)

  // node (400-499)
  kDecryptionFailed = 400,    // ciphertext, AAD, nonce or wrapped key tampered, or the wrong key
  kPersonPinIncorrect = 401,  // a doctor's/patient's PIN did not match its scrypt verifier
  kPersonLocked = 402,        // too many wrong PINs: locked (admin reset) or backing off
  kRecordTooLarge = 403,      // a record payload exceeds the configured limit
  kPersonSessionInvalid =
      404,  // a person session token is unknown, expired, used up, closed or another person's
  kAuditRangeInvalid = 405,  // an audit query's time range is reversed, negative or absurd
  kExportTooLarge = 406,     // an audit export would exceed the configured size limit
  kBundleMismatch = 407,     // an audit bundle part does not match its proof, signature or chain

  // api (500-599)
  kJsonMalformed = 500,              // a request body is not well-formed JSON
  kClientCertificateRequired = 501,  // the route needs a client certificate and none was sent
  kRoleForbidden = 502,              // the certificate's role may not call this route
  kRouteNotFound = 503,              // no route has this path
  kMethodNotAllowed = 504,           // the path exists, but not with this method
  kBodyTooLarge = 505,               // the request body exceeds the server's limit
  kHeadersTooLarge = 506,            // the request line + headers exceed the server's limit
  kConnectionRefused = 507,  // HttpsClient: nothing listens at the address (or it is unreachable)
  kTlsHandshakeFailed =
      508,  // HttpsClient: the TLS handshake failed (untrusted server, refused client certificate)
  kRequestTimeout = 509,  // HttpsClient: connect, handshake or exchange exceeded its timeout

  // contract (600-699): rejections by the medical-records contract (docs/contract.md)
  kContractBodyInvalid =
      600,  // a body member is missing, unknown, of the wrong type or out of bounds
  kTxTimeOutsideWindow = 601,   // the transaction's time is too far from the block time
  kCertNotOnLedger = 602,       // a signature or body names a certificate the ledger does not hold
  kSignerRoleDuplicated = 603,  // two signatures of one role where one is expected
  kDoctorSignatureMissing = 604,
  kPatientSignatureMissing = 605,
  kNodeSignatureMissing = 606,
  kIssuerSignatureMissing =
      607,  // cert.register without the issuing CA / hospital.admit without the candidate
  kAdmitQuorumNotMet = 608,
  kHospitalAlreadyAdmitted = 609,
  kCertAlreadyRegistered = 610,
  kCertAlreadyRevoked = 611,
  kRevokeNotAuthorized = 612,  // cert.revoke by neither the issuing CA nor the subject
  kPatientMismatch = 613,      // the body's patient is not the patient who signed
  kRecordNotOwner = 614,
  kRecordNotFound = 615,
  kRecordAlreadyExists = 616,
  kRecordVersionConflict = 617,  // not latest + 1, or previous is not the latest version
  kRecordDigestMismatch = 618,   // the envelope does not match its digest or the body
  kGrantNotFound = 619,
  kGrantExpired = 620,
  kGrantRevoked = 621,
  kReadNotAuthorized = 622,     // neither the owner's hospital nor a grant
  kNodeHospitalMismatch = 623,  // the endorsing node is not of the doctor's hospital
  kGenesisInvalid = 624,
  kPatientKeyVersionStale = 625,
  kHospitalNotAdmitted = 626,
  kPersonCertLimit = 627,
};

/// The stable upper-snake-case name of a code, e.g. "PIN_INCORRECT".
std::string_view error_code_name(ErrorCode code);
/// The code whose stable name is `name` (as error_code_name gives it), if any:
/// a server's error code read back by a client.
std::optional<ErrorCode> error_code_named(std::string_view name);

/// The process exit code the CLI uses for this error (documented in docs/errors.md).
int exit_code_for(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  /// "PIN_INCORRECT: the user PIN was rejected by token 'x' (C_Login: CKR_PIN_INCORRECT)"
  std::string to_string() const;
};

inline Error make_error(ErrorCode code, std::string message) {
  return Error{code, std::move(message)};
}

}  // namespace medledger::core
