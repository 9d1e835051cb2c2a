// Internal: standard PKCS#11 mechanism names (mechanism_names.cpp).
#pragma once

#include <p11-kit/pkcs11.h>

namespace medledger::hsm::detail {

/// "CKM_ECDSA" for a mechanism value p11-kit's pkcs11.h names, else nullptr. O(log n).
const char* standard_mechanism_name(CK_MECHANISM_TYPE mechanism);

}  // namespace medledger::hsm::detail
