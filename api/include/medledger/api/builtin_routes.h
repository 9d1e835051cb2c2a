// Routes every server has: health, metrics and "who am I".
#pragma once

#include <functional>
#include <memory>

#include "medledger/api/metrics.h"
#include "medledger/api/router.h"

namespace medledger::api {

struct NodeBinding;  // node_routes.h

/// A health probe: success, or why the part is unusable. Must be quick (< 1 s):
/// load balancers call /healthz often.
using HealthProbe = std::function<core::Result<void>()>;

struct HealthProbes {
  HealthProbe token;   // the PKCS#11 token answers (node/: a session and C_GetTokenInfo)
  HealthProbe ledger;  // the ledger can take a write (node/: LMDB env open, disk not full)
};

/// GET /healthz, public (no client certificate): 200 {"status":"ok","checks":{...}}
/// when every probe succeeds, else 503 with {"status":"unavailable"} and each
/// failing check's code. An absent probe is reported as "not_configured" and does
/// not fail the check.
core::Result<void> add_health_route(Router& router, HealthProbes probes);

/// GET /metrics in the Prometheus text format; callers need a client certificate
/// of one of `access`'s roles (default: admin, auditor, node).
core::Result<void> add_metrics_route(Router& router, std::shared_ptr<const MetricsRegistry> metrics,
                                     Access access = Access::roles({ca::Role::kAdmin, ca::Role::kAuditor,
                                                                    ca::Role::kNode}));

/// GET /v1/whoami: the authenticated principal {role, id, hospital, fingerprint}; any role.
core::Result<void> add_whoami_route(Router& router);

/// What the appliance's routes need (node/ joins here when it lands).
struct ApplianceRoutes {
  HealthProbes probes;
  std::shared_ptr<const MetricsRegistry> metrics;
};

/// The route table `medledger serve` serves: the one docs/openapi.yaml describes
/// (tests/api checks both agree, route by route and role by role).
/// Without `node` (null) the node routes answer 503 (node_routes.h).
core::Result<void> add_appliance_routes(Router& router, ApplianceRoutes parts,
                                        std::shared_ptr<NodeBinding> node = nullptr);

}  // namespace medledger::api
