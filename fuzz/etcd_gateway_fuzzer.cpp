// Answers of etcd's JSON gateway as cluster::EtcdClient reads them (range, txn, leases,
// put, delete, compaction and the watch stream): keys and values in base64, revisions
// as decimal strings, errors as {"error","message","code"}. The gateway is a scripted TLS
// server in this process on 127.0.0.1 that answers each request with the input: byte 0
// picks the call (low 3 bits) and the HTTP status (200, or 400/500/503), the rest is the
// answer's body. One keep-alive connection serves every input.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "fuzz_support.h"
#include "medledger/cluster/etcd_client.h"
#include "scripted_etcd_gateway.h"

using namespace medledger;

namespace {

struct Harness {
  std::unique_ptr<cluster::testing::ScriptedGateway> gateway;
  std::unique_ptr<cluster::EtcdClient> client;
};

Harness& harness() {
  static Harness* made = [] {
    auto* h = new Harness;
    const auto ca_file = fuzz::scratch_dir() / "gateway.pem";
    h->gateway = std::make_unique<cluster::testing::ScriptedGateway>(ca_file);
    cluster::EtcdConfig config;
    config.endpoints = {h->gateway->endpoint()};
    config.ca_file = ca_file;
    auto client = cluster::EtcdClient::connect(config);
    if (!client) std::abort();
    h->client = std::move(*client);
    return h;
  }();
  return *made;
}

}  // namespace
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  Harness& h = harness();
  constexpr int kStatuses[] = {200, 200, 200, 200, 200, 400, 500, 503};
  h.gateway->script(kStatuses[(data[0] >> 3) & 7],
                    std::string(reinterpret_cast<const char*>(data + 1), size - 1));
  cluster::EtcdClient& etcd = *h.client;
  switch (data[0] & 7) {
    case 0:
      (void)etcd.range("/medledger/blocks/", cluster::prefix_range_end("/medledger/blocks/"), 10);
      break;
    case 1:
      (void)etcd.txn({{"/medledger/blocks/1", 0}}, {{"/medledger/blocks/1", "block"}},
                     "/medledger/blocks/1", 7);
      break;
    case 2:
      (void)etcd.grant_lease(std::chrono::seconds(10));
      break;
    case 3:
      (void)etcd.keep_alive(7);
      break;
    case 4:
      (void)etcd.put("/medledger/leader", "node-a");
      break;
    case 5:
      (void)etcd.delete_range("/medledger/blocks/", "/medledger/blocks0");
      break;
    case 6:
      (void)etcd.compact(12);
      break;
    default:
      (void)etcd.watch("/medledger/blocks/", "/medledger/blocks0", 3, std::chrono::seconds(2),
                       [](const std::vector<cluster::WatchEvent>&) { return true; });
      break;
  }
  return 0;
}
