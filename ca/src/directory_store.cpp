#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include <boost/json.hpp>

#include "medledger/ca/authority.h"
#include "medledger/ca/limits.h"
#include "medledger/ca/store.h"
#include "medledger/core/assert.h"

namespace medledger::ca {

using core::ErrorCode;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {
constexpr const char* kSettingsFile = "ca.json";
constexpr const char* kCertificateFile = "ca.pem";
constexpr const char* kChainFile = "chain.pem";
constexpr const char* kIndexFile = "index.json";
constexpr const char* kIssuedDir = "issued";
constexpr const char* kCrlFile = "crl.der";
constexpr const char* kResponderFile = "ocsp-responder.pem";
constexpr int kMaxOcspValidityMinutes = 7 * 24 * 60;
constexpr int kIndexVersion = 1;

core::Error io_error(const std::string& what, const fs::path& path) {
  return core::make_error(ErrorCode::kIoError,
                          what + " " + path.string() + ": " + std::strerror(errno));
}

core::Result<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error("cannot read", path);
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > kMaxEncodedInput * 16)
    return core::make_error(ErrorCode::kIoError, path.string() + " is too large");
  return text.str();
}

core::Result<void> write_text(const fs::path& path, const std::string& text) {
  return write_file_atomically(path, core::to_bytes(text));
}

std::string upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return text;
}

// The optional revocation members of ca.json (absent: the defaults).
core::Result<void> read_revocation_settings(const json::object& object, const fs::path& path,
                                            RevocationSettings& out) {
  auto bad = [&](const std::string& key, const char* type) {
    return core::make_error(ErrorCode::kConfigInvalid,
                            path.string() + ": \"" + key + "\" must be " + type);
  };
  for (auto [key, target] :
       {std::pair{"ocsp_url", &out.ocsp_url}, std::pair{"crl_url", &out.crl_url},
        std::pair{"ocsp_responder_key_id", &out.ocsp_responder_key_id_hex}}) {
    const json::value* value = object.if_contains(key);
    if (value == nullptr) continue;
    if (!value->is_string()) return bad(key, "a string");
    *target = std::string(value->as_string());
  }
  for (auto [key, target] : {std::pair{"crl_validity_hours", &out.crl_validity_hours},
                             std::pair{"crl_refresh_before_hours", &out.crl_refresh_hours},
                             std::pair{"ocsp_validity_minutes", &out.ocsp_validity_minutes}}) {
    const json::value* value = object.if_contains(key);
    if (value == nullptr) continue;
    if (!value->is_int64() || value->as_int64() < 0 || value->as_int64() > 1000000)
      return bad(key, "a small non-negative integer");
    *target = static_cast<int>(value->as_int64());
  }
  return check_revocation_settings(out);
}

core::Result<json::object> parse_object(const std::string& text, const fs::path& path) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec || !value.is_object())
    return core::make_error(ErrorCode::kConfigInvalid, path.string() + " is not a JSON object");
  return value.as_object();
}

}  // namespace

core::Result<void> write_file_atomically(const fs::path& path, core::ByteView content) {
  fs::path temporary = path;
  temporary += ".tmp";
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("cannot create", temporary);
  std::size_t written = 0;
  while (written < content.size()) {
    ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return io_error("cannot write", temporary);
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    return io_error("cannot fsync", temporary);
  }
  ::close(fd);
  if (::rename(temporary.c_str(), path.c_str()) != 0) return io_error("cannot rename to", path);
  // The rename is durable only once the directory entry is.
  fs::path directory = path.has_parent_path() ? path.parent_path() : fs::path(".");
  int dir_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return io_error("cannot open", directory);
  int synced = ::fsync(dir_fd);
  ::close(dir_fd);
  if (synced != 0) return io_error("cannot fsync", directory);
  return core::success();
}

std::vector<RevokedEntry> revoked_entries(const std::vector<IssuedRecord>& records) {
  std::vector<RevokedEntry> out;
  for (const IssuedRecord& record : records) {
    if (record.revocation) out.push_back(*record.revocation);
  }
  return out;
}

