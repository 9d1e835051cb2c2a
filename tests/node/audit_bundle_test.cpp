// The self-verifying audit archive: it verifies offline; one changed byte in any
// member (and in a tar header) is found and named; VERIFY.md's openssl commands and
// verify_proofs.py succeed on a real archive, and the script finds a changed proof;
// bad ranges and the size limit have their codes.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "hospital_node_fixture.h"
#include "medledger/node/audit_bundle.h"
#include "temp_dir.h"

namespace medledger::node::testing {
namespace {

using core::ErrorCode;

struct Member {
  std::string name;  // without the archive's root
  std::size_t header = 0, offset = 0, size = 0;
};

// The members of a ustar archive (the test's own reader: headers at 512-byte steps).
std::vector<Member> members_of(const std::string& tar) {
  std::vector<Member> out;
  std::size_t at = 0;
  while (at + 512 <= tar.size() && tar[at] != '\0') {
    Member m;
    m.header = at;
    m.name = std::string(tar.c_str() + at).substr(kAuditArchiveRoot.size());
    m.size = std::stoull(tar.substr(at + 124, 11), nullptr, 8);
    m.offset = at + 512;
    out.push_back(m);
    at = m.offset + (m.size + 511) / 512 * 512;
  }
  return out;
}

class AuditBundleTest : public TwoHospitals {
 protected:
  // A write, a read at each hospital, a grant and its revocation.
  void make_trail() {
    (void)expect_ok(node_a_->records().put(fhir("rec-1"), by_pin(kDoctorPin), by_pin(kPatientPin)));
    (void)expect_ok(node_a_->records().read(read_at_a("rec-1"), by_pin(kDoctorPin)));
    (void)expect_ok(node_a_->sharing().grant({"hospital-a/pat-a", "hospital-b", {}, std::nullopt},
                                             by_pin(kPatientPin)));
    (void)expect_ok(node_b_->records().read(read_at_b("rec-1"), by_pin(kDoctorPin)));
    (void)expect_ok(
        node_a_->sharing().revoke("hospital-a/pat-a", "hospital-b", by_pin(kPatientPin)));
  }

  std::string archive(const AuditQuery& query, std::uint64_t max_bytes = 0) {
    std::string out;
    (void)expect_ok(write_audit_archive(*node_a_, query, max_bytes, [&](std::string_view bytes) {
      out.append(bytes);
      return core::success();
    }));
    return out;
  }

  // Runs `command` in `dir` through the shell; its exit status and output.
  std::pair<int, std::string> run(const std::filesystem::path& dir, const std::string& command) {
    const auto log = dir / "command.log";
    const std::string line =
        "cd '" + dir.string() + "' && (" + command + ") > '" + log.string() + "' 2>&1";
    const int status = std::system(line.c_str());
    std::ifstream in(log);
    std::stringstream text;
    text << in.rdbuf();
    return {WEXITSTATUS(status), text.str()};
  }

  medledger::testing::TempDir out_;
};

TEST_F(AuditBundleTest, ArchiveOfAPatientVerifiesOffline) {
  make_trail();
  const std::string tar = archive({"hospital-a/pat-a", {}, {}});
  auto report = expect_ok(verify_audit_archive(tar));
  // genesis, hospital B's admission, the write, two reads, the grant, its revocation
  EXPECT_EQ(report.entries, 7u);
  EXPECT_EQ(report.crls, 1u);
  // dr-a, pat-a, node A, dr-b, node B: every signer of the trail, with the checkpoint's
  EXPECT_EQ(report.chains, 5u);
  EXPECT_EQ(report.checkpoint_size, log_size());
  EXPECT_EQ(report.origin, ledger_->ledger().origin());
  std::set<std::string> names;
  for (const auto& m : members_of(tar)) names.insert(m.name);
  for (const char* expected :
       {"VERIFY.md", "verify_proofs.py", "checkpoint.txt", "checkpoint/body.txt",
        "checkpoint/signature.der", "checkpoint/signer.pem", "anchors.pem",
        "crl/hospital-a.crl.pem", "trail/00000000000000000000.json"})
    EXPECT_TRUE(names.contains(expected)) << expected;
}

TEST_F(AuditBundleTest, OneChangedByteInAnyMemberIsFoundAndNamed) {
  make_trail();
  const std::string tar = archive({"hospital-a/pat-a", {}, {}});
  const auto members = members_of(tar);
  ASSERT_GT(members.size(), 15u);
  for (const auto& m : members) {
    ASSERT_GT(m.size, 0u) << m.name;
    for (std::size_t at : {std::size_t{0}, m.size / 2, m.size - 1}) {
      std::string changed = tar;
      changed[m.offset + at] = static_cast<char>(changed[m.offset + at] ^ 0x01);
      auto result = verify_audit_archive(changed);
      ASSERT_FALSE(result) << m.name << " byte " << at << " changed, not found";
      EXPECT_EQ(result.error().code, ErrorCode::kBundleMismatch) << m.name;
      EXPECT_NE(result.error().message.find(m.name), std::string::npos)
          << m.name << " byte " << at << ": " << result.error().message;
    }
  }
  // A header byte: the tar structure itself.
  std::string changed = tar;
  changed[members[3].header + 10] ^= 0x01;
  auto result = verify_audit_archive(changed);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kBundleMismatch);
  EXPECT_NE(result.error().message.find("tar structure"), std::string::npos);
}

TEST_F(AuditBundleTest, AMemberRemovedOrAddedIsFound) {
  make_trail();
  const std::string tar = archive({"hospital-a/pat-a", {}, {}});
  // Dropping the last member (the CRL is written last) leaves an archive without a CRL,
  // which is allowed; dropping a chain is not.
  for (const auto& m : members_of(tar)) {
    if (m.name.rfind("chains/", 0) != 0 || m.name.find(".pem") == std::string::npos) continue;
    std::string without =
        tar.substr(0, m.header) + tar.substr(m.offset + (m.size + 511) / 512 * 512);
    auto result = verify_audit_archive(without);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, ErrorCode::kBundleMismatch);
    break;
  }
}

