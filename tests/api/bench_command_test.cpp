// `medledger bench` end to end: the real binary drives a real server in process
// fronting a real HospitalNode (SoftHSM2 token, LMDB ledger; node_routes_fixture.h)
// with a node client certificate; the report must add up.
#include <gtest/gtest.h>

#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fstream>
#include <set>
#include <vector>

#include <boost/json/parse.hpp>

#include "node_routes_fixture.h"

namespace medledger::api {
namespace {

struct BenchRun {
  int exit_code = -1;
  std::string out;  // stdout: the report
  std::string err;  // stderr: progress and failures
};

class BenchCommand : public NodeRoutes {
 protected:
  void SetUp() override {
    NodeRoutes::SetUp();
    doctor_pin_ = write_secret("doctor.pin", node::testing::kDoctorPin);
    patient_pin_ = write_secret("patient.pin", node::testing::kPatientPin);
  }

  std::filesystem::path write_secret(const std::string& name, const std::string& pin) {
    auto path = root_ / name;
    std::ofstream(path) << pin << "\n";
    ::chmod(path.c_str(), 0600);
    return path;
  }

  // Runs `medledger bench` against the server (or `url`) with the node certificate; PINs from
  // files. Without a ramp-up unless `args` asks for one: the tests count every operation.
  BenchRun bench(std::string args, std::string url = "", const std::string& client = kNode) {
    if (url.empty()) url = "https://127.0.0.1:" + std::to_string(server_->port());
    if (args.find("--ramp-up") == std::string::npos) args = "--ramp-up 0 " + args;
    auto err_file = root_ / "bench.err";
    std::string command =
        std::string(MEDLEDGER_CLI) + " bench --url " + url + " --cacert " + pki_->ca_pem.string() +
        " --cert " + pki_->cert(client).string() + " --key " + pki_->key(client).string() +
        " --doctor hospital-a/dr-a --patient hospital-a/pat-a --doctor-pin file:" +
        doctor_pin_.string() + " --patient-pin file:" + patient_pin_.string() + " " + args + " 2>" +
        err_file.string();
    BenchRun run;
    FILE* pipe = ::popen(command.c_str(), "r");
    EXPECT_NE(pipe, nullptr);
    if (pipe == nullptr) return run;
    char buffer[4096];
    std::size_t n;
    while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) run.out.append(buffer, n);
    int status = ::pclose(pipe);
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    run.err = read_file(err_file);
    return run;
  }

  static boost::json::object parse_report(const BenchRun& run) {
    boost::json::error_code ec;
    auto value = boost::json::parse(run.out, ec);
    EXPECT_FALSE(ec) << run.out << run.err;
    EXPECT_TRUE(value.is_object());
    return value.is_object() ? value.as_object() : boost::json::object();
  }

  static double number(const boost::json::value& value) { return value.to_number<double>(); }

  // count = ok + errors, ordered percentiles; returns ok.
  static std::int64_t expect_consistent(const boost::json::object& line, const std::string& name) {
    const auto count = line.at("count").to_number<std::int64_t>();
    const auto ok = line.at("ok").to_number<std::int64_t>();
    const auto errors = line.at("errors").to_number<std::int64_t>();
    EXPECT_EQ(count, ok + errors) << name;
    const auto& latency = line.at("latency_ms").as_object();
    if (count > 0) {
      EXPECT_GT(number(latency.at("p50")), 0) << name;
      EXPECT_LE(number(latency.at("p50")), number(latency.at("p95"))) << name;
      EXPECT_LE(number(latency.at("p95")), number(latency.at("p99"))) << name;
      EXPECT_LE(number(latency.at("p99")), number(latency.at("max"))) << name;
      EXPECT_LE(number(latency.at("mean")), number(latency.at("max"))) << name;
    }
    return ok;
  }

  // The patient's records whose id starts with `prefix`, as the node lists them.
  int records_with_prefix(const std::string& prefix) {
    auto listed = get("/v1/records?patient=hospital-a/pat-a");
    EXPECT_EQ(listed.status, 200) << listed.body;
    int count = 0;
    const auto listing = json_of(listed);  // the loop must not range over a temporary's member
    for (const auto& record : listing.at("records").as_array()) {
      if (record.at("record_id").as_string().starts_with(prefix)) ++count;
    }
    return count;
  }

