#include "bench_load.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include <boost/json/parse.hpp>

namespace medledger::app::bench {

namespace {
using Clock = std::chrono::steady_clock;

// How often the drain loop looks whether every answer is in.
constexpr std::chrono::milliseconds kDrainPoll{5};
constexpr std::chrono::seconds kProgressPeriod{1};
// Codes the engine itself reports.
constexpr const char* kNotCompleted = "NOT_COMPLETED";         // no answer within the drain timeout
constexpr const char* kClientQueueFull = "CLIENT_QUEUE_FULL";  // the pool refused to queue more

double ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

// The kind of operation i and its index among operations of that kind.
std::pair<OperationKind, std::uint64_t> operation(std::uint64_t i, const LoadPlan& plan) {
  const std::uint64_t cycle = plan.write_weight + plan.read_weight;
  const std::uint64_t round = i / cycle, slot = i % cycle;
  if (slot < plan.write_weight) return {OperationKind::kWrite, round * plan.write_weight + slot};
  return {OperationKind::kRead, round * plan.read_weight + (slot - plan.write_weight)};
}

// Everything a run shares. `result` is written on the pool's I/O thread only
// (completions), and read after the pool has stopped; the atomics feed the progress line.
struct Run {
  const LoadPlan& plan;
  const RequestFactory& factory;
  net::HttpsConnectionPool& pool;
  LoadResult result;
  Clock::time_point start;
  Clock::time_point measured_from;  // operations due before this are the ramp-up
  Clock::time_point end;            // no operation is due at or after this
  std::atomic<std::uint64_t> next_operation{0};
  std::atomic<std::uint64_t> ramp_up_sent{0};
  std::atomic<std::uint64_t> answered{0};
  std::atomic<std::uint64_t> ok{0};
  std::atomic<std::uint64_t> refused[kOperationKinds] = {};
  std::atomic<Clock::rep> last_answer{0};
  std::atomic<bool> late{false};  // set when the drain timeout is over: answers are NOT_COMPLETED

  Run(const LoadPlan& p, const RequestFactory& f, net::HttpsConnectionPool& pl)
      : plan(p), factory(f), pool(pl) {}

  void record(OperationKind kind, Clock::time_point due,
              const core::Result<net::HttpsResponse>& answer) {
    const auto now = Clock::now();
    if (due < measured_from) {
      ++result.ramp_up_operations;
      if (late.load() || !error_code_of(answer).empty())
        ++result.ramp_up_errors;
      else
        ok.fetch_add(1);  // the progress line's count
      answered.fetch_add(1);
      return;
    }
    OperationStats& stats = result.by_kind[static_cast<std::size_t>(kind)];
    ++stats.count;
    if (late.load()) {
      ++stats.errors;
      ++result.errors_by_code[kNotCompleted];
      ++result.not_completed;
    } else {
      stats.latencies_ms.push_back(ms_between(due, now));
      std::string code = error_code_of(answer);
      if (code.empty()) {
        ++stats.ok;
        ok.fetch_add(1);
      } else {
        ++stats.errors;
        ++result.errors_by_code[code];
      }
      last_answer.store(now.time_since_epoch().count());
    }
    answered.fetch_add(1);
  }

  // Sends operation i, due at `due`; in closed loop its answer sends the next one.
  void send(std::uint64_t i, Clock::time_point due, bool closed_loop) {
    auto [kind, n] = operation(i, plan);
    if (due < measured_from) ramp_up_sent.fetch_add(1);
    bool queued = pool.submit(factory(kind, n), [this, kind = kind, due,
                                                 closed_loop](core::Result<net::HttpsResponse> r) {
      record(kind, due, r);
      if (!closed_loop || late.load()) return;
      const auto now = Clock::now();
      if (now < end) send(next_operation.fetch_add(1), now, true);
    });
    if (!queued && due >= measured_from) refused[static_cast<std::size_t>(kind)].fetch_add(1);
  }

  void run_open_loop(double rate) {
    const std::chrono::duration<double> interval(1.0 / rate);
    for (std::uint64_t i = 0;; ++i) {
      const auto due =
          start + std::chrono::duration_cast<Clock::duration>(interval * static_cast<double>(i));
      if (due >= end) break;
      std::this_thread::sleep_until(due);
      send(i, due, false);
      next_operation.store(i + 1);
    }
  }

