// Routes every server has: health, metrics and "who am I".
#pragma once

#include <functional>
#include <memory>

#include <boost/json/object.hpp>

#include "medledger/api/metrics.h"
#include "medledger/api/router.h"

namespace medledger::api {

struct NodeBinding;  // node_routes.h

/// A health probe: details of the part (shown under its check), or why it is
/// unusable. Must be quick (< 1 s): load balancers call /healthz often.
using HealthProbe = std::function<core::Result<boost::json::object>()>;

struct HealthProbes {
  HealthProbe token;   // the PKCS#11 tokens answer (health.h token_probe)
  HealthProbe ledger;  // the ledger can take a write (health.h ledger_probe)
};

/// Gauge medledger_health_up{component="token"|"ledger"}: 1 while the last
/// /healthz found the part usable, 0 otherwise (absent before the first call).
inline constexpr const char* kHealthUpMetric = "medledger_health_up";

/// GET /healthz, public (no client certificate): 200 {"status":"ok","checks":
/// {"token":{"status":"ok",...details}, "ledger":{...}}} when every probe
/// succeeds, else 503 with {"status":"unavailable"} and each failing check's
/// "code" and "message" (no secrets: token labels, byte counts). An absent probe
/// is "not_configured" and does not fail the check. With `metrics`, updates
/// kHealthUpMetric on every call.
core::Result<void> add_health_route(Router& router, HealthProbes probes,
                                    std::shared_ptr<MetricsRegistry> metrics = nullptr);

/// GET /metrics in the Prometheus text format; callers need a client certificate
/// of one of `access`'s roles (default: admin, auditor, node).
core::Result<void> add_metrics_route(
    Router& router, std::shared_ptr<const MetricsRegistry> metrics,
    Access access = Access::roles({ca::Role::kAdmin, ca::Role::kAuditor, ca::Role::kNode}));

/// GET /v1/whoami: the authenticated principal {role, id, hospital, fingerprint}; any role.
core::Result<void> add_whoami_route(Router& router);

/// What the appliance's routes need (node/ joins here when it lands).
struct ApplianceRoutes {
  HealthProbes probes;
  std::shared_ptr<MetricsRegistry> metrics;
};

/// The route table `medledger serve` serves: the one docs/openapi.yaml describes
/// (tests/api checks both agree, route by route and role by role).
/// Without `node` (null) the node routes answer 503 (node_routes.h).
core::Result<void> add_appliance_routes(Router& router, ApplianceRoutes parts,
                                        std::shared_ptr<NodeBinding> node = nullptr);

}  // namespace medledger::api
