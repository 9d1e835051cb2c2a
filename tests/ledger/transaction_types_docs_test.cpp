// The docs name exactly the transaction types of the table (ledger/src/transaction_types.h,
// read through transaction_type_names): docs/transactions.md lists them in its table of
// types, docs/contract.md gives each a section. A type added to the table without docs,
// or documented without a row, fails here.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "medledger/ledger/transaction.h"

namespace medledger::ledger {
namespace {

std::string read_doc(const char* path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << path;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::set<std::string> table_types() {
  std::set<std::string> out;
  for (std::string_view name : transaction_type_names()) out.emplace(name);
  return out;
}

/// The text between the first two backquotes after `from` in `line`.
std::string quoted(const std::string& line, std::size_t from) {
  const std::size_t open = line.find('`', from);
  const std::size_t close = line.find('`', open + 1);
  if (open == std::string::npos || close == std::string::npos) return {};
  return line.substr(open + 1, close - open - 1);
}

/// docs/contract.md: the type of every "### `<type>`" heading (section 3).
std::set<std::string> contract_sections(const std::string& doc) {
  std::set<std::string> out;
  std::istringstream lines(doc);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("### `", 0) == 0) out.insert(quoted(line, 0));
  }
  return out;
}

/// docs/transactions.md: the first cell of each row of the table headed "| type |".
std::set<std::string> transactions_table(const std::string& doc) {
  std::set<std::string> out;
  std::istringstream lines(doc);
  bool in_table = false;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("| type |", 0) == 0) {
      in_table = true;
    } else if (in_table && line.rfind("|---", 0) != 0) {
      if (line.rfind("| `", 0) != 0) break;
      out.insert(quoted(line, 0));
    }
  }
  return out;
}

TEST(TransactionTypeDocs, TransactionsDocListsExactlyTheTablesTypes) {
  ASSERT_FALSE(table_types().empty());
  EXPECT_EQ(transactions_table(read_doc(MEDLEDGER_TRANSACTIONS_DOC)), table_types())
      << "docs/transactions.md's table of types (\"| type | ...\") differs from "
         "ledger/src/transaction_types.h";
}

TEST(TransactionTypeDocs, ContractDocHasASectionForExactlyTheTablesTypes) {
  EXPECT_EQ(contract_sections(read_doc(MEDLEDGER_CONTRACT_DOC)), table_types())
      << "docs/contract.md's \"### `<type>`\" sections differ from "
         "ledger/src/transaction_types.h";
}

}  // namespace
}  // namespace medledger::ledger