TEST_F(AuditBundleTest, VerifyMdCommandsAndThePythonScriptPassOnARealArchive) {
  make_trail();
  const std::string tar = archive({"hospital-a/pat-a", {}, {}});
  const auto dir = out_.path();
  out_.write("bundle.tar", tar);
  ASSERT_EQ(run(dir, "tar xf bundle.tar").first, 0);
  const auto bundle = dir / "audit-bundle";

  auto [script_status, script_out] = run(bundle, "python3 verify_proofs.py");
  EXPECT_EQ(script_status, 0) << script_out;
  EXPECT_NE(script_out.find("OK 7 entries"), std::string::npos) << script_out;

  // The commands of VERIFY.md, as written there.
  const char* commands[] = {
      "openssl x509 -in checkpoint/signer.pem -noout -pubkey > signer.pub",
      "openssl dgst -sha256 -verify signer.pub -signature checkpoint/signature.der "
      "checkpoint/body.txt",
      "head -n 3 checkpoint.txt | cmp - checkpoint/body.txt",
      "tail -n 1 checkpoint.txt | awk '{print $3}' | base64 -d | tail -c +5 | cmp - "
      "checkpoint/signature.der",
      "for f in chains/*.pem; do openssl verify -CAfile anchors.pem -untrusted \"$f\" \"$f\" || "
      "exit 1; done",
      "for f in chains/*.p7b; do openssl pkcs7 -inform DER -in \"$f\" -print_certs -noout || "
      "exit 1; done",
      "for f in crl/*.crl.pem; do openssl crl -in \"$f\" -CAfile anchors.pem -verify -noout || "
      "exit 1; done",
      // node A's chain (the checkpoint's signer) against hospital A's CRL
      "openssl verify -crl_check -CRLfile crl/hospital-a.crl.pem -CAfile anchors.pem "
      "-untrusted checkpoint/signer.pem checkpoint/signer.pem",
  };
  for (const char* command : commands) {
    EXPECT_NE(std::string(audit_verify_md()).find(std::string(command).substr(0, 30)),
              std::string::npos)
        << "not in VERIFY.md: " << command;
    auto [status, output] = run(bundle, command);
    EXPECT_EQ(status, 0) << command << "\n" << output;
  }
  EXPECT_NE(run(bundle, commands[1]).second.find("Verified OK"), std::string::npos);

  // Each chain's name is the SHA-256 of its leaf; the PKCS#7 holds the PEM's certificates.
  for (const auto& entry : std::filesystem::directory_iterator(bundle / "chains")) {
    if (entry.path().extension() != ".pem") continue;
    const std::string stem = entry.path().stem().string();
    auto [status, output] =
        run(bundle, "openssl x509 -in chains/" + stem + ".pem -outform DER | sha256sum");
    EXPECT_EQ(output.substr(0, 64), stem);
    auto [p7_status, p7] =
        run(bundle, "openssl pkcs7 -inform DER -in chains/" + stem + ".p7b -print_certs");
    ASSERT_EQ(p7_status, 0) << p7;
    std::ifstream pem_in(entry.path());
    std::stringstream pem;
    pem << pem_in.rdbuf();
    std::set<core::Bytes> from_p7, from_pem;
    for (const auto& c : expect_ok(ca::parse_pem_bundle(p7))) from_p7.insert(c.to_der());
    for (const auto& c : expect_ok(ca::parse_pem_bundle(pem.str()))) from_pem.insert(c.to_der());
    EXPECT_EQ(from_p7, from_pem) << stem;
  }

  // A changed proof hash: the script names that entry.
  const auto entry = bundle / "trail" / "00000000000000000002.json";
  std::ifstream in(entry);
  std::stringstream text;
  text << in.rdbuf();
  std::string json = text.str();
  const auto proof = json.find("\"inclusion_proof\":[\"") + 20;
  json[proof] = json[proof] == 'A' ? 'B' : 'A';
  std::ofstream(entry, std::ios::out | std::ios::trunc) << json;
  auto [bad_status, bad_out] = run(bundle, "python3 verify_proofs.py");
  EXPECT_EQ(bad_status, 1) << bad_out;
  EXPECT_NE(bad_out.find("MISMATCH trail/00000000000000000002.json"), std::string::npos) << bad_out;
}

