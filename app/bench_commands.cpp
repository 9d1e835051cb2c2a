// `medledger bench`: a load generator for a running node (like Hyperledger
// Caliper). It drives the /v1 record routes over HTTPS with a client certificate
// of role node: record writes (POST /v1/records, dual-verified: doctor and
// patient PINs) and reads (POST /v1/records/{id}/read), open-loop at --rate or
// closed-loop at the maximum (--max), then reports throughput, latency
// percentiles and errors by code, as text or JSON (docs/PERFORMANCE.md).
//
// Exit status: 0 when the run completed (errors are in the report), the stable
// exit code of the error when it could not run (bad options, the warm-up failed).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "bench_load.h"
#include "bench_report.h"
#include "bench_sessions.h"
#include "cli_support.h"
#include "commands.h"
#include "medledger/net/https_client.h"
#include "medledger/core/bytes.h"
#include "medledger/core/secret_source.h"
#include "medledger/node/limits.h"

namespace medledger::app {
namespace {

using bench::append_json_string;
using bench::as_text;
using bench::OperationKind;
using core::ErrorCode;

// Bounds of the options (each keeps a run from exhausting this machine or the node).
constexpr std::size_t kMaxWarmupRecords = 100'000;
constexpr std::size_t kMaxPayloadBytes = 1u << 20;
constexpr double kMaxRate = 1'000'000;
constexpr unsigned kMaxMixWeight = 1000;
constexpr unsigned kMaxDurationS = 24 * 3600;
constexpr unsigned kWarmupConnections = 4;
// A session allows at most 10,000 signatures (docs/api.md); requests rotate over
// --sessions of them, and used-up ones are replaced during the run (bench_sessions.h).
constexpr std::size_t kMaxSessions = 64;
constexpr unsigned kMaxRepeat = 100;
using node::kMaxSessionSignatures;
constexpr int kSessionTtlSeconds = 1800;  // the longest the server grants

struct BenchOptions {
  std::string url, cacert, cert, key;
  std::size_t connections = 8;
  double rate = 0;
  bool max = false;
  unsigned duration_s = 10;
  std::string mix = "1:1";
  std::string doctor, patient, doctor_pin_source, patient_pin_source;
  std::string purpose = "load test";
  std::size_t warmup = 20;
  unsigned ramp_up_s = 2;
  std::size_t sessions =
      0;  // sessions per person in use at a time (0: every request carries the PINs)
  std::uint32_t session_signatures = kMaxSessionSignatures;  // each session's budget
  std::size_t payload_bytes = 512;
  unsigned timeout_ms = 30'000;
  std::string run_id;
  unsigned repeat = 1;       // consecutive measured runs
  double rate_of_max = 0;    // with --max: the runs go open loop at this share of it
  double p99_target_ms = 0;  // 0: none; the spread counts the runs under it
  bool json = false;
  bool quiet = false;
};

core::Result<std::pair<unsigned, unsigned>> parse_mix(const std::string& mix) {
  unsigned writes = 0, reads = 0;
  char tail = 0;
  if (std::sscanf(mix.c_str(), "%u:%u%c", &writes, &reads, &tail) != 2 || writes + reads == 0 ||
      writes > kMaxMixWeight || reads > kMaxMixWeight) {
    return core::make_error(
        ErrorCode::kInvalidArgument,
        "--mix must be WRITES:READS, weights 0-" + std::to_string(kMaxMixWeight) + ", not both 0");
  }
  return std::make_pair(writes, reads);
}

std::string default_run_id() {
  std::random_device random;
  char id[32];
  std::snprintf(id, sizeof id, "bench-%08x", static_cast<unsigned>(random()));
  return id;
}

// Builds the record bodies. The PINs live in SecretBytes; each body that holds them
// is wiped by the HTTPS client once sent.
class RecordRequests {
 public:
  // Null sessions: every request carries the PIN.
  RecordRequests(const BenchOptions& options, core::SecretBytes doctor_pin,
                 core::SecretBytes patient_pin, bench::PersonSessions* doctor_sessions,
                 bench::PersonSessions* patient_sessions)
      : options_(options),
        doctor_pin_(std::move(doctor_pin)),
        patient_pin_(std::move(patient_pin)),
        doctor_sessions_(doctor_sessions),
        patient_sessions_(patient_sessions) {
    // A FHIR-like JSON document padded to the payload size.
    std::string document = R"({"resourceType":"Observation","status":"final","note":")";
    const std::size_t closing = 2;
    if (options.payload_bytes > document.size() + closing)
      document.append(options.payload_bytes - document.size() - closing, 'x');
    document += "\"}";
    payload_ = core::base64url_encode(core::to_bytes(document));
  }

