// node::Records: storing records (sealed, dual-signed, endorsed) and reading them
// (grant checked on current state, decrypted, audited with record.read).
#include "medledger/node/records.h"

#include <openssl/crypto.h>

#include "custody.h"
#include "medledger/core/assert.h"
#include "medledger/core/error.h"
#include "medledger/core/sha256.h"
#include "medledger/ledger/records_contract.h"
#include "medledger/node/record_envelope.h"
#include "node_context.h"
#include "patient_keyring.h"

namespace medledger::node {

using core::ErrorCode;

core::Result<PreparedTransaction> Records::prepare_put(const RecordPutRequest& request) {
  MEDLEDGER_TRY(node_.enrolled_as(request.patient, ca::Role::kPatient, "a patient"));
  ledger::RecordPutBody body;
  body.record = request.record_id;
  body.patient = request.patient;
  body.content_type = request.content_type;
  {
    MEDLEDGER_TRY_ASSIGN(auto state, node_.snapshot());
    MEDLEDGER_TRY_ASSIGN(auto existing, ledger::find_record(*state, request.record_id));
    if (existing) {
      if (existing->owner != request.patient) {
        return core::make_error(ErrorCode::kRecordNotOwner,
                                "record " + request.record_id + " belongs to another patient");
      }
      body.version = existing->latest + 1;
      body.previous = existing->latest_tx;
    }
  }
  MEDLEDGER_TRY_ASSIGN(auto key, keys_.current(request.patient));
  RecordLimits limits;
  limits.max_payload = node_.config.max_payload;
  MEDLEDGER_TRY_ASSIGN(auto sealed, seal_record({request.patient, request.record_id, body.version,
                                                 request.content_type},
                                                request.payload, key, limits));
  body.envelope = sealed.to_json();  // built once: digest() would build it again
  body.envelope_digest = sealed_record_digest(*body.envelope);
  body.plaintext_digest = core::sha256(request.payload);
  PreparedTransaction out;
  out.tx = node_.new_transaction(ledger::kTxRecordPut, ledger::make_record_put_body(body));
  out.tx_id = ledger::tx_id(out.tx);
  return out;
}

core::Result<ledger::Receipt> Records::put(const RecordPutRequest& request,
                                           const PersonCredential& doctor,
                                           const PersonCredential& patient) {
  MEDLEDGER_TRY_ASSIGN(auto pending, put_async(request, doctor, patient));
  return pending.wait();
}

core::Result<PendingCommit> Records::put_async(const RecordPutRequest& request,
                                               const PersonCredential& doctor,
                                               const PersonCredential& patient) {
  MEDLEDGER_TRY_ASSIGN(auto prepared, prepare_put(request));
  MEDLEDGER_TRY(custody_.sign(prepared.tx, prepared.tx_id, request.doctor, doctor));
  MEDLEDGER_TRY(custody_.sign(prepared.tx, prepared.tx_id, request.patient, patient));
  return node_.endorse_and_submit_async(std::move(prepared.tx), prepared.tx_id);
}

namespace {

// A record.put body member submit_signed reads: the contract's code when it is
// missing or of the wrong form (the contract would refuse the same body).
core::Result<std::string> body_string(const boost::json::object& body, const char* name) {
  const auto* value = body.if_contains(name);
  if (value == nullptr || !value->is_string()) {
    return core::make_error(ErrorCode::kContractBodyInvalid,
                            std::string("record.put member '") + name + "' must be a string");
  }
  return std::string(value->as_string());
}

core::Result<core::Digest> body_digest(const boost::json::object& body, const char* name) {
  MEDLEDGER_TRY_ASSIGN(auto text, body_string(body, name));
  auto bytes = core::base64url_decode(text);
  core::Digest digest{};
  if (!bytes || bytes->size() != digest.size()) {
    return core::make_error(
        ErrorCode::kContractBodyInvalid,
        std::string("record.put member '") + name + "' must be a base64url SHA-256 digest");
  }
  std::copy(bytes->begin(), bytes->end(), digest.begin());
  return digest;
}

core::Result<std::uint64_t> body_version(const boost::json::object& body) {
  const auto* value = body.if_contains("version");
  if (value != nullptr && value->is_int64() && value->as_int64() >= 1)
    return static_cast<std::uint64_t>(value->as_int64());
  return core::make_error(ErrorCode::kContractBodyInvalid,
                          "record.put member 'version' must be an integer >= 1");
}

}  // namespace

core::Result<PendingCommit> Records::submit_signed(
    ledger::Transaction tx, std::span<const ledger::TransactionSignature> signatures) {
  MEDLEDGER_ASSERT(tx.type == ledger::kTxRecordPut);
  MEDLEDGER_TRY(check_servable(tx.body));
  for (const auto& signature : signatures)
    MEDLEDGER_TRY(signing_.add_external_signature(tx, signature));
  const core::Digest id = ledger::tx_id(tx);
  return node_.endorse_and_submit_async(std::move(tx), id);
}

core::Result<void> Records::check_servable(const boost::json::object& body) {
  const auto* envelope = body.if_contains("envelope");
  if (envelope == nullptr || !envelope->is_object()) {
    return core::make_error(ErrorCode::kInvalidArgument,
                            "a record.put without its envelope is not endorsed: nobody could "
                            "read that version (prepare it with the node)");
  }
  MEDLEDGER_TRY_ASSIGN(auto sealed, SealedRecord::from_json(envelope->as_object()));
  MEDLEDGER_TRY_ASSIGN(auto envelope_digest, body_digest(body, "envelope_digest"));
  MEDLEDGER_TRY_ASSIGN(auto plaintext_digest, body_digest(body, "plaintext_digest"));
  MEDLEDGER_TRY_ASSIGN(auto patient, body_string(body, "patient"));
  MEDLEDGER_TRY_ASSIGN(auto record, body_string(body, "record"));
  MEDLEDGER_TRY_ASSIGN(auto content_type, body_string(body, "content_type"));
  MEDLEDGER_TRY_ASSIGN(auto version, body_version(body));
  const RecordContext& context = sealed.context;
  if (sealed_record_digest(envelope->as_object()) != envelope_digest ||
      context.patient_id != patient || context.record_id != record || context.version != version ||
      context.content_type != content_type) {
    return core::make_error(ErrorCode::kRecordDigestMismatch,
                            "the envelope does not match the record.put's digest or members");
  }
  // The key it was sealed under: the current one, else an older version held here.
  std::optional<PatientKey> key;
  if (auto current = keys_.current(patient);
      current && current->version == sealed.patient_key_version) {
    key = std::move(*current);
  } else if (auto all = keys_.all_newest_first(patient)) {
    for (auto& held : *all) {
      if (held.version == sealed.patient_key_version) key = std::move(held);
    }
  }
  if (!key) {
    return core::make_error(ErrorCode::kDecryptionFailed,
                            "this node holds no key of " + patient + " that opens the envelope");
  }
  RecordLimits limits;
  limits.max_payload = node_.config.max_payload;
  MEDLEDGER_TRY_ASSIGN(auto plain, open_record(sealed, *key, limits));
  const bool same = core::sha256(plain) == plaintext_digest;
  OPENSSL_cleanse(plain.data(), plain.size());  // only its digest was needed
  if (!same) {
    return core::make_error(ErrorCode::kRecordDigestMismatch,
                            "the envelope does not open to the plaintext the digest names");
  }
  return core::success();
}

core::Result<RecordRead> PendingRead::wait() {
  auto receipt = audit_.wait();
  if (!receipt) {
    OPENSSL_cleanse(read_.plaintext.data(),
                    read_.plaintext.size());  // never released without its audit entry
    if (on_failure_) on_failure_(receipt.error());
    return receipt.error();
  }
  read_.receipt = std::move(*receipt);
  return std::move(read_);
}

void PendingRead::then(std::function<void(core::Result<RecordRead>)> done) {
  audit_.then([read = std::move(read_), on_failure = std::move(on_failure_),
               done = std::move(done)](core::Result<ledger::Receipt> receipt) mutable {
    if (!receipt) {
      OPENSSL_cleanse(read.plaintext.data(),
                      read.plaintext.size());  // never released without its audit entry
      if (on_failure) on_failure(receipt.error());
      return done(receipt.error());
    }
    read.receipt = std::move(*receipt);
    done(std::move(read));
  });
}

core::Result<RecordRead> Records::read(const ReadRequest& request,
                                       const PersonCredential& doctor_credential) {
  MEDLEDGER_TRY_ASSIGN(auto pending, read_async(request, doctor_credential));
  return pending.wait();
}

core::Result<PendingRead> Records::read_async(const ReadRequest& request,
                                              const PersonCredential& doctor_credential) {
  MEDLEDGER_TRY(node_.enrolled_as(request.doctor, ca::Role::kDoctor, "a doctor"));
  MEDLEDGER_TRY_ASSIGN(auto out, decrypt(request, doctor_credential));
  // The audit entry: the plaintext is returned only once the read is on the ledger.
  auto tx = node_.new_transaction(
      ledger::kTxRecordRead,
      ledger::make_record_read_body({request.record_id, out.version, request.purpose}));
  MEDLEDGER_TRY_ASSIGN(auto key, custody_.key(request.doctor));
  const core::Digest id = ledger::tx_id(tx);
  MEDLEDGER_TRY(ledger::add_signature(tx, id, *key->signer, key->fingerprint));
  auto audit = node_.endorse_and_submit_async(std::move(tx), id);
  if (!audit) {
    refuse(request, audit.error());
    return audit.error();
  }
  return PendingRead(std::move(out), std::move(*audit),
                     [this, request](const core::Error& reason) { refuse(request, reason); });
}

core::Result<RecordRead> Records::decrypt(const ReadRequest& request,
                                          const PersonCredential& doctor_credential) {
  MEDLEDGER_TRY_ASSIGN(auto state, node_.snapshot());
  MEDLEDGER_TRY_ASSIGN(auto record, ledger::find_record(*state, request.record_id));
  if (!record) {
    auto missing = core::make_error(ErrorCode::kRecordNotFound, "no record " + request.record_id);
    refuse(request, missing);
    return missing;
  }
  auto basis = ledger::authorise_read(*state, *record, request.doctor, node_.now_ms());
  if (!basis) {
    refuse(request, basis.error());
    return basis.error();
  }
  // The credential before any decryption: a wrong PIN learns nothing about the record.
  if (auto checked = custody_.check(request.doctor, doctor_credential); !checked) {
    refuse(request, checked.error());
    return checked.error();
  }
  const std::uint64_t version = request.version.value_or(record->latest);
  MEDLEDGER_TRY_ASSIGN(auto entry, ledger::find_record_version(*state, request.record_id, version));
  if (!entry) {
    return core::make_error(
        ErrorCode::kRecordNotFound,
        "record " + request.record_id + " has no version " + std::to_string(version));
  }
  if (!entry->envelope) {
    return core::make_error(ErrorCode::kNotFound,
                            "the envelope of this version is not on the ledger");
  }
  MEDLEDGER_TRY_ASSIGN(auto sealed, SealedRecord::from_json(*entry->envelope));
  if (sealed.digest() != entry->envelope_digest) {
    return core::make_error(ErrorCode::kDecryptionFailed,
                            "the stored envelope does not match its digest");
  }
  MEDLEDGER_TRY_ASSIGN(auto key,
                       keys_.for_reading(*state, *record, sealed.patient_key_version, *basis));
  RecordLimits limits;
  limits.max_payload = node_.config.max_payload;
  MEDLEDGER_TRY_ASSIGN(auto plain, open_record(sealed, key, limits));
  if (core::sha256(plain) != entry->plaintext_digest) {
    return core::make_error(ErrorCode::kDecryptionFailed,
                            "the decrypted payload does not match its digest");
  }
  RecordRead out;
  out.plaintext = std::move(plain);
  out.content_type = sealed.context.content_type;
  out.version = version;
  out.basis = std::move(*basis);
  return out;
}

void Records::refuse(const ReadRequest& request, const core::Error& reason) const {
  if (node_.options.on_refused_read)
    node_.options.on_refused_read({request.doctor, request.record_id, request.purpose, reason});
}

core::Result<std::vector<ledger::RecordEntry>> Records::list(std::string_view patient) const {
  MEDLEDGER_TRY_ASSIGN(auto state, node_.snapshot());
  MEDLEDGER_TRY_ASSIGN(auto ids, ledger::patient_records(*state, patient));
  std::vector<ledger::RecordEntry> out;
  for (const auto& id : ids) {
    MEDLEDGER_TRY_ASSIGN(auto record, ledger::find_record(*state, id));
    if (record) out.push_back(std::move(*record));
  }
  return out;
}

core::Result<std::vector<ledger::RecordVersionEntry>> Records::history(
    std::string_view record_id) const {
  MEDLEDGER_TRY_ASSIGN(auto state, node_.snapshot());
  MEDLEDGER_TRY_ASSIGN(auto record, ledger::find_record(*state, record_id));
  if (!record)
    return core::make_error(ErrorCode::kRecordNotFound, "no record " + std::string(record_id));
  std::vector<ledger::RecordVersionEntry> out;
  for (std::uint64_t v = 1; v <= record->latest; ++v) {
    MEDLEDGER_TRY_ASSIGN(auto entry, ledger::find_record_version(*state, record_id, v));
    if (entry) out.push_back(std::move(*entry));
  }
  return out;
}

}  // namespace medledger::node