TEST_F(AuditBundleTest, TheCliVerifiesOfflineAndExits77NamingTheMember) {
  make_trail();
  const std::string tar = archive({"hospital-a/pat-a", {}, {}});
  out_.write("good.tar", tar);
  std::string bad = tar;
  const auto members = members_of(tar);
  const auto chain = std::find_if(members.begin(), members.end(),
                                  [](const Member& m) { return m.name.ends_with(".p7b"); });
  ASSERT_NE(chain, members.end());
  bad[chain->offset + chain->size / 2] ^= 0x20;
  out_.write("bad.tar", bad);
  const std::string cli = MEDLEDGER_CLI_PATH;
  auto [good_status, good_out] = run(out_.path(), cli + " audit verify good.tar");
  EXPECT_EQ(good_status, 0) << good_out;
  EXPECT_NE(good_out.find("OK -- 7 trail entries"), std::string::npos) << good_out;
  auto [bad_status, bad_out] = run(out_.path(), cli + " audit verify bad.tar");
  EXPECT_EQ(bad_status, 77) << bad_out;
  EXPECT_NE(bad_out.find("BUNDLE_MISMATCH"), std::string::npos) << bad_out;
  EXPECT_NE(bad_out.find(chain->name), std::string::npos) << bad_out;
}

TEST_F(AuditBundleTest, ReversedOrAbsurdRangesAreRefused) {
  auto refused = [&](AuditQuery q) {
    return error_of(
        write_audit_archive(*node_a_, q, 0, [](std::string_view) { return core::success(); }));
  };
  EXPECT_EQ(refused({{}, 2000, 1000}), ErrorCode::kAuditRangeInvalid);
  EXPECT_EQ(refused({{}, 1000, 1000}), ErrorCode::kAuditRangeInvalid);
  EXPECT_EQ(refused({{}, -1, {}}), ErrorCode::kAuditRangeInvalid);
  EXPECT_EQ(refused({{}, {}, kMaxAuditTimeMs + 1}), ErrorCode::kAuditRangeInvalid);
  EXPECT_EQ(refused({}), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of(node_a_->audit().export_bundle({{}, 5, 1})), ErrorCode::kAuditRangeInvalid);
}

TEST_F(AuditBundleTest, AnExportOverTheLimitStopsWithExportTooLarge) {
  make_trail();
  std::uint64_t written = 0;
  auto result = write_audit_archive(*node_a_, {"hospital-a/pat-a", {}, {}}, 16 * 1024,
                                    [&](std::string_view bytes) {
                                      written += bytes.size();
                                      return core::success();
                                    });
  EXPECT_EQ(error_of(result), ErrorCode::kExportTooLarge);
  EXPECT_LE(written, 16u * 1024);
}

TEST_F(AuditBundleTest, ARecordFilterKeepsThatRecordAndItsGrants) {
  make_trail();
  (void)expect_ok(node_a_->records().put(fhir("rec-2"), by_pin(kDoctorPin), by_pin(kPatientPin)));
  auto report = expect_ok(verify_audit_archive(archive({{}, {}, {}, "rec-2"})));
  // genesis, admission, rec-2's write, the grant (scope all) and its revocation
  EXPECT_EQ(report.entries, 5u);
}

}  // namespace
}  // namespace medledger::node::testing
