#include "medledger/api/builtin_routes.h"

#include <map>
#include <mutex>
#include <string>

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
    check = std::move(*result);
    check["status"] = "ok";
  } else {
    healthy = false;
    check["status"] = "failed";
    check["code"] = core::error_code_name(result.error().code);
    check["message"] = result.error().message;
  }
  return check;
}

// kHealthUpMetric as 0/1 per component; gauges only move by deltas, so the last
// value is remembered (under a mutex: concurrent probes must not double-count).
class HealthGauges {
 public:
  explicit HealthGauges(std::shared_ptr<MetricsRegistry> metrics) : metrics_(std::move(metrics)) {}
  void set(const char* component, const boost::json::object& check) {
    if (!metrics_ || check.at("status") == "not_configured") return;
    const int up = check.at("status") == "ok" ? 1 : 0;
    std::lock_guard lock(mutex_);
    int& last = last_[component];
    if (up != last) metrics_->adjust_gauge(kHealthUpMetric, up - last, {{"component", component}});
    last = up;
  }

 private:
  std::shared_ptr<MetricsRegistry> metrics_;
  std::mutex mutex_;
  std::map<std::string, int> last_;
};
}  // namespace

core::Result<void> add_health_route(Router& router, HealthProbes probes,
                                    std::shared_ptr<MetricsRegistry> metrics) {
  if (metrics)
    metrics->describe(kHealthUpMetric, "gauge",
                      "1 if the component was usable at the last /healthz, else 0");
  Route route;
  route.method = Method::kGet;
  route.pattern = "/healthz";
  route.access = Access::public_route();
  auto gauges = std::make_shared<HealthGauges>(std::move(metrics));
  route.handler = [probes = std::move(probes), gauges](const Request&,
                                                       const Principal*) -> core::Result<Response> {
    bool healthy = true;
    boost::json::object checks;
    checks["token"] = check_result(probes.token, healthy);
    checks["ledger"] = check_result(probes.ledger, healthy);
    gauges->set("token", checks["token"].as_object());
    gauges->set("ledger", checks["ledger"].as_object());
    boost::json::object body;
    body["status"] = healthy ? "ok" : "unavailable";
    body["checks"] = std::move(checks);
    // A failing health check is an answer, not an error of the request: no error code.
    return json_response(body, healthy ? 200 : 503);
  };
  return router.add(std::move(route));
}

core::Result<void> add_metrics_route(Router& router, std::shared_ptr<const MetricsRegistry> metrics,
                                     Access access) {
  Route route;
  route.method = Method::kGet;
  route.pattern = "/metrics";
  route.access = access;
  route.handler = [metrics = std::move(metrics)](const Request&,
                                                 const Principal*) -> core::Result<Response> {
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

core::Result<void> add_appliance_routes(Router& router, ApplianceRoutes parts,
                                        std::shared_ptr<NodeBinding> node) {
  MEDLEDGER_TRY(add_health_route(router, std::move(parts.probes), parts.metrics));
  MEDLEDGER_TRY(add_metrics_route(router, std::move(parts.metrics)));
  MEDLEDGER_TRY(add_whoami_route(router));
  MEDLEDGER_TRY(add_node_routes(router, std::move(node)));
  return core::success();
}

}  // namespace medledger::api
