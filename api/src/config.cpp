// The TOML reader of ServerConfig (toml11 3.7; its exceptions stay in this file).
#include "medledger/api/config.h"

#include <arpa/inet.h>

#include <array>
#include <fstream>
#include <functional>
#include <set>

#include <toml.hpp>

namespace medledger::api {

namespace {
using core::ErrorCode;
using Millis = std::chrono::milliseconds;

core::Error invalid(const std::string& key, const std::string& why) {
  return core::make_error(ErrorCode::kConfigInvalid, key + ": " + why);
}

// One [section] of the file: reads typed keys and remembers which it knew, so that
// anything else in the section can be refused as unknown.
class Section {
 public:
  Section(std::string name, const toml::value* table, std::filesystem::path base)
      : name_(std::move(name)), table_(table), base_(std::move(base)) {}

  core::Result<void> string(const char* key, std::string& out) {
    const toml::value* v = find(key);
    if (v == nullptr) return core::success();
    if (!v->is_string()) return invalid(qualified(key), "must be a string");
    out = v->as_string().str;
    return core::success();
  }

  core::Result<void> path(const char* key, std::filesystem::path& out) {
    std::string text;
    MEDLEDGER_TRY(string(key, text));
    if (find(key) == nullptr) return core::success();
    if (text.empty()) return invalid(qualified(key), "must not be empty");
    out = resolve(text);
    return core::success();
  }

  core::Result<void> paths(const char* key, std::vector<std::filesystem::path>& out) {
    const toml::value* v = find(key);
    if (v == nullptr) return core::success();
    if (!v->is_array()) return invalid(qualified(key), "must be an array of strings");
    out.clear();
    for (const auto& item : v->as_array()) {
      if (!item.is_string() || item.as_string().str.empty()) return invalid(qualified(key), "must be an array of non-empty strings");
      out.push_back(resolve(item.as_string().str));
    }
    return core::success();
  }

  template <typename T>
  core::Result<void> integer(const char* key, std::int64_t min, std::int64_t max, T& out) {
    const toml::value* v = find(key);
    if (v == nullptr) return core::success();
    if (!v->is_integer()) return invalid(qualified(key), "must be an integer");
    std::int64_t value = v->as_integer();
    if (value < min || value > max) {
      return invalid(qualified(key), "must be " + std::to_string(min) + ".." + std::to_string(max) + ", got " +
                                         std::to_string(value));
    }
    out = static_cast<T>(value);
    return core::success();
  }

  core::Result<void> millis(const char* key, Millis min, Millis max, Millis& out) {
    std::int64_t value = out.count();
    MEDLEDGER_TRY(integer(key, min.count(), max.count(), value));
    out = Millis(value);
    return core::success();
  }

  /// kConfigInvalid naming the first key of the section that no reader asked for.
  core::Result<void> refuse_unknown() const {
    if (table_ == nullptr) return core::success();
    for (const auto& [key, value] : table_->as_table()) {
      if (known_.count(key) == 0) return invalid(qualified(key.c_str()), "unknown key");
    }
    return core::success();
  }

 private:
  const toml::value* find(const char* key) {
    known_.insert(key);
    if (table_ == nullptr) return nullptr;
    const auto& table = table_->as_table();
    auto it = table.find(key);
    return it == table.end() ? nullptr : &it->second;
  }
  std::string qualified(const char* key) const { return name_ + "." + key; }
  std::filesystem::path resolve(const std::string& text) const {
    std::filesystem::path p(text);
    return p.is_absolute() ? p : base_ / p;
  }