core::Result<CaDirectory> CaDirectory::create(const fs::path& dir, const CaSettings& settings,
                                              const std::vector<Certificate>& chain) {
  std::error_code ec;
  if (fs::exists(dir / kCertificateFile, ec)) {
    return core::make_error(ErrorCode::kAlreadyExists,
                            "a CA is already initialised in " + dir.string());
  }
  fs::create_directories(dir / kIssuedDir, ec);
  if (ec)
    return core::make_error(ErrorCode::kIoError,
                            "cannot create " + dir.string() + ": " + ec.message());
  fs::permissions(dir, fs::perms::owner_all, ec);

  CaDirectory store(dir, settings, chain);
  MEDLEDGER_TRY(store.save_settings(settings));
  MEDLEDGER_TRY(store.save_index(Index{}));
  // ca.pem last: its presence marks an initialised directory.
  if (!chain.empty()) MEDLEDGER_TRY(store.replace_chain(chain));
  return store;
}

core::Result<CaDirectory> CaDirectory::open(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir / kCertificateFile, ec)) {
    return core::make_error(ErrorCode::kCaNotInitialized,
                            "no CA in " + dir.string() + " (run `medledger ca init`)");
  }
  MEDLEDGER_TRY_ASSIGN(auto settings, read_settings(dir));
  MEDLEDGER_TRY_ASSIGN(auto chain_text, read_file(dir / kChainFile));
  MEDLEDGER_TRY_ASSIGN(auto chain, parse_pem_bundle(chain_text));
  return CaDirectory(dir, std::move(settings), std::move(chain));
}

core::Result<CaSettings> CaDirectory::read_settings(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir / kSettingsFile, ec)) {
    return core::make_error(ErrorCode::kCaNotInitialized,
                            "no CA in " + dir.string() + " (run `medledger ca init`)");
  }
  MEDLEDGER_TRY_ASSIGN(auto settings_text, read_file(dir / kSettingsFile));
  MEDLEDGER_TRY_ASSIGN(auto object, parse_object(settings_text, dir / kSettingsFile));
  CaSettings settings;
  for (auto [key, target] :
       {std::pair{"hospital_id", &settings.hospital_id},
        std::pair{"key_label", &settings.key_label}, std::pair{"key_id", &settings.key_id_hex}}) {
    const json::value* value = object.if_contains(key);
    if (value == nullptr || !value->is_string()) {
      return core::make_error(ErrorCode::kConfigInvalid,
                              (dir / kSettingsFile).string() + " lacks \"" + key + "\"");
    }
    *target = std::string(value->as_string());
  }
  MEDLEDGER_TRY(read_revocation_settings(object, dir / kSettingsFile, settings.revocation));
  return settings;
}

core::Result<void> check_revocation_settings(const RevocationSettings& settings) {
  auto bad = [](const std::string& what) {
    return core::make_error(ErrorCode::kConfigInvalid, "ca.json: " + what);
  };
  for (auto [name, url] :
       {std::pair{"ocsp_url", &settings.ocsp_url}, std::pair{"crl_url", &settings.crl_url}}) {
    if (url->empty()) continue;
    if (auto checked = check_publication_url(*url); !checked)
      return bad(std::string(name) + ": " + checked.error().message);
  }
  if (settings.crl_validity_hours < 1 || settings.crl_validity_hours > kMaxCrlValidityDays * 24)
    return bad("crl_validity_hours must be 1.." + std::to_string(kMaxCrlValidityDays * 24));
  if (settings.crl_refresh_hours < 0 || settings.crl_refresh_hours >= settings.crl_validity_hours) {
    return bad("crl_refresh_before_hours must be 0.. less than crl_validity_hours");
  }
  if (settings.ocsp_validity_minutes < 1 ||
      settings.ocsp_validity_minutes > kMaxOcspValidityMinutes) {
    return bad("ocsp_validity_minutes must be 1.." + std::to_string(kMaxOcspValidityMinutes));
  }
  if (!settings.ocsp_responder_key_id_hex.empty() &&
      !core::hex_decode(settings.ocsp_responder_key_id_hex)) {
    return bad("ocsp_responder_key_id must be hex");
  }
  return core::success();
}

