// ServerConfig: what `medledger serve --config FILE` reads (TOML, docs/api.md).
//
// Every key has a default except the TLS files; every limit has a ceiling the
// file can lower but never exceed. Unknown keys and sections are refused (a
// misspelt key would otherwise be ignored silently). Errors are kConfigInvalid
// naming the key: "server.port: must be 0..65535, got 70000".
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "medledger/core/result.h"
#include "medledger/core/secret_source.h"
#include "medledger/ledger/ledger.h"
#include "medledger/ledger/ordering.h"

namespace medledger::api {

// Ceilings (and floors) of the limits: a config may choose anything within.
inline constexpr std::size_t kMaxBodyBytesCeiling = 64u << 20;  // a record payload + envelope
inline constexpr std::size_t kDefaultMaxBodyBytes = 1u << 20;
inline constexpr std::size_t kMaxHeaderBytes = 16u << 10;  // request line + headers
inline constexpr std::uint32_t kMaxConnectionsCeiling =
    10000;  // file descriptors, memory per session
inline constexpr std::uint32_t kMaxIoThreads = 64;
inline constexpr std::uint32_t kMaxHandlerThreads = 256;  // blocking token calls in parallel
inline constexpr std::chrono::milliseconds kMinTimeout{50};
inline constexpr std::chrono::milliseconds kMaxTimeout{10 * 60 * 1000};

struct ListenConfig {
  std::string address = "127.0.0.1";
  std::uint16_t port = 8443;  // 0: an ephemeral port (tests)
};

/// A key object in the served node's token, named by a PKCS#11 URI (RFC 7512
/// subset): "pkcs11:object=<CKA_LABEL>" and/or "pkcs11:id=<CKA_ID as %XX bytes>".
struct TokenKeyRef {
  std::string label;   // CKA_LABEL; empty: any
  std::string id_hex;  // CKA_ID, lowercase hex; empty: any
  bool empty() const { return label.empty() && id_hex.empty(); }
};

/// Parses "pkcs11:object=...;id=%01%02" (attributes separated by ';', values
/// percent-decoded). kConfigInvalid naming `key` for anything else.
core::Result<TokenKeyRef> parse_token_key_uri(std::string_view uri, const std::string& key);

struct TlsConfig {
  std::filesystem::path certificate;  // PEM: the node's certificate, then its issuers
  std::filesystem::path private_key;  // PEM key file; empty when private_key_in_token is set
  TokenKeyRef
      private_key_in_token;  // private_key = "pkcs11:...": the key stays in the (first) token
  std::filesystem::path
      client_ca;  // PEM bundle of extra trusted CAs (required without a served node)
  std::vector<std::filesystem::path> client_crls;  // PEM CRLs for client_ca; empty: no CRL check
};

struct LimitsConfig {
  std::size_t max_body_bytes = kDefaultMaxBodyBytes;
  std::uint32_t max_connections = 256;
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::milliseconds header_timeout{10'000};  // first byte to the end of the headers
  std::chrono::milliseconds body_timeout{30'000};    // end of headers to the end of the body
  std::chrono::milliseconds idle_timeout{60'000};    // keep-alive wait for the next request
  std::chrono::milliseconds write_timeout{30'000};
  // An async request (it answers when its commit is reported) unanswered this
  // long is answered COMMIT_UNCONFIRMED. (The synchronous routes -- enrol and the
  // revocations -- wait node::kCommitWaitLimit, 30 s, whatever this says.)
  std::chrono::milliseconds answer_timeout{30'000};
  std::chrono::milliseconds shutdown_grace{30'000};  // in-flight requests may finish within this
};

struct ThreadsConfig {
  std::uint32_t io = 2;  // run the io_context: TLS, parsing, writing; never block
  // Run handlers: token signatures and verifications (CPU), and the rare routes
  // that still wait for a commit (enrol, revoke). Writes, reads and grants answer
  // when their commit is known, so requests in flight need no thread each; more
  // threads than that only switch contexts (32 cost 20% of the writes of 4-8).
  std::uint32_t handlers = 8;
};

struct LogConfig {
  std::string level = "info";  // trace, debug, info, warn, error, critical, off
  std::filesystem::path file;  // empty: standard error
};

// The token a node's keys live in ([token], or each [[hospital]]'s token_* keys).
struct TokenConfig {
  std::filesystem::path module = "/usr/lib/softhsm/libsofthsm2.so";
  std::string label;
  std::string pin_source = "prompt";  // file:PATH, env:NAME or prompt; never the PIN itself
  /// The module's initialisation arguments (CK_C_INITIALIZE_ARGS.pReserved, e.g. NSS's
  /// database settings; they may hold a password): file:PATH or env:NAME, never the
  /// text itself. Empty: $MEDLEDGER_PKCS11_MODULE_ARGS, else none.
  std::string module_args_source;
};
/// Ceiling of [ledger] min_free_mb (1 TiB): a floor above it is a typo.
inline constexpr std::uint64_t kMaxLedgerMinFreeMb = 1u << 20;
struct LedgerConfig {
  std::filesystem::path path;  // empty: the ledger directory of the (first) node's node.json
  /// /healthz fails (LEDGER_STORAGE) below this much free disk at the ledger:
  /// before an LMDB commit would fail for lack of space.
  std::uint64_t min_free_mb = 64;
};
/// The hospital node `serve` fronts (node/ data directory, docs/node.md). Empty:
/// infrastructure-only server (node routes answer 503). The one-hospital form.
struct NodeServeConfig {
  std::filesystem::path data_dir;
};

/// Most hospital nodes one serve process runs (a one-machine consortium; each
/// holds a token session pool).
inline constexpr std::size_t kMaxServedHospitals = 16;

/// One hospital node of a one-machine consortium ([[hospital]] in the file): its
/// data directory and its own token. Every node shares the one ledger.
struct HospitalServeConfig {
  std::filesystem::path data_dir;
  TokenConfig token;
};
/// How the in-process solo orderer cuts blocks (ledger::SoloOptions); the
/// defaults and ceilings are the orderer's.
struct BatchConfig {
  std::uint32_t max_transactions = static_cast<std::uint32_t>(ledger::kDefaultBatchCount);
  std::uint32_t max_bytes = static_cast<std::uint32_t>(ledger::kDefaultBatchBytes);
  std::chrono::milliseconds max_delay = ledger::kDefaultBatchDelay;
};

/// [ordering]: who orders the ledger's blocks. "solo" (the default): the in-process
/// orderer, one node. "etcd": a consortium replica (docs/consortium.md) -- this node
/// proposes and applies blocks through etcd, one hospital per serve process.
struct OrderingConfig {
  std::string kind = "solo";                 // "solo" | "etcd"
  std::vector<std::string> endpoints;        // "https://host:port" of etcd members
  std::string prefix = "/medledger";         // the consortium's key prefix in etcd
  std::string node_name;                     // under <prefix>/applied/; default: hospital id
  std::filesystem::path ca_file;             // PEM CAs of the etcd members' certificates
  std::filesystem::path client_certificate;  // this node's etcd client certificate (PEM)
  std::filesystem::path client_key;          // its key (PEM)
  std::chrono::milliseconds dial_timeout{2'000};
  std::chrono::milliseconds request_timeout{5'000};
  std::chrono::milliseconds max_future_skew{30'000};  // a block's time ahead of this clock
  std::chrono::milliseconds poll_interval{1'000};     // read etcd at least this often
  std::uint64_t keep_blocks = 1'000;  // blocks kept in etcd below every node's applied height
  std::vector<std::string> peers;     // "https://host:port" of other nodes: blocks pruned from etcd
  std::string advertise_url;          // this node's https URL for the others; empty: never lead
  std::chrono::milliseconds proposer_ttl{3'000};     // the proposer lease
  std::chrono::milliseconds forward_timeout{2'000};  // forwarded, not ordered: propose here
};

struct ServerConfig {
  ListenConfig listen;
  TlsConfig tls;
  LimitsConfig limits;
  ThreadsConfig threads;
  LogConfig log;
  TokenConfig token;
  LedgerConfig ledger;
  BatchConfig batch;
  OrderingConfig ordering;
  NodeServeConfig node;                        // [node]: the one-hospital form (with [token])
  std::vector<HospitalServeConfig> hospitals;  // [[hospital]]: several nodes; excludes [node]
};

/// The hospital nodes to open, in file order: the [[hospital]] entries, or the
/// [node] + [token] pair as one entry, or none (infrastructure only). The first
/// is the ledger proposer and holds the token TLS key. No I/O.
std::vector<HospitalServeConfig> served_hospitals(const ServerConfig& config);

/// Reads and validates a TOML file. kConfigInvalid (syntax error with line, a
/// wrong type, a value out of range, an unknown key, a missing TLS file), each
/// naming the key; kIoError if the file cannot be read. Relative paths in the
/// file are resolved against the file's directory. Cost: file I/O.
core::Result<ServerConfig> load_server_config(const std::filesystem::path& file);

/// Checks ranges and cross-field rules of a config built in code (tests) or read
/// from a file; the same errors as load_server_config. No I/O.
core::Result<void> validate_server_config(const ServerConfig& config);

}  // namespace medledger::api
