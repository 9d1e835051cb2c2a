#include "medledger/node/node_config.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <system_error>

#include <boost/json.hpp>

#include "medledger/ca/store.h"
#include "medledger/core/canonical_json.h"
#include "medledger/core/error.h"

namespace medledger::node {

using core::ErrorCode;
namespace json = boost::json;
namespace fs = std::filesystem;

std::string_view person_key_storage_name(PersonKeyStorage storage) {
  return storage == PersonKeyStorage::kWrapped ? "wrapped" : "token";
}

core::Result<PersonKeyStorage> parse_person_key_storage(std::string_view name) {
  if (name == "token") return PersonKeyStorage::kToken;
  if (name == "wrapped") return PersonKeyStorage::kWrapped;
  return core::make_error(ErrorCode::kInvalidArgument,
                          "person key storage must be 'token' or 'wrapped'");
}

core::Result<std::string> read_small_file(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec))
    return core::make_error(ErrorCode::kNotFound, path.string() + " does not exist");
  auto size = fs::file_size(path, ec);
  if (ec) return core::make_error(ErrorCode::kIoError, "cannot stat " + path.string());
  if (size > kMaxNodeFileBytes)
    return core::make_error(ErrorCode::kIoError, path.string() + " is too large");
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::make_error(ErrorCode::kIoError, "cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

core::Result<NodeConfig> load_node_config(const fs::path& dir) {
  auto text = read_small_file(dir / "node.json");
  if (!text) return text.error();
  auto bad = [&](const std::string& what) {
    return core::make_error(ErrorCode::kConfigInvalid, (dir / "node.json").string() + ": " + what);
  };
  std::error_code ec;
  json::value value = json::parse(*text, ec);
  if (ec || !value.is_object()) return bad("not a JSON object");
  const auto& o = value.as_object();
  NodeConfig config;
  try {
    config.hospital_id = json::value_to<std::string>(o.at("hospital"));
    config.node_id = json::value_to<std::string>(o.at("node_id"));
    config.ca_dir = json::value_to<std::string>(o.at("ca_dir"));
    config.ledger_dir = json::value_to<std::string>(o.at("ledger_dir"));
    config.signing_key_id_hex = json::value_to<std::string>(o.at("signing_key_id"));
    config.encryption_key_id_hex = json::value_to<std::string>(o.at("encryption_key_id"));
    auto storage = parse_person_key_storage(json::value_to<std::string>(o.at("person_keys")));
    if (!storage) return bad(storage.error().message);
    config.person_keys = *storage;
    config.kek_id_hex = json::value_to<std::string>(o.at("kek_id"));
    config.max_payload = static_cast<std::size_t>(o.at("max_payload").to_number<std::uint64_t>());
    if (const auto* limit = o.if_contains("max_export_bytes"))
      config.max_export_bytes = limit->to_number<std::uint64_t>();
  } catch (const std::exception&) {
    return bad("a member is missing or of the wrong type");
  }
  if (config.max_payload == 0 || config.max_payload > kMaxRecordPayloadCeiling)
    return bad("max_payload out of range");
  if (config.max_export_bytes == 0) return bad("max_export_bytes must be positive");
  return config;
}

core::Result<void> save_node_config(const fs::path& dir, const NodeConfig& config) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return core::make_error(ErrorCode::kIoError,
                            "cannot create " + dir.string() + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);
  json::object o{{"hospital", config.hospital_id},
                 {"node_id", config.node_id},
                 {"ca_dir", config.ca_dir.string()},
                 {"ledger_dir", config.ledger_dir.string()},
                 {"signing_key_id", config.signing_key_id_hex},
                 {"encryption_key_id", config.encryption_key_id_hex},
                 {"person_keys", std::string(person_key_storage_name(config.person_keys))},
                 {"kek_id", config.kek_id_hex},
                 {"max_payload", static_cast<std::int64_t>(config.max_payload)}};
  if (config.max_export_bytes != kDefaultMaxExportBytes)
    o["max_export_bytes"] = static_cast<std::int64_t>(config.max_export_bytes);
  return ca::write_file_atomically(dir / "node.json", core::to_bytes(core::canonicalize(o) + "\n"));
}

}  // namespace medledger::node
