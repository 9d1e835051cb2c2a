// Who may propose blocks besides the genesis proposers: the node keys of the admitted
// hospitals, as registered on the ledger (role "node" certificates, cert.register) and
// not revoked. Admission and revocation are member transactions, so membership of the
// ordering changes on the ledger itself, identically on every replica.
#include <map>
#include <mutex>
#include <vector>

#include "records_internal.h"

namespace medledger::ledger {

namespace {

/// SPKI fingerprint -> a certificate fingerprint that carries that key and was found
/// valid. Only a hint: the same key may be certified again (a renewal) and the hinted
/// certificate revoked, so a hint that no longer qualifies falls back to a full scan.
/// Certificate bytes never change; status and admission are read from the state on
/// every call, so every replica gets the same answer whatever its cache holds.
struct NodeKeyIndex {
  std::mutex mutex;
  std::map<core::Digest, core::Digest> certificate_of;
};
NodeKeyIndex& node_key_index() {
  static NodeKeyIndex index;
  return index;
}

constexpr std::size_t kMaxNodeKeyIndexEntries = 4096;

/// The key of certificate `fingerprint` when it is a valid role-node certificate of an
/// admitted hospital, within its validity period at `at_ms`; nullopt otherwise.
core::Result<std::optional<core::Bytes>> qualifying_key(const StateView& state,
                                                        const core::Digest& fingerprint,
                                                        std::int64_t at_ms) {
  using Found = std::optional<core::Bytes>;
  MEDLEDGER_TRY_ASSIGN(auto entry, find_certificate(state, fingerprint));
  if (!entry || entry->role != "node" || entry->status != "valid") return Found{};
  // notBefore/notAfter are whole seconds; the certificate is valid through notAfter.
  if (at_ms < entry->not_before * 1000 || at_ms >= (entry->not_after + 1) * 1000) return Found{};
  MEDLEDGER_TRY_ASSIGN(auto hospital, find_hospital(state, entry->hospital));
  if (!hospital) return Found{};
  MEDLEDGER_TRY_ASSIGN(auto parsed, records::parse_role_certificate(entry->der));
  return Found(std::move(parsed.spki));
}

}  // namespace

core::Result<std::optional<core::Bytes>> RecordsContract::member_node_key(
    const StateView& state, const core::Digest& spki_fingerprint, std::int64_t at_ms) {
  using Found = std::optional<core::Bytes>;
  auto& index = node_key_index();
  std::optional<core::Digest> hint;
  {
    std::lock_guard lock(index.mutex);
    auto it = index.certificate_of.find(spki_fingerprint);
    if (it != index.certificate_of.end()) hint = it->second;
  }
  if (hint) {
    MEDLEDGER_TRY_ASSIGN(auto key, qualifying_key(state, *hint, at_ms));
    if (key) return key;
  }
  // Every role-node certificate carrying the key: any one that qualifies makes it a member.
  std::vector<core::Digest> candidates;
  MEDLEDGER_TRY(state.scan(kTableCerts, {}, [&](core::ByteView, core::ByteView value) {
    auto entry = records::parse_certificate_entry(
        std::string_view(reinterpret_cast<const char*>(value.data()), value.size()));
    if (!entry || entry->role != "node" || entry->status != "valid") return true;
    auto parsed = records::parse_role_certificate(entry->der);
    if (parsed && core::public_key_fingerprint(parsed->spki) == spki_fingerprint)
      candidates.push_back(entry->fingerprint);
    return true;
  }));
  for (const core::Digest& certificate : candidates) {
    MEDLEDGER_TRY_ASSIGN(auto key, qualifying_key(state, certificate, at_ms));
    if (!key) continue;
    std::lock_guard lock(index.mutex);
    if (index.certificate_of.size() < kMaxNodeKeyIndexEntries ||
        index.certificate_of.count(spki_fingerprint))
      index.certificate_of.insert_or_assign(spki_fingerprint, certificate);
    return key;
  }
  return Found{};
}

}  // namespace medledger::ledger
