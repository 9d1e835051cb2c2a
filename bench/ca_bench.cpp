// Certificate issuance, chain validation and OCSP responses, with same-run baselines
// (issues 3 and 16).
//
//   issue/plain_openssl   X509_REQ_verify + the same certificate built and signed with
//                         X509_sign and an in-memory EVP_PKEY: the OpenSSL ceiling
//   issue/software_key    CertificateAuthority::issue with core::SoftwareSigner (in memory)
//   issue/token_key       CertificateAuthority::issue with hsm::TokenSigner: the CA key
//                         in a fresh SoftHSM2 token this program makes and removes
//   validate/plain_openssl  X509_verify_cert on a prepared X509_STORE, leaf + CRL
//   validate/validate_chain ca::validate_chain (store built per call, role checks), + CRL
//   ocsp/plain_openssl    the same OCSP response (one good status, the nonce echoed) built
//                         and signed by OCSP_basic_sign with an in-memory EVP_PKEY
//   ocsp/software_key     ca::OcspResponder::respond with core::SoftwareSigner
//   ocsp/token_key        ca::OcspResponder::respond with the CA key in the token: what
//                         `serve` signs per OCSP request (plus a status lookup)
// Every issue bench cycles through kCsrCount CSRs made in advance (P-256, openssl-style).
// After the runs a table prints the ratios docs/PERFORMANCE.md records. One thread:
// a CA issues from one process.
#include <benchmark/benchmark.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_support.h"
#include "medledger/ca/authority.h"
#include "medledger/ca/ocsp.h"
#include "medledger/ca/validation.h"
#include "medledger/core/software_signer.h"
#include "medledger/hsm/key_store.h"
#include "medledger/hsm/module.h"
#include "medledger/hsm/session_pool.h"
#include "medledger/hsm/token.h"
#include "medledger/hsm/token_signer.h"

namespace {

using namespace medledger;

constexpr const char* kTokenLabel = "ca-bench";
constexpr const char* kSoPin = "bench-so-pin";  // a throwaway token: fixed PINs are fine here
constexpr const char* kUserPin = "bench-user-pin";
constexpr std::size_t kCsrCount = 64;
constexpr long kRevokedInCrl = 1000;  // a CRL of realistic size for the validation benches

using bench::must;
using bench::secret;

ca::IssueRequest doctor_request() {
  ca::IssueRequest request;
  request.role = ca::Role::kDoctor;
  request.subject_id = "dr-bench";
  return request;
}

ca::CertificateRequest make_csr() {
  core::EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  ca::X509ReqPtr req(X509_REQ_new());
  X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req.get()), "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("dr-bench"), -1, -1, 0);
  X509_REQ_set_pubkey(req.get(), key.get());
  X509_REQ_sign(req.get(), key.get(), EVP_sha256());
  return ca::CertificateRequest::adopt(std::move(req));
}

struct BenchState {
  std::filesystem::path root;
  std::shared_ptr<hsm::Module> module;
  std::shared_ptr<hsm::SessionPool> pool;
  std::unique_ptr<hsm::TokenSigner> token_signer;
  std::unique_ptr<core::SoftwareSigner> software_signer;
  std::unique_ptr<ca::CertificateAuthority> token_ca;
  std::unique_ptr<ca::CertificateAuthority> software_ca;
  core::EvpPkeyPtr plain_key;  // the software CA's key as a bare EVP_PKEY
  std::vector<ca::CertificateRequest> csrs;
  std::unique_ptr<ca::Certificate> leaf;
  std::unique_ptr<ca::Crl> crl;
  std::unique_ptr<ca::OcspRequest> ocsp_request;  // for the leaf, with a nonce

