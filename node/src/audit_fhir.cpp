// AuditExport::export_fhir: the trail as a FHIR R4 Bundle (type collection) of
// AuditEvents after IHE Basic Audit Log Patterns (BALP). docs/audit.md maps each
// element; tests/node/audit_fhir_test.cpp holds the profile's requirements.
#include <ctime>

#include <boost/json.hpp>

#include "medledger/core/error.h"
#include "medledger/ledger/receipt.h"
#include "medledger/node/audit_export.h"
#include "node_context.h"

namespace medledger::node {

namespace json = boost::json;

namespace {

constexpr std::string_view kBalp = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/";
constexpr std::string_view kPrincipalSystem = "urn:medledger:principal";

json::object coding(std::string_view system, std::string_view code, std::string_view display) {
  return json::object{{"system", system}, {"code", code}, {"display", display}};
}

json::object concept_of(json::object code) {
  return json::object{{"coding", json::array{std::move(code)}}};
}

json::object identifier(std::string_view system, std::string_view value) {
  return json::object{{"system", system}, {"value", value}};
}

// "2026-12-03T18:22:30.123Z": FHIR instant, UTC.
std::string instant(std::int64_t time_ms) {
  const std::time_t seconds = static_cast<std::time_t>(time_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[80];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(time_ms % 1000));
  return text;
}

// An RFC 9562 version-8 UUID from the first 16 bytes of the tx_id: a stable fullUrl.
std::string uuid_of(const core::Digest& tx_id) {
  std::array<std::uint8_t, 16> b{};
  std::copy_n(tx_id.begin(), 16, b.begin());
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x80);
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);
  const std::string hex = core::hex_encode(core::ByteView(b.data(), b.size()));
  return "urn:uuid:" + hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

struct Interaction {
  std::string_view profile, code, display, action;
};

Interaction interaction_of(TrailKind kind) {
  switch (kind) {
    case TrailKind::kRead:
      return {"IHE.BasicAudit.PatientRead", "read", "read", "R"};
    case TrailKind::kRevoke:
      return {"IHE.BasicAudit.PatientUpdate", "update", "update", "U"};
    default:
      return {"IHE.BasicAudit.PatientCreate", "create", "create", "C"};
  }
}

const TrailSigner* signer_with_role(const TrailEntry& entry, std::string_view role) {
  for (const auto& s : entry.signers)
    if (s.role == role) return &s;
  return nullptr;
}

json::object person_agent(json::object type, std::string_view role, std::string_view principal,
                          const TrailSigner* signer, bool requestor) {
  json::object agent{{"type", concept_of(std::move(type))},
                     {"role", json::array{json::object{{"text", role}}}},
                     {"who", json::object{{"type", role == "patient" ? "Patient" : "Practitioner"},
                                          {"identifier", identifier(kPrincipalSystem, principal)}}},
                     {"requestor", requestor}};
  if (signer != nullptr) agent["altId"] = "sha256:" + core::hex_encode(signer->fingerprint);
  return agent;
}

json::object detail_string(std::string_view type, std::string value) {
  return json::object{{"type", type}, {"valueString", std::move(value)}};
}

bool by_patient(const TrailEntry& entry) {
  return entry.kind == TrailKind::kGrant || entry.kind == TrailKind::kRevoke;
}

// The user (doctor, or the patient for grants), the patient of a write, the endorsing
// node (client) and the ledger (destination).
json::array agents_of(const TrailEntry& entry, std::string_view origin) {
  const std::string_view user_role = by_patient(entry) ? "patient" : "doctor";
  json::array agents;
  json::object user =
      person_agent(coding("http://terminology.hl7.org/CodeSystem/extra-security-role-type",
                          "humanuser", "human user"),
                   user_role, entry.actor, signer_with_role(entry, user_role), true);
  if (entry.kind == TrailKind::kRead)
    user["purposeOfUse"] = json::array{json::object{{"text", entry.purpose}}};
  agents.push_back(std::move(user));
  if (entry.kind == TrailKind::kWrite) {
    agents.push_back(
        person_agent(coding("http://terminology.hl7.org/CodeSystem/v3-RoleClass", "PAT", "patient"),
                     "patient", entry.patient, signer_with_role(entry, "patient"), false));
  }
  json::object client{{"type", concept_of(coding("http://dicom.nema.org/resources/ontology/DCM",
                                                 "110153", "Source Role ID"))},
                      {"requestor", false}};
  if (const auto* node = signer_with_role(entry, "node")) {
    client["who"] = json::object{{"type", "Device"},
                                 {"identifier", identifier(kPrincipalSystem, node->principal)}};
    client["altId"] = "sha256:" + core::hex_encode(node->fingerprint);
  }
  agents.push_back(std::move(client));
  agents.push_back(json::object{
      {"type", concept_of(coding("http://dicom.nema.org/resources/ontology/DCM", "110152",
                                 "Destination Role ID"))},
      {"who", json::object{{"type", "Device"},
                           {"identifier", identifier("urn:medledger:ledger", origin)}}},
      {"requestor", false}});
  return agents;
}

// The patient, then the record version or the consent (grant) with the transaction.
json::array entities_of(const TrailEntry& entry) {
  json::array entities;
  entities.push_back(json::object{
      {"what", json::object{{"type", "Patient"},
                            {"identifier", identifier(kPrincipalSystem, entry.patient)}}},
      {"type", coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "1", "Person")},
      {"role", coding("http://terminology.hl7.org/CodeSystem/object-role", "1", "Patient")}});
  json::array details;
  json::object what;
  if (by_patient(entry)) {
    what = json::object{
        {"type", "Consent"},
        {"identifier", identifier("urn:medledger:grant", entry.patient + " " + entry.grantee)}};
    details.push_back(detail_string("grantee", entry.grantee));
  } else {
    what = json::object{{"identifier", identifier("urn:medledger:record", entry.record)}};
    details.push_back(detail_string("version", std::to_string(entry.version)));
  }
  details.push_back(detail_string("tx_id", core::base64url_encode(entry.tx_id)));
  details.push_back(detail_string("sequence", std::to_string(entry.sequence)));
  entities.push_back(json::object{
      {"what", std::move(what)},
      {"type",
       coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2", "System Object")},
      {"role", coding("http://terminology.hl7.org/CodeSystem/object-role", "4", "Domain Resource")},
      {"detail", std::move(details)}});
  return entities;
}

json::object audit_event(const TrailEntry& entry, std::string_view origin,
                         std::string_view observer, std::string_view site) {
  const Interaction how = interaction_of(entry.kind);
  json::object event{
      {"resourceType", "AuditEvent"},
      {"id", core::hex_encode(entry.tx_id)},
      {"meta",
       json::object{{"profile", json::array{std::string(kBalp) + std::string(how.profile)}}}},
      {"type", coding("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest",
                      "Restful Operation")},
      {"subtype",
       json::array{coding("http://hl7.org/fhir/restful-interaction", how.code, how.display)}},
      {"action", how.action},
      {"recorded", instant(entry.time_ms)},
      {"outcome", entry.result == 0 ? "0" : "8"},
      {"agent", agents_of(entry, origin)},
      {"source",
       json::object{
           {"site", site},
           {"observer", json::object{{"type", "Device"},
                                     {"identifier", identifier(kPrincipalSystem, observer)}}},
           {"type", json::array{coding("http://terminology.hl7.org/CodeSystem/security-source-type",
                                       "4", "Application Server")}}}},
      {"entity", entities_of(entry)}};
  if (entry.result != 0) event["outcomeDesc"] = ledger::result_name(entry.result);
  return event;
}

}  // namespace

