// The per-patient key file of a node: {"keys":[<wrapped patient key>...],"patient":"..."}
// (docs/node.md). Only wrapped keys are written; the token unwraps them.
#include <sys/stat.h>

#include <system_error>

#include <boost/json.hpp>

#include "json_fields.h"
#include "node_context.h"
#include "medledger/ca/store.h"
#include "medledger/core/canonical_json.h"
#include "medledger/core/error.h"
#include "medledger/core/sha256.h"

namespace medledger::node::detail {

using core::ErrorCode;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {
fs::path key_file(const fs::path& data_dir, std::string_view patient) {
  return data_dir / "patient-keys" /
         (core::hex_encode(core::sha256(core::to_bytes(patient))) + ".json");
}
}  // namespace

core::Result<std::vector<WrappedPatientKey>> load_patient_key_file(const fs::path& data_dir,
                                                                   std::string_view patient) {
  std::vector<WrappedPatientKey> out;
  auto path = key_file(data_dir, patient);
  MEDLEDGER_TRY_ASSIGN(auto object, detail::read_object_file(path));
  if (!object) return out;
  auto bad = [&] { return detail::damaged_file(path); };
  const auto* keys = object->if_contains("keys");
  const auto* owner = object->if_contains("patient");
  if (keys == nullptr || !keys->is_array() || owner == nullptr || !owner->is_string() ||
      owner->as_string() != patient) {
    return bad();
  }
  for (const auto& item : keys->as_array()) {
    if (!item.is_object()) return bad();
    auto wrapped = WrappedPatientKey::from_json(item.as_object());
    if (!wrapped || wrapped->patient_id != patient) return bad();
    out.push_back(std::move(*wrapped));
  }
  return out;
}

core::Result<void> remove_patient_key_file(const fs::path& data_dir, std::string_view patient) {
  std::error_code ec;
  fs::remove(key_file(data_dir, patient), ec);
  if (ec)
    return core::make_error(ErrorCode::kIoError, "cannot remove the key file of " +
                                                     std::string(patient) + ": " + ec.message());
  return core::success();
}

core::Result<void> append_patient_key_file(const fs::path& data_dir,
                                           const WrappedPatientKey& wrapped) {
  auto existing = load_patient_key_file(data_dir, wrapped.patient_id);
  if (!existing) return existing.error();
  json::array keys;
  for (const auto& key : *existing) {
    // A version is kept once (a rotation recovered from the ledger, then stored again).
    if (key.key_version == wrapped.key_version) return core::success();
    keys.push_back(key.to_json());
  }
  keys.push_back(wrapped.to_json());
  std::error_code ec;
  fs::create_directories(data_dir / "patient-keys", ec);
  if (ec)
    return core::make_error(ErrorCode::kIoError,
                            "cannot create the patient-keys directory: " + ec.message());
  ::chmod((data_dir / "patient-keys").c_str(), 0700);
  json::object o{{"patient", wrapped.patient_id}, {"keys", std::move(keys)}};
  return ca::write_file_atomically(key_file(data_dir, wrapped.patient_id),
                                   core::to_bytes(core::canonicalize(o) + "\n"));
}

}  // namespace medledger::node::detail