core::Result<void> CaDirectory::save_settings(const CaSettings& settings) {
  MEDLEDGER_TRY(check_revocation_settings(settings.revocation));
  json::object object{{"hospital_id", settings.hospital_id},
                      {"key_label", settings.key_label},
                      {"key_id", settings.key_id_hex}};
  const RevocationSettings& r = settings.revocation;
  const RevocationSettings defaults;
  // Only what differs from the defaults, so a plain CA's ca.json stays three members.
  if (!r.ocsp_url.empty()) object["ocsp_url"] = r.ocsp_url;
  if (!r.crl_url.empty()) object["crl_url"] = r.crl_url;
  if (r.crl_validity_hours != defaults.crl_validity_hours)
    object["crl_validity_hours"] = r.crl_validity_hours;
  if (r.crl_refresh_hours != defaults.crl_refresh_hours)
    object["crl_refresh_before_hours"] = r.crl_refresh_hours;
  if (r.ocsp_validity_minutes != defaults.ocsp_validity_minutes)
    object["ocsp_validity_minutes"] = r.ocsp_validity_minutes;
  if (!r.ocsp_responder_key_id_hex.empty())
    object["ocsp_responder_key_id"] = r.ocsp_responder_key_id_hex;
  MEDLEDGER_TRY(write_text(dir_ / kSettingsFile, json::serialize(object) + "\n"));
  settings_ = settings;
  return core::success();
}

core::Result<std::optional<Crl>> CaDirectory::current_crl() const {
  std::error_code ec;
  if (!fs::exists(dir_ / kCrlFile, ec)) return std::optional<Crl>();
  MEDLEDGER_TRY_ASSIGN(auto der, read_file(dir_ / kCrlFile));
  MEDLEDGER_TRY_ASSIGN(auto crl, Crl::parse(core::to_bytes(der)));
  return std::optional<Crl>(std::move(crl));
}

core::Result<void> CaDirectory::save_crl(const Crl& crl) {
  return write_file_atomically(dir_ / kCrlFile, crl.to_der());
}

core::Result<std::optional<Certificate>> CaDirectory::responder_certificate() const {
  std::error_code ec;
  if (!fs::exists(dir_ / kResponderFile, ec)) return std::optional<Certificate>();
  MEDLEDGER_TRY_ASSIGN(auto pem, read_file(dir_ / kResponderFile));
  MEDLEDGER_TRY_ASSIGN(auto cert, Certificate::from_pem(pem));
  return std::optional<Certificate>(std::move(cert));
}

core::Result<void> CaDirectory::save_responder_certificate(const Certificate& certificate) {
  return write_text(dir_ / kResponderFile, certificate.to_pem());
}

core::Result<void> CaDirectory::replace_chain(const std::vector<Certificate>& chain) {
  if (chain.empty())
    return core::make_error(ErrorCode::kInvalidArgument, "no CA certificate to store");
  std::string bundle;
  for (const Certificate& cert : chain) bundle += cert.to_pem();
  MEDLEDGER_TRY(write_text(dir_ / kChainFile, bundle));
  MEDLEDGER_TRY(write_text(dir_ / kCertificateFile, chain.front().to_pem()));
  chain_ = chain;
  return core::success();
}

core::Result<Certificate> CaDirectory::issued_certificate(const std::string& serial_hex) const {
  std::string serial = upper(serial_hex);
  if (serial.empty() || serial.size() > 2 * kSerialBytes + 2 ||
      serial.find_first_not_of("0123456789ABCDEF") != std::string::npos) {
    return core::make_error(ErrorCode::kInvalidArgument, "serial '" + serial_hex + "' is not hex");
  }
  fs::path path = dir_ / kIssuedDir / (serial + ".pem");
  std::error_code ec;
  if (!fs::exists(path, ec))
    return core::make_error(ErrorCode::kNotFound,
                            "no certificate with serial " + serial + " was issued here");
  MEDLEDGER_TRY_ASSIGN(auto text, read_file(path));
  return Certificate::from_pem(text);
}

