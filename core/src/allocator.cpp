#include "medledger/core/allocator.h"

#if defined(MEDLEDGER_WITH_JEMALLOC)
#include <jemalloc/jemalloc.h>
#endif

namespace medledger::core {

std::string allocator_name() {
#if defined(MEDLEDGER_WITH_JEMALLOC)
  // mallctl also makes the link to libjemalloc a real one (the linker would
  // otherwise be free to drop a library whose symbols nobody names).
  const char* version = nullptr;
  std::size_t size = sizeof(version);
  if (mallctl("version", &version, &size, nullptr, 0) == 0 && version != nullptr) {
    return std::string("jemalloc ") + version;
  }
  return "jemalloc";
#else
  return "glibc malloc";
#endif
}

}  // namespace medledger::core