  BenchState() {
    root = bench::make_softhsm_directory("medledger-ca-bench");
    module = must(hsm::Module::load(hsm::kDefaultModulePath), "load SoftHSM2");
    must(hsm::init_token(*module, kTokenLabel, secret(kSoPin), secret(kUserPin)), "init token");
    pool = must(
        hsm::SessionPool::open(module, hsm::TokenSelector::by_label(kTokenLabel), secret(kUserPin)),
        "open pool");
    hsm::KeyStore keys(pool);
    auto key = must(keys.generate({"ca-bench", core::KeyAlgorithm::kEcdsaP256}), "generate CA key");
    token_signer = must(keys.signer(key.id), "token signer");
    software_signer =
        must(core::SoftwareSigner::generate(core::KeyAlgorithm::kEcdsaP256), "software key");

    std::time_t now = std::time(nullptr);
    ca::CaOptions options;
    options.hospital_id = "hospital-bench";
    for (auto [signer, out] :
         {std::pair{static_cast<core::Signer*>(token_signer.get()), &token_ca},
          std::pair{static_cast<core::Signer*>(software_signer.get()), &software_ca}}) {
      auto cert =
          must(ca::CertificateAuthority::self_signed(*signer, options, now), "CA certificate");
      *out = std::make_unique<ca::CertificateAuthority>(
          must(ca::CertificateAuthority::open(*signer, cert, {}), "open CA"));
    }
    core::SecretBytes pem = software_signer->private_key_pem();
    core::BioPtr bio(BIO_new_mem_buf(pem.view().data(), static_cast<int>(pem.view().size())));
    plain_key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    for (std::size_t i = 0; i < kCsrCount; ++i) csrs.push_back(make_csr());

    leaf = std::make_unique<ca::Certificate>(
        must(software_ca->issue(csrs[0], doctor_request(), now), "leaf"));
    std::vector<ca::RevokedEntry> revoked;
    for (long i = 0; i < kRevokedInCrl; ++i)
      revoked.push_back({std::to_string(100000 + i), now, ca::RevocationReason::kSuperseded});
    crl = std::make_unique<ca::Crl>(must(software_ca->make_crl(revoked, 1, now, 7), "CRL"));

    OCSP_REQUEST* request = OCSP_REQUEST_new();
    OCSP_request_add0_id(
        request, OCSP_cert_to_id(EVP_sha1(), leaf->get(), software_ca->certificate().get()));
    OCSP_request_add1_nonce(request, nullptr, 16);
    const int size = i2d_OCSP_REQUEST(request, nullptr);
    core::Bytes der(static_cast<std::size_t>(size));
    unsigned char* p = der.data();
    i2d_OCSP_REQUEST(request, &p);
    OCSP_REQUEST_free(request);
    ocsp_request = std::make_unique<ca::OcspRequest>(must(ca::OcspRequest::parse(der), "OCSP"));
  }

  ~BenchState() {
    token_ca.reset();
    token_signer.reset();
    pool.reset();
    module.reset();
    std::error_code ignored;
    std::filesystem::remove_all(root, ignored);
  }
};

BenchState* state_ = nullptr;

void bench_issue(benchmark::State& state, bool token) {
  ca::CertificateAuthority& authority = token ? *state_->token_ca : *state_->software_ca;
  std::size_t i = 0;
  for (auto _ : state) {
    auto cert =
        authority.issue(state_->csrs[i++ % kCsrCount], doctor_request(), std::time(nullptr));
    if (!cert) state.SkipWithError(cert.error().to_string().c_str());
    benchmark::DoNotOptimize(cert);
  }
  state.SetItemsProcessed(state.iterations());
}

// The same certificate (subject, extensions, serial, validity) with OpenSSL alone.
void bench_issue_plain(benchmark::State& state) {
  X509* ca_cert = state_->software_ca->certificate().get();
  std::size_t i = 0;
  for (auto _ : state) {
    X509_REQ* req = state_->csrs[i++ % kCsrCount].get();
    EVP_PKEY* subject_key = X509_REQ_get0_pubkey(req);
    if (X509_REQ_verify(req, subject_key) != 1) state.SkipWithError("CSR verify");
    core::X509Ptr cert(X509_new());
    unsigned char serial_bytes[16];
    RAND_bytes(serial_bytes, sizeof serial_bytes);
    serial_bytes[0] = static_cast<unsigned char>((serial_bytes[0] & 0x7f) | 0x40);
    core::BignumPtr bn(BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr));
    BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get()));
    X509_set_version(cert.get(), X509_VERSION_3);
    X509_NAME* name = X509_NAME_new();
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>("hospital-bench"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>("doctor"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>("dr-bench"), -1, -1, 0);
    X509_set_subject_name(cert.get(), name);
    X509_NAME_free(name);
    X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert));
    std::time_t now = std::time(nullptr);
    ASN1_TIME_set(X509_getm_notBefore(cert.get()), now - 300);
    ASN1_TIME_set(X509_getm_notAfter(cert.get()), now + 365L * 86400);
    X509_set_pubkey(cert.get(), subject_key);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, ca_cert, cert.get(), nullptr, nullptr, 0);
    for (auto [nid, value] :
         {std::pair{NID_basic_constraints, "critical,CA:FALSE"},
          std::pair{NID_key_usage, "critical,digitalSignature,nonRepudiation"},
          std::pair{NID_ext_key_usage, "clientAuth"}, std::pair{NID_subject_key_identifier, "hash"},
          std::pair{NID_authority_key_identifier, "keyid:always"}}) {
      X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
      X509_add_ext(cert.get(), ext, -1);
      X509_EXTENSION_free(ext);
    }
    if (X509_sign(cert.get(), state_->plain_key.get(), EVP_sha256()) <= 0)
      state.SkipWithError("X509_sign");
    benchmark::DoNotOptimize(cert);
  }
  state.SetItemsProcessed(state.iterations());
}

