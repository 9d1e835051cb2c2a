// Async routes: a handler that answers later through its Responder parks no
// handler thread, its answer reaches the client whenever (and from whichever
// thread) it comes, a request dropped unanswered is 500 INTERNAL, and one still
// unanswered after limits.answer_timeout is 504 COMMIT_UNCONFIRMED.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

#include <boost/json/parse.hpp>

#include "api_test_support.h"

namespace medledger::api {
namespace {

using testing::curl;
using testing::Pki;

// Holds the Responders of /v1/test/later until the test answers them.
struct ParkedRequests {
  std::mutex mutex;
  std::vector<Responder> parked;
  std::condition_variable arrived;

  void park(Responder responder) {
    {
      std::lock_guard lock(mutex);
      parked.push_back(std::move(responder));
    }
    arrived.notify_all();
  }
  bool wait_for(std::size_t count) {
    std::unique_lock lock(mutex);
    return arrived.wait_for(lock, std::chrono::seconds(10), [&] { return parked.size() >= count; });
  }
  std::optional<Responder> take() {
    std::lock_guard lock(mutex);
    if (parked.empty()) return std::nullopt;
    Responder responder = parked.front();
    parked.erase(parked.begin());
    return responder;
  }
};

void add_async_routes(Router& router, const std::shared_ptr<ParkedRequests>& parked) {
  Route later;
  later.method = Method::kGet;
  later.pattern = "/v1/test/later";
  later.access = Access::any_role();
  later.async_handler = [parked](const Request&, const Principal*, Responder responder) {
    parked->park(std::move(responder));
  };
  ASSERT_TRUE(router.add(std::move(later)).ok());

  Route dropped;
  dropped.method = Method::kGet;
  dropped.pattern = "/v1/test/dropped";
  dropped.access = Access::any_role();
  dropped.async_handler = [](const Request&, const Principal*, Responder) {
  };  // forgets the request
  ASSERT_TRUE(router.add(std::move(dropped)).ok());

  Route throws;
  throws.method = Method::kGet;
  throws.pattern = "/v1/test/throws";
  throws.access = Access::any_role();
  throws.async_handler = [](const Request&, const Principal*, Responder) -> void {
    throw std::runtime_error("a bug");
  };
  ASSERT_TRUE(router.add(std::move(throws)).ok());
}

class AsyncRouteTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = Pki::create().release(); }
  static void TearDownTestSuite() { delete pki_; }

  testing::TestServer* start(
      std::uint32_t handler_threads,
      std::chrono::milliseconds answer_timeout = LimitsConfig{}.answer_timeout) {
    testing::TestServerOptions options;
    options.tweak_config = [handler_threads, answer_timeout](ServerConfig& config) {
      config.threads.handlers = handler_threads;
      config.limits.answer_timeout = answer_timeout;
    };
    options.extra_routes = [parked = parked_](Router& router) { add_async_routes(router, parked); };
    server_ = testing::start_server(*pki_, options);
    return server_.get();
  }

  // Requests a failed test left parked are answered (500) while the server runs.
  void TearDown() override {
    std::lock_guard lock(parked_->mutex);
    parked_->parked.clear();
  }

  static Pki* pki_;
  std::unique_ptr<testing::TestServer> server_;
  std::shared_ptr<ParkedRequests> parked_ = std::make_shared<ParkedRequests>();
};
Pki* AsyncRouteTest::pki_ = nullptr;

