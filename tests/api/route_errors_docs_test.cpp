// docs/api.md "Errors by route" against the table of each node route's error codes
// (api/src/node_route_errors.h): the same routes with the same codes, both ways, and
// every node route served has a row. That the routes answer only codes of their row
// is checked where they answer: every error a node route test receives
// (node_routes_fixture.h).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "../../api/src/node_route_errors.h"
#include "medledger/api/node_routes.h"

namespace medledger::api {
namespace {

using Codes = std::set<std::string>;

Codes names(std::span<const core::ErrorCode> codes) {
  Codes out;
  for (auto code : codes) out.insert(std::string(core::error_code_name(code)));
  return out;
}

Codes codes_in(const std::string& text) {
  Codes out;
  const std::regex code(R"(`([A-Z][A-Z0-9_]+)`)");
  for (std::sregex_iterator it(text.begin(), text.end(), code), end; it != end; ++it)
    out.insert((*it)[1]);
  return out;
}

std::string joined(const Codes& codes) {
  std::string out;
  for (const auto& c : codes) out += (out.empty() ? "`" : ", `") + c + "`";
  return out;
}

struct Documented {
  Codes common;
  std::map<std::string, Codes> routes;  // "POST /v1/grants/prepare" -> codes
};

// The section "### Errors by route" of docs/api.md (next to docs/openapi.yaml).
Documented documented() {
  std::ifstream in(std::filesystem::path(MEDLEDGER_OPENAPI_DOC).parent_path() / "api.md");
  EXPECT_TRUE(in);
  const std::regex row(R"(^\| `((GET|POST) /\S+)` \| (.*) \|$)");
  Documented out;
  std::string line;
  bool in_section = false;
  std::smatch m;
  while (std::getline(in, line)) {
    if (line.rfind("#", 0) == 0) in_section = line == "### Errors by route";
    if (!in_section) continue;
    if (line.rfind("Every node route may answer", 0) == 0) out.common = codes_in(line);
    if (std::regex_match(line, m, row)) out.routes[m[1]] = codes_in(m[3]);
  }
  return out;
}

TEST(RouteErrorsDocs, DocsAndTheTableNameTheSameCodesForTheSameRoutes) {
  const Documented docs = documented();
  EXPECT_EQ(docs.common, names(node_routes::common_route_errors()))
      << "docs/api.md should say: Every node route may answer "
      << joined(names(node_routes::common_route_errors()));
  std::set<std::string> in_table;
  for (const auto& row : node_routes::node_route_errors()) {
    const std::string operation(row.operation);
    in_table.insert(operation);
    const Codes codes = names(row.codes);
    auto it = docs.routes.find(operation);
    const std::string expected =
        "| `" + operation + "` | " + (codes.empty() ? "(none)" : joined(codes)) + " |";
    if (it == docs.routes.end()) {
      ADD_FAILURE() << "docs/api.md lacks the row: " << expected;
      continue;
    }
    EXPECT_EQ(it->second, codes) << "docs/api.md should have: " << expected;
  }
  for (const auto& [operation, codes] : docs.routes)
    EXPECT_TRUE(in_table.count(operation))
        << "docs/api.md lists a route without a row: " << operation;
}

TEST(RouteErrorsDocs, EveryNodeRouteServedHasARow) {
  Router router;
  ASSERT_TRUE(add_node_routes(router, nullptr).ok());
  std::set<std::string> rows;
  for (const auto& row : node_routes::node_route_errors()) rows.insert(std::string(row.operation));
  std::set<std::string> served;
  for (const auto& route : router.routes()) {
    const std::string operation = std::string(method_name(route.method)) + " " + route.pattern;
    served.insert(operation);
    EXPECT_TRUE(rows.count(operation))
        << "no error row (api/src/node_route_errors.cpp) for " << operation;
  }
  for (const auto& operation : rows)
    EXPECT_TRUE(served.count(operation)) << "an error row for a route not served: " << operation;
}

}  // namespace
}  // namespace medledger::api