void bench_validate(benchmark::State& state, bool with_crl) {
  ca::TrustAnchors anchors{{state_->software_ca->certificate()}, {}};
  std::vector<ca::Crl> crls;
  if (with_crl) crls.push_back(*state_->crl);
  for (auto _ : state) {
    auto valid =
        ca::validate_chain(*state_->leaf, anchors, crls, std::time(nullptr), ca::Role::kDoctor);
    if (!valid) state.SkipWithError(valid.error().to_string().c_str());
    benchmark::DoNotOptimize(valid);
  }
  state.SetItemsProcessed(state.iterations());
}

void bench_validate_plain(benchmark::State& state, bool with_crl) {
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, state_->software_ca->certificate().get());
  STACK_OF(X509_CRL)* crls = sk_X509_CRL_new_null();
  if (with_crl) sk_X509_CRL_push(crls, state_->crl->get());
  for (auto _ : state) {
    X509_STORE_CTX* ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, store, state_->leaf->get(), nullptr);
    if (with_crl) {
      X509_STORE_CTX_set0_crls(ctx, crls);
      X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_CRL_CHECK);
    }
    if (X509_verify_cert(ctx) != 1) state.SkipWithError("X509_verify_cert");
    X509_STORE_CTX_free(ctx);
  }
  sk_X509_CRL_free(crls);
  X509_STORE_free(store);
  state.SetItemsProcessed(state.iterations());
}

void bench_ocsp(benchmark::State& state, bool token) {
  core::Signer& signer = token ? static_cast<core::Signer&>(*state_->token_signer)
                               : static_cast<core::Signer&>(*state_->software_signer);
  const ca::Certificate& issuer =
      token ? state_->token_ca->certificate() : state_->software_ca->certificate();
  auto responder = must(ca::OcspResponder::open(signer, issuer, issuer), "responder");
  const ca::OcspCertStatus good{ca::OcspCertStatus::Kind::kGood, 0,
                                ca::RevocationReason::kUnspecified};
  for (auto _ : state) {
    auto der = responder.respond(*state_->ocsp_request, {&good, 1}, std::time(nullptr), 3600);
    if (!der) state.SkipWithError(der.error().to_string().c_str());
    benchmark::DoNotOptimize(der);
  }
  state.SetItemsProcessed(state.iterations());
}

// The same response with OpenSSL alone: statuses, nonce, OCSP_basic_sign, DER.
void bench_ocsp_plain(benchmark::State& state) {
  X509* issuer = state_->software_ca->certificate().get();
  OCSP_REQUEST* request = state_->ocsp_request->get();
  for (auto _ : state) {
    OCSP_BASICRESP* basic = OCSP_BASICRESP_new();
    const std::time_t now = std::time(nullptr);
    ASN1_TIME* this_update = ASN1_TIME_set(nullptr, now);
    ASN1_TIME* next_update = ASN1_TIME_set(nullptr, now + 3600);
    OCSP_basic_add1_status(basic, OCSP_onereq_get0_id(OCSP_request_onereq_get0(request, 0)),
                           V_OCSP_CERTSTATUS_GOOD, 0, nullptr, this_update, next_update);
    OCSP_copy_nonce(basic, request);
    if (OCSP_basic_sign(basic, issuer, state_->plain_key.get(), EVP_sha256(), nullptr,
                        OCSP_NOCERTS | OCSP_RESPID_KEY) != 1) {
      state.SkipWithError("OCSP_basic_sign");
    }
    OCSP_RESPONSE* response = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic);
    const int size = i2d_OCSP_RESPONSE(response, nullptr);
    core::Bytes der(static_cast<std::size_t>(size));
    unsigned char* p = der.data();
    i2d_OCSP_RESPONSE(response, &p);
    benchmark::DoNotOptimize(der);
    OCSP_RESPONSE_free(response);
    OCSP_BASICRESP_free(basic);
    ASN1_TIME_free(this_update);
    ASN1_TIME_free(next_update);
  }
  state.SetItemsProcessed(state.iterations());
}

