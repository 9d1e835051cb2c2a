// The error codes of each node route (node_route_errors.h), grouped as the routes work:
// a JSON body, a PIN or session, a transaction submitted to the ledger.
#include "node_route_errors.h"

#include <algorithm>
#include <initializer_list>
#include <iterator>

namespace medledger::api::node_routes {

namespace {

using E = core::ErrorCode;
using Codes = std::vector<E>;

const E kCommon[] = {E::kInvalidArgument,      E::kNotFound,
                     E::kTokenUnavailable,     E::kClientCertificateRequired,
                     E::kCertificateUntrusted, E::kCertificateRevoked,
                     E::kCertificateExpired,   E::kCertificateNotYetValid,
                     E::kCrlInvalid,           E::kRoleForbidden,
                     E::kMethodNotAllowed,     E::kBodyTooLarge,
                     E::kHeadersTooLarge,      E::kInternal,
                     E::kLedgerStorage,        E::kTokenError};

Codes join(std::initializer_list<Codes> groups) {
  Codes out;
  for (const auto& group : groups) out.insert(out.end(), group.begin(), group.end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// A JSON request body.
const Codes kBody = {E::kJsonMalformed};
// A person's PIN or session token.
const Codes kPerson = {E::kPersonPinIncorrect, E::kPersonLocked, E::kPersonSessionInvalid};
// A transaction the node endorses and submits: the orderer's refusals, the wait for
// the commit, and the contract's codes every type shares (docs/contract.md section 1).
const Codes kWrite = {E::kTxDuplicate,          E::kTxTooLarge,           E::kOrderingStopped,
                      E::kOrderingUnavailable,  E::kReplicaHalted,        E::kLedgerFull,
                      E::kCommitUnconfirmed,    E::kSessionExhausted,     E::kTxTimeOutsideWindow,
                      E::kContractBodyInvalid,  E::kCertNotOnLedger,      E::kSignatureInvalid,
                      E::kSignerRoleDuplicated, E::kCertificateWrongRole, E::kNodeSignatureMissing};
// A record.put's own contract codes.
const Codes kRecordPut = {
    E::kDoctorSignatureMissing, E::kPatientSignatureMissing, E::kPatientMismatch,
    E::kNodeHospitalMismatch,   E::kRecordAlreadyExists,     E::kRecordNotFound,
    E::kRecordNotOwner,         E::kRecordVersionConflict,   E::kRecordDigestMismatch};
// An access.grant's / access.revoke's.
const Codes kAccess = {E::kPatientSignatureMissing, E::kPatientMismatch, E::kRecordNotFound,
                       E::kRecordNotOwner, E::kHospitalNotAdmitted};
const Codes kRevoke = {E::kGrantNotFound, E::kPatientKeyVersionStale};
// Sealing or opening a record, unwrapping a patient key in the token.
const Codes kSeal = {E::kRecordTooLarge, E::kDecryptionFailed, E::kMalformedEncoding, E::kIoError};
// Issuing and registering a certificate.
const Codes kIssue = {
    E::kMalformedEncoding,     E::kUnsupportedAlgorithm, E::kProfileViolation,
    E::kCertAlreadyRegistered, E::kPersonCertLimit,      E::kIssuerSignatureMissing,
    E::kCaNotInitialized,      E::kKeyNotFound,          E::kIoError};

// Records, grants, audit and transactions; make_table adds the rest.
std::vector<RouteErrors> record_routes() {
  return {
      {"POST /v1/records", join({kBody, kPerson, kWrite, kRecordPut, kSeal})},
      {"GET /v1/records", {}},
      {"POST /v1/records/{id}/read",
       join({kBody, kPerson, kWrite, kSeal,
             Codes{E::kRecordNotFound, E::kReadNotAuthorized, E::kGrantExpired, E::kGrantRevoked,
                   E::kDoctorSignatureMissing, E::kNodeHospitalMismatch}})},
      {"POST /v1/grants", join({kBody, kPerson, kWrite, kAccess, kSeal})},
      {"POST /v1/grants/revoke", join({kBody, kPerson, kWrite, kAccess, kRevoke, kSeal})},
      {"POST /v1/audit/export",
       join({kBody, Codes{E::kMalformedEncoding, E::kAuditRangeInvalid, E::kExportTooLarge,
                          E::kLedgerCorrupt, E::kIoError}})},
      {"GET /v1/audit/events",
       {E::kAuditRangeInvalid, E::kExportTooLarge, E::kLedgerCorrupt, E::kMalformedEncoding}},
      {"POST /v1/records/prepare",
       join({kBody, kSeal, Codes{E::kRecordNotOwner, E::kCertificateWrongRole}})},
      {"POST /v1/grants/prepare", join({kBody, kSeal,
                                        Codes{E::kRecordNotFound, E::kRecordNotOwner,
                                              E::kCertificateWrongRole, E::kSessionExhausted}})},
      {"POST /v1/grants/revoke/prepare",
       join({kBody, kSeal,
             Codes{E::kGrantNotFound, E::kCertificateWrongRole, E::kSessionExhausted}})},
      {"POST /v1/transactions", join({kBody, kWrite, kRecordPut, kAccess, kRevoke, kSeal,
                                      Codes{E::kTxMalformed, E::kTxNotCanonical, E::kTxUnknownType,
                                            E::kUnsupportedAlgorithm}})},
  };
}

std::vector<RouteErrors> make_table() {
  std::vector<RouteErrors> table = record_routes();
  const RouteErrors others[] = {
      {"GET /v1/ledger/head", {}},
      {"GET /v1/ledger/blocks/{height}", {E::kLedgerNotFound}},
      {"GET /v1/ledger/transactions/{sequence}", {E::kLedgerNotFound}},
      {"GET /v1/ledger/replication", {E::kLedgerNotFound}},
      {"POST /v1/ledger/forward", join({kBody})},
      {"GET /v1/ledger/proofs/inclusion", {E::kLedgerNotFound}},
      {"GET /v1/ledger/proofs/consistency", {E::kLedgerNotFound}},
      {"GET /v1/ledger/checkpoint", {E::kKeyNotFound, E::kSessionExhausted}},
      {"GET /v1/ca/chain", {E::kCaNotInitialized, E::kIoError}},
      {"GET /v1/ca/chain.p7b", {E::kCaNotInitialized, E::kIoError, E::kCryptoError}},
      {"GET /v1/ca/crl",
       {E::kCaNotInitialized, E::kIoError, E::kKeyNotFound, E::kSessionExhausted}},
      {"GET /v1/crl/{file}",
       {E::kCaNotInitialized, E::kIoError, E::kKeyNotFound, E::kSessionExhausted}},
      // OCSP codes travel in the log and metrics; the answer is an OCSP status (HTTP 200).
      {"POST /v1/ocsp", {E::kOcspRequestMalformed, E::kOcspIssuerUnknown, E::kSessionExhausted}},
      {"GET /v1/ocsp/{request}",
       {E::kOcspRequestMalformed, E::kOcspIssuerUnknown, E::kSessionExhausted}},
      {"POST /v1/persons", join({kBody, kWrite, kIssue, Codes{E::kAlreadyExists}})},
      {"POST /v1/persons/{id}/revoke",
       join({kBody, kWrite, Codes{E::kCertAlreadyRevoked, E::kRevokeNotAuthorized, E::kIoError}})},
      {"POST /v1/certificates",
       join({kBody, kWrite, kIssue,
             Codes{E::kCsrInvalid, E::kCsrSignatureInvalid, E::kAlreadyExists}})},
      {"POST /v1/certificates/{fingerprint}/revoke",
       join({kBody, kWrite,
             Codes{E::kMalformedEncoding, E::kCertAlreadyRevoked, E::kRevokeNotAuthorized,
                   E::kIoError}})},
      {"POST /v1/persons/{id}/sign",
       join({kBody, kPerson, Codes{E::kMalformedEncoding, E::kSessionExhausted}})},
      {"POST /v1/persons/{id}/sessions", join({kBody, kPerson, Codes{E::kSessionExhausted}})},
      {"POST /v1/persons/{id}/sessions/close", join({kBody, Codes{E::kPersonSessionInvalid}})},
      {"GET /v1/consortium/admission-request",
       {E::kHospitalAlreadyAdmitted, E::kCaNotInitialized, E::kKeyNotFound, E::kSessionExhausted}},
      {"POST /v1/consortium/admissions",
       join({kBody, kWrite,
             Codes{E::kTxMalformed, E::kTxNotCanonical, E::kTxUnknownType, E::kTxTooLarge,
                   E::kMalformedEncoding, E::kCertificateInvalid, E::kHospitalAlreadyAdmitted,
                   E::kIssuerSignatureMissing, E::kAdmitQuorumNotMet, E::kCaNotInitialized,
                   E::kKeyNotFound}})},
      {"POST /v1/node/registration",
       join({kWrite, Codes{E::kCertAlreadyRegistered, E::kIssuerSignatureMissing,
                           E::kCaNotInitialized, E::kKeyNotFound, E::kIoError}})},
  };
  table.insert(table.end(), std::begin(others), std::end(others));
  return table;
}

}  // namespace

std::span<const core::ErrorCode> common_route_errors() { return kCommon; }

const std::vector<RouteErrors>& node_route_errors() {
  static const std::vector<RouteErrors> table = make_table();
  return table;
}

bool route_may_answer(std::string_view operation, core::ErrorCode code) {
  const auto& table = node_route_errors();
  auto row = std::find_if(table.begin(), table.end(),
                          [&](const RouteErrors& r) { return r.operation == operation; });
  if (row == table.end()) return false;
  return std::find(kCommon, std::end(kCommon), code) != std::end(kCommon) ||
         std::find(row->codes.begin(), row->codes.end(), code) != row->codes.end();
}

}  // namespace medledger::api::node_routes
