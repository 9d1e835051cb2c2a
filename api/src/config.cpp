// The TOML reader of ServerConfig (toml11 3.7; its exceptions stay in this file).
#include "medledger/api/config.h"

#include <arpa/inet.h>

#include <array>
#include <fstream>
#include <functional>
#include <iterator>
#include <set>
#include <string_view>

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
    if (find(key) == nullptr) return core::success();
    std::vector<std::string> texts;
    MEDLEDGER_TRY(strings(key, texts));
    out.clear();
    for (const auto& text : texts) out.push_back(resolve(text));
    return core::success();
  }

  core::Result<void> strings(const char* key, std::vector<std::string>& out) {
    const toml::value* v = find(key);
    if (v == nullptr) return core::success();
    if (!v->is_array()) return invalid(qualified(key), "must be an array of strings");
    out.clear();
    for (const auto& item : v->as_array()) {
      if (!item.is_string() || item.as_string().str.empty())
        return invalid(qualified(key), "must be an array of non-empty strings");
      out.push_back(item.as_string().str);
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
      return invalid(qualified(key), "must be " + std::to_string(min) + ".." + std::to_string(max) +
                                         ", got " + std::to_string(value));
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

constexpr std::string_view kPkcs11Scheme = "pkcs11:";

core::Result<void> read_tls(Section& s, ServerConfig& c) {
  MEDLEDGER_TRY(s.path("certificate", c.tls.certificate));
  std::string key;
  MEDLEDGER_TRY(s.string("private_key", key));
  if (key.rfind(kPkcs11Scheme, 0) == 0) {
    MEDLEDGER_TRY_ASSIGN(auto ref, parse_token_key_uri(key, "tls.private_key"));
    c.tls.private_key_in_token = ref;
  } else {
    MEDLEDGER_TRY(s.path("private_key", c.tls.private_key));
  }
  MEDLEDGER_TRY(s.path("client_ca", c.tls.client_ca));
  return s.paths("client_crls", c.tls.client_crls);
}

core::Result<void> read_limits(Section& s, ServerConfig& c) {
  auto& l = c.limits;
  MEDLEDGER_TRY(s.integer("max_body_bytes", 1, static_cast<std::int64_t>(kMaxBodyBytesCeiling),
                          l.max_body_bytes));
  MEDLEDGER_TRY(s.integer("max_connections", 1, kMaxConnectionsCeiling, l.max_connections));
  MEDLEDGER_TRY(s.millis("handshake_timeout_ms", kMinTimeout, kMaxTimeout, l.handshake_timeout));
  MEDLEDGER_TRY(s.millis("header_timeout_ms", kMinTimeout, kMaxTimeout, l.header_timeout));
  MEDLEDGER_TRY(s.millis("body_timeout_ms", kMinTimeout, kMaxTimeout, l.body_timeout));
  MEDLEDGER_TRY(s.millis("idle_timeout_ms", kMinTimeout, kMaxTimeout, l.idle_timeout));
  MEDLEDGER_TRY(s.millis("write_timeout_ms", kMinTimeout, kMaxTimeout, l.write_timeout));
  MEDLEDGER_TRY(s.millis("answer_timeout_ms", kMinTimeout, kMaxTimeout, l.answer_timeout));
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
  MEDLEDGER_TRY(s.string("module_args", c.token.module_args_source));
  MEDLEDGER_TRY(s.string("label", c.token.label));
  return s.string("pin", c.token.pin_source);
}

core::Result<void> read_ledger(Section& s, ServerConfig& c) {
  MEDLEDGER_TRY(s.path("path", c.ledger.path));
  return s.integer("min_free_mb", 0, static_cast<std::int64_t>(kMaxLedgerMinFreeMb),
                   c.ledger.min_free_mb);
}

core::Result<void> read_node(Section& s, ServerConfig& c) {
  return s.path("data_dir", c.node.data_dir);
}

// One [[hospital]] table: data_dir, and its token as token_module / token_label /
// token_pin (token_module defaults to [token] module, read before).
core::Result<void> read_hospital(Section& s, const TokenConfig& defaults,
                                 HospitalServeConfig& out) {
  out.token = TokenConfig{};
  out.token.module = defaults.module;
  out.token.module_args_source = defaults.module_args_source;
  MEDLEDGER_TRY(s.path("data_dir", out.data_dir));
  MEDLEDGER_TRY(s.path("token_module", out.token.module));
  MEDLEDGER_TRY(s.string("token_module_args", out.token.module_args_source));
  MEDLEDGER_TRY(s.string("token_label", out.token.label));
  MEDLEDGER_TRY(s.string("token_pin", out.token.pin_source));
  return s.refuse_unknown();
}

core::Result<void> read_batch(Section& s, ServerConfig& c) {
  MEDLEDGER_TRY(s.integer("max_transactions", 1,
                          static_cast<std::int64_t>(ledger::kMaxBlockTransactions),
                          c.batch.max_transactions));
  MEDLEDGER_TRY(s.integer("max_bytes", 1, static_cast<std::int64_t>(ledger::kMaxBatchBytes),
                          c.batch.max_bytes));
  return s.millis("max_delay_ms", Millis(0), ledger::kMaxBatchDelay, c.batch.max_delay);
}

core::Result<void> read_ordering(Section& s, ServerConfig& c) {
  auto& o = c.ordering;
  MEDLEDGER_TRY(s.string("kind", o.kind));
  MEDLEDGER_TRY(s.strings("endpoints", o.endpoints));
  MEDLEDGER_TRY(s.string("prefix", o.prefix));
  MEDLEDGER_TRY(s.string("node_name", o.node_name));
  MEDLEDGER_TRY(s.path("ca_file", o.ca_file));
  MEDLEDGER_TRY(s.path("client_certificate", o.client_certificate));
  MEDLEDGER_TRY(s.path("client_key", o.client_key));
  MEDLEDGER_TRY(s.millis("dial_timeout_ms", kMinTimeout, kMaxTimeout, o.dial_timeout));
  MEDLEDGER_TRY(s.millis("request_timeout_ms", kMinTimeout, kMaxTimeout, o.request_timeout));
  MEDLEDGER_TRY(s.millis("max_future_skew_ms", Millis(0), kMaxTimeout, o.max_future_skew));
  MEDLEDGER_TRY(s.millis("poll_interval_ms", kMinTimeout, kMaxTimeout, o.poll_interval));
  MEDLEDGER_TRY(s.strings("peers", o.peers));
  MEDLEDGER_TRY(s.string("advertise_url", o.advertise_url));
  MEDLEDGER_TRY(s.millis("proposer_ttl_ms", Millis(1'000), kMaxTimeout, o.proposer_ttl));
  MEDLEDGER_TRY(s.millis("forward_timeout_ms", kMinTimeout, kMaxTimeout, o.forward_timeout));
  return s.integer("keep_blocks", 0, std::int64_t{1} << 40, o.keep_blocks);
}

const std::array<std::pair<const char*, SectionReader>, 10> kSections{{
    {"ordering", read_ordering},
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
  // An ifstream opens a directory without complaint: a file is required.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return invalid(key, path.string() + " is a directory, not a file");
  std::ifstream in(path);
  if (!in) return invalid(key, "cannot read " + path.string());
  return core::success();
}

constexpr const char* kHospitalArray = "hospital";

core::Result<void> read_hospitals(const toml::value& root, const std::filesystem::path& base,
                                  ServerConfig& config) {
  const auto& table = root.as_table();
  auto it = table.find(kHospitalArray);
  if (it == table.end()) return core::success();
  if (!it->second.is_array())
    return invalid(kHospitalArray, "must be an array of [[hospital]] tables");
  const auto& entries = it->second.as_array();
  if (entries.empty() || entries.size() > kMaxServedHospitals) {
    return invalid(kHospitalArray,
                   "must list 1.." + std::to_string(kMaxServedHospitals) + " hospitals");
  }
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::string name = std::string(kHospitalArray) + "[" + std::to_string(i) + "]";
    if (!entries[i].is_table()) return invalid(name, "must be a [[hospital]] table");
    Section section(name, &entries[i], base);
    HospitalServeConfig hospital;
    MEDLEDGER_TRY(read_hospital(section, config.token, hospital));
    config.hospitals.push_back(std::move(hospital));
  }
  return core::success();
}

core::Result<ServerConfig> read_document(const toml::value& root,
                                         const std::filesystem::path& base) {
  ServerConfig config;
  for (const auto& [key, value] : root.as_table()) {
    if (key == kHospitalArray) continue;  // an array of tables, read below
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
  MEDLEDGER_TRY(read_hospitals(root, base, config));
  return config;
}

// `label_key` / `pin_key`: how the file names them ("token.label" or "hospital[1].token_label").
core::Result<void> validate_token(const TokenConfig& token, const std::string& label_key,
                                  const std::string& pin_key) {
  if (token.label.empty()) return invalid(label_key, "required: the token's label");
  const std::string& args = token.module_args_source;
  if (!args.empty() && args.rfind("file:", 0) != 0 && args.rfind("env:", 0) != 0)
    // The arguments may hold a password: never written into the file itself.
    return invalid(label_key.substr(0, label_key.rfind("label")) + "module_args",
                   "must be file:PATH or env:NAME (the arguments are not shown)");
  auto pin = core::SecretSource::parse(token.pin_source, "token PIN");
  if (!pin)
    return invalid(pin_key, "must be file:PATH, env:NAME or prompt (" + pin.error().message + ")");
  return core::success();
}

core::Result<void> validate_ordering(const ServerConfig& c) {
  const auto& o = c.ordering;
  if (o.kind == "solo") {
    if (!o.endpoints.empty()) return invalid("ordering.endpoints", "only with kind = \"etcd\"");
    return core::success();
  }
  if (o.kind != "etcd")
    return invalid("ordering.kind", "must be \"solo\" or \"etcd\", got \"" + o.kind + "\"");
  if (o.endpoints.empty())
    return invalid("ordering.endpoints", "required with kind = \"etcd\" (https://host:port)");
  for (const auto& url : o.endpoints)
    if (url.rfind("https://", 0) != 0)
      return invalid("ordering.endpoints", "must be https:// URLs (TLS), got '" + url + "'");
  for (const auto& url : o.peers)
    if (url.rfind("https://", 0) != 0)
      return invalid("ordering.peers", "must be https:// URLs of other nodes, got '" + url + "'");
  if (!o.advertise_url.empty() &&
      (o.advertise_url.rfind("https://", 0) != 0 || o.advertise_url.find(' ') != std::string::npos))
    return invalid("ordering.advertise_url",
                   "must be this node's https:// URL, got '" + o.advertise_url + "'");
  if (o.prefix.empty() || o.prefix.front() != '/' || o.prefix.back() == '/')
    return invalid("ordering.prefix",
                   "must start with '/' and not end with it, got '" + o.prefix + "'");
  if (o.node_name.find('/') != std::string::npos)
    return invalid("ordering.node_name", "must not contain '/'");
  for (const auto& [key, path] :
       {std::pair<const char*, const std::filesystem::path*>{"ordering.ca_file", &o.ca_file},
        {"ordering.client_certificate", &o.client_certificate},
        {"ordering.client_key", &o.client_key}}) {
    if (path->empty()) return invalid(key, "required with kind = \"etcd\" (PEM file)");
    MEDLEDGER_TRY(require_readable(key, *path));
  }
  if (c.hospitals.size() > 1)
    return invalid("ordering.kind",
                   "etcd: one hospital per serve process (its own replica); list it as [node]");
  if (served_hospitals(c).empty())
    return invalid("ordering.kind", "etcd: needs the served node ([node] and [token])");
  return core::success();
}

core::Result<void> validate_hospitals(const ServerConfig& c) {
  if (c.hospitals.empty()) {
    if (!c.node.data_dir.empty())
      MEDLEDGER_TRY(validate_token(c.token, "token.label", "token.pin"));
    return core::success();
  }
  if (!c.node.data_dir.empty()) {
    return invalid("node.data_dir",
                   "cannot be combined with [[hospital]] (list every node as a [[hospital]])");
  }
  if (c.hospitals.size() > kMaxServedHospitals) {
    return invalid(kHospitalArray,
                   "must list 1.." + std::to_string(kMaxServedHospitals) + " hospitals");
  }
  std::set<std::filesystem::path> dirs;
  std::set<std::string> labels;
  for (std::size_t i = 0; i < c.hospitals.size(); ++i) {
    const auto& h = c.hospitals[i];
    const std::string prefix = std::string(kHospitalArray) + "[" + std::to_string(i) + "].";
    if (h.data_dir.empty())
      return invalid(prefix + "data_dir", "required: the node's data directory");
    MEDLEDGER_TRY(validate_token(h.token, prefix + "token_label", prefix + "token_pin"));
    if (!dirs.insert(h.data_dir.lexically_normal()).second) {
      return invalid(prefix + "data_dir", "listed twice: " + h.data_dir.string());
    }
    if (!labels.insert(h.token.module.string() + '\n' + h.token.label).second) {
      return invalid(prefix + "token_label",
                     "'" + h.token.label + "' is another hospital's token (each node has its own)");
    }
  }
  return core::success();
}
}  // namespace

core::Result<void> validate_server_config(const ServerConfig& c) {
  unsigned char address[16];
  if (inet_pton(AF_INET, c.listen.address.c_str(), address) != 1 &&
      inet_pton(AF_INET6, c.listen.address.c_str(), address) != 1) {
    return invalid("listen.address",
                   "must be an IPv4 or IPv6 address, got '" + c.listen.address + "'");
  }
  if (c.tls.certificate.empty())
    return invalid("tls.certificate", "required (PEM: node certificate, then its issuers)");
  const bool serves_node = !served_hospitals(c).empty();
  if (c.tls.private_key.empty() && c.tls.private_key_in_token.empty()) {
    return invalid(
        "tls.private_key",
        "required (PEM private key file of tls.certificate, or pkcs11:object=...;id=...)");
  }
  if (!c.tls.private_key_in_token.empty() && !serves_node && c.token.label.empty()) {
    return invalid("tls.private_key",
                   "a pkcs11: key needs a token ([node]/[token] or [[hospital]])");
  }
  if (c.tls.client_ca.empty() && !serves_node) {
    return invalid(
        "tls.client_ca",
        "required without a served node (PEM bundle of the hospital CAs that may connect)");
  }
  if (c.tls.client_ca.empty() && !c.tls.client_crls.empty()) {
    return invalid("tls.client_crls", "needs tls.client_ca (the CRLs' issuers)");
  }
  if (c.limits.max_body_bytes == 0 || c.limits.max_body_bytes > kMaxBodyBytesCeiling) {
    return invalid("limits.max_body_bytes", "must be 1.." + std::to_string(kMaxBodyBytesCeiling));
  }
  if (c.limits.max_connections == 0 || c.limits.max_connections > kMaxConnectionsCeiling) {
    return invalid("limits.max_connections",
                   "must be 1.." + std::to_string(kMaxConnectionsCeiling));
  }
  // Built in code (not only read from TOML): a zero limit would answer every write at once.
  if (c.limits.answer_timeout < kMinTimeout || c.limits.answer_timeout > kMaxTimeout) {
    return invalid("limits.answer_timeout_ms", "must be " + std::to_string(kMinTimeout.count()) +
                                                   ".." + std::to_string(kMaxTimeout.count()));
  }
  if (c.threads.io == 0 || c.threads.io > kMaxIoThreads)
    return invalid("threads.io", "must be 1.." + std::to_string(kMaxIoThreads));
  if (c.threads.handlers == 0 || c.threads.handlers > kMaxHandlerThreads) {
    return invalid("threads.handlers", "must be 1.." + std::to_string(kMaxHandlerThreads));
  }
  static const std::set<std::string> kLevels{"trace", "debug",    "info", "warn",
                                             "error", "critical", "off"};
  if (kLevels.count(c.log.level) == 0) {
    return invalid(
        "log.level",
        "must be one of trace, debug, info, warn, error, critical, off; got '" + c.log.level + "'");
  }
  auto pin = core::SecretSource::parse(c.token.pin_source, "token PIN");
  if (!pin)
    return invalid("token.pin",
                   "must be file:PATH, env:NAME or prompt (" + pin.error().message + ")");
  MEDLEDGER_TRY(validate_hospitals(c));
  return validate_ordering(c);
}

std::vector<HospitalServeConfig> served_hospitals(const ServerConfig& config) {
  if (!config.hospitals.empty()) return config.hospitals;
  if (config.node.data_dir.empty()) return {};
  return {HospitalServeConfig{config.node.data_dir, config.token}};
}

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 percent-decoding of one URI attribute value.
core::Result<std::string> percent_decode(std::string_view text, const std::string& key) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return invalid(key, "truncated %XX escape in the pkcs11: URI");
    int high = hex_value(text[i + 1]), low = hex_value(text[i + 2]);
    if (high < 0 || low < 0) return invalid(key, "bad %XX escape in the pkcs11: URI");
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

// The offset of the first byte that is not well-formed UTF-8 (Unicode table 3-7), or npos.
// TOML files must be UTF-8, and toml11 3.7 reads out of bounds when reporting invalid
// UTF-8 in a literal string, so the whole file is checked before toml11 sees it.
std::size_t invalid_utf8_at(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char lead = byte(i);
    std::size_t extra = 0;
    unsigned char low = 0x80, high = 0xBF;  // the range of the byte after the lead
    if (lead < 0x80) {
      ++i;
      continue;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      extra = 1;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      extra = 2;
      if (lead == 0xE0) low = 0xA0;   // no overlong forms
      if (lead == 0xED) high = 0x9F;  // no surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      extra = 3;
      if (lead == 0xF0) low = 0x90;   // no overlong forms
      if (lead == 0xF4) high = 0x8F;  // nothing past U+10FFFF
    } else {
      return i;
    }
    if (text.size() - i <= extra || byte(i + 1) < low || byte(i + 1) > high) return i;
    for (std::size_t k = 2; k <= extra; ++k) {
      if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return i;
    }
    i += extra + 1;
  }
  return std::string_view::npos;
}
}  // namespace

core::Result<TokenKeyRef> parse_token_key_uri(std::string_view uri, const std::string& key) {
  if (uri.rfind(kPkcs11Scheme, 0) != 0) return invalid(key, "must start with pkcs11:");
  std::string_view rest = uri.substr(kPkcs11Scheme.size());
  TokenKeyRef ref;
  while (!rest.empty()) {
    const std::size_t end = std::min(rest.find(';'), rest.size());
    std::string_view attribute = rest.substr(0, end);
    rest = end == rest.size() ? std::string_view() : rest.substr(end + 1);
    const std::size_t eq = attribute.find('=');
    if (eq == std::string_view::npos) return invalid(key, "pkcs11: attributes are name=value");
    MEDLEDGER_TRY_ASSIGN(auto value, percent_decode(attribute.substr(eq + 1), key));
    if (value.empty()) return invalid(key, "empty pkcs11: attribute value");
    const std::string_view name = attribute.substr(0, eq);
    if (name == "object") {
      ref.label = value;
    } else if (name == "id") {
      ref.id_hex = core::hex_encode(
          core::ByteView(reinterpret_cast<const std::uint8_t*>(value.data()), value.size()));
    } else {
      return invalid(key, "unsupported pkcs11: attribute '" + std::string(name) + "' (object, id)");
    }
  }
  if (ref.empty()) return invalid(key, "a pkcs11: URI must name object= and/or id=");
  return ref;
}

core::Result<ServerConfig> load_server_config(const std::filesystem::path& file) {
  {
    // A config that is not there is a config error (exit 3: systemd does not restart).
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) {
      return core::make_error(
          ErrorCode::kConfigInvalid,
          "config " + file.string() + ": " +
              (std::filesystem::exists(file, ec) ? "not a regular file" : "no such file"));
    }
    std::ifstream probe(file, std::ios::binary);
    if (!probe)
      return core::make_error(ErrorCode::kConfigInvalid,
                              "config " + file.string() + ": cannot be read");
    const std::string text{std::istreambuf_iterator<char>(probe), {}};
    if (const auto at = invalid_utf8_at(text); at != std::string_view::npos) {
      return core::make_error(
          ErrorCode::kConfigInvalid,
          "config " + file.string() + ": not UTF-8 (byte " + std::to_string(at) + ")");
    }
  }
  core::Result<ServerConfig> config = core::make_error(ErrorCode::kInternal, "unset");
  try {
    const toml::value root = toml::parse(file.string());
    config = read_document(root, file.parent_path());
  } catch (const std::exception& e) {
    // toml11 reports syntax errors with the file, line and a caret.
    return core::make_error(ErrorCode::kConfigInvalid,
                            std::string("config ") + file.string() + ": " + e.what());
  }
  if (!config) return config.error();
  MEDLEDGER_TRY(validate_server_config(*config));
  MEDLEDGER_TRY(require_readable("tls.certificate", config->tls.certificate));
  if (!config->tls.private_key.empty())
    MEDLEDGER_TRY(require_readable("tls.private_key", config->tls.private_key));
  if (!config->tls.client_ca.empty())
    MEDLEDGER_TRY(require_readable("tls.client_ca", config->tls.client_ca));
  for (const auto& crl : config->tls.client_crls)
    MEDLEDGER_TRY(require_readable("tls.client_crls", crl));
  if (!config->log.file.empty()) {
    // A typo in the path would otherwise create directories where nobody looks for logs.
    std::error_code ec;
    const auto directory = config->log.file.parent_path();
    if (!directory.empty() && !std::filesystem::is_directory(directory, ec)) {
      return invalid("log.file", "the directory " + directory.string() + " does not exist");
    }
  }
  return config;
}

}  // namespace medledger::api
