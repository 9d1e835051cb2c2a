// The fault module itself: it forwards to SoftHSM2 untouched until told to fail,
// fails exactly the calls it was told to, and recovers when cleared. Raw PKCS#11
// (no hsm/ code) so that the recovery tests can trust their tool.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "fault_control.h"
#include "softhsm_fixture.h"

namespace {

constexpr const char* kUserPin = "123456";

class FaultModule : public ::testing::Test {
 protected:
  // Each test is its own process, so the module is loaded fresh here and any
  // MEDLEDGER_FAULT_RULES set before load() is read.
  void load() {
    handle_ = ::dlopen(MEDLEDGER_FAULT_MODULE, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(handle_, nullptr) << ::dlerror();
    auto get_list = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(handle_, "C_GetFunctionList"));
    ASSERT_NE(get_list, nullptr);
    ASSERT_EQ(get_list(&p11_), CKR_OK);
    inject_ =
        reinterpret_cast<medledger_fault_inject_fn>(::dlsym(handle_, "medledger_fault_inject"));
    clear_ = reinterpret_cast<medledger_fault_clear_fn>(::dlsym(handle_, "medledger_fault_clear"));
    removed_ = reinterpret_cast<medledger_fault_set_device_removed_fn>(
        ::dlsym(handle_, "medledger_fault_set_device_removed"));
    calls_ = reinterpret_cast<medledger_fault_count_fn>(::dlsym(handle_, "medledger_fault_calls"));
    injected_ =
        reinterpret_cast<medledger_fault_count_fn>(::dlsym(handle_, "medledger_fault_injected"));
    ASSERT_TRUE(inject_ && clear_ && removed_ && calls_ && injected_);
  }
  void initialize() {
    CK_C_INITIALIZE_ARGS args{};
    args.flags = CKF_OS_LOCKING_OK;
    ASSERT_EQ(p11_->C_Initialize(&args), CKR_OK);
  }
  // SoftHSM2 always shows one more, uninitialised, token: pick the initialised one.
  CK_SLOT_ID token_slot() {
    constexpr CK_ULONG kMaxSlots = 8;
    CK_SLOT_ID slots[kMaxSlots] = {};
    CK_ULONG count = kMaxSlots;
    EXPECT_EQ(p11_->C_GetSlotList(CK_TRUE, slots, &count), CKR_OK);
    for (CK_ULONG i = 0; i < count; ++i) {
      CK_TOKEN_INFO info{};
      if (p11_->C_GetTokenInfo(slots[i], &info) == CKR_OK &&
          (info.flags & CKF_TOKEN_INITIALIZED) != 0) {
        return slots[i];
      }
    }
    ADD_FAILURE() << "no initialised token";
    return 0;
  }
  void TearDown() override {
    if (p11_ != nullptr) {
      clear_();
      p11_->C_Finalize(nullptr);
    }
  }

  medledger::testing::SoftHsmDirectory softhsm_;
  void* handle_ = nullptr;
  CK_FUNCTION_LIST* p11_ = nullptr;
  medledger_fault_inject_fn inject_ = nullptr;
  medledger_fault_clear_fn clear_ = nullptr;
  medledger_fault_set_device_removed_fn removed_ = nullptr;
  medledger_fault_count_fn calls_ = nullptr;
  medledger_fault_count_fn injected_ = nullptr;
};

TEST_F(FaultModule, ForwardsToSoftHsmWhenNothingIsArmed) {
  softhsm_.init_token_with_softhsm_util("fwd", "12345678", kUserPin);
  load();
  initialize();
  const CK_SLOT_ID slot = token_slot();
  const unsigned long calls_before = calls_("C_GetTokenInfo");
  CK_TOKEN_INFO info{};
  ASSERT_EQ(p11_->C_GetTokenInfo(slot, &info), CKR_OK);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(info.label), 3), "fwd");
  EXPECT_EQ(calls_("C_GetTokenInfo"), calls_before + 1);
  EXPECT_EQ(injected_("C_GetTokenInfo"), 0u);
}

