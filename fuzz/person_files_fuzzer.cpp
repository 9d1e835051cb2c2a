// The node's own files, as they are read back after a crash, a restore or tampering:
// a PIN record (node/pin_store.h, PinStore::get and PinRecord::from_json_text) and a
// person file (node/person_directory.h, PersonDirectory::find). Each input is written as
// both files and read through the production code; nothing here runs scrypt.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"
#include "medledger/core/assert.h"
#include "medledger/node/person_directory.h"
#include "medledger/node/pin_store.h"

using namespace medledger;

namespace {

constexpr const char* kPersonId = "dr-1";
constexpr const char* kPrincipal = "hospital-a/dr-1";

node::PinStore& pin_store() {
  static node::PinStore* store = [] {
    auto opened = node::PinStore::open(fuzz::scratch_dir() / "pins");
    if (!opened) std::abort();
    return opened->release();
  }();
  return *store;
}

const std::filesystem::path& person_file() {
  static const std::filesystem::path path = [] {
    const auto dir = fuzz::scratch_dir() / "persons";
    std::filesystem::create_directories(dir);
    return dir / (core::hex_encode(core::sha256(core::to_bytes(kPrincipal))) + ".json");
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = fuzz::as_text(data, size);

  if (auto record = node::PinRecord::from_json_text(text)) {
    auto again = node::PinRecord::from_json_text(record->to_json_text());
    MEDLEDGER_ASSERT(again.ok() && again->to_json_text() == record->to_json_text());
  }
  fuzz::write_file(pin_store().path_for(kPersonId), text);
  (void)pin_store().get(kPersonId);

  fuzz::write_file(person_file(), text);
  // A new directory each time: find() keeps what it read once.
  node::PersonDirectory persons(person_file().parent_path());
  (void)persons.find(kPrincipal);
  return 0;
}
