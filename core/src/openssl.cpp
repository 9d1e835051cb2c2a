#include "medledger/core/openssl.h"

#include <openssl/err.h>

namespace medledger::core {

Error openssl_error(ErrorCode code, const std::string& what) {
  std::string reasons;
  unsigned long e = 0;
  while ((e = ERR_get_error()) != 0) {
    char buffer[256];
    ERR_error_string_n(e, buffer, sizeof buffer);
    if (!reasons.empty()) reasons += "; ";
    reasons += buffer;
  }
  return make_error(code, reasons.empty() ? what : what + ": " + reasons);
}

EvpPkeyPtr parse_public_key_spki(const unsigned char* der, std::size_t size) {
  const unsigned char* p = der;
  EvpPkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(size)));
  // Trailing bytes after the SPKI mean the input is not one key.
  if (key && p != der + size) return nullptr;
  return key;
}

}  // namespace medledger::core
