// The standard names of PKCS#11 mechanisms, for `medledger token status`.
//
// One row per mechanism value defined by p11-kit's pkcs11.h (PKCS#11 2.40 plus the
// 3.0 additions SoftHSM2 offers, e.g. CKM_EDDSA); where the header has aliases for
// one value (CKM_ECDSA_KEY_PAIR_GEN / CKM_EC_KEY_PAIR_GEN) the later, current name.
// Those values come from the header's macros, so a typo cannot name the wrong value.
// The rows marked "3.0" are PKCS#11 3.0 mechanisms that header lacks (NSS offers
// several, e.g. CKM_AES_KEY_WRAP_KWP 0x210b); their values are the 3.0 pkcs11t.h's.
#include "mechanism_names.h"

#include <algorithm>
#include <array>

namespace medledger::hsm::detail {

namespace {
struct MechanismName {
  CK_MECHANISM_TYPE mechanism;
  const char* name;
};

// Sorted by value (checked below), searched with a binary search.
constexpr std::array kMechanismNames = {
    MechanismName{CKM_RSA_PKCS_KEY_PAIR_GEN, "CKM_RSA_PKCS_KEY_PAIR_GEN"},
    MechanismName{CKM_RSA_PKCS, "CKM_RSA_PKCS"},
    MechanismName{CKM_RSA_9796, "CKM_RSA_9796"},
    MechanismName{CKM_RSA_X_509, "CKM_RSA_X_509"},
    MechanismName{CKM_MD2_RSA_PKCS, "CKM_MD2_RSA_PKCS"},
    MechanismName{CKM_MD5_RSA_PKCS, "CKM_MD5_RSA_PKCS"},
    MechanismName{CKM_SHA1_RSA_PKCS, "CKM_SHA1_RSA_PKCS"},
    MechanismName{CKM_RIPEMD128_RSA_PKCS, "CKM_RIPEMD128_RSA_PKCS"},
    MechanismName{CKM_RIPEMD160_RSA_PKCS, "CKM_RIPEMD160_RSA_PKCS"},
    MechanismName{CKM_RSA_PKCS_OAEP, "CKM_RSA_PKCS_OAEP"},
    MechanismName{CKM_RSA_X9_31_KEY_PAIR_GEN, "CKM_RSA_X9_31_KEY_PAIR_GEN"},
    MechanismName{CKM_RSA_X9_31, "CKM_RSA_X9_31"},
    MechanismName{CKM_SHA1_RSA_X9_31, "CKM_SHA1_RSA_X9_31"},
    MechanismName{CKM_RSA_PKCS_PSS, "CKM_RSA_PKCS_PSS"},
    MechanismName{CKM_SHA1_RSA_PKCS_PSS, "CKM_SHA1_RSA_PKCS_PSS"},
    MechanismName{CKM_DSA_KEY_PAIR_GEN, "CKM_DSA_KEY_PAIR_GEN"},
    MechanismName{CKM_DSA, "CKM_DSA"},
    MechanismName{CKM_DSA_SHA1, "CKM_DSA_SHA1"},
    MechanismName{CKM_DSA_SHA224, "CKM_DSA_SHA224"},
    MechanismName{CKM_DSA_SHA256, "CKM_DSA_SHA256"},
    MechanismName{CKM_DSA_SHA384, "CKM_DSA_SHA384"},
    MechanismName{CKM_DSA_SHA512, "CKM_DSA_SHA512"},
    MechanismName{0x18, "CKM_DSA_SHA3_224"},  // 3.0
    MechanismName{0x19, "CKM_DSA_SHA3_256"},  // 3.0
    MechanismName{0x1a, "CKM_DSA_SHA3_384"},  // 3.0
    MechanismName{0x1b, "CKM_DSA_SHA3_512"},  // 3.0
    MechanismName{CKM_DH_PKCS_KEY_PAIR_GEN, "CKM_DH_PKCS_KEY_PAIR_GEN"},
    MechanismName{CKM_DH_PKCS_DERIVE, "CKM_DH_PKCS_DERIVE"},
    MechanismName{CKM_X9_42_DH_KEY_PAIR_GEN, "CKM_X9_42_DH_KEY_PAIR_GEN"},
    MechanismName{CKM_X9_42_DH_DERIVE, "CKM_X9_42_DH_DERIVE"},
    MechanismName{CKM_X9_42_DH_HYBRID_DERIVE, "CKM_X9_42_DH_HYBRID_DERIVE"},
    MechanismName{CKM_X9_42_MQV_DERIVE, "CKM_X9_42_MQV_DERIVE"},
    MechanismName{CKM_SHA256_RSA_PKCS, "CKM_SHA256_RSA_PKCS"},
    MechanismName{CKM_SHA384_RSA_PKCS, "CKM_SHA384_RSA_PKCS"},
    MechanismName{CKM_SHA512_RSA_PKCS, "CKM_SHA512_RSA_PKCS"},
    MechanismName{CKM_SHA256_RSA_PKCS_PSS, "CKM_SHA256_RSA_PKCS_PSS"},
    MechanismName{CKM_SHA384_RSA_PKCS_PSS, "CKM_SHA384_RSA_PKCS_PSS"},
    MechanismName{CKM_SHA512_RSA_PKCS_PSS, "CKM_SHA512_RSA_PKCS_PSS"},
    MechanismName{CKM_SHA224_RSA_PKCS, "CKM_SHA224_RSA_PKCS"},
    MechanismName{CKM_SHA224_RSA_PKCS_PSS, "CKM_SHA224_RSA_PKCS_PSS"},
    MechanismName{CKM_SHA512_224, "CKM_SHA512_224"},
    MechanismName{CKM_SHA512_224_HMAC, "CKM_SHA512_224_HMAC"},
    MechanismName{CKM_SHA512_224_HMAC_GENERAL, "CKM_SHA512_224_HMAC_GENERAL"},
    MechanismName{CKM_SHA512_224_KEY_DERIVATION, "CKM_SHA512_224_KEY_DERIVATION"},
    MechanismName{CKM_SHA512_256, "CKM_SHA512_256"},
    MechanismName{CKM_SHA512_256_HMAC, "CKM_SHA512_256_HMAC"},
    MechanismName{CKM_SHA512_256_HMAC_GENERAL, "CKM_SHA512_256_HMAC_GENERAL"},
    MechanismName{CKM_SHA512_256_KEY_DERIVATION, "CKM_SHA512_256_KEY_DERIVATION"},
    MechanismName{CKM_SHA512_T, "CKM_SHA512_T"},
    MechanismName{CKM_SHA512_T_HMAC, "CKM_SHA512_T_HMAC"},
    MechanismName{CKM_SHA512_T_HMAC_GENERAL, "CKM_SHA512_T_HMAC_GENERAL"},
    MechanismName{CKM_SHA512_T_KEY_DERIVATION, "CKM_SHA512_T_KEY_DERIVATION"},
    MechanismName{0x60, "CKM_SHA3_256_RSA_PKCS"},      // 3.0
    MechanismName{0x61, "CKM_SHA3_384_RSA_PKCS"},      // 3.0
    MechanismName{0x62, "CKM_SHA3_512_RSA_PKCS"},      // 3.0
    MechanismName{0x63, "CKM_SHA3_256_RSA_PKCS_PSS"},  // 3.0
    MechanismName{0x64, "CKM_SHA3_384_RSA_PKCS_PSS"},  // 3.0
    MechanismName{0x65, "CKM_SHA3_512_RSA_PKCS_PSS"},  // 3.0
    MechanismName{0x66, "CKM_SHA3_224_RSA_PKCS"},      // 3.0
    MechanismName{0x67, "CKM_SHA3_224_RSA_PKCS_PSS"},  // 3.0
    MechanismName{CKM_RC2_KEY_GEN, "CKM_RC2_KEY_GEN"},
    MechanismName{CKM_RC2_ECB, "CKM_RC2_ECB"},
    MechanismName{CKM_RC2_CBC, "CKM_RC2_CBC"},
    MechanismName{CKM_RC2_MAC, "CKM_RC2_MAC"},
    MechanismName{CKM_RC2_MAC_GENERAL, "CKM_RC2_MAC_GENERAL"},
    MechanismName{CKM_RC2_CBC_PAD, "CKM_RC2_CBC_PAD"},
    MechanismName{CKM_RC4_KEY_GEN, "CKM_RC4_KEY_GEN"},
    MechanismName{CKM_RC4, "CKM_RC4"},
    MechanismName{CKM_DES_KEY_GEN, "CKM_DES_KEY_GEN"},
    MechanismName{CKM_DES_ECB, "CKM_DES_ECB"},
    MechanismName{CKM_DES_CBC, "CKM_DES_CBC"},
    MechanismName{CKM_DES_MAC, "CKM_DES_MAC"},
    MechanismName{CKM_DES_MAC_GENERAL, "CKM_DES_MAC_GENERAL"},
    MechanismName{CKM_DES_CBC_PAD, "CKM_DES_CBC_PAD"},
    MechanismName{CKM_DES2_KEY_GEN, "CKM_DES2_KEY_GEN"},
    MechanismName{CKM_DES3_KEY_GEN, "CKM_DES3_KEY_GEN"},
    MechanismName{CKM_DES3_ECB, "CKM_DES3_ECB"},
    MechanismName{CKM_DES3_CBC, "CKM_DES3_CBC"},
    MechanismName{CKM_DES3_MAC, "CKM_DES3_MAC"},
    MechanismName{CKM_DES3_MAC_GENERAL, "CKM_DES3_MAC_GENERAL"},
    MechanismName{CKM_DES3_CBC_PAD, "CKM_DES3_CBC_PAD"},
    MechanismName{CKM_DES3_CMAC_GENERAL, "CKM_DES3_CMAC_GENERAL"},
    MechanismName{CKM_DES3_CMAC, "CKM_DES3_CMAC"},
    MechanismName{CKM_CDMF_KEY_GEN, "CKM_CDMF_KEY_GEN"},
    MechanismName{CKM_CDMF_ECB, "CKM_CDMF_ECB"},
    MechanismName{CKM_CDMF_CBC, "CKM_CDMF_CBC"},
    MechanismName{CKM_CDMF_MAC, "CKM_CDMF_MAC"},
    MechanismName{CKM_CDMF_MAC_GENERAL, "CKM_CDMF_MAC_GENERAL"},
    MechanismName{CKM_CDMF_CBC_PAD, "CKM_CDMF_CBC_PAD"},
    MechanismName{CKM_DES_OFB64, "CKM_DES_OFB64"},
    MechanismName{CKM_DES_OFB8, "CKM_DES_OFB8"},
    MechanismName{CKM_DES_CFB64, "CKM_DES_CFB64"},
    MechanismName{CKM_DES_CFB8, "CKM_DES_CFB8"},
    MechanismName{CKM_MD2, "CKM_MD2"},
    MechanismName{CKM_MD2_HMAC, "CKM_MD2_HMAC"},
    MechanismName{CKM_MD2_HMAC_GENERAL, "CKM_MD2_HMAC_GENERAL"},
    MechanismName{CKM_MD5, "CKM_MD5"},
    MechanismName{CKM_MD5_HMAC, "CKM_MD5_HMAC"},
    MechanismName{CKM_MD5_HMAC_GENERAL, "CKM_MD5_HMAC_GENERAL"},
    MechanismName{CKM_SHA_1, "CKM_SHA_1"},
    MechanismName{CKM_SHA_1_HMAC, "CKM_SHA_1_HMAC"},
    MechanismName{CKM_SHA_1_HMAC_GENERAL, "CKM_SHA_1_HMAC_GENERAL"},
    MechanismName{CKM_RIPEMD128, "CKM_RIPEMD128"},
    MechanismName{CKM_RIPEMD128_HMAC, "CKM_RIPEMD128_HMAC"},
    MechanismName{CKM_RIPEMD128_HMAC_GENERAL, "CKM_RIPEMD128_HMAC_GENERAL"},
    MechanismName{CKM_RIPEMD160, "CKM_RIPEMD160"},
    MechanismName{CKM_RIPEMD160_HMAC, "CKM_RIPEMD160_HMAC"},
    MechanismName{CKM_RIPEMD160_HMAC_GENERAL, "CKM_RIPEMD160_HMAC_GENERAL"},
    MechanismName{CKM_SHA256, "CKM_SHA256"},
    MechanismName{CKM_SHA256_HMAC, "CKM_SHA256_HMAC"},
    MechanismName{CKM_SHA256_HMAC_GENERAL, "CKM_SHA256_HMAC_GENERAL"},
    MechanismName{CKM_SHA224, "CKM_SHA224"},
    MechanismName{CKM_SHA224_HMAC, "CKM_SHA224_HMAC"},
    MechanismName{CKM_SHA224_HMAC_GENERAL, "CKM_SHA224_HMAC_GENERAL"},
    MechanismName{CKM_SHA384, "CKM_SHA384"},
    MechanismName{CKM_SHA384_HMAC, "CKM_SHA384_HMAC"},
    MechanismName{CKM_SHA384_HMAC_GENERAL, "CKM_SHA384_HMAC_GENERAL"},
    MechanismName{CKM_SHA512, "CKM_SHA512"},
    MechanismName{CKM_SHA512_HMAC, "CKM_SHA512_HMAC"},
    MechanismName{CKM_SHA512_HMAC_GENERAL, "CKM_SHA512_HMAC_GENERAL"},
    MechanismName{CKM_SECURID_KEY_GEN, "CKM_SECURID_KEY_GEN"},
    MechanismName{CKM_SECURID, "CKM_SECURID"},
    MechanismName{CKM_HOTP_KEY_GEN, "CKM_HOTP_KEY_GEN"},
    MechanismName{CKM_HOTP, "CKM_HOTP"},
    MechanismName{CKM_ACTI, "CKM_ACTI"},
    MechanismName{CKM_ACTI_KEY_GEN, "CKM_ACTI_KEY_GEN"},
    MechanismName{0x2b0, "CKM_SHA3_256"},               // 3.0
    MechanismName{0x2b1, "CKM_SHA3_256_HMAC"},          // 3.0
    MechanismName{0x2b2, "CKM_SHA3_256_HMAC_GENERAL"},  // 3.0
    MechanismName{0x2b3, "CKM_SHA3_256_KEY_GEN"},       // 3.0
    MechanismName{0x2b5, "CKM_SHA3_224"},               // 3.0
    MechanismName{0x2b6, "CKM_SHA3_224_HMAC"},          // 3.0
    MechanismName{0x2b7, "CKM_SHA3_224_HMAC_GENERAL"},  // 3.0
    MechanismName{0x2b8, "CKM_SHA3_224_KEY_GEN"},       // 3.0
    MechanismName{0x2c0, "CKM_SHA3_384"},               // 3.0
    MechanismName{0x2c1, "CKM_SHA3_384_HMAC"},          // 3.0
    MechanismName{0x2c2, "CKM_SHA3_384_HMAC_GENERAL"},  // 3.0
    MechanismName{0x2c3, "CKM_SHA3_384_KEY_GEN"},       // 3.0
    MechanismName{0x2d0, "CKM_SHA3_512"},               // 3.0
    MechanismName{0x2d1, "CKM_SHA3_512_HMAC"},          // 3.0
    MechanismName{0x2d2, "CKM_SHA3_512_HMAC_GENERAL"},  // 3.0
    MechanismName{0x2d3, "CKM_SHA3_512_KEY_GEN"},       // 3.0
    MechanismName{CKM_CAST_KEY_GEN, "CKM_CAST_KEY_GEN"},
    MechanismName{CKM_CAST_ECB, "CKM_CAST_ECB"},
    MechanismName{CKM_CAST_CBC, "CKM_CAST_CBC"},
    MechanismName{CKM_CAST_MAC, "CKM_CAST_MAC"},
    MechanismName{CKM_CAST_MAC_GENERAL, "CKM_CAST_MAC_GENERAL"},
    MechanismName{CKM_CAST_CBC_PAD, "CKM_CAST_CBC_PAD"},
    MechanismName{CKM_CAST3_KEY_GEN, "CKM_CAST3_KEY_GEN"},
    MechanismName{CKM_CAST3_ECB, "CKM_CAST3_ECB"},
    MechanismName{CKM_CAST3_CBC, "CKM_CAST3_CBC"},
    MechanismName{CKM_CAST3_MAC, "CKM_CAST3_MAC"},
    MechanismName{CKM_CAST3_MAC_GENERAL, "CKM_CAST3_MAC_GENERAL"},
    MechanismName{CKM_CAST3_CBC_PAD, "CKM_CAST3_CBC_PAD"},
    MechanismName{CKM_CAST128_KEY_GEN, "CKM_CAST128_KEY_GEN"},
    MechanismName{CKM_CAST128_ECB, "CKM_CAST128_ECB"},
    MechanismName{CKM_CAST128_CBC, "CKM_CAST128_CBC"},
    MechanismName{CKM_CAST128_MAC, "CKM_CAST128_MAC"},
    MechanismName{CKM_CAST128_MAC_GENERAL, "CKM_CAST128_MAC_GENERAL"},
    MechanismName{CKM_CAST128_CBC_PAD, "CKM_CAST128_CBC_PAD"},
    MechanismName{CKM_RC5_KEY_GEN, "CKM_RC5_KEY_GEN"},
    MechanismName{CKM_RC5_ECB, "CKM_RC5_ECB"},
    MechanismName{CKM_RC5_CBC, "CKM_RC5_CBC"},
    MechanismName{CKM_RC5_MAC, "CKM_RC5_MAC"},
    MechanismName{CKM_RC5_MAC_GENERAL, "CKM_RC5_MAC_GENERAL"},
    MechanismName{CKM_RC5_CBC_PAD, "CKM_RC5_CBC_PAD"},
    MechanismName{CKM_IDEA_KEY_GEN, "CKM_IDEA_KEY_GEN"},
    MechanismName{CKM_IDEA_ECB, "CKM_IDEA_ECB"},
    MechanismName{CKM_IDEA_CBC, "CKM_IDEA_CBC"},
    MechanismName{CKM_IDEA_MAC, "CKM_IDEA_MAC"},
    MechanismName{CKM_IDEA_MAC_GENERAL, "CKM_IDEA_MAC_GENERAL"},
    MechanismName{CKM_IDEA_CBC_PAD, "CKM_IDEA_CBC_PAD"},
    MechanismName{CKM_GENERIC_SECRET_KEY_GEN, "CKM_GENERIC_SECRET_KEY_GEN"},
    MechanismName{CKM_CONCATENATE_BASE_AND_KEY, "CKM_CONCATENATE_BASE_AND_KEY"},
    MechanismName{CKM_CONCATENATE_BASE_AND_DATA, "CKM_CONCATENATE_BASE_AND_DATA"},
    MechanismName{CKM_CONCATENATE_DATA_AND_BASE, "CKM_CONCATENATE_DATA_AND_BASE"},
    MechanismName{CKM_XOR_BASE_AND_DATA, "CKM_XOR_BASE_AND_DATA"},
    MechanismName{CKM_EXTRACT_KEY_FROM_KEY, "CKM_EXTRACT_KEY_FROM_KEY"},
    MechanismName{CKM_SSL3_PRE_MASTER_KEY_GEN, "CKM_SSL3_PRE_MASTER_KEY_GEN"},
    MechanismName{CKM_SSL3_MASTER_KEY_DERIVE, "CKM_SSL3_MASTER_KEY_DERIVE"},
    MechanismName{CKM_SSL3_KEY_AND_MAC_DERIVE, "CKM_SSL3_KEY_AND_MAC_DERIVE"},
    MechanismName{CKM_SSL3_MASTER_KEY_DERIVE_DH, "CKM_SSL3_MASTER_KEY_DERIVE_DH"},
    MechanismName{CKM_TLS_PRE_MASTER_KEY_GEN, "CKM_TLS_PRE_MASTER_KEY_GEN"},
    MechanismName{CKM_TLS_MASTER_KEY_DERIVE, "CKM_TLS_MASTER_KEY_DERIVE"},
    MechanismName{CKM_TLS_KEY_AND_MAC_DERIVE, "CKM_TLS_KEY_AND_MAC_DERIVE"},
    MechanismName{CKM_TLS_MASTER_KEY_DERIVE_DH, "CKM_TLS_MASTER_KEY_DERIVE_DH"},
    MechanismName{CKM_TLS_PRF, "CKM_TLS_PRF"},
    MechanismName{CKM_SSL3_MD5_MAC, "CKM_SSL3_MD5_MAC"},
    MechanismName{CKM_SSL3_SHA1_MAC, "CKM_SSL3_SHA1_MAC"},
    MechanismName{CKM_MD5_KEY_DERIVATION, "CKM_MD5_KEY_DERIVATION"},
    MechanismName{CKM_MD2_KEY_DERIVATION, "CKM_MD2_KEY_DERIVATION"},
    MechanismName{CKM_SHA1_KEY_DERIVATION, "CKM_SHA1_KEY_DERIVATION"},
    MechanismName{CKM_SHA256_KEY_DERIVATION, "CKM_SHA256_KEY_DERIVATION"},
    MechanismName{CKM_SHA384_KEY_DERIVATION, "CKM_SHA384_KEY_DERIVATION"},
    MechanismName{CKM_SHA512_KEY_DERIVATION, "CKM_SHA512_KEY_DERIVATION"},
    MechanismName{CKM_SHA224_KEY_DERIVATION, "CKM_SHA224_KEY_DERIVATION"},
    MechanismName{0x397, "CKM_SHA3_256_KEY_DERIVATION"},   // 3.0
    MechanismName{0x398, "CKM_SHA3_224_KEY_DERIVATION"},   // 3.0
    MechanismName{0x399, "CKM_SHA3_384_KEY_DERIVATION"},   // 3.0
    MechanismName{0x39a, "CKM_SHA3_512_KEY_DERIVATION"},   // 3.0
    MechanismName{0x39b, "CKM_SHAKE_128_KEY_DERIVATION"},  // 3.0
    MechanismName{0x39c, "CKM_SHAKE_256_KEY_DERIVATION"},  // 3.0
    MechanismName{CKM_PBE_MD2_DES_CBC, "CKM_PBE_MD2_DES_CBC"},
    MechanismName{CKM_PBE_MD5_DES_CBC, "CKM_PBE_MD5_DES_CBC"},
    MechanismName{CKM_PBE_MD5_CAST_CBC, "CKM_PBE_MD5_CAST_CBC"},
    MechanismName{CKM_PBE_MD5_CAST3_CBC, "CKM_PBE_MD5_CAST3_CBC"},
    MechanismName{CKM_PBE_MD5_CAST128_CBC, "CKM_PBE_MD5_CAST128_CBC"},
    MechanismName{CKM_PBE_SHA1_CAST128_CBC, "CKM_PBE_SHA1_CAST128_CBC"},
    MechanismName{CKM_PBE_SHA1_RC4_128, "CKM_PBE_SHA1_RC4_128"},
    MechanismName{CKM_PBE_SHA1_RC4_40, "CKM_PBE_SHA1_RC4_40"},
    MechanismName{CKM_PBE_SHA1_DES3_EDE_CBC, "CKM_PBE_SHA1_DES3_EDE_CBC"},
    MechanismName{CKM_PBE_SHA1_DES2_EDE_CBC, "CKM_PBE_SHA1_DES2_EDE_CBC"},
    MechanismName{CKM_PBE_SHA1_RC2_128_CBC, "CKM_PBE_SHA1_RC2_128_CBC"},
    MechanismName{CKM_PBE_SHA1_RC2_40_CBC, "CKM_PBE_SHA1_RC2_40_CBC"},
    MechanismName{0x3ac, "CKM_SP800_108_COUNTER_KDF"},          // 3.0
    MechanismName{0x3ad, "CKM_SP800_108_FEEDBACK_KDF"},         // 3.0
    MechanismName{0x3ae, "CKM_SP800_108_DOUBLE_PIPELINE_KDF"},  // 3.0
    MechanismName{CKM_PKCS5_PBKD2, "CKM_PKCS5_PBKD2"},
    MechanismName{CKM_PBA_SHA1_WITH_SHA1_HMAC, "CKM_PBA_SHA1_WITH_SHA1_HMAC"},
    MechanismName{CKM_WTLS_PRE_MASTER_KEY_GEN, "CKM_WTLS_PRE_MASTER_KEY_GEN"},
    MechanismName{CKM_WTLS_MASTER_KEY_DERIVE, "CKM_WTLS_MASTER_KEY_DERIVE"},
    MechanismName{CKM_WTLS_MASTER_KEY_DERIVE_DH_ECC, "CKM_WTLS_MASTER_KEY_DERIVE_DH_ECC"},
    MechanismName{CKM_WTLS_PRF, "CKM_WTLS_PRF"},
    MechanismName{CKM_WTLS_SERVER_KEY_AND_MAC_DERIVE, "CKM_WTLS_SERVER_KEY_AND_MAC_DERIVE"},
    MechanismName{CKM_WTLS_CLIENT_KEY_AND_MAC_DERIVE, "CKM_WTLS_CLIENT_KEY_AND_MAC_DERIVE"},
    MechanismName{CKM_TLS10_MAC_SERVER, "CKM_TLS10_MAC_SERVER"},
    MechanismName{CKM_TLS10_MAC_CLIENT, "CKM_TLS10_MAC_CLIENT"},
    MechanismName{CKM_TLS12_MAC, "CKM_TLS12_MAC"},
    MechanismName{CKM_TLS12_KDF, "CKM_TLS12_KDF"},
    MechanismName{CKM_TLS12_MASTER_KEY_DERIVE, "CKM_TLS12_MASTER_KEY_DERIVE"},
    MechanismName{CKM_TLS12_KEY_AND_MAC_DERIVE, "CKM_TLS12_KEY_AND_MAC_DERIVE"},
    MechanismName{CKM_TLS12_MASTER_KEY_DERIVE_DH, "CKM_TLS12_MASTER_KEY_DERIVE_DH"},
    MechanismName{CKM_TLS12_KEY_SAFE_DERIVE, "CKM_TLS12_KEY_SAFE_DERIVE"},
    MechanismName{CKM_TLS_MAC, "CKM_TLS_MAC"},
    MechanismName{CKM_TLS_KDF, "CKM_TLS_KDF"},
    MechanismName{CKM_KEY_WRAP_LYNKS, "CKM_KEY_WRAP_LYNKS"},
    MechanismName{CKM_KEY_WRAP_SET_OAEP, "CKM_KEY_WRAP_SET_OAEP"},
    MechanismName{CKM_CMS_SIG, "CKM_CMS_SIG"},
    MechanismName{CKM_KIP_DERIVE, "CKM_KIP_DERIVE"},
    MechanismName{CKM_KIP_WRAP, "CKM_KIP_WRAP"},
    MechanismName{CKM_KIP_MAC, "CKM_KIP_MAC"},
    MechanismName{CKM_CAMELLIA_KEY_GEN, "CKM_CAMELLIA_KEY_GEN"},
    MechanismName{CKM_CAMELLIA_ECB, "CKM_CAMELLIA_ECB"},
    MechanismName{CKM_CAMELLIA_CBC, "CKM_CAMELLIA_CBC"},
    MechanismName{CKM_CAMELLIA_MAC, "CKM_CAMELLIA_MAC"},
    MechanismName{CKM_CAMELLIA_MAC_GENERAL, "CKM_CAMELLIA_MAC_GENERAL"},
    MechanismName{CKM_CAMELLIA_CBC_PAD, "CKM_CAMELLIA_CBC_PAD"},
    MechanismName{CKM_CAMELLIA_ECB_ENCRYPT_DATA, "CKM_CAMELLIA_ECB_ENCRYPT_DATA"},
    MechanismName{CKM_CAMELLIA_CBC_ENCRYPT_DATA, "CKM_CAMELLIA_CBC_ENCRYPT_DATA"},
    MechanismName{CKM_CAMELLIA_CTR, "CKM_CAMELLIA_CTR"},
    MechanismName{CKM_ARIA_KEY_GEN, "CKM_ARIA_KEY_GEN"},
    MechanismName{CKM_ARIA_ECB, "CKM_ARIA_ECB"},
    MechanismName{CKM_ARIA_CBC, "CKM_ARIA_CBC"},
    MechanismName{CKM_ARIA_MAC, "CKM_ARIA_MAC"},
    MechanismName{CKM_ARIA_MAC_GENERAL, "CKM_ARIA_MAC_GENERAL"},
    MechanismName{CKM_ARIA_CBC_PAD, "CKM_ARIA_CBC_PAD"},
    MechanismName{CKM_ARIA_ECB_ENCRYPT_DATA, "CKM_ARIA_ECB_ENCRYPT_DATA"},
    MechanismName{CKM_ARIA_CBC_ENCRYPT_DATA, "CKM_ARIA_CBC_ENCRYPT_DATA"},
    MechanismName{CKM_SEED_KEY_GEN, "CKM_SEED_KEY_GEN"},
    MechanismName{CKM_SEED_ECB, "CKM_SEED_ECB"},
    MechanismName{CKM_SEED_CBC, "CKM_SEED_CBC"},
    MechanismName{CKM_SEED_MAC, "CKM_SEED_MAC"},
    MechanismName{CKM_SEED_MAC_GENERAL, "CKM_SEED_MAC_GENERAL"},
    MechanismName{CKM_SEED_CBC_PAD, "CKM_SEED_CBC_PAD"},
    MechanismName{CKM_SEED_ECB_ENCRYPT_DATA, "CKM_SEED_ECB_ENCRYPT_DATA"},
    MechanismName{CKM_SEED_CBC_ENCRYPT_DATA, "CKM_SEED_CBC_ENCRYPT_DATA"},
    MechanismName{CKM_SKIPJACK_KEY_GEN, "CKM_SKIPJACK_KEY_GEN"},
    MechanismName{CKM_SKIPJACK_ECB64, "CKM_SKIPJACK_ECB64"},
    MechanismName{CKM_SKIPJACK_CBC64, "CKM_SKIPJACK_CBC64"},
    MechanismName{CKM_SKIPJACK_OFB64, "CKM_SKIPJACK_OFB64"},
    MechanismName{CKM_SKIPJACK_CFB64, "CKM_SKIPJACK_CFB64"},
    MechanismName{CKM_SKIPJACK_CFB32, "CKM_SKIPJACK_CFB32"},
    MechanismName{CKM_SKIPJACK_CFB16, "CKM_SKIPJACK_CFB16"},
    MechanismName{CKM_SKIPJACK_CFB8, "CKM_SKIPJACK_CFB8"},
    MechanismName{CKM_SKIPJACK_WRAP, "CKM_SKIPJACK_WRAP"},
    MechanismName{CKM_SKIPJACK_PRIVATE_WRAP, "CKM_SKIPJACK_PRIVATE_WRAP"},
    MechanismName{CKM_SKIPJACK_RELAYX, "CKM_SKIPJACK_RELAYX"},
    MechanismName{CKM_KEA_KEY_PAIR_GEN, "CKM_KEA_KEY_PAIR_GEN"},
    MechanismName{CKM_KEA_KEY_DERIVE, "CKM_KEA_KEY_DERIVE"},
    MechanismName{CKM_FORTEZZA_TIMESTAMP, "CKM_FORTEZZA_TIMESTAMP"},
    MechanismName{CKM_BATON_KEY_GEN, "CKM_BATON_KEY_GEN"},
    MechanismName{CKM_BATON_ECB128, "CKM_BATON_ECB128"},
    MechanismName{CKM_BATON_ECB96, "CKM_BATON_ECB96"},
    MechanismName{CKM_BATON_CBC128, "CKM_BATON_CBC128"},
    MechanismName{CKM_BATON_COUNTER, "CKM_BATON_COUNTER"},
    MechanismName{CKM_BATON_SHUFFLE, "CKM_BATON_SHUFFLE"},
    MechanismName{CKM_BATON_WRAP, "CKM_BATON_WRAP"},
    MechanismName{CKM_EC_KEY_PAIR_GEN, "CKM_EC_KEY_PAIR_GEN"},
    MechanismName{CKM_ECDSA, "CKM_ECDSA"},
    MechanismName{CKM_ECDSA_SHA1, "CKM_ECDSA_SHA1"},
    MechanismName{CKM_ECDSA_SHA224, "CKM_ECDSA_SHA224"},
    MechanismName{CKM_ECDSA_SHA256, "CKM_ECDSA_SHA256"},
    MechanismName{CKM_ECDSA_SHA384, "CKM_ECDSA_SHA384"},
    MechanismName{CKM_ECDSA_SHA512, "CKM_ECDSA_SHA512"},
    MechanismName{0x1047, "CKM_ECDSA_SHA3_224"},  // 3.0
    MechanismName{0x1048, "CKM_ECDSA_SHA3_256"},  // 3.0
    MechanismName{0x1049, "CKM_ECDSA_SHA3_384"},  // 3.0
    MechanismName{0x104a, "CKM_ECDSA_SHA3_512"},  // 3.0
    MechanismName{CKM_ECDH1_DERIVE, "CKM_ECDH1_DERIVE"},
    MechanismName{CKM_ECDH1_COFACTOR_DERIVE, "CKM_ECDH1_COFACTOR_DERIVE"},
    MechanismName{CKM_ECMQV_DERIVE, "CKM_ECMQV_DERIVE"},
    MechanismName{CKM_ECDH_AES_KEY_WRAP, "CKM_ECDH_AES_KEY_WRAP"},
    MechanismName{CKM_RSA_AES_KEY_WRAP, "CKM_RSA_AES_KEY_WRAP"},
    MechanismName{CKM_EC_EDWARDS_KEY_PAIR_GEN, "CKM_EC_EDWARDS_KEY_PAIR_GEN"},
    MechanismName{0x1056, "CKM_EC_MONTGOMERY_KEY_PAIR_GEN"},  // 3.0
    MechanismName{CKM_EDDSA, "CKM_EDDSA"},
    MechanismName{CKM_JUNIPER_KEY_GEN, "CKM_JUNIPER_KEY_GEN"},
    MechanismName{CKM_JUNIPER_ECB128, "CKM_JUNIPER_ECB128"},
    MechanismName{CKM_JUNIPER_CBC128, "CKM_JUNIPER_CBC128"},
    MechanismName{CKM_JUNIPER_COUNTER, "CKM_JUNIPER_COUNTER"},
    MechanismName{CKM_JUNIPER_SHUFFLE, "CKM_JUNIPER_SHUFFLE"},
    MechanismName{CKM_JUNIPER_WRAP, "CKM_JUNIPER_WRAP"},
    MechanismName{CKM_FASTHASH, "CKM_FASTHASH"},
    MechanismName{CKM_AES_KEY_GEN, "CKM_AES_KEY_GEN"},
    MechanismName{CKM_AES_ECB, "CKM_AES_ECB"},
    MechanismName{CKM_AES_CBC, "CKM_AES_CBC"},
    MechanismName{CKM_AES_MAC, "CKM_AES_MAC"},
    MechanismName{CKM_AES_MAC_GENERAL, "CKM_AES_MAC_GENERAL"},
    MechanismName{CKM_AES_CBC_PAD, "CKM_AES_CBC_PAD"},
    MechanismName{CKM_AES_CTR, "CKM_AES_CTR"},
    MechanismName{CKM_AES_GCM, "CKM_AES_GCM"},
    MechanismName{CKM_AES_CCM, "CKM_AES_CCM"},
    MechanismName{CKM_AES_CTS, "CKM_AES_CTS"},
    MechanismName{CKM_AES_CMAC, "CKM_AES_CMAC"},
    MechanismName{CKM_AES_CMAC_GENERAL, "CKM_AES_CMAC_GENERAL"},
    MechanismName{CKM_AES_XCBC_MAC, "CKM_AES_XCBC_MAC"},
    MechanismName{CKM_AES_XCBC_MAC_96, "CKM_AES_XCBC_MAC_96"},
    MechanismName{CKM_AES_GMAC, "CKM_AES_GMAC"},
    MechanismName{CKM_BLOWFISH_KEY_GEN, "CKM_BLOWFISH_KEY_GEN"},
    MechanismName{CKM_BLOWFISH_CBC, "CKM_BLOWFISH_CBC"},
    MechanismName{CKM_TWOFISH_KEY_GEN, "CKM_TWOFISH_KEY_GEN"},
    MechanismName{CKM_TWOFISH_CBC, "CKM_TWOFISH_CBC"},
    MechanismName{CKM_BLOWFISH_CBC_PAD, "CKM_BLOWFISH_CBC_PAD"},
    MechanismName{CKM_TWOFISH_CBC_PAD, "CKM_TWOFISH_CBC_PAD"},
    MechanismName{CKM_DES_ECB_ENCRYPT_DATA, "CKM_DES_ECB_ENCRYPT_DATA"},
    MechanismName{CKM_DES_CBC_ENCRYPT_DATA, "CKM_DES_CBC_ENCRYPT_DATA"},
    MechanismName{CKM_DES3_ECB_ENCRYPT_DATA, "CKM_DES3_ECB_ENCRYPT_DATA"},
    MechanismName{CKM_DES3_CBC_ENCRYPT_DATA, "CKM_DES3_CBC_ENCRYPT_DATA"},
    MechanismName{CKM_AES_ECB_ENCRYPT_DATA, "CKM_AES_ECB_ENCRYPT_DATA"},
    MechanismName{CKM_AES_CBC_ENCRYPT_DATA, "CKM_AES_CBC_ENCRYPT_DATA"},
    MechanismName{CKM_GOSTR3410_KEY_PAIR_GEN, "CKM_GOSTR3410_KEY_PAIR_GEN"},
    MechanismName{CKM_GOSTR3410, "CKM_GOSTR3410"},
    MechanismName{CKM_GOSTR3410_WITH_GOSTR3411, "CKM_GOSTR3410_WITH_GOSTR3411"},
    MechanismName{CKM_GOSTR3410_KEY_WRAP, "CKM_GOSTR3410_KEY_WRAP"},
    MechanismName{CKM_GOSTR3410_DERIVE, "CKM_GOSTR3410_DERIVE"},
    MechanismName{CKM_GOSTR3411, "CKM_GOSTR3411"},
    MechanismName{CKM_GOSTR3411_HMAC, "CKM_GOSTR3411_HMAC"},
    MechanismName{CKM_GOST28147_KEY_GEN, "CKM_GOST28147_KEY_GEN"},
    MechanismName{CKM_GOST28147_ECB, "CKM_GOST28147_ECB"},
    MechanismName{CKM_GOST28147, "CKM_GOST28147"},
    MechanismName{CKM_GOST28147_MAC, "CKM_GOST28147_MAC"},
    MechanismName{CKM_GOST28147_KEY_WRAP, "CKM_GOST28147_KEY_WRAP"},
    MechanismName{0x1225, "CKM_CHACHA20_KEY_GEN"},              // 3.0
    MechanismName{0x1226, "CKM_CHACHA20"},                      // 3.0
    MechanismName{0x1227, "CKM_POLY1305_KEY_GEN"},              // 3.0
    MechanismName{0x1228, "CKM_POLY1305"},                      // 3.0
    MechanismName{0x140b, "CKM_EC_KEY_PAIR_GEN_W_EXTRA_BITS"},  // 3.0
    MechanismName{CKM_DSA_PARAMETER_GEN, "CKM_DSA_PARAMETER_GEN"},
    MechanismName{CKM_DH_PKCS_PARAMETER_GEN, "CKM_DH_PKCS_PARAMETER_GEN"},
    MechanismName{CKM_X9_42_DH_PARAMETER_GEN, "CKM_X9_42_DH_PARAMETER_GEN"},
    MechanismName{CKM_DSA_PROBABLISTIC_PARAMETER_GEN, "CKM_DSA_PROBABLISTIC_PARAMETER_GEN"},
    MechanismName{CKM_DSA_SHAWE_TAYLOR_PARAMETER_GEN, "CKM_DSA_SHAWE_TAYLOR_PARAMETER_GEN"},
    MechanismName{0x2005, "CKM_DSA_FIPS_G_GEN"},  // 3.0
    MechanismName{CKM_AES_OFB, "CKM_AES_OFB"},
    MechanismName{CKM_AES_CFB64, "CKM_AES_CFB64"},
    MechanismName{CKM_AES_CFB8, "CKM_AES_CFB8"},
    MechanismName{CKM_AES_CFB128, "CKM_AES_CFB128"},
    MechanismName{CKM_AES_CFB1, "CKM_AES_CFB1"},
    MechanismName{CKM_AES_KEY_WRAP, "CKM_AES_KEY_WRAP"},
    MechanismName{CKM_AES_KEY_WRAP_PAD, "CKM_AES_KEY_WRAP_PAD"},
    MechanismName{0x210b, "CKM_AES_KEY_WRAP_KWP"},  // 3.0
    MechanismName{CKM_RSA_PKCS_TPM_1_1, "CKM_RSA_PKCS_TPM_1_1"},
    MechanismName{CKM_RSA_PKCS_OAEP_TPM_1_1, "CKM_RSA_PKCS_OAEP_TPM_1_1"},
    MechanismName{0x4003, "CKM_SHA_1_KEY_GEN"},             // 3.0
    MechanismName{0x4004, "CKM_SHA224_KEY_GEN"},            // 3.0
    MechanismName{0x4005, "CKM_SHA256_KEY_GEN"},            // 3.0
    MechanismName{0x4006, "CKM_SHA384_KEY_GEN"},            // 3.0
    MechanismName{0x4007, "CKM_SHA512_KEY_GEN"},            // 3.0
    MechanismName{0x4008, "CKM_SHA512_224_KEY_GEN"},        // 3.0
    MechanismName{0x4009, "CKM_SHA512_256_KEY_GEN"},        // 3.0
    MechanismName{0x400a, "CKM_SHA512_T_KEY_GEN"},          // 3.0
    MechanismName{0x400b, "CKM_NULL"},                      // 3.0
    MechanismName{0x400c, "CKM_BLAKE2B_160"},               // 3.0
    MechanismName{0x400d, "CKM_BLAKE2B_160_HMAC"},          // 3.0
    MechanismName{0x400e, "CKM_BLAKE2B_160_HMAC_GENERAL"},  // 3.0
    MechanismName{0x400f, "CKM_BLAKE2B_160_KEY_DERIVE"},    // 3.0
    MechanismName{0x4010, "CKM_BLAKE2B_160_KEY_GEN"},       // 3.0
    MechanismName{0x4011, "CKM_BLAKE2B_256"},               // 3.0
    MechanismName{0x4012, "CKM_BLAKE2B_256_HMAC"},          // 3.0
    MechanismName{0x4013, "CKM_BLAKE2B_256_HMAC_GENERAL"},  // 3.0
    MechanismName{0x4014, "CKM_BLAKE2B_256_KEY_DERIVE"},    // 3.0
    MechanismName{0x4015, "CKM_BLAKE2B_256_KEY_GEN"},       // 3.0
    MechanismName{0x4016, "CKM_BLAKE2B_384"},               // 3.0
    MechanismName{0x4017, "CKM_BLAKE2B_384_HMAC"},          // 3.0
    MechanismName{0x4018, "CKM_BLAKE2B_384_HMAC_GENERAL"},  // 3.0
    MechanismName{0x4019, "CKM_BLAKE2B_384_KEY_DERIVE"},    // 3.0
    MechanismName{0x401a, "CKM_BLAKE2B_384_KEY_GEN"},       // 3.0
    MechanismName{0x401b, "CKM_BLAKE2B_512"},               // 3.0
    MechanismName{0x401c, "CKM_BLAKE2B_512_HMAC"},          // 3.0
    MechanismName{0x401d, "CKM_BLAKE2B_512_HMAC_GENERAL"},  // 3.0
    MechanismName{0x401e, "CKM_BLAKE2B_512_KEY_DERIVE"},    // 3.0
    MechanismName{0x401f, "CKM_BLAKE2B_512_KEY_GEN"},       // 3.0
    MechanismName{0x4020, "CKM_SALSA20"},                   // 3.0
    MechanismName{0x4021, "CKM_CHACHA20_POLY1305"},         // 3.0
    MechanismName{0x4022, "CKM_SALSA20_POLY1305"},          // 3.0
    MechanismName{0x4023, "CKM_X3DH_INITIALIZE"},           // 3.0
    MechanismName{0x4024, "CKM_X3DH_RESPOND"},              // 3.0
    MechanismName{0x4025, "CKM_X2RATCHET_INITIALIZE"},      // 3.0
    MechanismName{0x4026, "CKM_X2RATCHET_RESPOND"},         // 3.0
    MechanismName{0x4027, "CKM_X2RATCHET_ENCRYPT"},         // 3.0
    MechanismName{0x4028, "CKM_X2RATCHET_DECRYPT"},         // 3.0
    MechanismName{0x4029, "CKM_XEDDSA"},                    // 3.0
    MechanismName{0x402a, "CKM_HKDF_DERIVE"},               // 3.0
    MechanismName{0x402b, "CKM_HKDF_DATA"},                 // 3.0
    MechanismName{0x402c, "CKM_HKDF_KEY_GEN"},              // 3.0
    MechanismName{0x402d, "CKM_SALSA20_KEY_GEN"},           // 3.0
};

constexpr bool sorted_by_value() {
  for (std::size_t i = 1; i < kMechanismNames.size(); ++i) {
    if (kMechanismNames[i - 1].mechanism >= kMechanismNames[i].mechanism) return false;
  }
  return true;
}
static_assert(sorted_by_value(), "kMechanismNames must be sorted by value, one row per value");
}  // namespace

const char* standard_mechanism_name(CK_MECHANISM_TYPE mechanism) {
  auto found = std::lower_bound(
      kMechanismNames.begin(), kMechanismNames.end(), mechanism,
      [](const MechanismName& row, CK_MECHANISM_TYPE m) { return row.mechanism < m; });
  if (found == kMechanismNames.end() || found->mechanism != mechanism) return nullptr;
  return found->name;
}

}  // namespace medledger::hsm::detail
