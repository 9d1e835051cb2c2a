// The table of transaction types: one row per type with its name, who must sign it,
// its body codec and its rule. The codec's whitelist (is_known_transaction_type,
// transaction_type_names in transaction.h), the contract's dispatch
// (records_contract.cpp) and the docs (tests/ledger/transaction_types_docs_test.cpp
// checks docs/transactions.md and docs/contract.md) all follow it. Adding a type is a
// row here, its body and its rule: docs/architecture.md "Adding a transaction type".
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "medledger/ca/profile.h"
#include "medledger/ca/revocation.h"
#include "records_internal.h"

namespace medledger::ledger::records {

/// Who must sign a transaction of a type (docs/contract.md section 3).
enum class SignedBy {
  kProposer,            // nobody: genesis, in block 0, which the proposer signs
  kRoles,               // one role certificate per entry of `roles` and nothing else
  kCandidateAndQuorum,  // the candidate hospital's CA and member CAs of a quorum of hospitals
  kIssuingCa,           // the CA that issued the certificate in the body
  kIssuingCaOrSubject,  // that CA, or the certificate itself
};

/// Whether the transaction's time must be within kTxTimeWindowMs of the block time.
enum class TimeWindow {
  kChecked,  // every type a client sends: an old transaction re-signed is refused
  kExempt,   // genesis: made once, before any block time
};

/// The signers of a SignedBy::kRoles type in the order of the row's `roles` (section 1
/// step 4 checked them); empty for the other types, whose rules resolve their signers.
using ChosenSigners = std::span<const ResolvedSigner* const>;

/// A body codec's reading half: every member with its bounds, then BodyReader::finish.
/// kContractBodyInvalid, or what checking the members' contents gives.
template <typename Body>
using ReadBody = core::Result<Body> (*)(BodyReader& body, const BlockContext& ctx);

/// A type's rule, run once its body was read (and its roles checked): the writes of the
/// accepted transaction, or the rejection.
template <typename Body>
using Rule = core::Result<Plan> (*)(const Body& body, ChosenSigners signers, const Transaction& tx,
                                    const StateView& state, const BlockContext& ctx);

struct TransactionTypeSpec;
/// Runs a type: body, then signers (kRoles), then the rule (run_type below).
using RunType = core::Result<Plan> (*)(const TransactionTypeSpec& spec, const Transaction& tx,
                                       const StateView& state, const BlockContext& ctx);

struct TransactionTypeSpec {
  std::string_view name;            // the wire "type": a kTx* constant of transaction.h
  SignedBy signed_by;               // who must sign
  std::span<const ca::Role> roles;  // SignedBy::kRoles: exactly these, checked in this order
  TimeWindow time_window;           // checked before the body
  RunType run;                      // run_type<its body, its codec, its rule>
};

/// Resolves every signature's certificate and checks that exactly `roles` signed, each
/// valid at the block time (docs/contract.md section 1, steps 3-4). The result points
/// into `storage`.
core::Result<std::vector<const ResolvedSigner*>> require_signers(
    const Transaction& tx, const StateView& state, const BlockContext& ctx,
    std::span<const ca::Role> roles, std::vector<ResolvedSigner>& storage);

/// The order of checks every type shares (docs/contract.md section 1): body schema,
/// then for SignedBy::kRoles the signatures and roles, then the type's rule.
template <typename Body, ReadBody<Body> read_body, Rule<Body> rule>
core::Result<Plan> run_type(const TransactionTypeSpec& spec, const Transaction& tx,
                            const StateView& state, const BlockContext& ctx) {
  BodyReader reader(tx.body, tx.type);
  MEDLEDGER_TRY_ASSIGN(const Body body, read_body(reader, ctx));
  if (spec.signed_by != SignedBy::kRoles) return rule(body, {}, tx, state, ctx);
  std::vector<ResolvedSigner> storage;
  MEDLEDGER_TRY_ASSIGN(const auto chosen, require_signers(tx, state, ctx, spec.roles, storage));
  return rule(body, chosen, tx, state, ctx);
}

// ---- the bodies the rules read (the role-signed types use records_contract.h's) ----

/// genesis: the consortium's hospitals with their parsed CA certificates, and the quorum.
struct GenesisBody {
  struct Member {
    std::string id;
    std::vector<ca::Certificate> ca_certs;
  };
  std::vector<Member> hospitals;
  std::int64_t admit_quorum = 0;
};
/// hospital.admit: the candidate and its CA certificates, parsed and valid at the block.
struct AdmitBody {
  std::string hospital;
  std::vector<ca::Certificate> candidates;
};
/// cert.register: the certificate's DER.
struct CertRegisterBody {
  core::Bytes der;
};
/// cert.revoke: the certificate named and the reason.
struct CertRevokeBody {
  core::Digest fingerprint{};
  ca::RevocationReason reason = ca::RevocationReason::kUnspecified;
};

// ---- codecs and rules, one pair per type (records_rules_identity.cpp, _records.cpp) ----

core::Result<GenesisBody> read_genesis_body(BodyReader& body, const BlockContext& ctx);
core::Result<Plan> check_genesis(const GenesisBody& body, ChosenSigners signers,
                                 const Transaction& tx, const StateView& state,
                                 const BlockContext& ctx);
core::Result<AdmitBody> read_hospital_admit_body(BodyReader& body, const BlockContext& ctx);
core::Result<Plan> check_hospital_admit(const AdmitBody& body, ChosenSigners signers,
                                        const Transaction& tx, const StateView& state,
                                        const BlockContext& ctx);
core::Result<CertRegisterBody> read_cert_register_body(BodyReader& body, const BlockContext& ctx);
core::Result<Plan> check_cert_register(const CertRegisterBody& body, ChosenSigners signers,
                                       const Transaction& tx, const StateView& state,
                                       const BlockContext& ctx);
core::Result<CertRevokeBody> read_cert_revoke_body(BodyReader& body, const BlockContext& ctx);
core::Result<Plan> check_cert_revoke(const CertRevokeBody& body, ChosenSigners signers,
                                     const Transaction& tx, const StateView& state,
                                     const BlockContext& ctx);
core::Result<RecordPutBody> read_record_put_body(BodyReader& body, const BlockContext& ctx);
core::Result<Plan> check_record_put(const RecordPutBody& body, ChosenSigners signers,
                                    const Transaction& tx, const StateView& state,
                                    const BlockContext& ctx);
core::Result<AccessGrantBody> read_access_grant_body(BodyReader& body, const BlockContext& ctx);
core::Result<Plan> check_access_grant(const AccessGrantBody& body, ChosenSigners signers,
                                      const Transaction& tx, const StateView& state,
                                      const BlockContext& ctx);
core::Result<AccessRevokeBody> read_access_revoke_body(BodyReader& body, const BlockContext& ctx);
core::Result<Plan> check_access_revoke(const AccessRevokeBody& body, ChosenSigners signers,
                                       const Transaction& tx, const StateView& state,
                                       const BlockContext& ctx);
core::Result<RecordReadBody> read_record_read_body(BodyReader& body, const BlockContext& ctx);
core::Result<Plan> check_record_read(const RecordReadBody& body, ChosenSigners signers,
                                     const Transaction& tx, const StateView& state,
                                     const BlockContext& ctx);

// ---- the table ----

inline constexpr ca::Role kDoctorPatientNode[] = {ca::Role::kDoctor, ca::Role::kPatient,
                                                  ca::Role::kNode};
inline constexpr ca::Role kPatientNode[] = {ca::Role::kPatient, ca::Role::kNode};
inline constexpr ca::Role kDoctorNode[] = {ca::Role::kDoctor, ca::Role::kNode};

// clang-format off
inline constexpr TransactionTypeSpec kTransactionTypes[] = {
  {kTxGenesis, SignedBy::kProposer, {}, TimeWindow::kExempt,
   &run_type<GenesisBody, read_genesis_body, check_genesis>},
  {kTxHospitalAdmit, SignedBy::kCandidateAndQuorum, {}, TimeWindow::kChecked,
   &run_type<AdmitBody, read_hospital_admit_body, check_hospital_admit>},
  {kTxCertRegister, SignedBy::kIssuingCa, {}, TimeWindow::kChecked,
   &run_type<CertRegisterBody, read_cert_register_body, check_cert_register>},
  {kTxCertRevoke, SignedBy::kIssuingCaOrSubject, {}, TimeWindow::kChecked,
   &run_type<CertRevokeBody, read_cert_revoke_body, check_cert_revoke>},
  {kTxRecordPut, SignedBy::kRoles, kDoctorPatientNode, TimeWindow::kChecked,
   &run_type<RecordPutBody, read_record_put_body, check_record_put>},
  {kTxAccessGrant, SignedBy::kRoles, kPatientNode, TimeWindow::kChecked,
   &run_type<AccessGrantBody, read_access_grant_body, check_access_grant>},
  {kTxAccessRevoke, SignedBy::kRoles, kPatientNode, TimeWindow::kChecked,
   &run_type<AccessRevokeBody, read_access_revoke_body, check_access_revoke>},
  {kTxRecordRead, SignedBy::kRoles, kDoctorNode, TimeWindow::kChecked,
   &run_type<RecordReadBody, read_record_read_body, check_record_read>},
};
// clang-format on

/// The row of `name`, or nullptr. Cost: a scan of the table (a few string compares).
const TransactionTypeSpec* find_transaction_type(std::string_view name);

}  // namespace medledger::ledger::records
