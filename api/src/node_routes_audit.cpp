// The auditor's routes: POST /v1/audit/export (JSON bundle, or the self-verifying tar
// archive) and GET /v1/audit/events (FHIR R4 AuditEvents). docs/audit.md, docs/api.md.
#include <algorithm>
#include <array>
#include <charconv>

#include "medledger/node/audit_bundle.h"
#include "node_routes_support.h"

namespace medledger::api {

namespace {

using core::ErrorCode;
using namespace node_routes;

constexpr std::array<std::string_view, 5> kExportMembers = {"patient", "record", "from_ms", "to_ms",
                                                            "format"};
constexpr std::array<std::string_view, 4> kEventParams = {"patient", "record", "from_ms", "to_ms"};

core::Error unknown_filter(std::string_view kind, std::string_view name,
                           std::span<const std::string_view> allowed) {
  std::string list;
  for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
  return core::make_error(
      ErrorCode::kInvalidArgument,
      "unknown " + std::string(kind) + " '" + std::string(name) + "' (known: " + list + ")");
}

core::Result<std::optional<std::int64_t>> query_time(const Request& request, const char* name) {
  auto text = request.query_param(name);
  if (!text) return std::optional<std::int64_t>();
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size()) {
    return core::make_error(ErrorCode::kAuditRangeInvalid,
                            std::string("`") + name + "` is not a time in Unix milliseconds");
  }
  return std::optional<std::int64_t>(value);
}

// Collects an export's bytes up to the node's limit (the sink refuses past it).
core::Result<Response> buffered(
    const char* content_type, std::uint64_t limit,
    const std::function<core::Result<std::uint64_t>(std::uint64_t, const node::ByteSink&)>&
        produce) {
  Response response;
  response.content_type = content_type;
  MEDLEDGER_TRY(produce(limit, [&](std::string_view bytes) {
    response.body.append(bytes);
    return core::success();
  }));
  return response;
}

core::Result<Response> export_audit(const NodeCall& call, const Request& request) {
  MEDLEDGER_TRY_ASSIGN(auto body, parse_json_object(request));
  for (const auto& member : body) {
    if (std::find(kExportMembers.begin(), kExportMembers.end(), member.key()) ==
        kExportMembers.end())
      return unknown_filter("member", member.key(), kExportMembers);
  }
  node::AuditQuery query;
  MEDLEDGER_TRY_ASSIGN(query.patient, optional_string(body, "patient"));
  MEDLEDGER_TRY_ASSIGN(query.record, optional_string(body, "record"));
  MEDLEDGER_TRY_ASSIGN(query.from_ms, optional_int(body, "from_ms"));
  MEDLEDGER_TRY_ASSIGN(query.to_ms, optional_int(body, "to_ms"));
  MEDLEDGER_TRY_ASSIGN(auto format, optional_string(body, "format"));
  // The archive when asked for by the body or by Accept; JSON otherwise.
  const auto accept = request.header("accept");
  const bool tar = format ? *format == "tar"
                          : accept && accept->find("application/x-tar") != std::string_view::npos;
  if (format && *format != "tar" && *format != "json") {
    return core::make_error(ErrorCode::kInvalidArgument,
                            "`format` is \"json\" or \"tar\", not \"" + *format + "\"");
  }
  MEDLEDGER_TRY(node::check_audit_query(query));
  return with_node(call, [&](node::HospitalNode& node) -> core::Result<Response> {
    if (tar) {
      MEDLEDGER_TRY_ASSIGN(auto response,
                           buffered("application/x-tar", node.config().max_export_bytes,
                                    [&](std::uint64_t limit, const node::ByteSink& sink) {
                                      return node::write_audit_archive(node, query, limit, sink);
                                    }));
      response.headers.emplace_back("Content-Disposition",
                                    "attachment; filename=\"audit-bundle.tar\"");
      return response;
    }
    MEDLEDGER_TRY_ASSIGN(auto bundle, node.audit().export_bundle(query));
    boost::json::object pem_files;
    for (const auto& [name, content] : bundle.pem_files) pem_files[name] = content;
    boost::json::object out;
    out["bundle"] = std::move(bundle.bundle);
    out["pem_files"] = std::move(pem_files);
    return json_response(out);
  });
}

core::Result<Response> audit_events(const NodeCall& call, const Request& request) {
  for (const auto& [name, value] : request.query) {
    if (std::find(kEventParams.begin(), kEventParams.end(), name) == kEventParams.end())
      return unknown_filter("query parameter", name, kEventParams);
  }
  node::AuditQuery query;
  if (auto patient = request.query_param("patient")) query.patient = std::string(*patient);
  if (auto record = request.query_param("record")) query.record = std::string(*record);
  MEDLEDGER_TRY_ASSIGN(query.from_ms, query_time(request, "from_ms"));
  MEDLEDGER_TRY_ASSIGN(query.to_ms, query_time(request, "to_ms"));
  MEDLEDGER_TRY(node::check_audit_query(query));
  return with_node(call, [&](node::HospitalNode& node) -> core::Result<Response> {
    return buffered("application/fhir+json", node.config().max_export_bytes,
                    [&](std::uint64_t limit, const node::ByteSink& sink) {
                      return node.audit().export_fhir(query, limit, sink);
                    });
  });
}

}  // namespace

namespace node_routes {

core::Result<void> add_audit_routes(Router& router, const std::shared_ptr<NodeBinding>& binding) {
  using ca::Role;
  // docs/openapi.yaml x-medledger-roles repeats this table.
  const NodeRouteRow rows[] = {
      {Method::kPost, "/v1/audit/export", Access::roles({Role::kAuditor}), export_audit},
      {Method::kGet, "/v1/audit/events", Access::roles({Role::kAuditor}), audit_events},
  };
  return add_node_route_rows(router, binding, rows);
}

}  // namespace node_routes

}  // namespace medledger::api