core::Result<CaDirectory::Index> CaDirectory::load_index() const {
  fs::path path = dir_ / kIndexFile;
  MEDLEDGER_TRY_ASSIGN(auto text, read_file(path));
  MEDLEDGER_TRY_ASSIGN(auto object, parse_object(text, path));
  auto bad = [&](const std::string& what) {
    return core::make_error(ErrorCode::kConfigInvalid, path.string() + ": " + what);
  };
  try {
    Index index;
    if (object.at("version").to_number<int>() != kIndexVersion) return bad("unknown version");
    index.crl_number = object.at("crl_number").to_number<std::uint64_t>();
    for (const json::value& item : object.at("certificates").as_array()) {
      const json::object& entry = item.as_object();
      IssuedRecord record;
      record.serial_hex = std::string(entry.at("serial").as_string());
      record.subject = std::string(entry.at("subject").as_string());
      auto role = parse_role(std::string(entry.at("role").as_string()));
      if (!role) return bad(role.error().message);
      record.role = *role;
      record.not_after = entry.at("not_after").to_number<std::time_t>();
      if (entry.at("status").as_string() == "revoked") {
        auto reason = parse_revocation_reason(std::string(entry.at("reason").as_string()));
        if (!reason) return bad(reason.error().message);
        record.revocation = RevokedEntry{record.serial_hex,
                                         entry.at("revoked_at").to_number<std::time_t>(), *reason};
      }
      index.records.push_back(std::move(record));
    }
    return index;
  } catch (const std::exception& e) {  // Boost.JSON throws on a missing key / wrong type
    return bad(std::string("damaged index: ") + e.what());
  }
}

core::Result<void> CaDirectory::save_index(const Index& index) const {
  json::array certificates;
  for (const IssuedRecord& record : index.records) {
    json::object entry{{"serial", record.serial_hex},
                       {"subject", record.subject},
                       {"role", role_name(record.role)},
                       {"not_after", record.not_after},
                       {"status", record.revocation ? "revoked" : "valid"}};
    if (record.revocation) {
      entry["revoked_at"] = record.revocation->revoked_at;
      entry["reason"] = revocation_reason_name(record.revocation->reason);
    }
    certificates.push_back(std::move(entry));
  }
  json::object object{{"version", kIndexVersion},
                      {"crl_number", index.crl_number},
                      {"certificates", std::move(certificates)}};
  return write_text(dir_ / kIndexFile, json::serialize(object) + "\n");
}

core::Result<void> CaDirectory::record_issued(const Certificate& certificate, Role role) {
  MEDLEDGER_TRY_ASSIGN(auto index, load_index());
  std::string serial = certificate.serial_hex();
  for (const IssuedRecord& record : index.records) {
    if (record.serial_hex == serial)
      return core::make_error(ErrorCode::kAlreadyExists,
                              "serial " + serial + " is already recorded");
  }
  if (index.records.size() >= kMaxIndexEntries)
    return core::make_error(ErrorCode::kIoError, "the CA index is full");
  // The certificate file first: an index entry never points at a missing file.
  MEDLEDGER_TRY(write_text(dir_ / kIssuedDir / (serial + ".pem"), certificate.to_pem()));
  index.records.push_back(
      IssuedRecord{serial, certificate.subject(), role, certificate.not_after(), std::nullopt});
  return save_index(index);
}

core::Result<void> CaDirectory::mark_revoked(const RevokedEntry& entry) {
  MEDLEDGER_TRY_ASSIGN(auto index, load_index());
  std::string serial = upper(entry.serial_hex);
  for (IssuedRecord& record : index.records) {
    if (record.serial_hex != serial) continue;
    if (record.revocation)
      return core::make_error(ErrorCode::kAlreadyExists,
                              "serial " + serial + " is already revoked");
    record.revocation = RevokedEntry{serial, entry.revoked_at, entry.reason};
    return save_index(index);
  }
  return core::make_error(ErrorCode::kNotFound,
                          "no certificate with serial " + serial + " was issued here");
}

core::Result<std::vector<IssuedRecord>> CaDirectory::records() const {
  MEDLEDGER_TRY_ASSIGN(auto index, load_index());
  return std::move(index.records);
}

core::Result<std::uint64_t> CaDirectory::next_crl_number() {
  MEDLEDGER_TRY_ASSIGN(auto index, load_index());
  const std::uint64_t previous = index.crl_number;
  if (previous == std::numeric_limits<std::uint64_t>::max()) {
    return core::make_error(ErrorCode::kConfigInvalid,
                            (dir_ / kIndexFile).string() + ": crl_number has no successor");
  }
  index.crl_number += 1;
  MEDLEDGER_ASSERT(index.crl_number > previous);  // RFC 5280 5.2.3: CRL numbers only increase
  MEDLEDGER_TRY(save_index(index));
  return index.crl_number;
}

}  // namespace medledger::ca