  std::string name_;
  const toml::value* table_;
  std::filesystem::path base_;
  std::set<std::string> known_;
};

using SectionReader = std::function<core::Result<void>(Section&, ServerConfig&)>;

core::Result<void> read_listen(Section& s, ServerConfig& c) {
  MEDLEDGER_TRY(s.string("address", c.listen.address));
  return s.integer("port", 0, 65535, c.listen.port);
}

core::Result<void> read_tls(Section& s, ServerConfig& c) {
  MEDLEDGER_TRY(s.path("certificate", c.tls.certificate));
  MEDLEDGER_TRY(s.path("private_key", c.tls.private_key));
  MEDLEDGER_TRY(s.path("client_ca", c.tls.client_ca));
  return s.paths("client_crls", c.tls.client_crls);
}

core::Result<void> read_limits(Section& s, ServerConfig& c) {
  auto& l = c.limits;
  MEDLEDGER_TRY(s.integer("max_body_bytes", 1, static_cast<std::int64_t>(kMaxBodyBytesCeiling), l.max_body_bytes));
  MEDLEDGER_TRY(s.integer("max_connections", 1, kMaxConnectionsCeiling, l.max_connections));
  MEDLEDGER_TRY(s.millis("handshake_timeout_ms", kMinTimeout, kMaxTimeout, l.handshake_timeout));
  MEDLEDGER_TRY(s.millis("header_timeout_ms", kMinTimeout, kMaxTimeout, l.header_timeout));
  MEDLEDGER_TRY(s.millis("body_timeout_ms", kMinTimeout, kMaxTimeout, l.body_timeout));
  MEDLEDGER_TRY(s.millis("idle_timeout_ms", kMinTimeout, kMaxTimeout, l.idle_timeout));
  MEDLEDGER_TRY(s.millis("write_timeout_ms", kMinTimeout, kMaxTimeout, l.write_timeout));
  return s.millis("shutdown_grace_ms", Millis(0), kMaxTimeout, l.shutdown_grace);
}

core::Result<void> read_threads(Section& s, ServerConfig& c) {
  MEDLEDGER_TRY(s.integer("io", 1, kMaxIoThreads, c.threads.io));
  return s.integer("handlers", 1, kMaxHandlerThreads, c.threads.handlers);
}

core::Result<void> read_log(Section& s, ServerConfig& c) {
  MEDLEDGER_TRY(s.string("level", c.log.level));
  return s.path("file", c.log.file);
}

core::Result<void> read_token(Section& s, ServerConfig& c) {
  MEDLEDGER_TRY(s.path("module", c.token.module));
  MEDLEDGER_TRY(s.string("label", c.token.label));
  return s.string("pin", c.token.pin_source);
}

core::Result<void> read_ledger(Section& s, ServerConfig& c) { return s.path("path", c.ledger.path); }

core::Result<void> read_node(Section& s, ServerConfig& c) { return s.path("data_dir", c.node.data_dir); }

core::Result<void> read_batch(Section& s, ServerConfig& c) {
  MEDLEDGER_TRY(s.integer("max_transactions", 1, 65536, c.batch.max_transactions));
  MEDLEDGER_TRY(s.integer("max_bytes", 1, 64 << 20, c.batch.max_bytes));
  return s.millis("max_delay_ms", Millis(0), Millis(1000), c.batch.max_delay);
}

const std::array<std::pair<const char*, SectionReader>, 9> kSections{{
    {"listen", read_listen},
    {"tls", read_tls},
    {"limits", read_limits},
    {"threads", read_threads},
    {"log", read_log},
    {"token", read_token},
    {"ledger", read_ledger},
    {"batch", read_batch},
    {"node", read_node},
}};

core::Result<void> require_readable(const std::string& key, const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return invalid(key, "cannot read " + path.string());
  return core::success();
}

core::Result<ServerConfig> read_document(const toml::value& root, const std::filesystem::path& base) {
  ServerConfig config;
  for (const auto& [key, value] : root.as_table()) {
    bool known = false;
    for (const auto& [name, reader] : kSections) known = known || key == name;
    if (!known) return invalid(key, "unknown section");
    if (!value.is_table()) return invalid(key, "must be a [section]");
  }
  for (const auto& [name, reader] : kSections) {
    const auto& table = root.as_table();
    auto it = table.find(name);
    Section section(name, it == table.end() ? nullptr : &it->second, base);
    MEDLEDGER_TRY(reader(section, config));
    MEDLEDGER_TRY(section.refuse_unknown());
  }
  return config;
}
}  // namespace

core::Result<void> validate_server_config(const ServerConfig& c) {
  unsigned char address[16];
  if (inet_pton(AF_INET, c.listen.address.c_str(), address) != 1 &&
      inet_pton(AF_INET6, c.listen.address.c_str(), address) != 1) {
    return invalid("listen.address", "must be an IPv4 or IPv6 address, got '" + c.listen.address + "'");
  }
  if (c.tls.certificate.empty()) return invalid("tls.certificate", "required (PEM: node certificate, then its issuers)");
  if (c.tls.private_key.empty()) return invalid("tls.private_key", "required (PEM private key of tls.certificate)");
  if (c.tls.client_ca.empty()) return invalid("tls.client_ca", "required (PEM bundle of the hospital CAs that may connect)");
  if (c.limits.max_body_bytes == 0 || c.limits.max_body_bytes > kMaxBodyBytesCeiling) {
    return invalid("limits.max_body_bytes", "must be 1.." + std::to_string(kMaxBodyBytesCeiling));
  }
  if (c.limits.max_connections == 0 || c.limits.max_connections > kMaxConnectionsCeiling) {
    return invalid("limits.max_connections", "must be 1.." + std::to_string(kMaxConnectionsCeiling));
  }
  if (c.threads.io == 0 || c.threads.io > kMaxIoThreads) return invalid("threads.io", "must be 1.." + std::to_string(kMaxIoThreads));
  if (c.threads.handlers == 0 || c.threads.handlers > kMaxHandlerThreads) {
    return invalid("threads.handlers", "must be 1.." + std::to_string(kMaxHandlerThreads));
  }
  static const std::set<std::string> kLevels{"trace", "debug", "info", "warn", "error", "critical", "off"};
  if (kLevels.count(c.log.level) == 0) {
    return invalid("log.level", "must be one of trace, debug, info, warn, error, critical, off; got '" + c.log.level + "'");
  }
  auto pin = core::SecretSource::parse(c.token.pin_source, "token PIN");
  if (!pin) return invalid("token.pin", "must be file:PATH, env:NAME or prompt (" + pin.error().message + ")");
  return core::success();
}

core::Result<ServerConfig> load_server_config(const std::filesystem::path& file) {
  {
    std::ifstream probe(file);
    if (!probe) return core::make_error(ErrorCode::kIoError, "cannot read config file " + file.string());
  }
  core::Result<ServerConfig> config = core::make_error(ErrorCode::kInternal, "unset");
  try {
    const toml::value root = toml::parse(file.string());
    config = read_document(root, file.parent_path());
  } catch (const std::exception& e) {
    // toml11 reports syntax errors with the file, line and a caret.
    return core::make_error(ErrorCode::kConfigInvalid, std::string("config ") + file.string() + ": " + e.what());
  }
  if (!config) return config.error();
  MEDLEDGER_TRY(validate_server_config(*config));
  MEDLEDGER_TRY(require_readable("tls.certificate", config->tls.certificate));
  MEDLEDGER_TRY(require_readable("tls.private_key", config->tls.private_key));
  MEDLEDGER_TRY(require_readable("tls.client_ca", config->tls.client_ca));
  for (const auto& crl : config->tls.client_crls) MEDLEDGER_TRY(require_readable("tls.client_crls", crl));
  return config;
}

}  // namespace medledger::api