  // `"doctor_pin":"..."` or, with sessions, `"doctor_session":"..."` (one signature's worth).
  void append_credential(std::string& body, const char* person, const core::SecretBytes& pin,
                         bench::PersonSessions* sessions) const {
    body += '"';
    body += person;
    if (sessions == nullptr) {
      body += R"(_pin":)";
      append_json_string(body, as_text(pin));
    } else {
      body += R"(_session":)";
      sessions->append_next(body);
    }
  }

  net::HttpsRequest write(const std::string& record_id) const {
    net::HttpsRequest request{"POST", "/v1/records", {}, {}};
    std::string& body = request.body;
    body.reserve(payload_.size() + 256);
    body += R"({"record_id":)";
    append_json_string(body, record_id);
    body += R"(,"doctor":)";
    append_json_string(body, options_.doctor);
    body += R"(,"patient":)";
    append_json_string(body, options_.patient);
    body += R"(,"content_type":"application/fhir+json","payload":")";
    body += payload_;
    body += R"(",)";
    append_credential(body, "doctor", doctor_pin_, doctor_sessions_);
    body += ',';
    append_credential(body, "patient", patient_pin_, patient_sessions_);
    body += '}';
    return request;
  }

  net::HttpsRequest read(const std::string& record_id) const {
    net::HttpsRequest request{"POST", "/v1/records/" + record_id + "/read", {}, {}};
    std::string& body = request.body;
    body += R"({"doctor":)";
    append_json_string(body, options_.doctor);
    body += ',';
    append_credential(body, "doctor", doctor_pin_, doctor_sessions_);
    body += R"(,"purpose":)";
    append_json_string(body, options_.purpose);
    body += '}';
    return request;
  }

 private:
  const BenchOptions& options_;
  core::SecretBytes doctor_pin_;
  core::SecretBytes patient_pin_;
  bench::PersonSessions* doctor_sessions_;
  bench::PersonSessions* patient_sessions_;
  std::string payload_;
};

// Writes `count` records (ids returned) through the pool before the measured run.
core::Result<std::vector<std::string>> warm_up(const BenchOptions& options,
                                               const RecordRequests& requests,
                                               const net::HttpsEndpoint& endpoint,
                                               const net::HttpsClientOptions& client_options,
                                               double& seconds) {
  std::vector<std::string> ids;
  if (options.warmup == 0) return ids;
  auto pool = net::HttpsConnectionPool::start(
      endpoint, client_options, std::min<std::size_t>(kWarmupConnections, options.connections));
  MEDLEDGER_TRY(pool);
  // One write at a time: the warm-up only has to leave records behind.
  const auto started = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < options.warmup; ++i) {
    const std::string id = options.run_id + "-warm-" + std::to_string(i);
    std::promise<core::Result<net::HttpsResponse>> answer;
    auto future = answer.get_future();
    if (!(*pool)->submit(requests.write(id), [&](core::Result<net::HttpsResponse> r) {
          answer.set_value(std::move(r));
        })) {
      return core::make_error(ErrorCode::kInternal,
                              "warm-up: the connection pool refused a request");
    }
    MEDLEDGER_TRY(bench::check_answer(future.get(), "warm-up write " + std::to_string(i)));
    ids.push_back(id);
  }
  seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return ids;
}

