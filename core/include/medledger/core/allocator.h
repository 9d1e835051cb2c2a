// Which malloc the process runs on. Release builds link jemalloc: SoftHSM2,
// OpenSSL and our transactions allocate in one thread and free in another
// (callers -> the ledger's writer), which glibc's per-thread caches do not
// absorb; the node benchmark spent ~13% of its CPU in glibc malloc/free.
#pragma once

#include <string>

namespace medledger::core {

/// "jemalloc <version>" when linked with jemalloc, else "glibc malloc" (the
/// sanitizer builds, whose own allocator must not be replaced).
std::string allocator_name();

}  // namespace medledger::core
