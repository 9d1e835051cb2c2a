// Who may propose blocks besides the genesis proposers: the node keys of the admitted
// hospitals, as registered on the ledger (role "node" certificates, cert.register) and
// not revoked. Admission and revocation are member transactions, so membership of the
// ordering changes on the ledger itself, identically on every replica.
#include <map>
#include <mutex>

#include "records_internal.h"

namespace medledger::ledger {

namespace {

/// SPKI fingerprint -> the certificate fingerprint that carries that key. A pure
/// function of certificate bytes (kept process-wide like the other caches): validity
/// and admission are read from the state on every call.
struct NodeKeyIndex {
  std::mutex mutex;
  std::map<core::Digest, core::Digest> certificate_of;
};
NodeKeyIndex& node_key_index() {
  static NodeKeyIndex index;
  return index;
}

constexpr std::size_t kMaxNodeKeyIndexEntries = 4096;

}  // namespace

core::Result<std::optional<core::Bytes>> RecordsContract::member_node_key(
    const StateView& state, const core::Digest& spki_fingerprint) {
  using Found = std::optional<core::Bytes>;
  std::optional<core::Digest> certificate;
  {
    auto& index = node_key_index();
    std::lock_guard lock(index.mutex);
    auto it = index.certificate_of.find(spki_fingerprint);
    if (it != index.certificate_of.end()) certificate = it->second;
  }
  if (!certificate) {
    core::Result<void> scanned = core::success();
    MEDLEDGER_TRY(state.scan(kTableCerts, {}, [&](core::ByteView, core::ByteView value) {
      auto entry = records::parse_certificate_entry(
          std::string_view(reinterpret_cast<const char*>(value.data()), value.size()));
      if (!entry || entry->role != "node") return true;
      auto parsed = records::parse_role_certificate(entry->der);
      if (!parsed || core::public_key_fingerprint(parsed->spki) != spki_fingerprint) return true;
      certificate = entry->fingerprint;
      return false;
    }));
    if (!certificate) return Found{};
    auto& index = node_key_index();
    std::lock_guard lock(index.mutex);
    if (index.certificate_of.size() < kMaxNodeKeyIndexEntries)
      index.certificate_of.emplace(spki_fingerprint, *certificate);
  }
  MEDLEDGER_TRY_ASSIGN(auto entry, find_certificate(state, *certificate));
  if (!entry || entry->role != "node" || entry->status != "valid") return Found{};
  MEDLEDGER_TRY_ASSIGN(auto hospital, find_hospital(state, entry->hospital));
  if (!hospital) return Found{};
  MEDLEDGER_TRY_ASSIGN(auto parsed, records::parse_role_certificate(entry->der));
  return Found(std::move(parsed.spki));
}

}  // namespace medledger::ledger