// Opens every connection of the pool (one GET /v1/whoami each, all at once) so
// that the measured run sends its first operation over an open connection: TLS
// handshakes are set-up, as in wrk or Caliper, not load.
core::Result<void> open_all_connections(net::HttpsConnectionPool& pool, std::size_t connections) {
  std::vector<std::promise<core::Result<net::HttpsResponse>>> answers(connections);
  std::size_t submitted = 0;
  for (; submitted < connections; ++submitted) {
    auto& answer = answers[submitted];
    if (!pool.submit({"GET", "/v1/whoami", {}, {}}, [&answer](core::Result<net::HttpsResponse> r) {
          answer.set_value(std::move(r));
        })) {
      break;
    }
  }
  // Every submitted request is waited for, even after a failure: their callbacks hold `answers`.
  std::optional<core::Error> first_error;
  for (std::size_t i = 0; i < submitted; ++i) {
    auto result = answers[i].get_future().get();
    if (first_error) continue;
    if (auto checked = bench::check_answer(result, "opening connections: GET /v1/whoami");
        !checked) {
      first_error = checked.error();
    }
  }
  if (first_error) return *first_error;
  if (submitted < connections) {
    return core::make_error(ErrorCode::kInternal,
                            "opening connections: the connection pool refused a request");
  }
  return core::success();
}

