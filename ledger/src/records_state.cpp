// The medical-records contract's state: a snapshot view and typed lookups
// (records_state.h, docs/contract.md section 2).
#include <algorithm>

#include <boost/json/array.hpp>

#include "execute.h"
#include "medledger/core/canonical_json.h"
#include "records_internal.h"

namespace medledger::ledger {

using core::ErrorCode;
using core::make_error;
using core::Result;
namespace json = boost::json;

// ---- the snapshot view ----

Result<std::unique_ptr<StateSnapshot>> StateSnapshot::open(Store& store) {
  MEDLEDGER_TRY_ASSIGN(auto txn, store.read());
  return std::unique_ptr<StateSnapshot>(new StateSnapshot(std::move(txn)));
}

Result<std::optional<core::Bytes>> StateSnapshot::get(std::string_view table,
                                                      core::ByteView key) const {
  MEDLEDGER_TRY_ASSIGN(auto k, detail::state_key(table, key));
  MEDLEDGER_TRY_ASSIGN(auto v, txn_.get(Table::kState, k));
  if (!v) return std::optional<core::Bytes>{};
  return std::optional<core::Bytes>(core::Bytes(v->begin(), v->end()));
}

Result<void> StateSnapshot::scan(
    std::string_view table, core::ByteView prefix,
    const std::function<bool(core::ByteView, core::ByteView)>& visit) const {
  return detail::scan_state(txn_, table, prefix, visit);
}

// ---- lookups ----

namespace {

using records::as_text;

template <typename T, typename Parse>
Result<std::optional<T>> lookup(const StateView& state, std::string_view table,
                                const core::Bytes& key, Parse parse) {
  MEDLEDGER_TRY_ASSIGN(auto raw, state.get(table, key));
  if (!raw) return std::optional<T>{};
  MEDLEDGER_TRY_ASSIGN(auto parsed, parse(as_text(*raw)));
  return std::optional<T>(std::move(parsed));
}

template <typename T, typename Parse>
Result<std::vector<T>> collect(const StateView& state, std::string_view table,
                               const core::Bytes& prefix, Parse parse) {
  std::vector<T> out;
  std::optional<core::Error> failure;
  auto scanned = state.scan(table, prefix, [&](core::ByteView, core::ByteView value) {
    auto parsed = parse(as_text(value));
    if (!parsed) {
      failure = parsed.error();
      return false;
    }
    out.push_back(std::move(*parsed));
    return true;
  });
  if (!scanned) return scanned.error();
  if (failure) return *failure;
  return out;
}

}  // namespace

Result<std::optional<CertificateEntry>> find_certificate(const StateView& state,
                                                         const core::Digest& fingerprint) {
  return lookup<CertificateEntry>(state, kTableCerts, records::digest_key(fingerprint),
                                  records::parse_certificate_entry);
}

Result<std::optional<HospitalEntry>> find_hospital(const StateView& state,
                                                   std::string_view hospital_id) {
  if (hospital_id.empty()) return std::optional<HospitalEntry>{};
  return lookup<HospitalEntry>(state, kTableHospitals, records::text_key(hospital_id),
                               records::parse_hospital_entry);
}

Result<std::vector<HospitalEntry>> list_hospitals(const StateView& state) {
  return collect<HospitalEntry>(state, kTableHospitals, {}, records::parse_hospital_entry);
}

Result<std::vector<core::Digest>> person_certificates(const StateView& state,
                                                      std::string_view principal) {
  std::vector<core::Digest> out;
  const core::Bytes prefix = records::prefix_key(principal);
  auto scanned = state.scan(kTablePersons, prefix, [&](core::ByteView key, core::ByteView) {
    if (key.size() == prefix.size() + core::kSha256Size) {
      core::Digest d{};
      std::copy(key.begin() + static_cast<std::ptrdiff_t>(prefix.size()), key.end(), d.begin());
      out.push_back(d);
    }
    return true;
  });
  if (!scanned) return scanned.error();
  return out;
}

Result<std::optional<RecordEntry>> find_record(const StateView& state, std::string_view record_id) {
  if (record_id.empty()) return std::optional<RecordEntry>{};
  return lookup<RecordEntry>(state, kTableRecords, records::text_key(record_id),
                             records::parse_record_entry);
}

Result<std::optional<RecordVersionEntry>> find_record_version(const StateView& state,
                                                              std::string_view record_id,
                                                              std::uint64_t version) {
  return lookup<RecordVersionEntry>(state, kTableRecordVersions,
                                    records::numbered_key(record_id, version),
                                    records::parse_record_version_entry);
}

Result<std::vector<std::string>> patient_records(const StateView& state, std::string_view patient) {
  std::vector<std::string> out;
  const core::Bytes prefix = records::prefix_key(patient);
  auto scanned =
      state.scan(kTableRecordsByPatient, prefix, [&](core::ByteView key, core::ByteView) {
        out.emplace_back(as_text(key.subspan(prefix.size())));
        return true;
      });
  if (!scanned) return scanned.error();
  return out;
}

Result<std::optional<GrantEntry>> find_grant(const StateView& state, std::string_view patient,
                                             std::string_view grantee) {
  return lookup<GrantEntry>(state, kTableGrants, records::pair_key(patient, grantee),
                            records::parse_grant_entry);
}

Result<std::vector<GrantEntry>> patient_grants(const StateView& state, std::string_view patient) {
  return collect<GrantEntry>(state, kTableGrants, records::prefix_key(patient),
                             records::parse_grant_entry);
}

Result<std::optional<PatientKeyEntry>> latest_patient_key(const StateView& state,
                                                          std::string_view patient) {
  auto all = collect<PatientKeyEntry>(state, kTablePatientKeys, records::prefix_key(patient),
                                      records::parse_patient_key_entry);
  if (!all) return all.error();
  if (all->empty()) return std::optional<PatientKeyEntry>{};
  return std::optional<PatientKeyEntry>(
      std::move(all->back()));  // u64 BE keys: the last is the highest
}

Result<std::vector<ReadEntry>> reads_of_record(const StateView& state, std::string_view record_id) {
  return collect<ReadEntry>(state, kTableReadsByRecord, records::prefix_key(record_id),
                            records::parse_read_entry);
}

Result<std::vector<ReadEntry>> reads_of_patient(const StateView& state, std::string_view patient) {
  return collect<ReadEntry>(state, kTableReadsByPatient, records::prefix_key(patient),
                            records::parse_read_entry);
}

}  // namespace medledger::ledger
