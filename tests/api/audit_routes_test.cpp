// The auditor's routes over HTTPS: the tar archive (by Accept or by format), which
// verifies offline; FHIR AuditEvents as application/fhir+json; the refusals (role,
// reversed range, unknown filter, the node's export limit).
#include <gtest/gtest.h>

#include "medledger/node/audit_bundle.h"
#include "medledger/node/node_config.h"
#include "node_routes_fixture.h"

namespace medledger::api {
namespace {

class AuditRoutes : public NodeRoutes {
 protected:
  void make_trail() {
    (void)node::testing::expect_ok(
        node_a_->records().put(fhir("rec-1"), node::testing::by_pin(node::testing::kDoctorPin),
                               node::testing::by_pin(node::testing::kPatientPin)));
    (void)node::testing::expect_ok(node_a_->records().read(
        read_at_a("rec-1"), node::testing::by_pin(node::testing::kDoctorPin)));
  }

  // POSTs an export body with extra curl arguments; the response headers go to headers_.
  testing::HttpResult export_with(const std::string& body, const std::string& extra) {
    auto file = root_ / "export-body.json";
    std::ofstream(file) << body;
    return checked("POST", "/v1/audit/export",
                   testing::curl(*pki_, server_->port(), "/v1/audit/export", kAuditor,
                                 "-D " + headers_.string() +
                                     " -H 'Content-Type: application/json' --data-binary @" +
                                     file.string() + " " + extra));
  }
  testing::HttpResult get_with_headers(const std::string& path) {
    return checked(
        "GET", path,
        testing::curl(*pki_, server_->port(), path, kAuditor, "-D " + headers_.string()));
  }
  std::string content_type() {
    std::string headers = read_file(headers_);
    auto at = headers.find("Content-Type: ");
    if (at == std::string::npos) at = headers.find("content-type: ");
    if (at == std::string::npos) return "";
    return headers.substr(at + 14, headers.find('\r', at) - at - 14);
  }

  std::filesystem::path headers_ =
      std::filesystem::temp_directory_path() / ("audit-headers-" + std::to_string(::getpid()));
};

TEST_F(AuditRoutes, AcceptTarGivesAnArchiveThatVerifiesOffline) {
  make_trail();
  serve(node_a_.get(), pool_a_);
  auto tar = export_with(R"({"patient":"hospital-a/pat-a"})", "-H 'Accept: application/x-tar'");
  ASSERT_EQ(tar.status, 200) << tar.body;
  EXPECT_EQ(content_type(), "application/x-tar");
  auto report = node::verify_audit_archive(tar.body);
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  EXPECT_EQ(report->entries, 4u);  // genesis, hospital B's admission, the write, the read
  EXPECT_EQ(report->crls, 1u);

  auto by_format = export_with(R"({"patient":"hospital-a/pat-a","format":"tar"})", "");
  ASSERT_EQ(by_format.status, 200);
  EXPECT_TRUE(node::verify_audit_archive(by_format.body).ok());
  // Without either, the JSON bundle as before.
  auto json = export_with(R"({"patient":"hospital-a/pat-a"})", "");
  ASSERT_EQ(json.status, 200);
  EXPECT_TRUE(json_of(json).contains("bundle"));
}

TEST_F(AuditRoutes, EventsAreAFhirBundleForAuditorsOnly) {
  make_trail();
  serve(node_a_.get(), pool_a_);
  auto events = get_with_headers("/v1/audit/events?patient=hospital-a/pat-a");
  ASSERT_EQ(events.status, 200) << events.body;
  EXPECT_EQ(content_type(), "application/fhir+json");
  auto bundle = json_of(events);
  EXPECT_EQ(bundle.at("resourceType").as_string(), "Bundle");
  EXPECT_EQ(bundle.at("type").as_string(), "collection");
  ASSERT_EQ(bundle.at("entry").as_array().size(), 2u);  // the write and the read
  EXPECT_EQ(bundle.at("entry").as_array()[1].at("resource").at("action").as_string(), "R");
  EXPECT_EQ(get("/v1/audit/events?record=rec-1", kNode).status, 403);
}

TEST_F(AuditRoutes, BadRangesAndUnknownFiltersHaveTheirCodes) {
  serve(node_a_.get(), pool_a_);
  auto reversed = export_with(R"({"patient":"hospital-a/pat-a","from_ms":5000,"to_ms":10})", "");
  EXPECT_EQ(reversed.status, 400);
  EXPECT_EQ(error_code_of(reversed), "AUDIT_RANGE_INVALID");
  auto absurd = get("/v1/audit/events?from_ms=999999999999999999", kAuditor);
  EXPECT_EQ(absurd.status, 400);
  EXPECT_EQ(error_code_of(absurd), "AUDIT_RANGE_INVALID");
  auto not_a_time = get("/v1/audit/events?from_ms=yesterday", kAuditor);
  EXPECT_EQ(error_code_of(not_a_time), "AUDIT_RANGE_INVALID");
  auto unknown = export_with(R"({"patient":"hospital-a/pat-a","doctor":"x"})", "");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(error_code_of(unknown), "INVALID_ARGUMENT");
  auto unknown_param = get("/v1/audit/events?patient=hospital-a/pat-a&since=1", kAuditor);
  EXPECT_EQ(error_code_of(unknown_param), "INVALID_ARGUMENT");
  EXPECT_NE(unknown_param.body.find("since"), std::string::npos);
  EXPECT_EQ(error_code_of(get("/v1/audit/events", kAuditor)), "INVALID_ARGUMENT");
}

TEST_F(AuditRoutes, AnExportPastTheNodesLimitIs413) {
  make_trail();
  // node.json's max_export_bytes, read when the node opens.
  auto config = node::testing::expect_ok(node::load_node_config(root_ / "a"));
  config.max_export_bytes = 8 * 1024;
  node::testing::expect_ok(node::save_node_config(root_ / "a", config));
  node_a_.reset();
  node_a_ =
      node::testing::expect_ok(node::HospitalNode::open(root_ / "a", pool_a_, *ledger_, options()));
  serve(node_a_.get(), pool_a_);
  auto tar = export_with(R"({"patient":"hospital-a/pat-a","format":"tar"})", "");
  EXPECT_EQ(tar.status, 413);
  EXPECT_EQ(error_code_of(tar), "EXPORT_TOO_LARGE");
}

}  // namespace
}  // namespace medledger::api
