// The table of transaction types (transaction_types.h): lookups, the list of names
// the codec accepts, and compile-time checks of the rows.
#include "transaction_types.h"

#include <algorithm>
#include <array>

#include "medledger/core/assert.h"
#include "medledger/ledger/transaction.h"

namespace medledger::ledger {
namespace records {
namespace {

constexpr bool rows_are_well_formed() {
  const auto& rows = kTransactionTypes;
  for (std::size_t i = 0; i < std::size(rows); ++i) {
    if (rows[i].name.empty() || rows[i].name.size() > kMaxTypeNameBytes) return false;
    // Roles are listed exactly when the dispatcher checks them.
    if ((rows[i].signed_by == SignedBy::kRoles) == rows[i].roles.empty()) return false;
    for (std::size_t j = 0; j < i; ++j) {
      if (rows[j].name == rows[i].name) return false;
    }
  }
  return true;
}
static_assert(rows_are_well_formed(),
              "each type once, a name the codec accepts, roles exactly for kRoles");

constexpr auto kTypeNames = [] {
  std::array<std::string_view, std::size(kTransactionTypes)> names{};
  for (std::size_t i = 0; i < names.size(); ++i) names[i] = kTransactionTypes[i].name;
  return names;
}();

}  // namespace

const TransactionTypeSpec* find_transaction_type(std::string_view name) {
  for (const TransactionTypeSpec& spec : kTransactionTypes) {
    if (spec.name == name) {
      // Not in the static_assert: GCC cannot compare a function address with null in a
      // constant expression under -fsanitize=address.
      MEDLEDGER_ASSERT(spec.run != nullptr);
      return &spec;
    }
  }
  return nullptr;
}

}  // namespace records

std::span<const std::string_view> transaction_type_names() { return records::kTypeNames; }

}  // namespace medledger::ledger