void run_bench(const BenchOptions& options) {
  if (options.max == (options.rate > 0)) {
    fail(core::make_error(ErrorCode::kInvalidArgument,
                          "give exactly one of --rate R (open loop) or --max (closed loop)"));
  }
  if (options.rate_of_max > 0 && !options.max) {
    fail(core::make_error(ErrorCode::kInvalidArgument,
                          "--rate-of-max needs --max (it measures the maximum first)"));
  }
  auto [write_weight, read_weight] = require(parse_mix(options.mix));
  if (read_weight > 0 && options.warmup == 0) {
    fail(core::make_error(ErrorCode::kInvalidArgument,
                          "reads need records: --warmup must be at least 1"));
  }
  auto endpoint = require(net::parse_https_url(options.url));
  net::HttpsClientOptions client_options;
  client_options.ca_bundle = options.cacert;
  client_options.client_certificate = options.cert;
  client_options.client_key = options.key;
  client_options.request_timeout = std::chrono::milliseconds(options.timeout_ms);

  auto doctor_pin = require(core::read_secret(
      require(core::SecretSource::parse(options.doctor_pin_source, "doctor PIN"))));
  core::SecretBytes patient_pin;
  if (write_weight > 0 || options.warmup > 0) {
    if (options.patient_pin_source.empty()) {
      fail(core::make_error(ErrorCode::kInvalidArgument,
                            "writes (and the warm-up) need --patient-pin"));
    }
    patient_pin = require(core::read_secret(
        require(core::SecretSource::parse(options.patient_pin_source, "patient PIN"))));
  }
  std::unique_ptr<bench::PersonSessions> doctor_sessions, patient_sessions;
  if (options.sessions > 0) {
    auto open = [&](const std::string& principal, const core::SecretBytes& pin) {
      return require(bench::PersonSessions::open(
          require(net::HttpsClient::connect_to(endpoint, client_options)),
          require(net::HttpsClient::connect_to(endpoint, client_options)), principal, pin.clone(),
          options.sessions, options.session_signatures, kSessionTtlSeconds));
    };
    doctor_sessions = open(options.doctor, doctor_pin);
    if (!patient_pin.empty()) patient_sessions = open(options.patient, patient_pin);
  }
  const RecordRequests requests(options, std::move(doctor_pin), std::move(patient_pin),
                                doctor_sessions.get(), patient_sessions.get());

  double warmup_seconds = 0;
  if (!options.quiet) std::fprintf(stderr, "bench: warm-up, writing %zu records\n", options.warmup);
  const std::vector<std::string> records =
      require(warm_up(options, requests, endpoint, client_options, warmup_seconds));

  // run_load stops the pool it is given (that joins its I/O thread): one pool per run.
  auto open_pool = [&] {
    auto pool =
        require(net::HttpsConnectionPool::start(endpoint, client_options, options.connections));
    require(open_all_connections(*pool, options.connections));
    return pool;
  };
  bench::LoadPlan plan;
  if (options.rate > 0) plan.rate = options.rate;
  plan.duration = std::chrono::milliseconds(static_cast<std::int64_t>(options.duration_s) * 1000);
  plan.ramp_up = std::chrono::milliseconds(static_cast<std::int64_t>(options.ramp_up_s) * 1000);
  plan.write_weight = write_weight;
  plan.read_weight = read_weight;
  plan.progress = !options.quiet;
  plan.drain_timeout = std::chrono::milliseconds(options.timeout_ms);
  const bool repeated = options.repeat > 1 || options.rate_of_max > 0;
  // Each run writes its own record ids: a repeated session never collides with itself.
  std::string id_prefix = options.run_id + "-";
  auto factory = [&](OperationKind kind, std::uint64_t n) {
    if (kind == OperationKind::kWrite) return requests.write(id_prefix + std::to_string(n));
    return requests.read(records[n % records.size()]);
  };
  auto header_for = [&](const bench::LoadPlan& run_plan) {
    return bench::ReportHeader{
        options.url,        run_plan.rate,  options.connections,
        options.duration_s, write_weight,   read_weight,
        records.size(),     warmup_seconds, static_cast<unsigned>(run_plan.ramp_up.count() / 1000)};
  };
  if (!repeated) {
    bench::LoadResult result = bench::run_load(*open_pool(), options.connections, plan, factory);
    const auto header = header_for(plan);
    std::cout << (options.json ? bench::report_json(header, result)
                               : bench::report_text(header, result));
  } else {
    bench::RepeatedRuns session;
    if (options.p99_target_ms > 0) session.p99_target_ms = options.p99_target_ms;
    if (options.rate_of_max > 0) {
      id_prefix = options.run_id + "-max-";
      if (!options.quiet) std::fprintf(stderr, "bench: measuring the maximum (closed loop)\n");
      session.maximum = bench::run_load(*open_pool(), options.connections, plan, factory);
      session.maximum_header = header_for(plan);
      const double maximum = bench::total_throughput(*session.maximum);
      if (maximum <= 0) {
        fail(core::make_error(
            ErrorCode::kInvalidArgument,
            "the closed-loop run answered nothing: no maximum to take a share of"));
      }
      plan.rate = options.rate_of_max * maximum;
      plan.ramp_up = std::chrono::milliseconds(0);  // the maximum run warmed the server
      if (!options.quiet)
        std::fprintf(stderr, "bench: maximum %.1f/s; %u runs at %.1f/s\n", maximum, options.repeat,
                     *plan.rate);
    }
    for (unsigned i = 0; i < options.repeat; ++i) {
      id_prefix = options.run_id + "-" + std::to_string(i + 1) + "-";
      session.runs.push_back(bench::run_load(*open_pool(), options.connections, plan, factory));
      session.headers.push_back(header_for(plan));
      plan.ramp_up = std::chrono::milliseconds(0);  // consecutive runs: only the first ramps up
    }
    std::cout << (options.json ? bench::repeated_report_json(session)
                               : bench::repeated_report_text(session));
  }
  std::cout.flush();
  // Sessions the opener could not replace show as errors in the report; say why.
  for (const auto* sessions : {doctor_sessions.get(), patient_sessions.get()}) {
    if (sessions == nullptr) continue;
    if (auto error = sessions->opener_error()) {
      std::fprintf(stderr, "bench: replacing used-up sessions failed: %s\n",
                   error->to_string().c_str());
    }
  }
}

}  // namespace

