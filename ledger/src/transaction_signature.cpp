// Adding and verifying transaction signatures: each one is over tx_id, the
// SHA-256 of the signing bytes, as core::Signer::sign_digest produces it.
#include <algorithm>
#include <string>

#include "ledger_internal.h"
#include "medledger/core/signer.h"
#include "medledger/ledger/transaction.h"

namespace medledger::ledger {
using core::ErrorCode;
using core::make_error;
using core::Result;

Result<void> add_signature(Transaction& tx, core::Signer& signer,
                           const core::Digest& cert_fingerprint) {
  return add_signature(tx, tx_id(tx), signer, cert_fingerprint);
}

Result<void> add_signature(Transaction& tx, const core::Digest& id, core::Signer& signer,
                           const core::Digest& cert_fingerprint) {
  const bool already_signed = std::any_of(
      tx.signatures.begin(), tx.signatures.end(),
      [&](const TransactionSignature& s) { return s.cert_fingerprint == cert_fingerprint; });
  if (already_signed) {
    return make_error(ErrorCode::kAlreadyExists,
                      "the transaction already carries a signature by this certificate");
  }
  if (tx.signatures.size() >= kMaxTransactionSignatures) {
    return make_error(
        ErrorCode::kTxMalformed,
        "transaction already has " + std::to_string(kMaxTransactionSignatures) + " signatures");
  }
  auto signature = signer.sign_digest(id);
  if (!signature) return signature.error();
  // Checked before it is attached: a faulty token (or a signer whose public key is
  // not its private key's) cannot put a bad signature on a transaction. The check
  // fills core's memo of valid signatures, so the contract finds it done.
  if (auto checked = core::verify_digest_signature(signer.public_key_spki(), id, *signature);
      !checked) {
    return make_error(
        ErrorCode::kSignatureInvalid,
        "the signer returned a signature that does not verify under its public key: " +
            checked.error().message);
  }
  tx.signatures.push_back(
      TransactionSignature{signer.algorithm(), cert_fingerprint, std::move(*signature)});
  return core::success();
}

Result<void> verify_signature(const Transaction& tx, std::size_t index,
                              core::ByteView signer_spki) {
  if (index >= tx.signatures.size()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "signature index " + std::to_string(index) + " out of range (" +
                          std::to_string(tx.signatures.size()) + " signatures)");
  }
  MEDLEDGER_TRY_ASSIGN(auto algorithm, core::key_algorithm_of_spki(signer_spki));
  return detail::verify_signature_as(tx.signatures[index], algorithm, signer_spki, tx_id(tx));
}

namespace detail {

Result<void> verify_signature_as(const TransactionSignature& signature,
                                 core::KeyAlgorithm key_algorithm, core::ByteView signer_spki,
                                 const core::Digest& id) {
  if (key_algorithm != signature.algorithm) {
    return make_error(
        ErrorCode::kUnsupportedAlgorithm,
        "signature says " + std::string(core::key_algorithm_name(signature.algorithm)) +
            " but the signer key is " + std::string(core::key_algorithm_name(key_algorithm)));
  }
  return core::verify_digest_signature(signer_spki, id, signature.signature);
}

}  // namespace detail

}  // namespace medledger::ledger
