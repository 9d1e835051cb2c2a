// The auditor export's JSON of record versions, reads and certificates
// (records_state.h, docs/node.md "Audit export"): members and their order, as
// boost::json::serialize writes the bundle.
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "medledger/core/bytes.h"
#include "medledger/core/sha256.h"
#include "medledger/ledger/records_state.h"

namespace medledger::ledger {
namespace {

core::Digest digest_of(const std::string& tag) { return core::sha256(core::to_bytes(tag)); }
std::string b64_of(const std::string& tag) { return core::base64url_encode(digest_of(tag)); }

const boost::json::object kProof{{"sequence", 7}};

RecordVersionEntry version_entry() {
  RecordVersionEntry e;
  e.record = "rec-1";
  e.version = 2;
  e.tx = digest_of("tx");
  e.previous = digest_of("previous");
  e.content_type = "application/fhir+json";
  e.envelope_digest = digest_of("envelope");
  e.plaintext_digest = digest_of("plaintext");
  e.envelope = boost::json::object{{"sealed", true}};
  e.doctor = "hospital-a/dr-a";
  e.patient = "hospital-a/p-1";
  e.doctor_cert = digest_of("doctor");
  e.patient_cert = digest_of("patient");
  e.node_cert = digest_of("node");
  e.time_ms = 1700000000000;
  return e;
}

TEST(AuditJson, RecordVersionLeavesOutRecordAndEnvelopeAndPutsTheProofBeforePrevious) {
  const std::string expected =
      R"({"version":2,"tx":")" + b64_of("tx") + R"(","time":1700000000000,)" +
      R"("content_type":"application/fhir+json","doctor":"hospital-a/dr-a",)" +
      R"("patient":"hospital-a/p-1","doctor_cert":")" + b64_of("doctor") + R"(","patient_cert":")" +
      b64_of("patient") + R"(","node_cert":")" + b64_of("node") + R"(","envelope_digest":")" +
      b64_of("envelope") + R"(","plaintext_digest":")" + b64_of("plaintext") +
      R"(","proof":{"sequence":7},"previous":")" + b64_of("previous") + R"("})";
  EXPECT_EQ(boost::json::serialize(audit_record_version_json(version_entry(), kProof)), expected);
}

TEST(AuditJson, FirstVersionHasNoPrevious) {
  RecordVersionEntry e = version_entry();
  e.previous.reset();
  const boost::json::object o = audit_record_version_json(e, kProof);
  EXPECT_FALSE(o.contains("previous"));
  EXPECT_EQ(o.size(), 12u);
}

TEST(AuditJson, ReadIsTheStateEntryWithItsProofLast) {
  ReadEntry e;
  e.sequence = 9;
  e.tx = digest_of("tx");
  e.record = "rec-1";
  e.version = 1;
  e.patient = "hospital-a/p-1";
  e.doctor = "hospital-b/dr-b";
  e.doctor_cert = digest_of("doctor");
  e.node_cert = digest_of("node");
  e.purpose = "treatment";
  e.basis = "grant:hospital-b";
  e.time_ms = 1700000001000;
  const std::string expected =
      R"({"sequence":9,"tx":")" + b64_of("tx") + R"(","record":"rec-1","version":1,)" +
      R"("patient":"hospital-a/p-1","doctor":"hospital-b/dr-b","doctor_cert":")" +
      b64_of("doctor") + R"(","node_cert":")" + b64_of("node") +
      R"(","purpose":"treatment","basis":"grant:hospital-b","time":1700000001000,)" +
      R"("proof":{"sequence":7}})";
  EXPECT_EQ(boost::json::serialize(audit_read_json(e, kProof)), expected);
}

TEST(AuditJson, CertificateHasItsFingerprintFirstAndChainFileLast) {
  CertificateEntry e;
  e.fingerprint = digest_of("cert");
  e.der = core::to_bytes("not emitted");
  e.role = "doctor";
  e.id = "dr-a";
  e.hospital = "hospital-a";
  e.issuer = digest_of("issuer");
  e.not_before = 1600000000;
  e.not_after = 1800000000;
  e.status = "revoked";
  e.registered_at_ms = 1700000000000;
  e.revoked_at_ms = 1700000002000;
  e.reason = "keyCompromise";
  const std::string expected =
      R"({"fingerprint":")" + b64_of("cert") +
      R"(","role":"doctor","id":"dr-a","hospital":"hospital-a","issuer":")" + b64_of("issuer") +
      R"(","not_before":1600000000,"not_after":1800000000,"status":"revoked",)" +
      R"("registered_at":1700000000000,"revoked_at":1700000002000,"reason":"keyCompromise",)" +
      R"("chain_file":"0011-chain.pem"})";
  EXPECT_EQ(boost::json::serialize(audit_certificate_json(e, "0011-chain.pem")), expected);
}

}  // namespace
}  // namespace medledger::ledger
