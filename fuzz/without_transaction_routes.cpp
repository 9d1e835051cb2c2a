// Stands in for api/src/node_routes_transactions.cpp when the compiler cannot build it
// (clang before 16 cannot capture a structured binding in a lambda, which that file
// does; fuzz/CMakeLists.txt checks): the route table then lacks POST
// /v1/records/prepare, /v1/grants/prepare, /v1/grants/revoke/prepare and /v1/transactions.
#include "node_routes_support.h"

namespace medledger::api {

core::Result<void> node_routes::add_transaction_routes(Router&,
                                                       const std::shared_ptr<NodeBinding>&) {
  return core::success();
}

}  // namespace medledger::api