TEST_F(AsyncRouteTest, PendingRequestsHoldNoHandlerThreadAndAreAnsweredFromAnotherThread) {
  auto server = start(1);  // one handler thread for everything
  // Three requests wait for their answers at once...
  std::vector<std::future<testing::HttpResult>> waiting;
  for (int i = 0; i < 3; ++i) {
    waiting.push_back(std::async(std::launch::async, [&] {
      return curl(*pki_, server->port(), "/v1/test/later", testing::kNode);
    }));
  }
  ASSERT_TRUE(parked_->wait_for(3));
  // ...and the one handler thread still serves a plain route meanwhile.
  auto whoami = curl(*pki_, server->port(), "/v1/whoami", testing::kNode);
  EXPECT_EQ(whoami.status, 200) << whoami.body;
  for (auto& request : waiting) {
    EXPECT_EQ(request.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  }
  // Answered from a thread that is neither an I/O nor a handler thread (as the
  // ledger's writer is); the first answer counts.
  std::thread answering([&] {
    for (int i = 0; i < 3; ++i) {
      auto responder = parked_->take();
      ASSERT_TRUE(responder);
      responder->answer(json_response(boost::json::object{{"n", i}}, 201));
      responder->answer(core::make_error(core::ErrorCode::kInternal, "ignored: answered already"));
    }
  });
  answering.join();
  for (auto& request : waiting) {
    auto result = request.get();
    EXPECT_EQ(result.status, 201) << result.body;
    EXPECT_TRUE(boost::json::parse(result.body).as_object().contains("n")) << result.body;
  }
}

TEST_F(AsyncRouteTest, AnswerOnPoolBuildsTheResponseOnAHandlerThread) {
  auto server = start(2);
  auto request = std::async(std::launch::async, [&] {
    return curl(*pki_, server->port(), "/v1/test/later", testing::kNode);
  });
  ASSERT_TRUE(parked_->wait_for(1));
  auto responder = parked_->take();
  ASSERT_TRUE(responder);
  const auto caller = std::this_thread::get_id();
  responder->answer_on_pool([caller]() -> core::Result<Response> {
    if (std::this_thread::get_id() == caller)
      return core::make_error(core::ErrorCode::kInternal, "built on the caller's thread");
    return json_response(boost::json::object{{"built", "on the pool"}});
  });
  auto result = request.get();
  EXPECT_EQ(result.status, 200) << result.body;
}

TEST_F(AsyncRouteTest, RequestDroppedUnansweredIs500Internal) {
  auto server = start(2);
  auto result = curl(*pki_, server->port(), "/v1/test/dropped", testing::kNode);
  EXPECT_EQ(result.status, 500) << result.body;
  EXPECT_NE(result.body.find("INTERNAL"), std::string::npos) << result.body;
}

TEST_F(AsyncRouteTest, AsyncHandlerThatThrowsIs500InternalAndTheServerServesOn) {
  auto server = start(1);
  auto result = curl(*pki_, server->port(), "/v1/test/throws", testing::kNode);
  EXPECT_EQ(result.status, 500) << result.body;
  EXPECT_NE(result.body.find("INTERNAL"), std::string::npos) << result.body;
  EXPECT_EQ(curl(*pki_, server->port(), "/v1/whoami", testing::kNode).status, 200);
}

TEST_F(AsyncRouteTest,
       RequestUnansweredPastTheAnswerTimeoutIs504CommitUnconfirmedAndItsLateAnswerIsDropped) {
  auto server = start(1, std::chrono::milliseconds(300));
  const auto sent = std::chrono::steady_clock::now();
  auto result = curl(*pki_, server->port(), "/v1/test/later", testing::kNode);
  const auto waited = std::chrono::steady_clock::now() - sent;
  EXPECT_EQ(result.status, 504) << result.body;
  EXPECT_NE(result.body.find("COMMIT_UNCONFIRMED"), std::string::npos) << result.body;
  EXPECT_GE(waited, std::chrono::milliseconds(300));  // not before its limit
  // The handler still holds the request: its late answer is the second, dropped.
  auto parked = parked_->take();
  ASSERT_TRUE(parked);
  EXPECT_FALSE(parked->weak().answer(json_response(boost::json::object{{"late", true}}, 201)));
  // Counted as an error by code, and the server serves on.
  auto metrics = curl(*pki_, server->port(), "/metrics", testing::kAuditor);
  ASSERT_EQ(metrics.status, 200) << metrics.body;
  EXPECT_NE(metrics.body.find("medledger_http_errors_total{code=\"COMMIT_UNCONFIRMED\"} 1"),
            std::string::npos)
      << metrics.body;
  EXPECT_EQ(curl(*pki_, server->port(), "/v1/whoami", testing::kNode).status, 200);
}

TEST_F(AsyncRouteTest, RequestAnsweredWithinTheAnswerTimeoutKeepsItsAnswer) {
  auto server = start(1, std::chrono::milliseconds(300));
  // Answered at once (each within its limit), one after another past one limit:
  // the timer expires only requests that are still unanswered.
  for (int i = 0; i < 3; ++i) {
    auto request = std::async(std::launch::async, [&] {
      return curl(*pki_, server->port(), "/v1/test/later", testing::kNode);
    });
    ASSERT_TRUE(parked_->wait_for(1));
    auto responder = parked_->take();
    ASSERT_TRUE(responder);
    EXPECT_TRUE(responder->weak().answer(json_response(boost::json::object{{"n", i}}, 201)));
    auto result = request.get();
    EXPECT_EQ(result.status, 201) << result.body;
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
  }
  // The timer did run past their deadlines: one left unanswered is the only 504.
  EXPECT_EQ(curl(*pki_, server->port(), "/v1/test/later", testing::kNode).status, 504);
  auto metrics = curl(*pki_, server->port(), "/metrics", testing::kAuditor);
  ASSERT_EQ(metrics.status, 200) << metrics.body;
  EXPECT_NE(metrics.body.find("medledger_http_errors_total{code=\"COMMIT_UNCONFIRMED\"} 1\n"),
            std::string::npos)
      << metrics.body;
}

TEST_F(AsyncRouteTest, AsyncRoutesStillNeedTheRightRole) {
  auto server = start(1);
  auto result = curl(*pki_, server->port(), "/v1/test/later");  // no client certificate
  EXPECT_EQ(result.status, 401) << result.body;
  EXPECT_FALSE(parked_->take());  // the handler never ran
}

}  // namespace
}  // namespace medledger::api
