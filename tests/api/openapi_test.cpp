// docs/openapi.yaml against the routes the server really serves: the same
// (method, path) pairs, and for each the same roles as the route table.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "medledger/api/builtin_routes.h"

namespace medledger::api {
namespace {

using Operations = std::map<std::string, std::set<std::string>>;  // "GET /v1/whoami" -> roles

std::set<std::string> split_roles(const std::string& text) {
  std::set<std::string> roles;
  std::stringstream in(text);
  std::string role;
  while (std::getline(in, role, ',')) roles.insert(role);
  return roles;
}

// Reads the paths section of the document (the subset of YAML it is written in:
// two-space indentation, paths at level 1, methods at level 2, x-medledger-roles at level 3).
Operations openapi_operations(const std::string& file) {
  std::ifstream in(file);
  EXPECT_TRUE(in) << file;
  const std::regex path_line(R"(^  (/[^:\s]*):\s*$)");
  const std::regex method_line(R"(^    (get|put|post|delete|patch|head|options):\s*$)");
  const std::regex roles_line(R"(^      x-medledger-roles:\s*(\S+)\s*$)");
  Operations operations;
  std::string line, path, operation;
  bool in_paths = false;
  std::smatch m;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] != ' ' && line[0] != '#') in_paths = line == "paths:";
    if (!in_paths) continue;
    if (std::regex_match(line, m, path_line)) {
      path = m[1];
    } else if (std::regex_match(line, m, method_line)) {
      std::string method = m[1];
      std::transform(method.begin(), method.end(), method.begin(), ::toupper);
      operation = method + " " + path;
      operations[operation];
    } else if (std::regex_match(line, m, roles_line)) {
      operations[operation] = split_roles(m[1]);
    }
  }
  return operations;
}

Operations served_operations() {
  Router router;
  auto metrics = std::make_shared<MetricsRegistry>();
  EXPECT_TRUE(add_appliance_routes(router, {{}, metrics}).ok());
  Operations operations;
  for (const auto& route : router.routes()) {
    operations[std::string(method_name(route.method)) + " " + route.pattern] =
        split_roles(route.access.describe());
  }
  return operations;
}

TEST(OpenApi, DocumentsExactlyTheServedRoutesWithTheirRoles) {
  const Operations documented = openapi_operations(MEDLEDGER_OPENAPI_DOC);
  const Operations served = served_operations();
  ASSERT_FALSE(served.empty());
  for (const auto& [operation, roles] : served) {
    auto it = documented.find(operation);
    if (it == documented.end()) {
      ADD_FAILURE() << "served but not in docs/openapi.yaml: " << operation;
      continue;
    }
    EXPECT_EQ(it->second, roles) << "x-medledger-roles of " << operation;
  }
  for (const auto& [operation, roles] : documented) {
    EXPECT_TRUE(served.count(operation)) << "in docs/openapi.yaml but not served: " << operation;
  }
}

}  // namespace
}  // namespace medledger::api
