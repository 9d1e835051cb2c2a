// PreparedTransactions: a grant or revocation waits kPreparedLifetime for its
// patient's signature, and the table stays bounded (expired entries make room;
// otherwise SESSION_EXHAUSTED, nothing dropped that may still be signed).
#include <gtest/gtest.h>

#include "../../node/src/prepared_transactions.h"
#include "medledger/core/error.h"
#include "medledger/node/limits.h"

namespace medledger::node {
namespace {

core::Digest id_of(std::uint32_t n) {
  core::Digest id{};
  for (int i = 0; i < 4; ++i) id[i] = static_cast<std::uint8_t>(n >> (8 * i));
  return id;
}

PreparedTransactions::Entry grant_of(const std::string& patient) {
  PreparedTransactions::Entry entry;
  entry.type = "access.grant";
  entry.patient = patient;
  return entry;
}

TEST(PreparedTransactions, AnEntryLivesThePreparedLifetimeFromItsAddition) {
  PreparedTransactions table;
  const std::int64_t now = 1'700'000'000'000;
  ASSERT_TRUE(table.add(id_of(1), grant_of("hospital-a/pat-1"), now).ok());
  auto found = table.find(id_of(1));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->patient, "hospital-a/pat-1");
  EXPECT_EQ(found->expires_at_ms, now + kPreparedLifetime.count());
  EXPECT_FALSE(table.find(id_of(2)).has_value());
}

TEST(PreparedTransactions, AFullTableRefusesUntilEntriesExpire) {
  PreparedTransactions table;
  const std::int64_t now = 1'700'000'000'000;
  for (std::uint32_t n = 0; n < kMaxPreparedTransactions; ++n)
    ASSERT_TRUE(table.add(id_of(n), grant_of("hospital-a/pat-1"), now).ok());
  auto refused = table.add(id_of(kMaxPreparedTransactions), grant_of("hospital-a/pat-1"), now);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, core::ErrorCode::kSessionExhausted);
  EXPECT_TRUE(table.find(id_of(0)).has_value());  // nothing still signable was dropped
  // Once they expired, they make room.
  const std::int64_t later = now + kPreparedLifetime.count();
  ASSERT_TRUE(table.add(id_of(kMaxPreparedTransactions), grant_of("hospital-a/pat-2"), later).ok());
  EXPECT_FALSE(table.find(id_of(0)).has_value());
  EXPECT_TRUE(table.find(id_of(kMaxPreparedTransactions)).has_value());
}

}  // namespace
}  // namespace medledger::node
