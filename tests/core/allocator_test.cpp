// The release binaries must really allocate through jemalloc (linking it is not
// enough if the linker drops it or glibc's malloc wins the symbol lookup).
#include <cstdlib>
#include <cstdint>
#include <string>

#include <gtest/gtest.h>

#include "medledger/core/allocator.h"

#if defined(MEDLEDGER_EXPECT_JEMALLOC)
#include <jemalloc/jemalloc.h>

namespace {

std::uint64_t jemalloc_bytes_allocated_by_this_thread() {
  std::uint64_t allocated = 0;
  std::size_t size = sizeof(allocated);
  EXPECT_EQ(mallctl("thread.allocated", &allocated, &size, nullptr, 0), 0);
  return allocated;
}

TEST(Allocator, NameIsJemallocWithItsVersion) {
  const std::string name = medledger::core::allocator_name();
  EXPECT_EQ(name.rfind("jemalloc 5.", 0), 0u) << name;
}

TEST(Allocator, PlainMallocIsServedByJemalloc) {
  const auto before = jemalloc_bytes_allocated_by_this_thread();
  void* block = std::malloc(1 << 20);
  ASSERT_NE(block, nullptr);
  const auto after = jemalloc_bytes_allocated_by_this_thread();
  std::free(block);
  EXPECT_GE(after - before, std::uint64_t{1} << 20);
}

}  // namespace

#else

TEST(Allocator, SanitizerBuildsKeepTheirOwnAllocator) {
  EXPECT_EQ(medledger::core::allocator_name(), "glibc malloc");
}

#endif