core::Result<std::uint64_t> AuditExport::export_fhir(const AuditQuery& query,
                                                     std::uint64_t max_bytes,
                                                     const ByteSink& sink) const {
  std::uint64_t written = 0;
  auto emit = [&](std::string_view bytes) -> core::Result<void> {
    if (max_bytes != 0 && written + bytes.size() > max_bytes) {
      return core::make_error(core::ErrorCode::kExportTooLarge,
                              "the export exceeds the limit of " + std::to_string(max_bytes) +
                                  " bytes ([audit] max_export_bytes); narrow the patient, "
                                  "record or time range");
    }
    written += bytes.size();
    return sink(bytes);
  };
  const std::string observer = node_.node_principal();
  const std::string origin = node_.ledger.ledger().origin();
  std::uint64_t events = 0;
  TrailVisitor visitor;
  visitor.on_anchor = [&](const TrailAnchor&) {
    return emit(R"({"resourceType":"Bundle","type":"collection","timestamp":")" +
                instant(node_.now_ms()) + R"(","entry":[)");
  };
  visitor.on_entry = [&](const TrailEntry& entry) -> core::Result<void> {
    json::object item{{"fullUrl", uuid_of(entry.tx_id)},
                      {"resource", audit_event(entry, origin, observer, node_.config.hospital_id)}};
    MEDLEDGER_TRY(emit((events++ == 0 ? "" : ",") + json::serialize(item)));
    return core::success();
  };
  MEDLEDGER_TRY(walk(query, TrailWalk{false, false, false}, visitor));
  MEDLEDGER_TRY(emit("]}"));
  return events;
}

}  // namespace medledger::node
