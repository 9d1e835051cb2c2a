// Router: the route table. Each route is a method, a path pattern with `{param}`
// segments, who may call it (public, or a set of certificate roles) and a handler.
//
//     Router router;
//     router.add({.method = Method::kGet, .pattern = "/v1/records/{id}",
//                 .access = Access::roles({ca::Role::kDoctor, ca::Role::kAuditor}),
//                 .handler = [&](const Request& r, const Principal* p) { ... }});
//
// The table is the authorisation matrix: one place says which role may call what,
// and tests/api checks it against docs/openapi.yaml.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "medledger/api/http.h"

namespace medledger::api {

/// Which callers a route admits.
class Access {
 public:
  /// No client certificate needed (health checks only): the handler gets a null Principal.
  static Access public_route() { return Access(true, 0); }
  /// An authenticated client whose certificate role is one of `roles`.
  static Access roles(std::initializer_list<ca::Role> roles);
  /// Any authenticated client, whatever its role.
  static Access any_role();

  bool is_public() const { return public_; }
  bool allows(ca::Role role) const { return (role_mask_ & bit(role)) != 0; }
  /// "public" or the allowed role names joined by ',' (docs, openapi x-roles).
  std::string describe() const;

 private:
  Access(bool is_public, std::uint32_t mask) : public_(is_public), role_mask_(mask) {}
  static std::uint32_t bit(ca::Role role) { return 1u << static_cast<unsigned>(role); }
  bool public_;
  std::uint32_t role_mask_;
};

/// A handler: may block (it runs on the handler pool, never on an I/O thread).
/// `principal` is null only on public routes. Errors become error_response().
using Handler = std::function<core::Result<Response>(const Request&, const Principal*)>;

/// Answers a request whose handler returned before its response was ready
/// (AsyncHandler): a write waiting for its block's commit parks no thread.
/// Copyable, any thread; the first answer counts, later ones are ignored, and a
/// request whose last Responder goes away unanswered gets 500 INTERNAL.
class Responder {
 public:
  using Answer = std::function<void(core::Result<Response>)>;
  using Post = std::function<void(std::function<void()>)>;
  /// `answer` sends the response; `post` runs work on the handler pool.
  Responder(Answer answer, Post post);

  void answer(core::Result<Response> response) const;
  /// Runs `build` on the handler pool and answers with what it returns: for a
  /// completion that arrives on a thread that must stay free (the ledger's writer).
  void answer_on_pool(std::function<core::Result<Response>()> build) const;

 private:
  struct State;

 public:
  /// Answers only while the request is unanswered and a Responder still holds
  /// it: a time limit watches a request without keeping it alive.
  class Weak {
   public:
    /// True if this was the request's first answer.
    bool answer(core::Result<Response> response) const;

   private:
    friend class Responder;
    std::weak_ptr<State> state_;
  };
  Weak weak() const;

 private:
  std::shared_ptr<State> state_;
};

/// A handler that answers through the Responder, now or later. It runs on the
/// handler pool, as Handler does; what it returns with is not the response.
using AsyncHandler = std::function<void(const Request&, const Principal*, Responder)>;

struct Route {
  Method method = Method::kGet;
  std::string pattern;  // "/v1/records/{id}": literal segments and whole-segment {name}s
  Access access = Access::any_role();
  Handler handler;  // exactly one of handler and async_handler
  AsyncHandler async_handler;
};

/// What the router found for a method and path.
struct RouteMatch {
  const Route* route = nullptr;  // null: see error
  std::map<std::string, std::string, std::less<>> params;
  core::Error error;            // kRouteNotFound or kMethodNotAllowed when route is null
  std::vector<Method> allowed;  // for kMethodNotAllowed: the methods the path has
};

class Router {
 public:
  /// Adds a route. kInvalidArgument if the pattern is malformed (must start with
  /// '/', no empty segments, `{name}` only as a whole segment with a unique name),
  /// the handler is empty, or the same method + pattern shape is already routed.
  core::Result<void> add(Route route);

  /// Finds the route for `method` and a decoded `path`. A literal segment wins over
  /// a `{param}` at the same position. Cost: linear in the number of routes.
  RouteMatch match(Method method, std::string_view path) const;

  /// Every route in the order added (for docs and the OpenAPI check).
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

}  // namespace medledger::api