TEST_F(FaultModule, FailsExactlyCountCallsAfterSkipping) {
  softhsm_.init_token_with_softhsm_util("skip", "12345678", kUserPin);
  load();
  initialize();
  const CK_SLOT_ID slot = token_slot();
  ASSERT_EQ(inject_("C_OpenSession", CKR_DEVICE_ERROR, 2, 1), 0);
  std::vector<CK_RV> outcomes;
  for (int i = 0; i < 4; ++i) {
    CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
    outcomes.push_back(p11_->C_OpenSession(slot, CKF_SERIAL_SESSION, nullptr, nullptr, &session));
  }
  EXPECT_EQ(outcomes, (std::vector<CK_RV>{CKR_OK, CKR_DEVICE_ERROR, CKR_DEVICE_ERROR, CKR_OK}));
  EXPECT_EQ(calls_("C_OpenSession"), 4u);
  EXPECT_EQ(injected_("C_OpenSession"), 2u);
}

TEST_F(FaultModule, NegativeCountFailsUntilCleared) {
  softhsm_.init_token_with_softhsm_util("forever", "12345678", kUserPin);
  load();
  initialize();
  ASSERT_EQ(inject_("C_GetSlotList", CKR_GENERAL_ERROR, -1, 0), 0);
  CK_ULONG count = 0;
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(p11_->C_GetSlotList(CK_TRUE, nullptr, &count), CKR_GENERAL_ERROR);
  clear_();
  EXPECT_EQ(p11_->C_GetSlotList(CK_TRUE, nullptr, &count), CKR_OK);
  EXPECT_GE(count, 1u);
}

TEST_F(FaultModule, UnknownFunctionNameIsRefused) {
  load();
  EXPECT_EQ(inject_("C_NoSuchCall", CKR_DEVICE_ERROR, 1, 0), -1);
  EXPECT_EQ(inject_(nullptr, CKR_DEVICE_ERROR, 1, 0), -1);
  EXPECT_EQ(inject_("C_Sign", CKR_DEVICE_ERROR, 1, -1), -1);
}

TEST_F(FaultModule, DeviceRemovedFailsTokenCallsButNotLibraryCallsAndClears) {
  softhsm_.init_token_with_softhsm_util("removed", "12345678", kUserPin);
  load();
  initialize();
  const CK_SLOT_ID slot = token_slot();
  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
  ASSERT_EQ(p11_->C_OpenSession(slot, CKF_SERIAL_SESSION, nullptr, nullptr, &session), CKR_OK);
  removed_(1);
  CK_TOKEN_INFO token{};
  CK_ULONG count = 0;
  EXPECT_EQ(p11_->C_GetSlotList(CK_TRUE, nullptr, &count), CKR_DEVICE_REMOVED);
  EXPECT_EQ(p11_->C_GetTokenInfo(slot, &token), CKR_DEVICE_REMOVED);
  EXPECT_EQ(p11_->C_Login(session, CKU_USER,
                          reinterpret_cast<CK_UTF8CHAR*>(const_cast<char*>(kUserPin)), 6),
            CKR_DEVICE_REMOVED);
  CK_INFO library{};
  EXPECT_EQ(p11_->C_GetInfo(&library), CKR_OK);
  // Re-initialising the library (what a recovering caller does) still works.
  EXPECT_EQ(p11_->C_Finalize(nullptr), CKR_OK);
  initialize();
  EXPECT_EQ(p11_->C_GetSlotList(CK_TRUE, nullptr, &count), CKR_DEVICE_REMOVED);
  clear_();
  EXPECT_EQ(p11_->C_GetSlotList(CK_TRUE, nullptr, &count), CKR_OK);
  EXPECT_EQ(p11_->C_GetTokenInfo(token_slot(), &token), CKR_OK);
}