  void run_closed_loop(std::size_t connections) {
    std::this_thread::sleep_until(start);
    for (std::size_t c = 0; c < connections; ++c)
      send(next_operation.fetch_add(1), Clock::now(), true);
    std::this_thread::sleep_until(end);
  }
};

// One line per second on stderr until `stop` is set.
class ProgressLine {
 public:
  explicit ProgressLine(const Run& run) : run_(run), thread_([this] { loop(); }) {}
  ~ProgressLine() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

 private:
  void loop() {
    std::unique_lock lock(mutex_);
    std::uint64_t previous_ok = 0;
    for (int second = 1; !changed_.wait_for(lock, kProgressPeriod, [&] { return stop_; });
         ++second) {
      const std::uint64_t sent = run_.next_operation.load(), answered = run_.answered.load(),
                          ok = run_.ok.load();
      const char* phase = Clock::now() < run_.measured_from ? " (ramp-up, not measured)" : "";
      std::fprintf(stderr,
                   "bench %4ds: sent %llu, answered %llu (ok %llu, errors %llu), in flight %llu, "
                   "last 1s %llu ok/s%s\n",
                   second, static_cast<unsigned long long>(sent),
                   static_cast<unsigned long long>(answered), static_cast<unsigned long long>(ok),
                   static_cast<unsigned long long>(answered - ok),
                   static_cast<unsigned long long>(sent > answered ? sent - answered : 0),
                   static_cast<unsigned long long>(ok - previous_ok), phase);
      std::fflush(stderr);
      previous_ok = ok;
    }
  }

  const Run& run_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

std::string error_code_of(const core::Result<net::HttpsResponse>& answer) {
  if (!answer) return std::string(core::error_code_name(answer.error().code));
  if (answer->status >= 200 && answer->status < 300) return {};
  boost::json::error_code ec;
  auto body = boost::json::parse(answer->body, ec);
  if (!ec && body.is_object()) {
    const auto* error = body.as_object().if_contains("error");
    if (error != nullptr && error->is_object()) {
      const auto* code = error->as_object().if_contains("code");
      if (code != nullptr && code->is_string()) return std::string(code->as_string());
    }
  }
  return "HTTP_" + std::to_string(answer->status);
}

LoadResult run_load(net::HttpsConnectionPool& pool, std::size_t connections, const LoadPlan& plan,
                    const RequestFactory& factory) {
  Run run(plan, factory, pool);
  // A little slack so that the first due time is not already in the past.
  run.start = Clock::now() + std::chrono::milliseconds(10);
  run.measured_from = run.start + plan.ramp_up;
  run.end = run.measured_from + plan.duration;
  {
    std::optional<ProgressLine> progress;
    if (plan.progress) progress.emplace(run);
    if (plan.rate)
      run.run_open_loop(*plan.rate);
    else
      run.run_closed_loop(connections);
    const auto drain_deadline = Clock::now() + plan.drain_timeout;
    while (pool.outstanding() > 0 && Clock::now() < drain_deadline)
      std::this_thread::sleep_for(kDrainPoll);
  }
  run.late.store(true);
  pool.stop();  // joins the I/O thread: `run.result` is ours from here on
  LoadResult result = std::move(run.result);
  result.scheduled = run.next_operation.load() - run.ramp_up_sent.load();
  for (std::size_t kind = 0; kind < kOperationKinds; ++kind) {
    const std::uint64_t refused = run.refused[kind].load();
    if (refused == 0) continue;
    result.by_kind[kind].count += refused;
    result.by_kind[kind].errors += refused;
    result.errors_by_code[kClientQueueFull] += refused;
  }
  const Clock::rep last = run.last_answer.load();
  const auto last_answer = last == 0 ? run.measured_from : Clock::time_point(Clock::duration(last));
  result.elapsed_s =
      std::max(0.0, ms_between(run.measured_from, std::max(last_answer, run.end)) / 1000.0);
  return result;
}

LatencySummary summarize(std::vector<double>& latencies_ms) {
  LatencySummary summary;
  if (latencies_ms.empty()) return summary;
  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto rank = [&](double p) {
    auto index = static_cast<std::size_t>(std::ceil(p * static_cast<double>(latencies_ms.size())));
    return latencies_ms[std::min(latencies_ms.size() - 1, index == 0 ? 0 : index - 1)];
  };
  summary.p50 = rank(0.50);
  summary.p95 = rank(0.95);
  summary.p99 = rank(0.99);
  summary.max = latencies_ms.back();
  double sum = 0;
  for (double value : latencies_ms) sum += value;
  summary.mean = sum / static_cast<double>(latencies_ms.size());
  return summary;
}

}  // namespace medledger::app::bench
