// PatientKeyCache on its own: TTL, capacity, version order, invalidation. Times are
// passed in, so nothing sleeps.
#include <gtest/gtest.h>

#include "medledger/node/limits.h"
#include "medledger/node/patient_key_cache.h"

namespace medledger::node::testing {
namespace {

using Clock = PatientKeyCache::Clock;
using namespace std::chrono_literals;

PatientKey key_of(const std::string& patient, std::uint64_t version, std::uint8_t fill) {
  return PatientKey{patient, version, core::SecretBytes(core::Bytes(kPatientKeySize, fill))};
}

TEST(PatientKeyCacheTest, HeldKeyIsReturnedUntilItsTtlPasses) {
  PatientKeyCache cache(4, 60s);
  const auto t0 = Clock::time_point{} + 1000s;
  EXPECT_FALSE(cache.get("h/p1", t0));
  cache.put(key_of("h/p1", 1, 0x11), t0);
  auto held = cache.get("h/p1", t0 + 59s);
  ASSERT_TRUE(held);
  EXPECT_EQ(held->version, 1u);
  EXPECT_EQ(held->key.view()[0], 0x11);
  EXPECT_FALSE(cache.get("h/p1", t0 + 60s));
  EXPECT_EQ(cache.stats().size, 0u);  // the expired key was dropped
  EXPECT_EQ(cache.stats().hits, 1u);
  EXPECT_EQ(cache.stats().misses, 2u);
}

TEST(PatientKeyCacheTest, OlderVersionNeverReplacesANewerOne) {
  PatientKeyCache cache(4, 60s);
  const auto t0 = Clock::time_point{} + 1000s;
  cache.put(key_of("h/p1", 2, 0x22), t0);
  cache.put(key_of("h/p1", 1, 0x11), t0 + 1s);  // a writer that unwrapped before the rotation
  EXPECT_EQ(cache.get("h/p1", t0 + 2s)->version, 2u);
  cache.put(key_of("h/p1", 3, 0x33), t0 + 3s);
  EXPECT_EQ(cache.get("h/p1", t0 + 4s)->version, 3u);
}

TEST(PatientKeyCacheTest, FullCacheDropsExpiredThenOldestAndInvalidateDrops) {
  PatientKeyCache cache(2, 60s);
  const auto t0 = Clock::time_point{} + 1000s;
  cache.put(key_of("h/p1", 1, 1), t0);
  cache.put(key_of("h/p2", 1, 2), t0 + 10s);
  cache.put(key_of("h/p3", 1, 3), t0 + 20s);  // p1 is the oldest
  EXPECT_FALSE(cache.get("h/p1", t0 + 21s));
  EXPECT_TRUE(cache.get("h/p2", t0 + 21s));
  EXPECT_EQ(cache.stats().size, 2u);
  cache.invalidate("h/p2");
  EXPECT_FALSE(cache.get("h/p2", t0 + 22s));
  EXPECT_TRUE(cache.get("h/p3", t0 + 22s));
}

TEST(PatientKeyCacheTest, ZeroCapacityHoldsNothing) {
  PatientKeyCache cache(0, 60s);
  cache.put(key_of("h/p1", 1, 1), Clock::time_point{});
  EXPECT_FALSE(cache.get("h/p1", Clock::time_point{}));
}

}  // namespace
}  // namespace medledger::node::testing