TEST_F(FaultModule, RulesFromEnvironmentAreArmedAtLoad) {
  softhsm_.init_token_with_softhsm_util("env", "12345678", kUserPin);
  ::setenv("MEDLEDGER_FAULT_RULES",
           "C_GetMechanismList=CKR_TOKEN_NOT_PRESENT:1, C_GetSlotInfo=0x30:*:1", 1);
  load();
  initialize();
  const CK_SLOT_ID slot = token_slot();
  CK_ULONG mechanisms = 0;
  EXPECT_EQ(p11_->C_GetMechanismList(slot, nullptr, &mechanisms), CKR_TOKEN_NOT_PRESENT);
  EXPECT_EQ(p11_->C_GetMechanismList(slot, nullptr, &mechanisms), CKR_OK);
  CK_SLOT_INFO info{};
  EXPECT_EQ(p11_->C_GetSlotInfo(slot, &info), CKR_OK);  // skipped
  EXPECT_EQ(p11_->C_GetSlotInfo(slot, &info), CKR_DEVICE_ERROR);
  EXPECT_EQ(p11_->C_GetSlotInfo(slot, &info), CKR_DEVICE_ERROR);
}

TEST_F(FaultModule, DeviceRemovedRuleFromEnvironment) {
  softhsm_.init_token_with_softhsm_util("envrm", "12345678", kUserPin);
  ::setenv("MEDLEDGER_FAULT_RULES", "DEVICE_REMOVED", 1);
  load();
  initialize();
  CK_ULONG count = 0;
  EXPECT_EQ(p11_->C_GetSlotList(CK_TRUE, nullptr, &count), CKR_DEVICE_REMOVED);
}

TEST_F(FaultModule, MalformedEnvironmentRulesMakeTheModuleRefuseToLoad) {
  ::setenv("MEDLEDGER_FAULT_RULES", "C_Sign=CKR_NOT_A_THING:1", 1);
  handle_ = ::dlopen(MEDLEDGER_FAULT_MODULE, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle_, nullptr);
  auto get_list = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(handle_, "C_GetFunctionList"));
  CK_FUNCTION_LIST* list = nullptr;
  EXPECT_EQ(get_list(&list), CKR_GENERAL_ERROR);
  EXPECT_EQ(list, nullptr);
}

TEST_F(FaultModule, MissingTargetMakesTheModuleRefuseToLoad) {
  ::setenv("MEDLEDGER_FAULT_TARGET", "/nonexistent/libpkcs11.so", 1);
  handle_ = ::dlopen(MEDLEDGER_FAULT_MODULE, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle_, nullptr);
  auto get_list = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(handle_, "C_GetFunctionList"));
  CK_FUNCTION_LIST* list = nullptr;
  EXPECT_EQ(get_list(&list), CKR_GENERAL_ERROR);
}

TEST_F(FaultModule, ConcurrentCallersConsumeEachInjectedFailureOnce) {
  softhsm_.init_token_with_softhsm_util("threads", "12345678", kUserPin);
  load();
  initialize();
  const CK_SLOT_ID slot = token_slot();
  constexpr int kThreads = 4;
  constexpr int kCallsPerThread = 200;
  constexpr int kFailures = 37;
  ASSERT_EQ(inject_("C_GetTokenInfo", CKR_DEVICE_ERROR, kFailures, 0), 0);
  const unsigned long calls_before = calls_("C_GetTokenInfo");
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        CK_TOKEN_INFO info{};
        if (p11_->C_GetTokenInfo(slot, &info) == CKR_DEVICE_ERROR) ++failures[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  int total = 0;
  for (int count : failures) total += count;
  EXPECT_EQ(total, kFailures);
  EXPECT_EQ(calls_("C_GetTokenInfo") - calls_before,
            static_cast<unsigned long>(kThreads * kCallsPerThread));
}

}  // namespace
