// Structured logs: one JSON object per line (spdlog underneath), e.g.
//   {"time":"2026-01-01T00:00:00.123Z","level":"info","event":"request","method":"GET",
//    "route":"/v1/whoami","status":200,"latency_ms":1.25,"principal":"hospital-a/dr-1"}
//
// What is never logged: PINs, keys, request or response bodies, query strings,
// raw paths (they may carry identifiers) -- the route pattern is logged instead.
#pragma once

#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "medledger/api/config.h"
#include "medledger/core/result.h"

namespace medledger::api {

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError, kCritical, kOff };

/// Directs the api log to standard error or `config.file` (appended) at
/// `config.level`. kConfigInvalid for an unknown level, kIoError for an
/// unwritable file. Call once at start-up; before it, logs go to standard error at info.
core::Result<void> configure_logging(const LogConfig& config);

/// Writes one JSON line {"time","level","event", ...fields} if `level` is enabled.
/// Fields must not hold secrets or payloads. Thread-safe.
void log_event(LogLevel level, std::string_view event, boost::json::object fields = {});

/// One line per answered request (event "request").
struct AccessLogEntry {
  std::string_view method;
  std::string_view route;  // the pattern ("/v1/records/{id}"), or "-" when unrouted
  int status = 0;
  double latency_ms = 0;
  std::string_view principal;   // "<certificate O>/<CN>", "" if none
  std::string_view error_code;  // "" on success
};
void log_request(const AccessLogEntry& entry);

/// Flushes buffered lines (at shutdown).
void flush_logs();

}  // namespace medledger::api
