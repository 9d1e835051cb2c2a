// HTTP requests past TLS (api/src/dispatcher.h): the request target (path, percent
// decoding, query), routing, the role check and each route's JSON body parsing, through
// the production Dispatcher and the appliance's route table. The client certificate is
// replaced by an authenticator that names the caller: input byte 0 picks the role (of
// hospital-a), then "<METHOD> <target>\n", then the body. The node routes have no node
// behind them (as in a server without a token): they parse their body, then answer 503.
// Every request must be answered exactly once, and never with 500 INTERNAL (a handler
// that threw, or an async one that dropped its request).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "dispatcher.h"
#include "fuzz_support.h"
#include "medledger/api/builtin_routes.h"
#include "medledger/api/logging.h"
#include "medledger/api/metrics.h"

using namespace medledger;

namespace {

class NamedCaller final : public api::ClientAuthenticator {
 public:
  core::Result<api::Principal> authenticate(const std::vector<core::Bytes>& chain) override {
    api::Principal caller;
    caller.role = static_cast<ca::Role>(chain.front().front() % 5);
    caller.id = "fuzz-1";
    caller.hospital = "hospital-a";
    caller.fingerprint = std::string(64, '0');
    return caller;
  }
  std::uint64_t trust_generation() const override { return 0; }
};

const api::detail::Dispatcher& dispatcher() {
  static api::detail::Dispatcher* made = [] {
    if (!api::configure_logging({.level = "off"})) std::abort();
    auto metrics = std::make_shared<api::MetricsRegistry>();
    auto router = std::make_shared<api::Router>();
    if (!api::add_appliance_routes(*router, {{}, metrics})) std::abort();
    return new api::detail::Dispatcher(router, std::make_shared<NamedCaller>(), metrics,
                                       std::chrono::milliseconds(1000));
  }();
  return *made;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const auto text = fuzz::as_text(data + 1, size - 1);
  const auto line_end = text.find('\n');
  const auto line = text.substr(0, line_end);
  const auto space = line.find(' ');
  if (space == std::string_view::npos) return 0;

  api::Request request;
  request.method = api::parse_method(line.substr(0, space));
  request.target = std::string(line.substr(space + 1));
  if (line_end != std::string_view::npos) request.body = std::string(text.substr(line_end + 1));
  request.headers = {{"content-type", "application/json"}};
  api::detail::ConnectionIdentity identity;
  identity.peer_chain = {core::Bytes{data[0]}};

  int answers = 0;
  const api::Responder::Post inline_post = [](std::function<void()> work) { work(); };
  dispatcher().handle(
      request, identity,
      [&](api::Response response) {
        ++answers;
        if (response.status == 500) {
          std::fprintf(stderr, "500 for %s: %s\n", request.target.c_str(), response.body.c_str());
          std::abort();
        }
      },
      inline_post);
  // Answered requests leave a watch behind; let the dispatcher drop them.
  (void)dispatcher().expire_unanswered(
      api::detail::AnswerDeadlines::Clock::now() + std::chrono::hours(1), inline_post);
  if (answers != 1) {
    std::fprintf(stderr, "%d answers for %s\n", answers, request.target.c_str());
    std::abort();
  }
  return 0;
}
