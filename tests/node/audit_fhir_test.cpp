// The FHIR form of the trail: a Bundle (type collection) whose every AuditEvent meets
// the elements, cardinalities and codes of the IHE Basic Audit Log Patterns (BALP
// 1.1) profiles it claims -- PatientCreate, PatientRead, PatientUpdate, derived from
// Create / Read / Update -- written below as tables taken from those profiles.
#include <gtest/gtest.h>

#include <regex>

#include <boost/json.hpp>

#include "hospital_node_fixture.h"
#include "medledger/ledger/ordering.h"

namespace medledger::node::testing {
namespace {

namespace json = boost::json;

constexpr const char* kBalp = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/";
constexpr const char* kDcm = "http://dicom.nema.org/resources/ontology/DCM";
constexpr const char* kEntityType = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
constexpr const char* kObjectRole = "http://terminology.hl7.org/CodeSystem/object-role";

// AuditEvent elements the profiles constrain: min..max (-1: *).
struct ElementRule {
  const char* element;
  int min, max;
};
constexpr ElementRule kElements[] = {
    {"type", 1, 1},      // Coding, pattern audit-event-type#rest
    {"subtype", 1, -1},  // the interaction's restful-interaction code among them
    {"action", 1, 1},   {"recorded", 1, 1}, {"outcome", 1, 1}, {"agent", 2, -1},  // slices below
    {"source", 1, 1},   // observer 1..1, type security-source-type#4
    {"entity", 2, -1},  // slices below (Patient* profiles: entity 2..*)
};

// Each profile: its type, subtype and action.
struct InteractionRule {
  const char* profile;
  const char* subtype;  // http://hl7.org/fhir/restful-interaction
  const char* action;
};
constexpr InteractionRule kInteractions[] = {
    {"IHE.BasicAudit.PatientCreate", "create", "C"},
    {"IHE.BasicAudit.PatientRead", "read", "R"},
    {"IHE.BasicAudit.PatientUpdate", "update", "U"},
};

// Slices by type pattern: agent.type (CodeableConcept) or entity.type (Coding).
struct SliceRule {
  const char* element;
  const char* name;
  const char* system;
  const char* code;
  int min, max;
  const char* role_system;  // entity.role pattern (entities only)
  const char* role_code;
};
constexpr SliceRule kSlices[] = {
    {"agent", "client", kDcm, "110153", 1, 1, nullptr, nullptr},  // Source Role ID
    {"agent", "server", kDcm, "110152", 1, 1, nullptr, nullptr},  // Destination Role ID
    {"agent", "user", "http://terminology.hl7.org/CodeSystem/extra-security-role-type", "humanuser",
     0, 1, nullptr, nullptr},
    {"entity", "patient", kEntityType, "1", 1, 1, kObjectRole, "1"},  // Person / Patient
    {"entity", "data", kEntityType, "2", 1, 1, kObjectRole, "4"},     // System Object / Domain
};

bool has_coding(const json::value& coding, const char* system, const char* code) {
  if (!coding.is_object()) return false;
  const auto& c = coding.as_object();
  return c.contains("system") && c.at("system") == system && c.contains("code") &&
         c.at("code") == code;
}

bool concept_has(const json::value& codeable, const char* system, const char* code) {
  if (!codeable.is_object() || !codeable.as_object().contains("coding")) return false;
  for (const auto& c : codeable.at("coding").as_array())
    if (has_coding(c, system, code)) return true;
  return false;
}

int count_of(const json::object& event, const char* element) {
  auto it = event.find(element);
  if (it == event.end()) return 0;
  return it->value().is_array() ? static_cast<int>(it->value().as_array().size()) : 1;
}

// Checks one event against the tables; returns the interaction's subtype.
std::string check_event(const json::object& event) {
  EXPECT_EQ(event.at("resourceType"), "AuditEvent");
  for (const auto& rule : kElements) {
    const int n = count_of(event, rule.element);
    EXPECT_GE(n, rule.min) << rule.element;
    if (rule.max >= 0) {
      EXPECT_LE(n, rule.max) << rule.element;
    }
  }
  EXPECT_TRUE(has_coding(event.at("type"), "http://terminology.hl7.org/CodeSystem/audit-event-type",
                         "rest"));
  const auto& profiles = event.at("meta").at("profile").as_array();
  EXPECT_EQ(profiles.size(), 1u);
  const InteractionRule* how = nullptr;
  for (const auto& rule : kInteractions)
    if (profiles[0].as_string() == std::string(kBalp) + rule.profile) how = &rule;
  if (how == nullptr) {
    ADD_FAILURE() << "unknown profile " << profiles[0];
    return "";
  }
  bool subtype = false;
  for (const auto& s : event.at("subtype").as_array())
    subtype = subtype || has_coding(s, "http://hl7.org/fhir/restful-interaction", how->subtype);
  EXPECT_TRUE(subtype) << how->profile;
  EXPECT_EQ(event.at("action"), how->action);
  EXPECT_TRUE(std::regex_match(std::string(event.at("recorded").as_string()),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
  EXPECT_EQ(event.at("outcome"), "0");

  for (const auto& slice : kSlices) {
    int n = 0;
    for (const auto& item : event.at(slice.element).as_array()) {
      const auto& o = item.as_object();
      const bool match = std::string(slice.element) == "agent"
                             ? concept_has(o.at("type"), slice.system, slice.code)
                             : has_coding(o.at("type"), slice.system, slice.code);
      if (!match) continue;
      ++n;
      if (std::string(slice.element) == "agent") {
        EXPECT_TRUE(o.contains("requestor") && o.at("requestor").is_bool()) << slice.name;
        EXPECT_TRUE(o.contains("who")) << slice.name;  // every agent here names who
      } else {
        EXPECT_TRUE(o.contains("what")) << slice.name;
        EXPECT_TRUE(has_coding(o.at("role"), slice.role_system, slice.role_code)) << slice.name;
      }
    }
    EXPECT_GE(n, slice.min) << slice.name;
    if (slice.max >= 0) {
      EXPECT_LE(n, slice.max) << slice.name;
    }
  }
  const auto& source = event.at("source").as_object();
  EXPECT_TRUE(source.contains("observer"));
  bool app_server = false;
  for (const auto& t : source.at("type").as_array())
    app_server = app_server ||
                 has_coding(t, "http://terminology.hl7.org/CodeSystem/security-source-type", "4");
  EXPECT_TRUE(app_server);
  return how->subtype;
}

using AuditFhirTest = TwoHospitals;

json::object fhir_of(HospitalNode& node, const AuditQuery& query) {
  std::string text;
  (void)expect_ok(node.audit().export_fhir(query, 0, [&](std::string_view bytes) {
    text.append(bytes);
    return core::success();
  }));
  return json::parse(text).as_object();
}

TEST_F(AuditFhirTest, EveryEventMeetsTheBalpProfileItClaims) {
  (void)expect_ok(node_a_->records().put(fhir("rec-1"), by_pin(kDoctorPin), by_pin(kPatientPin)));
  (void)expect_ok(node_a_->records().read(read_at_a("rec-1"), by_pin(kDoctorPin)));
  (void)expect_ok(node_a_->sharing().grant({"hospital-a/pat-a", "hospital-b", {}, std::nullopt},
                                           by_pin(kPatientPin)));
  (void)expect_ok(node_b_->records().read(read_at_b("rec-1"), by_pin(kDoctorPin)));
  (void)expect_ok(node_a_->sharing().revoke("hospital-a/pat-a", "hospital-b", by_pin(kPatientPin)));

  const auto bundle = fhir_of(*node_a_, {"hospital-a/pat-a", {}, {}});
  EXPECT_EQ(bundle.at("resourceType"), "Bundle");
  EXPECT_EQ(bundle.at("type"), "collection");
  const auto& entries = bundle.at("entry").as_array();
  ASSERT_EQ(entries.size(), 5u);  // write, 2 reads, grant, revoke
  std::multiset<std::string> seen;
  std::set<std::string> purposes;
  for (const auto& e : entries) {
    EXPECT_TRUE(e.at("fullUrl").as_string().starts_with("urn:uuid:"));
    const auto& event = e.at("resource").as_object();
    seen.insert(check_event(event));
    // The user agent (the doctor, or the patient for grant/revoke) by pseudonymous id and
    // certificate fingerprint; the client is the endorsing node.
    for (const auto& agent : event.at("agent").as_array()) {
      const auto& a = agent.as_object();
      if (concept_has(a.at("type"), kDcm, "110152")) continue;  // the ledger
      EXPECT_TRUE(std::string(a.at("altId").as_string()).starts_with("sha256:")) << agent;
      if (a.contains("purposeOfUse"))
        purposes.insert(std::string(a.at("purposeOfUse").as_array()[0].at("text").as_string()));
    }
    const auto& data = event.at("entity").as_array()[1].as_object();
    bool tx = false;
    for (const auto& d : data.at("detail").as_array()) tx = tx || d.at("type") == "tx_id";
    EXPECT_TRUE(tx);
  }
  EXPECT_EQ(seen.count("create"), 2u);  // the write and the grant
  EXPECT_EQ(seen.count("read"), 2u);
  EXPECT_EQ(seen.count("update"), 1u);  // the revocation
  EXPECT_EQ(purposes, (std::set<std::string>{"follow-up", "second opinion"}));
}

TEST_F(AuditFhirTest, FiltersByRecordAndTime) {
  (void)expect_ok(node_a_->records().put(fhir("rec-1"), by_pin(kDoctorPin), by_pin(kPatientPin)));
  (void)expect_ok(node_a_->records().put(fhir("rec-2"), by_pin(kDoctorPin), by_pin(kPatientPin)));
  (void)expect_ok(node_a_->records().read(read_at_a("rec-2"), by_pin(kDoctorPin)));
  EXPECT_EQ(fhir_of(*node_a_, {{}, {}, {}, "rec-2"}).at("entry").as_array().size(), 2u);
  EXPECT_EQ(fhir_of(*node_a_, {"hospital-a/pat-a", {}, {}}).at("entry").as_array().size(), 3u);
  const std::int64_t later = ledger::unix_time_ms() + 60'000;
  EXPECT_EQ(fhir_of(*node_a_, {{}, later, {}}).at("entry").as_array().size(), 0u);
  EXPECT_EQ(fhir_of(*node_a_, {{}, 0, later}).at("entry").as_array().size(), 3u);
}

}  // namespace
}  // namespace medledger::node::testing