void register_bench_commands(CLI::App& app) {
  auto options = std::make_shared<BenchOptions>();
  CLI::App* bench =
      app.add_subcommand("bench",
                         "drive a running node over HTTPS and report throughput and latency; "
                         "give exactly one of --rate (open loop) or --max (closed loop)");
  bench->option_defaults()->always_capture_default();  // --help shows each default
  bench->add_option("--url", options->url, "https://host:port of `medledger serve`")->required();
  bench->add_option("--cacert", options->cacert, "PEM CA bundle that verifies the server")
      ->required()
      ->check(CLI::ExistingFile);
  bench
      ->add_option("--cert", options->cert,
                   "client certificate (role node, of the records' hospital)")
      ->required()
      ->check(CLI::ExistingFile);
  bench->add_option("--key", options->key, "its private key (PEM)")
      ->required()
      ->check(CLI::ExistingFile);
  bench->add_option("--connections", options->connections, "keep-alive HTTPS connections")
      ->check(CLI::Range(std::size_t{1}, net::HttpsConnectionPool::kMaxConnections));
  bench
      ->add_option("--rate", options->rate,
                   "operations/s, open loop (latency from each scheduled time)")
      ->check(CLI::Range(0.001, kMaxRate));
  bench->add_flag("--max", options->max,
                  "closed loop: each connection sends as soon as it is answered");
  bench->add_option("--duration", options->duration_s, "seconds of measured load")
      ->check(CLI::Range(1u, kMaxDurationS));
  bench
      ->add_option("--ramp-up", options->ramp_up_s,
                   "seconds of the same load before the measured duration, not measured (the "
                   "server reaches its "
                   "steady state: per-thread token sessions, caches)")
      ->check(CLI::Range(0u, kMaxDurationS));
  bench->add_option("--mix", options->mix, "WRITES:READS weights, e.g. 1:0, 0:1, 1:4");
  bench->add_option("--doctor", options->doctor, "doctor principal, e.g. hospital-a/dr-1")
      ->required();
  bench->add_option("--patient", options->patient, "patient principal, e.g. hospital-a/pat-1")
      ->required();
  bench
      ->add_option("--doctor-pin", options->doctor_pin_source,
                   "file:PATH or env:NAME (never the PIN)")
      ->required();
  bench->add_option("--patient-pin", options->patient_pin_source,
                    "file:PATH or env:NAME (needed for writes)");
  bench
      ->add_option("--sessions", options->sessions,
                   "send session tokens, not PINs: N sessions per person in rotation (PIN checked "
                   "once each), "
                   "replaced as they are used up")
      ->check(CLI::Range(std::size_t{0}, kMaxSessions));
  bench
      ->add_option("--session-signatures", options->session_signatures,
                   "signatures each session allows (the server's maximum by default)")
      ->check(CLI::Range(std::uint32_t{1}, kMaxSessionSignatures));
  bench->add_option("--purpose", options->purpose, "purpose of the reads (audit trail)");
  bench
      ->add_option("--warmup", options->warmup,
                   "records written before the measured run (reads use them)")
      ->check(CLI::Range(std::size_t{0}, kMaxWarmupRecords));
  bench->add_option("--payload-bytes", options->payload_bytes, "size of each record's document")
      ->check(CLI::Range(std::size_t{1}, kMaxPayloadBytes));
  bench
      ->add_option("--timeout-ms", options->timeout_ms,
                   "per-request timeout, and the drain wait after the run")
      ->check(CLI::Range(1u, 600'000u));
  bench->add_option("--run-id", options->run_id,
                    "prefix of the record ids (default: bench-<random>)");
  bench
      ->add_option("--repeat", options->repeat,
                   "consecutive measured runs; prints each run, then the spread of ok/s and p99")
      ->check(CLI::Range(1u, kMaxRepeat));
  bench
      ->add_option("--rate-of-max", options->rate_of_max,
                   "with --max: measure the maximum closed loop, then run --repeat open-loop runs "
                   "at this share of it (e.g. 0.8)")
      ->check(CLI::Range(0.01, 1.0));
  bench
      ->add_option("--p99-target-ms", options->p99_target_ms,
                   "the spread says in how many runs p99 stayed under this")
      ->check(CLI::Range(0.001, 3'600'000.0));
  bench->add_flag("--json", options->json, "print the report as JSON");
  bench->add_flag("--quiet", options->quiet, "no progress line on stderr");
  bench->callback([options] {
    if (options->run_id.empty()) options->run_id = default_run_id();
    run_bench(*options);
  });
}

}  // namespace medledger::app
