#include "medledger/core/error.h"

namespace medledger::core {

namespace {
struct CodeInfo {
  ErrorCode code;
  std::string_view name;
  int exit_code;
};

// One table: the stable name and CLI exit code of every ErrorCode.
// docs/errors.md lists the same rows; a test checks every code has a name.
constexpr CodeInfo kCodes[] = {
    {ErrorCode::kInternal, "INTERNAL", 1},
    {ErrorCode::kInvalidArgument, "INVALID_ARGUMENT", 2},
    {ErrorCode::kIoError, "IO_ERROR", 4},
    {ErrorCode::kMalformedEncoding, "MALFORMED_ENCODING", 5},
    {ErrorCode::kSecretUnavailable, "SECRET_UNAVAILABLE", 6},
    {ErrorCode::kConfigInvalid, "CONFIG_INVALID", 3},
    {ErrorCode::kCryptoError, "CRYPTO_ERROR", 7},
    {ErrorCode::kSignatureInvalid, "SIGNATURE_INVALID", 8},
    {ErrorCode::kUnsupportedAlgorithm, "UNSUPPORTED_ALGORITHM", 9},
    {ErrorCode::kNotFound, "NOT_FOUND", 40},
    {ErrorCode::kAlreadyExists, "ALREADY_EXISTS", 41},

    {ErrorCode::kModuleLoadFailed, "MODULE_LOAD_FAILED", 10},
    {ErrorCode::kModuleInitFailed, "MODULE_INIT_FAILED", 11},
    {ErrorCode::kTokenNotFound, "TOKEN_NOT_FOUND", 12},
    {ErrorCode::kTokenAmbiguous, "TOKEN_AMBIGUOUS", 13},
    {ErrorCode::kPinIncorrect, "PIN_INCORRECT", 14},
    {ErrorCode::kPinLocked, "PIN_LOCKED", 15},
    {ErrorCode::kPinInvalid, "PIN_INVALID", 16},
    {ErrorCode::kMechanismMissing, "MECHANISM_MISSING", 17},
    {ErrorCode::kKeyNotFound, "KEY_NOT_FOUND", 18},
    {ErrorCode::kTokenError, "TOKEN_ERROR", 19},
    {ErrorCode::kTokenUnavailable, "TOKEN_UNAVAILABLE", 20},
    {ErrorCode::kSessionExhausted, "SESSION_EXHAUSTED", 21},
    {ErrorCode::kTokenNotInitialized, "TOKEN_NOT_INITIALIZED", 22},
    {ErrorCode::kUriInvalid, "URI_INVALID", 23},
    {ErrorCode::kWrappedKeyInvalid, "WRAPPED_KEY_INVALID", 24},
    {ErrorCode::kKeyUsageUnsafe, "KEY_USAGE_UNSAFE", 25},

    {ErrorCode::kCsrInvalid, "CSR_INVALID", 30},
    {ErrorCode::kCsrSignatureInvalid, "CSR_SIGNATURE_INVALID", 31},
    {ErrorCode::kProfileViolation, "PROFILE_VIOLATION", 32},
    {ErrorCode::kCertificateInvalid, "CERTIFICATE_INVALID", 33},
    {ErrorCode::kCertificateExpired, "CERTIFICATE_EXPIRED", 34},
    {ErrorCode::kCertificateNotYetValid, "CERTIFICATE_NOT_YET_VALID", 35},
    {ErrorCode::kCertificateRevoked, "CERTIFICATE_REVOKED", 36},
    {ErrorCode::kCertificateUntrusted, "CERTIFICATE_UNTRUSTED", 37},
    {ErrorCode::kCertificateWrongRole, "CERTIFICATE_WRONG_ROLE", 38},
    {ErrorCode::kCaNotInitialized, "CA_NOT_INITIALIZED", 39},
    {ErrorCode::kCrlInvalid, "CRL_INVALID", 42},
    {ErrorCode::kOcspRequestMalformed, "OCSP_REQUEST_MALFORMED", 43},
    {ErrorCode::kOcspIssuerUnknown, "OCSP_ISSUER_UNKNOWN", 44},

    {ErrorCode::kTxMalformed, "TX_MALFORMED", 50},
    {ErrorCode::kTxNotCanonical, "TX_NOT_CANONICAL", 51},
    {ErrorCode::kTxDuplicate, "TX_DUPLICATE", 52},
    {ErrorCode::kTxTooLarge, "TX_TOO_LARGE", 53},
    {ErrorCode::kTxUnknownType, "TX_UNKNOWN_TYPE", 54},
    {ErrorCode::kTxRejected, "TX_REJECTED", 55},
    {ErrorCode::kLedgerCorrupt, "LEDGER_CORRUPT", 56},
    {ErrorCode::kLedgerStorage, "LEDGER_STORAGE", 57},
    {ErrorCode::kLedgerNotFound, "LEDGER_NOT_FOUND", 58},
    {ErrorCode::kProofInvalid, "PROOF_INVALID", 59},
    {ErrorCode::kOrderingStopped, "ORDERING_STOPPED", 60},
    {ErrorCode::kLedgerFull, "LEDGER_FULL", 61},
    {ErrorCode::kCommitUnconfirmed, "COMMIT_UNCONFIRMED", 62},
    {ErrorCode::kOrderingUnavailable, "ORDERING_UNAVAILABLE", 63},
    {ErrorCode::kBlockInvalid, "BLOCK_INVALID", 64},
    {ErrorCode::kReplicaHalted, "REPLICA_HALTED", 65},

    {ErrorCode::kDecryptionFailed, "DECRYPTION_FAILED", 70},
    {ErrorCode::kPersonPinIncorrect, "PERSON_PIN_INCORRECT", 71},
    {ErrorCode::kPersonLocked, "PERSON_LOCKED", 72},
    {ErrorCode::kRecordTooLarge, "RECORD_TOO_LARGE", 73},
    {ErrorCode::kPersonSessionInvalid, "PERSON_SESSION_INVALID", 74},
    {ErrorCode::kAuditRangeInvalid, "AUDIT_RANGE_INVALID", 75},
    {ErrorCode::kExportTooLarge, "EXPORT_TOO_LARGE", 76},
    {ErrorCode::kBundleMismatch, "BUNDLE_MISMATCH", 77},

    {ErrorCode::kJsonMalformed, "JSON_MALFORMED", 80},
    {ErrorCode::kClientCertificateRequired, "CLIENT_CERTIFICATE_REQUIRED", 81},
    {ErrorCode::kRoleForbidden, "ROLE_FORBIDDEN", 82},
    {ErrorCode::kRouteNotFound, "ROUTE_NOT_FOUND", 83},
    {ErrorCode::kMethodNotAllowed, "METHOD_NOT_ALLOWED", 84},
    {ErrorCode::kBodyTooLarge, "BODY_TOO_LARGE", 85},
    {ErrorCode::kHeadersTooLarge, "HEADERS_TOO_LARGE", 86},
    {ErrorCode::kConnectionRefused, "CONNECTION_REFUSED", 87},
    {ErrorCode::kTlsHandshakeFailed, "TLS_HANDSHAKE_FAILED", 88},
    {ErrorCode::kRequestTimeout, "REQUEST_TIMEOUT", 89},

    {ErrorCode::kContractBodyInvalid, "CONTRACT_BODY_INVALID", 90},
    {ErrorCode::kTxTimeOutsideWindow, "TX_TIME_OUTSIDE_WINDOW", 91},
    {ErrorCode::kCertNotOnLedger, "CERT_NOT_ON_LEDGER", 92},
    {ErrorCode::kSignerRoleDuplicated, "SIGNER_ROLE_DUPLICATED", 93},
    {ErrorCode::kDoctorSignatureMissing, "DOCTOR_SIGNATURE_MISSING", 94},
    {ErrorCode::kPatientSignatureMissing, "PATIENT_SIGNATURE_MISSING", 95},
    {ErrorCode::kNodeSignatureMissing, "NODE_SIGNATURE_MISSING", 96},
    {ErrorCode::kIssuerSignatureMissing, "ISSUER_SIGNATURE_MISSING", 97},
    {ErrorCode::kAdmitQuorumNotMet, "ADMIT_QUORUM_NOT_MET", 98},
    {ErrorCode::kHospitalAlreadyAdmitted, "HOSPITAL_ALREADY_ADMITTED", 99},
    {ErrorCode::kCertAlreadyRegistered, "CERT_ALREADY_REGISTERED", 100},
    {ErrorCode::kCertAlreadyRevoked, "CERT_ALREADY_REVOKED", 101},
    {ErrorCode::kRevokeNotAuthorized, "REVOKE_NOT_AUTHORIZED", 102},
    {ErrorCode::kPatientMismatch, "PATIENT_MISMATCH", 103},
    {ErrorCode::kRecordNotOwner, "RECORD_NOT_OWNER", 104},
    {ErrorCode::kRecordNotFound, "RECORD_NOT_FOUND", 111},
    {ErrorCode::kRecordAlreadyExists, "RECORD_ALREADY_EXISTS", 112},
    {ErrorCode::kRecordVersionConflict, "RECORD_VERSION_CONFLICT", 113},
    {ErrorCode::kRecordDigestMismatch, "RECORD_DIGEST_MISMATCH", 114},
    {ErrorCode::kGrantNotFound, "GRANT_NOT_FOUND", 115},
    {ErrorCode::kGrantExpired, "GRANT_EXPIRED", 116},
    {ErrorCode::kGrantRevoked, "GRANT_REVOKED", 117},
    {ErrorCode::kReadNotAuthorized, "READ_NOT_AUTHORIZED", 118},
    {ErrorCode::kNodeHospitalMismatch, "NODE_HOSPITAL_MISMATCH", 119},
    {ErrorCode::kGenesisInvalid, "GENESIS_INVALID", 120},
    {ErrorCode::kPatientKeyVersionStale, "PATIENT_KEY_VERSION_STALE", 121},
    {ErrorCode::kHospitalNotAdmitted, "HOSPITAL_NOT_ADMITTED", 122},
    {ErrorCode::kPersonCertLimit, "PERSON_CERT_LIMIT", 123},
};

const CodeInfo* find(ErrorCode code) {
  for (const auto& info : kCodes) {
    if (info.code == code) return &info;
  }
  return nullptr;
}
}  // namespace

std::string_view error_code_name(ErrorCode code) {
  const CodeInfo* info = find(code);
  return info ? info->name : std::string_view("UNKNOWN");
}

std::optional<ErrorCode> error_code_named(std::string_view name) {
  for (const auto& info : kCodes) {
    if (info.name == name) return info.code;
  }
  return std::nullopt;
}

int exit_code_for(ErrorCode code) {
  const CodeInfo* info = find(code);
  return info ? info->exit_code : 1;
}

std::string Error::to_string() const {
  std::string out(error_code_name(code));
  out += ": ";
  out += message;
  return out;
}

}  // namespace medledger::core
