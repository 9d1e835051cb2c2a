#include "medledger/api/logging.h"

#include <chrono>
#include <ctime>
#include <mutex>

#include <boost/json/serialize.hpp>
#include <spdlog/logger.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace medledger::api {

namespace {
constexpr const char* kLoggerName = "medledger";
constexpr std::pair<std::string_view, spdlog::level::level_enum> kLevels[] = {
    {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},
    {"info", spdlog::level::info},   {"warn", spdlog::level::warn},
    {"error", spdlog::level::err},   {"critical", spdlog::level::critical},
    {"off", spdlog::level::off},
};

std::mutex logger_mutex;
std::shared_ptr<spdlog::logger> current_logger;

std::shared_ptr<spdlog::logger> make_logger(spdlog::sink_ptr sink,
                                            spdlog::level::level_enum level) {
  auto logger = std::make_shared<spdlog::logger>(kLoggerName, std::move(sink));
  logger->set_pattern("%v");  // the line is the JSON object we build
  logger->set_level(level);
  // Every line reaches the file at once (one write): a crash loses no log line,
  // and tools tailing the file (journald, tests) see lines as they happen.
  logger->flush_on(spdlog::level::trace);
  return logger;
}

std::shared_ptr<spdlog::logger> logger() {
  std::lock_guard lock(logger_mutex);
  if (!current_logger) {
    current_logger =
        make_logger(std::make_shared<spdlog::sinks::stderr_sink_mt>(), spdlog::level::info);
  }
  return current_logger;
}

spdlog::level::level_enum to_spdlog(LogLevel level) {
  return kLevels[static_cast<int>(level)].second;
}

std::string utc_now() {
  auto now = std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[96];  // room for any int the format can print
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis));
  return buffer;
}
}  // namespace

core::Result<void> configure_logging(const LogConfig& config) {
  spdlog::level::level_enum level = spdlog::level::off;
  bool known = false;
  for (const auto& [name, value] : kLevels) {
    if (name == config.level) {
      level = value;
      known = true;
    }
  }
  if (!known)
    return core::make_error(core::ErrorCode::kConfigInvalid,
                            "log.level: unknown level '" + config.level + "'");
  spdlog::sink_ptr sink;
  if (config.file.empty()) {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  } else {
    try {
      sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(config.file.string(), false);
    } catch (const std::exception&) {
      return core::make_error(core::ErrorCode::kIoError,
                              "log.file: cannot open " + config.file.string());
    }
  }
  std::lock_guard lock(logger_mutex);
  current_logger = make_logger(std::move(sink), level);
  return core::success();
}

void log_event(LogLevel level, std::string_view event, boost::json::object fields) {
  auto log = logger();
  if (!log->should_log(to_spdlog(level))) return;
  boost::json::object line;
  line["time"] = utc_now();
  line["level"] = kLevels[static_cast<int>(level)].first;
  line["event"] = event;
  for (auto& field : fields) line[field.key()] = std::move(field.value());
  log->log(to_spdlog(level), "{}", boost::json::serialize(line));
}

void log_request(const AccessLogEntry& entry) {
  boost::json::object fields;
  fields["method"] = entry.method;
  fields["route"] = entry.route;
  fields["status"] = entry.status;
  fields["latency_ms"] = entry.latency_ms;
  if (!entry.principal.empty()) fields["principal"] = entry.principal;
  if (!entry.error_code.empty()) fields["error"] = entry.error_code;
  log_event(entry.status >= 500 ? LogLevel::kWarn : LogLevel::kInfo, "request", std::move(fields));
}

void flush_logs() { logger()->flush(); }

}  // namespace medledger::api
