#include "medledger/api/router.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <set>

#include "dispatcher.h"
#include "medledger/core/assert.h"

namespace medledger::api {

namespace {
using core::ErrorCode;

// Upper bound on path segments of a pattern or a request path we try to match:
// our routes are at most 6 deep; a longer path cannot match anything.
constexpr std::size_t kMaxSegments = 16;

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> segments;
  if (path.empty() || path.front() != '/') return segments;
  std::size_t start = 1;
  while (start <= path.size() && segments.size() <= kMaxSegments) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    segments.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return segments;
}

bool is_param(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// The shape of a pattern: params replaced by "{}", so "/a/{x}" and "/a/{y}" collide.
std::string shape_of(const std::vector<std::string_view>& segments) {
  std::string shape;
  for (auto segment : segments) {
    shape += '/';
    shape += is_param(segment) ? std::string_view("{}") : segment;
  }
  return shape;
}

// Number of literal segments: the more specific route wins.
int specificity(const std::vector<std::string_view>& pattern) {
  return static_cast<int>(
      std::count_if(pattern.begin(), pattern.end(), [](auto s) { return !is_param(s); }));
}

bool matches(const std::vector<std::string_view>& pattern,
             const std::vector<std::string_view>& path,
             std::map<std::string, std::string, std::less<>>* params) {
  if (pattern.size() != path.size()) return false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (is_param(pattern[i])) {
      if (path[i].empty()) return false;
      if (params)
        params->emplace(std::string(pattern[i].substr(1, pattern[i].size() - 2)),
                        std::string(path[i]));
    } else if (pattern[i] != path[i]) {
      return false;
    }
  }
  return true;
}
}  // namespace

Access Access::roles(std::initializer_list<ca::Role> roles) {
  std::uint32_t mask = 0;
  for (auto role : roles) mask |= bit(role);
  return Access(false, mask);
}

Access Access::any_role() {
  std::uint32_t mask = 0;
  for (const auto& profile : ca::all_profiles()) mask |= bit(profile.role);
  return Access(false, mask);
}

std::string Access::describe() const {
  if (public_) return "public";
  std::string out;
  for (const auto& profile : ca::all_profiles()) {
    if (!allows(profile.role)) continue;
    if (!out.empty()) out += ',';
    out += ca::role_name(profile.role);
  }
  return out;
}

struct Responder::State {
  Answer answer;
  Post post;
  std::atomic<bool> answered{false};

  bool send(core::Result<Response> response) {
    if (answered.exchange(true)) return false;
    answer(std::move(response));
    return true;
  }
  ~State() {
    // A handler that dropped its request must not leave the client waiting.
    if (answered.load()) return;
    try {
      answer(core::make_error(ErrorCode::kInternal, "the request was dropped without an answer"));
    } catch (...) {  // a destructor must not throw; the connection's timeouts end it
    }
  }
};

// Not make_shared: a Weak held by the answer-time limit would keep the whole block
// (two std::functions) allocated for the limit's length; only the control block stays.
Responder::Responder(Answer answer, Post post) : state_(new State()) {
  state_->answer = std::move(answer);
  state_->post = std::move(post);
}

void Responder::answer(core::Result<Response> response) const { state_->send(std::move(response)); }

Responder::Weak Responder::weak() const {
  Weak weak;
  weak.state_ = state_;
  return weak;
}

bool Responder::Weak::answer(core::Result<Response> response) const {
  auto state = state_.lock();
  return state && state->send(std::move(response));
}

void Responder::answer_on_pool(std::function<core::Result<Response>()> build) const {
  state_->post([state = state_, build = std::move(build)] {
    try {
      state->send(build());
    } catch (const std::exception& e) {
      state->send(detail::handler_failed(e));
    }
  });
}

core::Result<void> Router::add(Route route) {
  auto invalid = [&](const std::string& why) {
    return core::make_error(
        ErrorCode::kInvalidArgument,
        "route " + std::string(method_name(route.method)) + " " + route.pattern + ": " + why);
  };
  if (!route.handler && !route.async_handler) return invalid("no handler");
  if (route.handler && route.async_handler) return invalid("both a handler and an async handler");
  if (route.method == Method::kOther) return invalid("unsupported method");
  auto segments = split_path(route.pattern);
  if (segments.empty() || segments.size() > kMaxSegments)
    return invalid("must start with '/' and be at most 16 segments");
  std::set<std::string_view> names;
  for (auto segment : segments) {
    if (segment.empty()) return invalid("empty segment");
    bool opens = segment.find('{') != std::string_view::npos;
    bool closes = segment.find('}') != std::string_view::npos;
    if ((opens || closes) && !is_param(segment)) return invalid("{name} must be a whole segment");
    if (is_param(segment) && !names.insert(segment).second) return invalid("parameter named twice");
  }
  const std::string shape = shape_of(segments);
  for (const auto& existing : routes_) {
    if (existing.method == route.method && shape_of(split_path(existing.pattern)) == shape) {
      return invalid("already routed as " + existing.pattern);
    }
  }
  routes_.push_back(std::move(route));
  return core::success();
}

RouteMatch Router::match(Method method, std::string_view path) const {
  RouteMatch result;
  const auto path_segments = split_path(path);
  int best = -1;
  for (const auto& route : routes_) {
    const auto pattern = split_path(route.pattern);
    if (!matches(pattern, path_segments, nullptr)) continue;
    // HEAD is served by GET routes (the server sends no body).
    bool method_fits =
        route.method == method || (method == Method::kHead && route.method == Method::kGet);
    if (!method_fits) {
      if (std::find(result.allowed.begin(), result.allowed.end(), route.method) ==
          result.allowed.end()) {
        result.allowed.push_back(route.method);
      }
      continue;
    }
    int score = specificity(pattern);
    if (score > best) {
      best = score;
      result.route = &route;
    }
  }
  if (result.route != nullptr) {
    const auto pattern = split_path(result.route->pattern);
    const bool matched = matches(pattern, path_segments, &result.params);
    // It matched above, and add() refused a parameter named twice: each {param} fills one entry.
    MEDLEDGER_ASSERT(matched);
    MEDLEDGER_ASSERT(result.params.size() == static_cast<std::size_t>(std::count_if(
                                                 pattern.begin(), pattern.end(), is_param)));
    result.allowed.clear();
    return result;
  }
  if (!result.allowed.empty()) {
    result.error =
        core::make_error(ErrorCode::kMethodNotAllowed,
                         std::string(method_name(method)) + " is not allowed on this path");
  } else {
    result.error = core::make_error(ErrorCode::kRouteNotFound, "no route for this path");
  }
  return result;
}

}  // namespace medledger::api