  std::filesystem::path doctor_pin_, patient_pin_;
};

TEST_F(BenchCommand, OpenLoopJsonReportAddsUpAndEveryWriteIsOnTheLedger) {
  serve(node_a_.get(), pool_a_);
  auto run =
      bench("--rate 20 --duration 1 --connections 4 --mix 1:1 --warmup 3 --run-id t1 --json");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto report = parse_report(run);
  EXPECT_EQ(report.at("mode").as_string(), "open-loop");
  EXPECT_EQ(number(report.at("target_rate")), 20);
  const auto& operations = report.at("operations").as_object();
  const auto writes_ok = expect_consistent(operations.at("writes").as_object(), "writes");
  const auto reads_ok = expect_consistent(operations.at("reads").as_object(), "reads");
  const auto all_ok = expect_consistent(operations.at("all").as_object(), "all");
  EXPECT_EQ(all_ok, writes_ok + reads_ok);
  // 20/s for 1 s, half writes: every scheduled operation answered, none failed.
  EXPECT_EQ(report.at("scheduled").to_number<std::int64_t>(), 20);
  EXPECT_EQ(operations.at("all").at("count").to_number<std::int64_t>(), 20);
  EXPECT_EQ(writes_ok, 10);
  EXPECT_EQ(reads_ok, 10);
  EXPECT_TRUE(report.at("errors").as_object().empty()) << run.out;
  EXPECT_GT(number(operations.at("all").at("throughput_per_s")), 0);
  EXPECT_EQ(report.at("warmup").at("records").to_number<std::int64_t>(), 3);

  // The node lists the 3 warm-up records and the 10 written ones.
  EXPECT_EQ(records_with_prefix("t1-"), 13);
  // No PIN in the report or on stderr.
  EXPECT_EQ(run.out.find(node::testing::kDoctorPin), std::string::npos);
  EXPECT_EQ(run.err.find(node::testing::kPatientPin), std::string::npos);
}

TEST_F(BenchCommand, WithSessionsEveryOperationSucceedsWithoutSendingPins) {
  serve(node_a_.get(), pool_a_);
  auto run = bench(
      "--sessions 2 --rate 20 --duration 1 --connections 2 --mix 1:1 --warmup 2 --json --quiet");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto report = parse_report(run);
  const auto& all = report.at("operations").at("all").as_object();
  EXPECT_EQ(expect_consistent(all, "all"), 20);
  EXPECT_TRUE(report.at("errors").as_object().empty()) << run.out;
}

TEST_F(BenchCommand, RampUpLoadIsSentAtTheSameRateButNotMeasured) {
  serve(node_a_.get(), pool_a_);
  auto run = bench(
      "--rate 10 --ramp-up 2 --duration 1 --connections 2 --mix 1:0 --warmup 0 --run-id ramp "
      "--json");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto report = parse_report(run);
  // 10/s: 20 operations due in the two ramp-up seconds, 10 in the measured one.
  EXPECT_EQ(report.at("ramp_up").at("seconds").to_number<std::int64_t>(), 2);
  EXPECT_EQ(report.at("ramp_up").at("operations").to_number<std::int64_t>(), 20);
  EXPECT_EQ(report.at("ramp_up").at("errors").to_number<std::int64_t>(), 0);
  EXPECT_EQ(report.at("scheduled").to_number<std::int64_t>(), 10);
  EXPECT_EQ(expect_consistent(report.at("operations").at("writes").as_object(), "writes"), 10);
  // Both phases wrote: the node lists 30 records of the run.
  EXPECT_EQ(records_with_prefix("ramp-"), 30);
  // The progress line says which seconds were the ramp-up (its first tick, at 1 s, is one).
  EXPECT_NE(run.err.find("(ramp-up, not measured)"), std::string::npos) << run.err;
}

TEST_F(BenchCommand, RepeatPrintsEveryRunAndTheSpreadAndWritesDistinctRecords) {
  serve(node_a_.get(), pool_a_);
  auto run = bench(
      "--rate 10 --duration 1 --connections 2 --mix 1:1 --warmup 2 --repeat 3 --run-id rep "
      "--p99-target-ms 600000 --json --quiet");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto report = parse_report(run);
  EXPECT_TRUE(report.at("maximum").is_null());
  const auto& runs = report.at("runs").as_array();
  ASSERT_EQ(runs.size(), 3u);
  std::int64_t writes_ok = 0;
  for (const auto& one : runs) {
    EXPECT_EQ(number(one.at("target_rate")), 10);
    EXPECT_EQ(one.at("scheduled").to_number<std::int64_t>(), 10);
    EXPECT_TRUE(one.at("errors").as_object().empty()) << run.out;
    writes_ok += expect_consistent(one.at("operations").at("writes").as_object(), "writes");
  }
  EXPECT_EQ(writes_ok, 15);
  const auto& spread = report.at("spread").as_object();
  for (const char* name : {"writes", "reads", "all"}) {
    const auto& line = spread.at(name).as_object();
    for (const char* figure : {"throughput_per_s", "p99_ms"}) {
      const auto& s = line.at(figure).as_object();
      EXPECT_LE(number(s.at("min")), number(s.at("median"))) << name << " " << figure;
      EXPECT_LE(number(s.at("median")), number(s.at("max"))) << name << " " << figure;
    }
    EXPECT_GT(number(line.at("throughput_per_s").at("min")), 0) << name;
    // Ten minutes is a target every run meets.
    EXPECT_EQ(line.at("runs_p99_under_target").to_number<std::int64_t>(), 3) << name;
  }
  // The spread's p99 bounds are the runs' own p99s.
  double lowest = 1e300, highest = 0;
  for (const auto& one : runs) {
    const double p99 = number(one.at("operations").at("all").at("latency_ms").at("p99"));
    lowest = std::min(lowest, p99);
    highest = std::max(highest, p99);
  }
  EXPECT_EQ(number(spread.at("all").at("p99_ms").at("min")), lowest);
  EXPECT_EQ(number(spread.at("all").at("p99_ms").at("max")), highest);
  // Two warm-up records and 15 writes, none overwritten by a later run.
  EXPECT_EQ(records_with_prefix("rep-"), 17);
}

TEST_F(BenchCommand, RateOfMaxRunsOpenLoopAtThatShareOfTheMeasuredMaximum) {
  serve(node_a_.get(), pool_a_);
  auto run = bench(
      "--max --rate-of-max 0.5 --repeat 2 --duration 1 --connections 2 --mix 1:0 --warmup 0 "
      "--p99-target-ms 0.001");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  // Text: the maximum's table, each run's table, then the spread with the target's verdict.
  const auto maximum_at = run.out.find("maximum (closed loop");
  const auto first_at = run.out.find("run 1 of 2");
  const auto second_at = run.out.find("run 2 of 2");
  const auto spread_at = run.out.find("spread over 2 runs");
  ASSERT_NE(maximum_at, std::string::npos) << run.out;
  ASSERT_NE(first_at, std::string::npos) << run.out;
  ASSERT_NE(second_at, std::string::npos) << run.out;
  ASSERT_NE(spread_at, std::string::npos) << run.out;
  EXPECT_LT(maximum_at, first_at);
  EXPECT_LT(first_at, second_at);
  EXPECT_LT(second_at, spread_at);
  EXPECT_NE(run.out.find("closed loop (maximum)"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("0 of 2 (< 0.0 ms)"), std::string::npos) << run.out;
  // The runs' rate is half of what the maximum run answered per second.
  const auto said = run.err.find("bench: maximum ");
  ASSERT_NE(said, std::string::npos) << run.err;
  double maximum = 0, rate = 0;
  unsigned runs = 0;
  ASSERT_EQ(std::sscanf(run.err.c_str() + said, "bench: maximum %lf/s; %u runs at %lf/s", &maximum,
                        &runs, &rate),
            3)
      << run.err;
  EXPECT_EQ(runs, 2u);
  EXPECT_NEAR(rate, maximum * 0.5, 0.1);
  EXPECT_NE(run.out.find("open loop at"), std::string::npos) << run.out;
}

TEST_F(BenchCommand, RepeatAndRateOfMaxOutsideTheirRangesAreRefused) {
  serve(node_a_.get(), pool_a_);
  const int invalid = core::exit_code_for(core::ErrorCode::kInvalidArgument);
  // A share of the maximum without measuring it.
  EXPECT_EQ(bench("--rate 10 --rate-of-max 0.8 --duration 1 --quiet").exit_code, invalid);
  // CLI11 refuses values out of range before anything runs (its own usage exit status).
  for (const char* args :
       {"--max --repeat 0 --duration 1 --quiet", "--max --repeat 101 --duration 1 --quiet",
        "--max --rate-of-max 1.5 --duration 1 --quiet",
        "--max --rate-of-max 0 --duration 1 --quiet"}) {
    auto refused = bench(args);
    EXPECT_NE(refused.exit_code, 0) << args;
    EXPECT_TRUE(refused.out.empty()) << args << "\n" << refused.out;
  }
}

TEST_F(BenchCommand, EveryConnectionIsOpenBeforeTheMeasuredRunStarts) {
  serve(node_a_.get(), pool_a_);
  auto run = bench("--rate 10 --duration 1 --connections 6 --mix 1:0 --warmup 2 --json --quiet");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  // The access log, in order: 2 warm-up writes, one GET /v1/whoami per connection
  // (all connected before the first measured write), then the 10 measured writes.
  std::vector<std::pair<std::string, std::string>> requests;
  std::ifstream log(log_file_);
  for (std::string line; std::getline(log, line);) {
    boost::json::error_code ec;
    auto entry = boost::json::parse(line, ec);
    if (ec || !entry.is_object() || entry.at("event") != "request") continue;
    requests.emplace_back(std::string(entry.at("method").as_string()),
                          std::string(entry.at("route").as_string()));
  }
  std::vector<std::pair<std::string, std::string>> expected;
  for (int i = 0; i < 2; ++i) expected.emplace_back("POST", "/v1/records");
  for (int i = 0; i < 6; ++i) expected.emplace_back("GET", "/v1/whoami");
  for (int i = 0; i < 10; ++i) expected.emplace_back("POST", "/v1/records");
  EXPECT_EQ(requests, expected);
}

TEST_F(BenchCommand, UsedUpSessionsAreReplacedDuringTheRun) {
  serve(node_a_.get(), pool_a_);
  // 2 sessions of 4 signatures per person in rotation: the doctor signs 3 warm-up
  // writes + 30 operations (33 signatures = 9 sessions), the patient 3 + 15 writes.
  auto run = bench(
      "--sessions 2 --session-signatures 4 --rate 30 --duration 1 --connections 3 --mix 1:1 "
      "--warmup 3 --json --quiet");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto report = parse_report(run);
  EXPECT_EQ(expect_consistent(report.at("operations").at("all").as_object(), "all"), 30);
  EXPECT_TRUE(report.at("errors").as_object().empty()) << run.out;  // no PERSON_SESSION_INVALID
  // The server opened more sessions than the two per person the run started with.
  std::size_t opened = 0;
  std::ifstream log(log_file_);
  for (std::string line; std::getline(log, line);) {
    if (line.find(R"("route":"/v1/persons/{id}/sessions")") != std::string::npos &&
        line.find(R"("status":201)") != std::string::npos) {
      ++opened;
    }
  }
  EXPECT_GE(opened, 9u + 5u);
}

TEST_F(BenchCommand, SessionSignaturesOutsideTheServersRangeAreRefused) {
  serve(node_a_.get(), pool_a_);
  auto zero = bench("--sessions 1 --session-signatures 0 --rate 1 --duration 1");
  EXPECT_NE(zero.exit_code, 0);
  auto too_many = bench("--sessions 1 --session-signatures 10001 --rate 1 --duration 1");
  EXPECT_NE(too_many.exit_code, 0);
  // The route itself refuses a budget beyond its maximum, before any PIN check.
  auto refused = post("/v1/persons/dr-a/sessions", R"({"pin":"12345678","signatures":10001})");
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_EQ(error_code_of(refused), "INVALID_ARGUMENT");
  auto granted =
      post("/v1/persons/dr-a/sessions",
           std::string(R"({"pin":")") + node::testing::kDoctorPin + R"(","signatures":3})");
  ASSERT_EQ(granted.status, 201) << granted.body;
  EXPECT_EQ(json_of(granted).at("signatures").to_number<std::int64_t>(), 3);
}

TEST_F(BenchCommand, ClosedLoopTextReportHasATableAndAProgressLine) {
  serve(node_a_.get(), pool_a_);
  auto run = bench("--max --duration 2 --connections 2 --mix 1:4 --warmup 2");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("closed loop"), std::string::npos) << run.out;
  for (const char* column : {"count", "ok/s", "p50 ms", "p95 ms", "p99 ms", "max ms"}) {
    EXPECT_NE(run.out.find(column), std::string::npos) << column << "\n" << run.out;
  }
  for (const char* line : {"\nwrites ", "\nreads ", "\nall "})
    EXPECT_NE(run.out.find(line), std::string::npos) << line;
  EXPECT_NE(run.out.find("errors: none"), std::string::npos) << run.out;
  EXPECT_NE(run.err.find("bench    1s: sent "), std::string::npos) << run.err;
}

TEST_F(BenchCommand, RefusedWritesAreCountedByTheirStableCode) {
  serve(node_a_.get(), pool_a_);
  patient_pin_ = write_secret("wrong-patient.pin", "not-the-pin-42");
  auto run = bench("--rate 10 --duration 1 --mix 1:0 --warmup 0 --json --quiet");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto report = parse_report(run);
  const auto& writes = report.at("operations").at("writes").as_object();
  EXPECT_EQ(expect_consistent(writes, "writes"), 0);
  const auto count = writes.at("count").to_number<std::int64_t>();
  EXPECT_EQ(count, 10);
  std::int64_t counted = 0;
  for (const auto& [code, n] : report.at("errors").as_object()) {
    // Wrong PINs, then the lockout they cause.
    EXPECT_TRUE(code == "PERSON_PIN_INCORRECT" || code == "PERSON_LOCKED") << code;
    counted += n.to_number<std::int64_t>();
  }
  EXPECT_EQ(counted, count);
  EXPECT_EQ(run.err, "");  // --quiet
}

TEST_F(BenchCommand, WarmUpWithAWrongDoctorPinFailsWithThatCodesExitStatus) {
  serve(node_a_.get(), pool_a_);
  doctor_pin_ = write_secret("wrong-doctor.pin", "wrong-doctor-pin-7");
  auto run = bench("--rate 10 --duration 1 --quiet");
  EXPECT_EQ(run.exit_code, core::exit_code_for(core::ErrorCode::kPersonPinIncorrect)) << run.err;
  EXPECT_NE(run.err.find("PERSON_PIN_INCORRECT"), std::string::npos) << run.err;
  EXPECT_EQ(run.err.find("wrong-doctor-pin-7"), std::string::npos);
  EXPECT_EQ(run.out, "");
}

TEST_F(BenchCommand, NothingListeningIsConnectionRefused) {
  serve(node_a_.get(), pool_a_);
  const std::string url = "https://127.0.0.1:" + std::to_string(server_->port());
  server_.reset();  // stopped: the port is closed now
  auto run = bench("--rate 10 --duration 1 --quiet", url);
  EXPECT_EQ(run.exit_code, core::exit_code_for(core::ErrorCode::kConnectionRefused)) << run.err;
  EXPECT_NE(run.err.find("CONNECTION_REFUSED"), std::string::npos) << run.err;
}

TEST_F(BenchCommand, RateAndMaxTogetherOrReadsWithoutRecordsAreInvalidArguments) {
  serve(node_a_.get(), pool_a_);
  const int invalid = core::exit_code_for(core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(bench("--rate 10 --max --duration 1 --quiet").exit_code, invalid);
  EXPECT_EQ(bench("--duration 1 --quiet").exit_code, invalid);  // neither
  EXPECT_EQ(bench("--rate 10 --duration 1 --mix 0:1 --warmup 0 --quiet").exit_code, invalid);
  EXPECT_EQ(bench("--rate 10 --duration 1 --mix 2 --quiet").exit_code, invalid);
}

}  // namespace
}  // namespace medledger::api
