// CaDirectory: the on-disk CA state.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "ca_test_support.h"
#include "medledger/ca/store.h"

namespace medledger::ca {
namespace {

using core::ErrorCode;
using testing::kNow;

class Store : public ::testing::Test {
 protected:
  testing::TempDir temp_;
  testing::SoftwareCa ca_ = testing::make_ca("hospital-a");
  std::filesystem::path dir_ = temp_.path() / "ca";
  CaSettings settings_{"hospital-a", "ca-hospital-a", "0a0b"};

  Certificate issue(const std::string& id) {
    return *ca_.ca->issue_for_key(testing::make_spki(testing::TestKey::kP256),
                                  testing::request(Role::kDoctor, id), kNow);
  }
};

TEST_F(Store, CreateThenOpenRestoresSettingsAndChain) {
  ASSERT_TRUE(CaDirectory::create(dir_, settings_, ca_.ca->chain()).ok());
  auto opened = CaDirectory::open(dir_);
  ASSERT_TRUE(opened.ok()) << opened.error().to_string();
  EXPECT_EQ(opened->settings().hospital_id, "hospital-a");
  EXPECT_EQ(opened->settings().key_label, "ca-hospital-a");
  EXPECT_EQ(opened->settings().key_id_hex, "0a0b");
  ASSERT_EQ(opened->chain().size(), 1u);
  EXPECT_EQ(opened->chain()[0].to_der(), ca_.ca->certificate().to_der());
  struct stat info {};
  ASSERT_EQ(stat(dir_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0700u);
}

TEST_F(Store, SecondInitIsAlreadyExists) {
  ASSERT_TRUE(CaDirectory::create(dir_, settings_, ca_.ca->chain()).ok());
  auto again = CaDirectory::create(dir_, settings_, ca_.ca->chain());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
}

TEST_F(Store, OpeningAnEmptyDirectoryIsCaNotInitialized) {
  auto opened = CaDirectory::open(dir_);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, ErrorCode::kCaNotInitialized);
}

TEST_F(Store, IssuedRevokedAndCrlNumbersPersistAcrossReopen) {
  auto store = CaDirectory::create(dir_, settings_, ca_.ca->chain());
  ASSERT_TRUE(store.ok());
  Certificate first = issue("dr-1");
  Certificate second = issue("dr-2");
  ASSERT_TRUE(store->record_issued(first, Role::kDoctor).ok());
  ASSERT_TRUE(store->record_issued(second, Role::kDoctor).ok());
  auto duplicate = store->record_issued(first, Role::kDoctor);
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.error().code, ErrorCode::kAlreadyExists);

  ASSERT_TRUE(
      store->mark_revoked({second.serial_hex(), kNow, RevocationReason::kAffiliationChanged}).ok());
  auto twice =
      store->mark_revoked({second.serial_hex(), kNow, RevocationReason::kAffiliationChanged});
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, ErrorCode::kAlreadyExists);
  auto unknown = store->mark_revoked({"ABCDEF", kNow, RevocationReason::kUnspecified});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(*store->next_crl_number(), 1u);
  EXPECT_EQ(*store->next_crl_number(), 2u);

  auto reopened = CaDirectory::open(dir_);
  ASSERT_TRUE(reopened.ok());
  auto records = reopened->records();
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[0].subject, "CN=dr-1,OU=doctor,O=hospital-a");
  EXPECT_FALSE((*records)[0].revocation.has_value());
  ASSERT_TRUE((*records)[1].revocation.has_value());
  EXPECT_EQ((*records)[1].revocation->reason, RevocationReason::kAffiliationChanged);
  auto revoked = revoked_entries(*records);
  ASSERT_EQ(revoked.size(), 1u);
  EXPECT_EQ(revoked[0].serial_hex, second.serial_hex());
  EXPECT_EQ(*reopened->next_crl_number(), 3u);
  auto stored = reopened->issued_certificate(first.serial_hex());
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->to_der(), first.to_der());
  EXPECT_EQ(reopened->issued_certificate("FFFF").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(reopened->issued_certificate("../ca").error().code, ErrorCode::kInvalidArgument);
}

TEST_F(Store, DamagedIndexIsConfigInvalid) {
  auto store = CaDirectory::create(dir_, settings_, ca_.ca->chain());
  ASSERT_TRUE(store.ok());
  std::ofstream(dir_ / "index.json") << "{\"version\":1,\"certificates\":7}";
  auto records = store->records();
  ASSERT_FALSE(records.ok());
  EXPECT_EQ(records.error().code, ErrorCode::kConfigInvalid);
}

TEST_F(Store, ExhaustedCrlNumberIsConfigInvalidAndNotWrapped) {
  auto store = CaDirectory::create(dir_, settings_, ca_.ca->chain());
  ASSERT_TRUE(store.ok());
  const std::string last = R"({"version":1,"crl_number":18446744073709551615,"certificates":[]})";
  std::ofstream(dir_ / "index.json") << last;
  auto number = store->next_crl_number();
  ASSERT_FALSE(number.ok());
  EXPECT_EQ(number.error().code, ErrorCode::kConfigInvalid);
  std::ifstream in(dir_ / "index.json");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()),
            last);
}

TEST_F(Store, AtomicWriteLeavesNoTemporaryFile) {
  std::filesystem::path file = temp_.path() / "x.txt";
  ASSERT_TRUE(write_file_atomically(file, core::to_bytes("one")).ok());
  ASSERT_TRUE(write_file_atomically(file, core::to_bytes("two")).ok());
  std::ifstream in(file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "two");
  EXPECT_FALSE(std::filesystem::exists(temp_.path() / "x.txt.tmp"));
  auto bad = write_file_atomically(temp_.path() / "missing" / "x", core::to_bytes("x"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kIoError);
}

}  // namespace
}  // namespace medledger::ca
