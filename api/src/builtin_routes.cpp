#include "medledger/api/builtin_routes.h"

#include <boost/json/object.hpp>

#include "medledger/api/node_routes.h"

namespace medledger::api {

namespace {
boost::json::object check_result(const HealthProbe& probe, bool& healthy) {
  boost::json::object check;
  if (!probe) {
    check["status"] = "not_configured";
    return check;
  }
  auto result = probe();
  if (result) {
    check["status"] = "ok";
  } else {
    healthy = false;
    check["status"] = "failed";
    check["code"] = core::error_code_name(result.error().code);
  }
  return check;
}
}  // namespace

core::Result<void> add_health_route(Router& router, HealthProbes probes) {
  Route route;
  route.method = Method::kGet;
  route.pattern = "/healthz";
  route.access = Access::public_route();
  route.handler = [probes = std::move(probes)](const Request&, const Principal*) -> core::Result<Response> {
    bool healthy = true;
    boost::json::object checks;
    checks["token"] = check_result(probes.token, healthy);
    checks["ledger"] = check_result(probes.ledger, healthy);
    boost::json::object body;
    body["status"] = healthy ? "ok" : "unavailable";
    body["checks"] = std::move(checks);
    // A failing health check is an answer, not an error of the request: no error code.
    return json_response(body, healthy ? 200 : 503);
  };
  return router.add(std::move(route));
}

core::Result<void> add_metrics_route(Router& router, std::shared_ptr<const MetricsRegistry> metrics, Access access) {
  Route route;
  route.method = Method::kGet;
  route.pattern = "/metrics";
  route.access = access;
  route.handler = [metrics = std::move(metrics)](const Request&, const Principal*) -> core::Result<Response> {
    Response response;
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    response.body = metrics->render_prometheus();
    return response;
  };
  return router.add(std::move(route));
}

core::Result<void> add_whoami_route(Router& router) {
  Route route;
  route.method = Method::kGet;
  route.pattern = "/v1/whoami";
  route.access = Access::any_role();
  route.handler = [](const Request&, const Principal* principal) -> core::Result<Response> {
    boost::json::object body;
    body["role"] = ca::role_name(principal->role);
    body["id"] = principal->id;
    body["hospital"] = principal->hospital;
    body["fingerprint"] = principal->fingerprint;
    return json_response(body);
  };
  return router.add(std::move(route));
}

core::Result<void> add_appliance_routes(Router& router, ApplianceRoutes parts, std::shared_ptr<NodeBinding> node) {
  MEDLEDGER_TRY(add_health_route(router, std::move(parts.probes)));
  MEDLEDGER_TRY(add_metrics_route(router, std::move(parts.metrics)));
  MEDLEDGER_TRY(add_whoami_route(router));
  MEDLEDGER_TRY(add_node_routes(router, std::move(node)));
  return core::success();
}

}  // namespace medledger::api