// Collects each benchmark's rate (items per second of real time) for the ratio table.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.run_type == Run::RT_Iteration && run.real_accumulated_time > 0) {
        rates_[run.benchmark_name()] =
            static_cast<double>(run.iterations) / run.real_accumulated_time;
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  double rate(const std::string& name) const {
    for (const auto& [key, value] : rates_) {
      if (key.rfind(name, 0) == 0) return value;
    }
    return 0;
  }

 private:
  std::map<std::string, double> rates_;
};

void print_ratios(const RatioReporter& r) {
  double plain = r.rate("issue/plain_openssl"), software = r.rate("issue/software_key"),
         token = r.rate("issue/token_key");
  std::printf("\nca_bench summary (one thread, real time)\n");
  if (plain > 0 && software > 0 && token > 0) {  // absent when --benchmark_filter left them out
    std::printf(
        " issue: plain OpenSSL %.0f/s, CertificateAuthority+SoftwareSigner %.0f/s, +TokenSigner "
        "(SoftHSM2) %.0f/s\n",
        plain, software, token);
    std::printf("  %-56s %7.3fx\n", "software-key CA / plain OpenSSL", software / plain);
    std::printf("  %-56s %7.3fx\n", "token-key CA / plain OpenSSL", token / plain);
    std::printf("  %-56s %7.3fx\n", "token-key CA / software-key CA", token / software);
  }
  double ocsp_plain = r.rate("ocsp/plain_openssl"), ocsp_software = r.rate("ocsp/software_key"),
         ocsp_token = r.rate("ocsp/token_key");
  if (ocsp_plain > 0 && ocsp_software > 0 && ocsp_token > 0) {
    std::printf(
        " ocsp: plain OpenSSL %.0f/s, OcspResponder+SoftwareSigner %.0f/s, +TokenSigner "
        "(SoftHSM2) %.0f/s\n",
        ocsp_plain, ocsp_software, ocsp_token);
    std::printf("  %-56s %7.3fx\n", "software-key responder / plain OpenSSL",
                ocsp_software / ocsp_plain);
    std::printf("  %-56s %7.3fx\n", "token-key responder / plain OpenSSL", ocsp_token / ocsp_plain);
  }
  for (const char* kind : {"no_crl", "crl"}) {
    double ours = r.rate(std::string("validate/validate_chain/") + kind);
    double base = r.rate(std::string("validate/plain_openssl/") + kind);
    if (ours <= 0 || base <= 0) continue;
    std::printf(
        " validate (%s): validate_chain %.0f/s, plain X509_verify_cert %.0f/s, ratio %.3fx\n", kind,
        ours, base, ours / base);
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  try {
    BenchState shared;
    state_ = &shared;
    std::printf("fresh SoftHSM2 token in %s\n", shared.root.c_str());
    benchmark::RegisterBenchmark("issue/plain_openssl", bench_issue_plain)->UseRealTime();
    benchmark::RegisterBenchmark("issue/software_key", bench_issue, false)->UseRealTime();
    benchmark::RegisterBenchmark("issue/token_key", bench_issue, true)->UseRealTime();
    benchmark::RegisterBenchmark("validate/plain_openssl/no_crl", bench_validate_plain, false)
        ->UseRealTime();
    benchmark::RegisterBenchmark("validate/validate_chain/no_crl", bench_validate, false)
        ->UseRealTime();
    benchmark::RegisterBenchmark("validate/plain_openssl/crl", bench_validate_plain, true)
        ->UseRealTime();
    benchmark::RegisterBenchmark("validate/validate_chain/crl", bench_validate, true)
        ->UseRealTime();
    benchmark::RegisterBenchmark("ocsp/plain_openssl", bench_ocsp_plain)->UseRealTime();
    benchmark::RegisterBenchmark("ocsp/software_key", bench_ocsp, false)->UseRealTime();
    benchmark::RegisterBenchmark("ocsp/token_key", bench_ocsp, true)->UseRealTime();
    RatioReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    print_ratios(reporter);
    state_ = nullptr;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "ca_bench: %s\n", error.what());
    return 1;
  }
  benchmark::Shutdown();
  return 0;
}
