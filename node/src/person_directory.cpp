#include "medledger/node/person_directory.h"

#include <sys/stat.h>

#include <system_error>

#include <boost/json.hpp>

#include "json_fields.h"
#include "medledger/ca/store.h"
#include "medledger/core/canonical_json.h"
#include "medledger/core/error.h"
#include "medledger/core/sha256.h"
#include "medledger/node/node_config.h"

namespace medledger::node {

using core::ErrorCode;
namespace json = boost::json;
namespace fs = std::filesystem;

fs::path PersonDirectory::path_for(std::string_view principal) const {
  return dir_ / (core::hex_encode(core::sha256(core::to_bytes(principal))) + ".json");
}

bool PersonDirectory::contains(std::string_view principal) const {
  std::error_code ec;
  return fs::exists(path_for(principal), ec);
}

core::Result<void> PersonDirectory::add(const PersonEntry& person) {
  std::lock_guard<std::mutex> guard(add_mutex_);
  if (contains(person.principal)) {
    return core::make_error(ErrorCode::kAlreadyExists,
                            person.principal + " is enrolled at this node already");
  }
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec)
    return core::make_error(ErrorCode::kIoError,
                            "cannot create " + dir_.string() + ": " + ec.message());
  ::chmod(dir_.c_str(), 0700);
  json::object key =
      person.wrapped
          ? json::object{{"kind", "wrapped"}, {"blob", core::base64url_encode(person.wrapped_blob)}}
      : person.external()
          ? json::object{{"kind", "external"}}
          : json::object{{"kind", "token"}, {"id", core::hex_encode(person.key_id)}};
  json::object o{{"principal", person.principal},
                 {"id", person.id},
                 {"role", std::string(ca::role_name(person.role))},
                 {"cert", person.cert_pem},
                 {"key", std::move(key)}};
  return ca::write_file_atomically(path_for(person.principal),
                                   core::to_bytes(core::canonicalize(o) + "\n"));
}

core::Result<PersonEntry> PersonDirectory::find(std::string_view principal) const {
  {
    std::lock_guard<std::mutex> guard(cache_mutex_);
    if (auto it = cache_.find(principal); it != cache_.end()) return it->second;
  }
  auto person = load(principal);
  if (!person) return person.error();
  std::lock_guard<std::mutex> guard(cache_mutex_);
  if (cache_.size() >= kPersonCacheCapacity) cache_.clear();
  cache_.emplace(person->principal, *person);
  return person;
}

core::Result<PersonEntry> PersonDirectory::load(std::string_view principal) const {
  auto path = path_for(principal);
  MEDLEDGER_TRY_ASSIGN(auto object, detail::read_object_file(path));
  if (!object) {
    return core::make_error(ErrorCode::kNotFound,
                            std::string(principal) + " is not enrolled at this node");
  }
  auto bad = [&] { return detail::damaged_file(path); };
  PersonEntry person;
  try {
    const auto& o = *object;
    person.principal = json::value_to<std::string>(o.at("principal"));
    person.id = json::value_to<std::string>(o.at("id"));
    auto role = ca::parse_role(json::value_to<std::string>(o.at("role")));
    if (!role) return bad();
    person.role = *role;
    person.cert_pem = json::value_to<std::string>(o.at("cert"));
    const auto& key = o.at("key").as_object();
    std::string kind = json::value_to<std::string>(key.at("kind"));
    if (kind == "token") {
      auto id = core::hex_decode(json::value_to<std::string>(key.at("id")));
      if (!id) return bad();
      person.key_id = std::move(*id);
    } else if (kind == "wrapped") {
      auto blob = core::base64url_decode(json::value_to<std::string>(key.at("blob")));
      if (!blob) return bad();
      person.wrapped = true;
      person.wrapped_blob = std::move(*blob);
    } else if (kind != "external") {
      return bad();
    }
  } catch (const std::exception&) {
    return bad();
  }
  if (person.principal != principal) return bad();
  return person;
}

}  // namespace medledger::node
