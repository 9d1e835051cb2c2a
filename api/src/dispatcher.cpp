#include "dispatcher.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <string>
#include <vector>

#include <boost/url/parse.hpp>

#include "medledger/api/logging.h"
#include "medledger/core/assert.h"

namespace medledger::api::detail {

namespace {
using core::ErrorCode;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kUnrouted = "-";
// Answer-time limits expire at most this late.
constexpr std::chrono::milliseconds kExpiryGranularity{100};
// Bounds on what a request target may carry (the header limit bounds the target too).
constexpr std::size_t kMaxQueryParams = 64;

// Fills request.path / request.query from request.target (origin-form only).
core::Result<void> parse_target(Request& request) {
  auto url = boost::urls::parse_origin_form(request.target);
  if (!url)
    return core::make_error(ErrorCode::kInvalidArgument, "the request target is not a valid path");
  request.path.clear();
  for (const std::string& segment : url->segments()) {
    // An encoded '/' inside a segment would change which route matches.
    if (segment.find('/') != std::string::npos) {
      return core::make_error(ErrorCode::kInvalidArgument, "a path segment holds an encoded '/'");
    }
    request.path += '/';
    request.path += segment;
  }
  if (request.path.empty()) request.path = "/";
  request.query.clear();
  for (const auto& param : url->params()) {
    if (request.query.size() == kMaxQueryParams) {
      return core::make_error(ErrorCode::kInvalidArgument, "too many query parameters");
    }
    request.query.emplace_back(param.key, param.value);
  }
  return core::success();
}

// "<hospital>/<id>": ids repeat across hospitals (each has its admin-1).
std::string logged_principal(const Principal& principal) {
  return principal.hospital.empty() ? principal.id : principal.hospital + "/" + principal.id;
}

std::string allow_header(const std::vector<Method>& methods) {
  std::string out;
  for (auto method : methods) {
    if (!out.empty()) out += ", ";
    out += method_name(method);
  }
  return out;
}
}  // namespace

core::Error handler_failed(const std::exception& e, const Route* route) {
  if (route != nullptr) {
    log_event(LogLevel::kError, "handler_exception",
              {{"route", route->pattern}, {"what", e.what()}});
  } else {
    log_event(LogLevel::kError, "handler_exception", {{"what", e.what()}});
  }
  return core::make_error(ErrorCode::kInternal, "the handler failed");
}

void AnswerDeadlines::watch(Responder::Weak request, const Route* route) {
  MEDLEDGER_ASSERT(route != nullptr);
  std::lock_guard lock(mutex_);
  // Read under the lock: deadlines then enter in time order, which take_due relies on.
  const auto deadline = Clock::now() + limit_;
  MEDLEDGER_ASSERT(watched_.empty() || watched_.back().deadline <= deadline);
  watched_.push_back(Watched{deadline, std::move(request), route});
}

AnswerDeadlines::Clock::time_point AnswerDeadlines::take_due(Clock::time_point now,
                                                             std::vector<Watched>& due) {
  Clock::time_point next =
      now + limit_;  // nothing watched: a request watched from now is due no sooner
  std::lock_guard lock(mutex_);
  while (!watched_.empty() && watched_.front().deadline <= now) {
    due.push_back(std::move(watched_.front()));
    watched_.pop_front();
  }
  // Coalesced: under load a deadline comes due every fraction of a millisecond,
  // and one wake-up per request would cost more than the late answers it saves.
  if (!watched_.empty()) next = std::max(watched_.front().deadline, now + kExpiryGranularity);
  return next;
}

void AnswerDeadlines::answer_expired(const std::vector<Watched>& due) const {
  // The rest wait on a commit the ledger has not reported: its outcome is unknown, not failed.
  const core::Error unconfirmed = core::make_error(
      ErrorCode::kCommitUnconfirmed, "no answer within limits.answer_timeout_ms (" +
                                         std::to_string(limit_.count()) +
                                         " ms); the operation may still commit: look it up before "
                                         "repeating it");
  for (const auto& entry : due) {
    // Most were answered long ago: their Weak answers nothing.
    if (entry.request.answer(unconfirmed)) {
      log_event(LogLevel::kWarn, "answer_timeout",
                {{"route", entry.route->pattern}, {"limit_ms", limit_.count()}});
    }
  }
}

AnswerDeadlines::Clock::time_point Dispatcher::expire_unanswered(
    AnswerDeadlines::Clock::time_point now, const Responder::Post& post) const {
  std::vector<AnswerDeadlines::Watched> due;
  const auto next = deadlines_->take_due(now, due);
  if (!due.empty()) {
    // Answering logs and writes metrics (a stuck log disk must not stall TLS): on the handler pool.
    post([deadlines = deadlines_, due = std::move(due)] { deadlines->answer_expired(due); });
  }
  return next;
}

Dispatcher::Dispatcher(std::shared_ptr<const Router> router,
                       std::shared_ptr<ClientAuthenticator> authenticator,
                       std::shared_ptr<MetricsRegistry> metrics,
                       std::chrono::milliseconds answer_timeout)
    : router_(std::move(router)),
      authenticator_(std::move(authenticator)),
      metrics_(std::move(metrics)),
      deadlines_(std::make_shared<AnswerDeadlines>(answer_timeout)) {}

std::optional<Response> Dispatcher::admit(Request& request, ConnectionIdentity& identity,
                                          const Route** route, const Principal** principal) const {
  if (auto parsed = parse_target(request); !parsed) return error_response(parsed.error());
  RouteMatch match = router_->match(request.method, request.path);
  if (match.route == nullptr) {
    // Which paths exist is told only to authenticated callers (the public /healthz aside).
    bool public_path = false;
    for (Method other : match.allowed) {
      const RouteMatch same_path = router_->match(other, request.path);
      public_path =
          public_path || (same_path.route != nullptr && same_path.route->access.is_public());
    }
    if (!public_path) {
      if (auto refusal = authenticate(identity, principal)) return refusal;
    }
    Response response = error_response(match.error);
    if (!match.allowed.empty()) response.headers.emplace_back("Allow", allow_header(match.allowed));
    return response;
  }
  *route = match.route;
  request.path_params = std::move(match.params);

  if (!match.route->access.is_public()) {
    if (auto refusal = authenticate(identity, principal)) return refusal;
    if (!match.route->access.allows((*principal)->role)) {
      return error_response(core::make_error(
          ErrorCode::kRoleForbidden,
          "role " + std::string(ca::role_name((*principal)->role)) + " may not call " +
              std::string(method_name(match.route->method)) + " " + match.route->pattern));
    }
  }

  return std::nullopt;
}

std::optional<Response> Dispatcher::authenticate(ConnectionIdentity& identity,
                                                 const Principal** principal) const {
  if (identity.peer_chain.empty()) {
    return error_response(
        core::make_error(ErrorCode::kClientCertificateRequired,
                         "this route needs a client certificate from an admitted hospital CA"));
  }
  // Re-authenticate when the trust changed (a CA admitted, a certificate revoked).
  const std::uint64_t generation = authenticator_->trust_generation();
  if (!identity.authenticated || identity.generation != generation) {
    identity.authenticated = authenticator_->authenticate(identity.peer_chain);
    identity.generation = generation;
  }
  if (!*identity.authenticated) return error_response(identity.authenticated->error());
  *principal = &identity.authenticated->value();
  return std::nullopt;
}

void Dispatcher::handle(Request& request, ConnectionIdentity& identity, Reply reply,
                        Responder::Post post) const {
  const auto started = Clock::now();
  const Route* route = nullptr;
  const Principal* principal = nullptr;
  std::optional<Response> refusal = admit(request, identity, &route, &principal);
  // Called once per request, from whichever thread has the response.
  auto finish = [this, started, method = request.method, route,
                 principal_id = principal ? logged_principal(*principal) : std::string(),
                 reply = std::move(reply)](core::Result<Response> result) {
    Response response = result ? std::move(*result) : error_response(result.error());
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    record(method_name(method), route ? std::string_view(route->pattern) : kUnrouted, response,
           seconds, principal_id.empty() ? nullptr : &principal_id);
    reply(std::move(response));
  };
  if (refusal) return finish(std::move(*refusal));
  // admit() routed the request and, unless the route is public, authenticated its caller.
  MEDLEDGER_ASSERT(route != nullptr);
  MEDLEDGER_ASSERT(route->access.is_public() || principal != nullptr);
  MEDLEDGER_ASSERT(static_cast<bool>(route->handler) != static_cast<bool>(route->async_handler));
  if (route->handler) {
    core::Result<Response> result = core::make_error(ErrorCode::kInternal, "unset");
    try {
      result = route->handler(request, principal);
    } catch (const std::exception& e) {
      result = handler_failed(e, route);
    }
    return finish(std::move(result));
  }
  Responder responder(std::move(finish), std::move(post));
  try {
    route->async_handler(request, principal, responder);
  } catch (const std::exception& e) {
    responder.answer(handler_failed(e, route));
  }
  // The limit runs from here: until the handler returned it used the connection's
  // identity and request, which the next request on the connection reuses.
  deadlines_->watch(responder.weak(), route);
}

Response Dispatcher::reject(const core::Error& error, std::string_view method) const {
  Response response = error_response(error);
  record(method, kUnrouted, response, 0, nullptr);
  return response;
}

void Dispatcher::record(std::string_view method, std::string_view route, const Response& response,
                        double seconds, const std::string* principal_id) const {
  const std::string route_label(route);
  metrics_->add(metric::kRequests, {{"method", std::string(method)},
                                    {"route", route_label},
                                    {"status", std::to_string(response.status)}});
  metrics_->observe_seconds(metric::kRequestSeconds, seconds, {{"route", route_label}});
  if (!response.error_code.empty()) metrics_->add(metric::kErrors, {{"code", response.error_code}});
  log_request({.method = method,
               .route = route,
               .status = response.status,
               .latency_ms = seconds * 1000.0,
               .principal = principal_id ? std::string_view(*principal_id) : std::string_view(),
               .error_code = response.error_code});
}

}  // namespace medledger::api::detail
