// Configuration files: the serve TOML (api/config.h, load_server_config) and a node's
// node.json (node/node_config.h, load_node_config). Each input is written as both files
// and loaded through the production readers; the TOML's relative paths resolve inside
// the scratch directory, where no TLS file exists.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"
#include "medledger/api/config.h"
#include "medledger/node/node_config.h"

using namespace medledger;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = fuzz::as_text(data, size);
  static const auto toml = fuzz::scratch_dir() / "serve.toml";
  fuzz::write_file(toml, text);
  (void)api::load_server_config(toml);

  static const auto node_dir = [] {
    auto dir = fuzz::scratch_dir() / "node";
    std::filesystem::create_directories(dir);
    return dir;
  }();
  fuzz::write_file(node_dir / "node.json", text);
  (void)node::load_node_config(node_dir);
  return 0;
}
