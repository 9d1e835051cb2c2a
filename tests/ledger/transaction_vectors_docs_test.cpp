// docs/transaction-vectors.md prints every vector of tests/ledger/vectors/transactions.json
// (what a client in another language tests itself against): each name, its input as
// a line of its own (or its hex), and its tx_id or refusal code.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <boost/json/parse.hpp>

namespace medledger::ledger {
namespace {

namespace json = boost::json;

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string member(const json::object& vector, const char* name) {
  const auto* value = vector.if_contains(name);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : "";
}

TEST(TransactionVectorsDocs, ThePagePrintsEveryVectorExactly) {
  // docs/transaction-vectors.md sits next to docs/transactions.md.
  const auto doc = read_text(std::filesystem::path(MEDLEDGER_TRANSACTIONS_DOC).parent_path() /
                             "transaction-vectors.md");
  const auto vectors =
      json::parse(read_text(std::string(MEDLEDGER_LEDGER_VECTORS_DIR) + "/transactions.json"))
          .as_object();
  int checked = 0;
  for (const char* kind : {"valid", "invalid"}) {
    for (const auto& item : vectors.at(kind).as_array()) {
      const auto& vector = item.as_object();
      const std::string name = member(vector, "name");
      const std::string input =
          vector.contains("input") ? member(vector, "input") : member(vector, "input_hex");
      const std::string heading = std::string(kind) == "valid"
                                      ? "### " + name + "\n"
                                      : "### " + name + ": `" + member(vector, "error") + "`\n";
      const auto at = doc.find(heading);
      ASSERT_NE(at, std::string::npos) << "docs/transaction-vectors.md lacks: " << heading;
      const auto next = doc.find("\n### ", at + 1);
      const std::string section = doc.substr(at, next == std::string::npos ? next : next - at);
      EXPECT_NE(section.find("\n" + input + "\n"), std::string::npos) << name;
      if (std::string(kind) == "valid") {
        EXPECT_NE(section.find("`" + member(vector, "tx_id_hex") + "`"), std::string::npos) << name;
        EXPECT_NE(section.find("\n" + member(vector, "signing_bytes_hex") + "\n"),
                  std::string::npos)
            << name;
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 51);
}

}  // namespace
}  // namespace medledger::ledger
