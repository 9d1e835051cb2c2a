// `medledger serve` with `[ordering] kind = "etcd"`: each hospital's node is its own serve
// process on its own replica, ordering through three real TLS etcd members
// (tests/support/etcd_cluster.h). A write at either node reaches the other's replica; without
// an etcd quorum writes answer 503 ORDERING_UNAVAILABLE while reads go on, and writing
// resumes by itself; a node kill -9'd under load catches up when started again; a new
// replica whose blocks etcd pruned fetches them from a peer node.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "etcd_cluster.h"
#include "serve_process.h"
#include "served_consortium_fixture.h"

namespace medledger::api {
namespace {

using namespace std::chrono_literals;

// Client certificates of each hospital's CA (file stems in the Pki's directory).
constexpr const char* kAdminA = "admin-a";
constexpr const char* kAdminB = "admin-b";
constexpr const char* kNodeA = "client-node-a";
constexpr const char* kNodeB = "client-node-b";

struct Head {
  int status = 0;
  std::uint64_t height = 0;
  std::string hash;
};

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return condition();
}

/// How a node's [ordering] differs from start()'s defaults.
struct Ordering {
  std::string lines{};  // further [ordering] keys, e.g. "keep_blocks = 2\n"
  /// Present the hospital's role-node certificate (client-node-*) to etcd and to peer
  /// nodes alike, instead of a certificate of etcd's own CA.
  bool node_certificate = false;
  /// Non-zero: listen on this port and advertise it (one proposer at a time; the node
  /// certificate is presented, as forwarding to a peer needs it).
  int port = 0;
  std::string extra_tls{};  // further [tls] lines, e.g. client_ca
};

class ServeEtcd : public testing::ServedReplicas {
 protected:
  // The nodes of the test: the founder A on the provisioned ledger, B on an empty replica.
  enum Hospital { kA, kB };

  void SetUp() override {
    ServedReplicas::SetUp();
    if (HasFatalFailure()) return;
    // etcd accepts the hospitals' CAs' client certificates too (read when members start).
    {
      std::ofstream out(hospital_cas_file());
      for (const char* ca_dir : {"a-ca", "b-ca"}) {
        const auto directory = node::testing::expect_ok(ca::CaDirectory::open(root_ / ca_dir));
        for (const auto& cert : directory.chain()) out << cert.to_pem();
      }
    }
    auto started = etcd_.start();
    ASSERT_TRUE(started) << started.error().to_string();
    testing::issue_from_token_ca(pool_a_, root_ / "a-ca", ca::Role::kAdmin, kAdminA,
                                 pki_->dir.path());
    testing::issue_from_token_ca(pool_a_, root_ / "a-ca", ca::Role::kNode, kNodeA,
                                 pki_->dir.path());
    testing::issue_from_token_ca(pool_b_, root_ / "b-ca", ca::Role::kNode, kNodeB,
                                 pki_->dir.path());
    testing::issue_from_token_ca(pool_b_, root_ / "b-ca", ca::Role::kAdmin, kAdminB,
                                 pki_->dir.path());
    std::filesystem::create_directories(root_ / "replica-b");
    // A node's ordering CA bundle when it calls peers: etcd's CA and the nodes' server CA.
    std::ofstream(ordering_ca_file())
        << testing::slurp(etcd_.ca_file()) << testing::slurp(pki_->ca_pem);
  }

  /// The serve configuration of hospital `h`'s node, logging to serve-`name`.jsonl.
  std::filesystem::path config(Hospital h, const std::string& name, const Ordering& ordering) {
    std::filesystem::path cert, key, ca = etcd_.ca_file();
    if (ordering.node_certificate) {
      cert = pki_->cert(h == kA ? kNodeA : kNodeB);
      key = pki_->key(h == kA ? kNodeA : kNodeB);
      ca = ordering_ca_file();
    } else {
      auto credentials = etcd_.issue_client_certificate("etcd-client-" + name);
      EXPECT_TRUE(credentials) << credentials.error().to_string();
      if (credentials) {
        cert = credentials->cert;
        key = credentials->key;
      }
    }
    std::string endpoints;
    for (const auto& url : etcd_.endpoints()) endpoints += "\"" + url + "\", ";
    std::string text = head_logging_to(log_of(name), ordering.extra_tls, ordering.port);
    text += h == kA ? hospital(root_ / "a", "hospital-a") : hospital(root_ / "b", "hospital-b");
    // The founder serves the provisioned ledger (its node.json's); B joins into an empty one.
    if (h == kB) text += "[ledger]\npath = \"" + (root_ / "replica-b").string() + "\"\n";
    text += "[ordering]\nkind = \"etcd\"\nendpoints = [" + endpoints + "]\nprefix = \"" + kPrefix +
            "\"\nca_file = \"" + ca.string() + "\"\nclient_certificate = \"" + cert.string() +
            "\"\nclient_key = \"" + key.string() +
            "\"\ndial_timeout_ms = 500\nrequest_timeout_ms = 1000\npoll_interval_ms = 200\n" +
            ordering.lines;
    if (ordering.port != 0)
      text += "advertise_url = \"https://127.0.0.1:" + std::to_string(ordering.port) +
              "\"\nproposer_ttl_ms = 1000\n";
    return write("serve-" + name + ".toml", text);
  }
  std::filesystem::path log_of(const std::string& name) const {
    return root_ / ("serve-" + name + ".jsonl");
  }

  /// Starts hospital `h`'s serve process (its `run`-th start logs to its own file) and
  /// waits until it listens.
  std::unique_ptr<testing::ServeProcess> start(Hospital h, int run = 1,
                                               const Ordering& ordering = {}) {
    const std::string name = std::string(h == kA ? "a" : "b") + "-" + std::to_string(run);
    auto process = std::make_unique<testing::ServeProcess>(config(h, name, ordering), log_of(name));
    EXPECT_NE(process->start(), 0) << process->log();
    return process;
  }

  /// POST /v1/persons by `admin` at its hospital's node (a doctor `id`): one ledger write.
  testing::HttpResult enrol(std::uint16_t port, const std::string& admin, const std::string& id,
                            const std::string& extra_args = "") const {
    return testing::curl(*pki_, port, "/v1/persons", admin,
                         "-X POST -H 'Content-Type: application/json' --data '{\"role\":"
                         "\"doctor\",\"id\":\"" +
                             id + "\",\"pin\":\"" + node::testing::kDoctorPin + "\"}' " +
                             extra_args);
  }

  /// The proposer fingerprint in the header of the head block.
  std::string head_proposer(std::uint16_t port, const std::string& client) const {
    const Head at = head(port, client);
    auto answer =
        testing::curl(*pki_, port, "/v1/ledger/blocks/" + std::to_string(at.height), client);
    if (answer.status != 200) return {};
    const auto body = boost::json::parse(answer.body);
    return std::string(body.at("header").at("proposer").as_string());
  }

  Head head(std::uint16_t port, const std::string& client) const {
    auto answer = testing::curl(*pki_, port, "/v1/ledger/head", client);
    Head out;
    out.status = answer.status;
    if (answer.status != 200) return out;
    const auto body = boost::json::parse(answer.body);
    out.height = body.at("height").to_number<std::uint64_t>();
    out.hash = std::string(body.at("hash").as_string());
    return out;
  }

  /// Whether B's replica reaches A's head (the same height and hash) within `limit`.
  bool converge(std::uint16_t port_a, std::uint16_t port_b, std::chrono::milliseconds limit) {
    return eventually(
        [&] {
          const Head a = head(port_a, kNodeA);
          const Head b = head(port_b, kNodeB);
          return a.status == 200 && b.status == 200 && a.height == b.height && a.hash == b.hash;
        },
        limit);
  }

  /// B's node (ordering with its node certificate, no peers) refuses to start with `code`:
  /// etcd pruned block `height`, which it needs, and no peer can serve it.
  void expect_refused_naming_pruned_block(const std::string& name, std::uint64_t height,
                                          const std::string& code) {
    int exit_code = 0;
    const std::string refused =
        testing::serve_refused(config(kB, name, {.node_certificate = true}), exit_code) +
        testing::slurp(log_of(name));
    EXPECT_NE(exit_code, 0) << refused;
    EXPECT_NE(refused.find(code + ": "), std::string::npos) << refused;
    EXPECT_NE(refused.find("block " + std::to_string(height) + " (pruned)"), std::string::npos)
        << refused;
    EXPECT_NE(refused.find("(no ordering.peers)"), std::string::npos) << refused;
  }

  /// The [ordering] line naming `node` as the only peer.
  static std::string peers(const testing::ServeProcess& node) {
    return "peers = [\"https://127.0.0.1:" + std::to_string(node.port()) + "\"]\n";
  }

  /// The height of the lowest block etcd still holds under kPrefix (nullopt if none).
  std::optional<std::uint64_t> lowest_block_in_etcd() const {
    auto listed = etcd_.etcdctl(
        {"get", std::string(kPrefix) + "/blocks/", "--prefix", "--keys-only", "--limit", "1"});
    const auto digits = listed.out.find_first_of("0123456789");
    if (!listed.ok() || digits == std::string::npos) return std::nullopt;
    return std::stoull(listed.out.substr(digits));
  }

  std::filesystem::path hospital_cas_file() const { return trust_dir_.path() / "hospital-cas.pem"; }
  std::filesystem::path ordering_ca_file() const { return root_ / "ordering-ca.pem"; }
  static medledger::testing::EtcdOptions trusting(std::filesystem::path ca_file) {
    medledger::testing::EtcdOptions options;
    options.extra_trusted_ca_files = {std::move(ca_file)};
    return options;
  }

  static constexpr const char* kPrefix = "/medledger/serve-test";
  medledger::testing::TempDir trust_dir_;
  medledger::testing::EtcdCluster etcd_{trusting(trust_dir_.path() / "hospital-cas.pem")};
};

TEST_F(ServeEtcd, AWriteAtEitherNodeIsAppliedAtTheOthersReplica) {
  auto a = start(kA);
  auto b = start(kB);  // joins from etcd's block 0
  ASSERT_FALSE(HasFailure());
  ASSERT_TRUE(converge(a->port(), b->port(), 10s)) << b->log();
  const Head before = head(a->port(), kNodeA);

  auto enrolled = enrol(a->port(), kAdminA, "dr-etcd");
  ASSERT_EQ(enrolled.status, 201) << enrolled.body << "\n" << a->log();
  const Head after = head(a->port(), kNodeA);
  EXPECT_GT(after.height, before.height);
  ASSERT_TRUE(eventually([&] { return head(b->port(), kNodeB).height >= after.height; }, 15s))
      << b->log();
  const Head at_b = head(b->port(), kNodeB);
  EXPECT_EQ(at_b.height, after.height);
  EXPECT_EQ(at_b.hash, after.hash);

  // B's node proposes too (its key is a proposer): its write reaches A's replica.
  auto at_b_enrolled = enrol(b->port(), kAdminB, "dr-etcd-b");
  ASSERT_EQ(at_b_enrolled.status, 201) << at_b_enrolled.body << "\n" << b->log();
  const Head after_b = head(b->port(), kNodeB);
  EXPECT_GT(after_b.height, after.height);
  EXPECT_TRUE(converge(a->port(), b->port(), 15s)) << a->log();
  EXPECT_EQ(head(a->port(), kNodeA).hash, after_b.hash);

  auto health = testing::curl(*pki_, b->port(), "/healthz");
  EXPECT_EQ(health.status, 200) << health.body;
  ASSERT_TRUE(b->terminate());
  ASSERT_TRUE(a->terminate());
  EXPECT_EQ(a->exit_code(), 0);
  EXPECT_EQ(b->exit_code(), 0);
  EXPECT_NE(b->log().find(R"("event":"ordering","kind":"etcd")"), std::string::npos) << b->log();
}

TEST_F(ServeEtcd, OneNodeProposesTheOtherForwardsOverHttpsAndTakesOverWhenItDies) {
  const auto ports = medledger::testing::free_ports(2);
  ASSERT_EQ(ports.size(), 2u);
  auto a = start(kA, 1, {.node_certificate = true, .port = ports[0]});
  ASSERT_FALSE(HasFailure());
  ASSERT_TRUE(eventually(
      [&] { return a->log().find(R"("event":"ordering_proposer")") != std::string::npos; }, 10s))
      << a->log();
  auto b = start(kB, 1, {.node_certificate = true, .port = ports[1]});
  ASSERT_FALSE(HasFailure());
  ASSERT_TRUE(eventually(
      [&] { return b->log().find(R"("event":"ordering_proposer_seen")") != std::string::npos; },
      10s))
      << b->log();
  ASSERT_EQ(enrol(a->port(), kAdminA, "dr-at-a").status, 201) << a->log();
  const std::string a_proposer = head_proposer(a->port(), kNodeA);
  ASSERT_FALSE(a_proposer.empty());

  // B's write travels to A over POST /v1/ledger/forward; A's block carries it back.
  auto at_b = enrol(b->port(), kAdminB, "dr-forwarded");
  ASSERT_EQ(at_b.status, 201) << at_b.body << "\n" << b->log();
  EXPECT_EQ(head_proposer(b->port(), kNodeB), a_proposer);
  EXPECT_TRUE(converge(a->port(), b->port(), 10s));
  EXPECT_EQ(a->log().find(R"("event":"ordering_forward_failed")"), std::string::npos);

  // A dies without giving its lease back: B's forward fails, it proposes itself at once,
  // and holds the lease once A's expires.
  kill(a->pid(), SIGKILL);
  a.reset();
  auto after = enrol(b->port(), kAdminB, "dr-after-a");
  ASSERT_EQ(after.status, 201) << after.body << "\n" << b->log();
  EXPECT_NE(head_proposer(b->port(), kNodeB), a_proposer);
  EXPECT_NE(b->log().find(R"("event":"ordering_forward_failed")"), std::string::npos);
  EXPECT_TRUE(eventually(
      [&] { return b->log().find(R"("event":"ordering_proposer")") != std::string::npos; }, 15s))
      << b->log();
  ASSERT_TRUE(b->terminate());
  EXPECT_EQ(b->exit_code(), 0);
}

// B is neither a genesis proposer nor admitted: it joins the live consortium over HTTPS.
class ServeEtcdJoin : public ServeEtcd {
 protected:
  ServeEtcdJoin() { admit_b_ = false; }
  static bool logged(const testing::ServeProcess& node, const std::string& event) {
    return node.log().find("\"event\":\"" + event + "\"") != std::string::npos;
  }
};

TEST_F(ServeEtcdJoin, AHospitalIsAdmittedAndRegistersItsNodeWhileTheConsortiumIsLive) {
  const auto ports = medledger::testing::free_ports(2);
  ASSERT_EQ(ports.size(), 2u);
  auto a = start(kA, 1, {.node_certificate = true, .port = ports[0]});
  ASSERT_FALSE(HasFailure());
  ASSERT_TRUE(eventually([&] { return logged(*a, "ordering_proposer"); }, 10s)) << a->log();
  // B's own CA is not on the ledger yet: its serve trusts it for B's admin by [tls].
  const std::string b_ca = "client_ca = \"" + (root_ / "b-ca" / "ca.pem").string() + "\"\n";
  auto b = start(kB, 1, {.node_certificate = true, .port = ports[1], .extra_tls = b_ca});
  ASSERT_FALSE(HasFailure());
  ASSERT_TRUE(converge(a->port(), b->port(), 15s)) << b->log();
  EXPECT_TRUE(logged(*b, "ordering_not_member")) << b->log();

  // Not admitted: B's node cannot register its certificates yet, and nothing is written.
  const Head before = head(a->port(), kNodeA);
  auto early = testing::curl(*pki_, b->port(), "/v1/node/registration", kAdminB, "-X POST");
  EXPECT_NE(early.status, 200) << early.body;
  EXPECT_EQ(head(a->port(), kNodeA).height, before.height);

  auto request = testing::curl(*pki_, b->port(), "/v1/consortium/admission-request", kAdminB);
  ASSERT_EQ(request.status, 200) << request.body << "\n" << b->log();
  const std::string wire(boost::json::parse(request.body).at("request").as_string());
  const std::string body = boost::json::serialize(boost::json::object{{"request", wire}});
  const auto admit = [&](const std::string& client, const std::string& text) {
    return testing::curl(*pki_, a->port(), "/v1/consortium/admissions", client,
                         "-X POST -H 'Content-Type: application/json' --data-binary @" +
                             write("admit.json", text).string());
  };
  // Bad requests change nothing: not JSON, no request, not a transaction, not an admin.
  EXPECT_EQ(admit(kAdminA, "not json").status, 400);
  EXPECT_EQ(admit(kAdminA, R"({"other":1})").status, 400);
  EXPECT_EQ(admit(kAdminA, R"({"request":"{\"type\":1}"})").status, 400);
  EXPECT_EQ(admit(kNodeA, body).status, 403);
  EXPECT_EQ(head(a->port(), kNodeA).height, before.height);

  auto admitted = admit(kAdminA, body);
  ASSERT_EQ(admitted.status, 201) << admitted.body << "\n" << a->log();
  auto again = admit(kAdminA, body);  // a replay
  EXPECT_EQ(again.status, 409) << again.body;

  // B registers its node certificates: forwarded to A (B may not propose yet).
  ASSERT_TRUE(converge(a->port(), b->port(), 15s)) << b->log();
  auto registered = testing::curl(*pki_, b->port(), "/v1/node/registration", kAdminB, "-X POST");
  ASSERT_EQ(registered.status, 200) << registered.body << "\n" << b->log();
  ASSERT_TRUE(eventually([&] { return logged(*b, "ordering_member"); }, 10s)) << b->log();
  const std::string a_proposer = head_proposer(a->port(), kNodeA);

  // A member now: with A gone, B proposes its own writes.
  kill(a->pid(), SIGKILL);
  a.reset();
  auto written = enrol(b->port(), kAdminB, "dr-after-joining");
  ASSERT_EQ(written.status, 201) << written.body << "\n" << b->log();
  EXPECT_NE(head_proposer(b->port(), kNodeB), a_proposer);
  ASSERT_TRUE(b->terminate());
  EXPECT_EQ(b->exit_code(), 0);
}

TEST_F(ServeEtcd, ForwardRouteRefusesMalformedBodiesAndNonNodeCallers) {
  auto a = start(kA);
  ASSERT_FALSE(HasFailure());
  const auto post = [&](const std::string& client, const std::string& body) {
    return testing::curl(*pki_, a->port(), "/v1/ledger/forward", client,
                         "-X POST -H 'Content-Type: application/json' --data '" + body + "'");
  };
  const Head before = head(a->port(), kNodeA);
  EXPECT_EQ(post(kAdminA, R"({"transactions":["x"]})").status, 403);
  for (const char* bad : {R"({})", R"({"transactions":[]})", R"({"transactions":[1]})",
                          R"({"transactions":"x"})", R"([1])"}) {
    auto answer = post(kNodeB, bad);
    EXPECT_EQ(answer.status, 400) << bad << ": " << answer.body;
    EXPECT_NE(answer.body.find("INVALID_ARGUMENT"), std::string::npos) << answer.body;
  }
  // A wire that is no transaction: answered per entry, nothing queued.
  auto garbage = post(kNodeB, R"({"transactions":["not a transaction"]})");
  ASSERT_EQ(garbage.status, 200) << garbage.body;
  const auto body = boost::json::parse(garbage.body);
  EXPECT_FALSE(body.at("held").as_array().at(0).as_bool());
  EXPECT_EQ(body.at("refused").as_array().at(0).at("code").as_string(), "TX_MALFORMED");
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(head(a->port(), kNodeA).height, before.height);
  ASSERT_TRUE(a->terminate());
}

TEST_F(ServeEtcd, WithoutQuorumWritesAre503AndReadsGoOnThenWritingResumes) {
  auto a = start(kA);
  ASSERT_FALSE(HasFailure());
  ASSERT_EQ(enrol(a->port(), kAdminA, "dr-before").status, 201) << a->log();
  const Head before = head(a->port(), kNodeA);

  etcd_.kill_member(1);
  etcd_.kill_member(2);
  // The orderer notices on its next read of etcd; /healthz names why.
  std::string health;
  ASSERT_TRUE(eventually(
      [&] {
        auto answer = testing::curl(*pki_, a->port(), "/healthz");
        health = answer.body;
        return answer.status == 503 && health.find("ORDERING_UNAVAILABLE") != std::string::npos;
      },
      15s))
      << health << "\n"
      << a->log();

  const auto headers = root_ / "refused.headers";
  auto refused = enrol(a->port(), kAdminA, "dr-refused", "-D '" + headers.string() + "'");
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_NE(refused.body.find("\"code\":\"ORDERING_UNAVAILABLE\""), std::string::npos)
      << refused.body;
  EXPECT_NE(testing::slurp(headers).find("Retry-After: 1"), std::string::npos)
      << testing::slurp(headers);
  // Committed data is still read from the replica.
  const Head during = head(a->port(), kNodeA);
  EXPECT_EQ(during.status, 200);
  EXPECT_EQ(during.height, before.height);
  EXPECT_EQ(during.hash, before.hash);

  for (int member : {1, 2}) {
    auto restarted = etcd_.restart_member(member);
    ASSERT_TRUE(restarted) << restarted.error().to_string();
  }
  int attempt = 0;
  testing::HttpResult resumed;
  EXPECT_TRUE(eventually(
      [&] {
        resumed = enrol(a->port(), kAdminA, "dr-after-" + std::to_string(++attempt));
        return resumed.status == 201;
      },
      30s))
      << resumed.status << " " << resumed.body << "\n"
      << a->log();
  EXPECT_GT(head(a->port(), kNodeA).height, before.height);
  EXPECT_TRUE(
      eventually([&] { return testing::curl(*pki_, a->port(), "/healthz").status == 200; }, 10s));
  ASSERT_TRUE(a->terminate());
  EXPECT_EQ(a->exit_code(), 0);
}

TEST_F(ServeEtcd, NodeKilledUnderWritesCatchesUpWhenStartedAgain) {
  auto a = start(kA);
  auto b = start(kB);
  ASSERT_FALSE(HasFailure());
  const std::uint16_t port_a = a->port();
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::atomic<int> failed{0};
  std::thread writer([&] {
    for (int i = 0; !stop.load(); ++i) {
      if (enrol(port_a, kAdminA, "dr-load-" + std::to_string(i)).status == 201) {
        written.fetch_add(1);
      } else {
        failed.fetch_add(1);
      }
    }
  });
  const auto wait_writes = [&](int count) {
    return eventually([&] { return written.load() >= count; }, 20s);
  };
  EXPECT_TRUE(wait_writes(2));
  kill(b->pid(), SIGKILL);
  b.reset();  // reaps it
  const int at_kill = written.load();
  EXPECT_TRUE(wait_writes(at_kill + 3));
  b = start(kB, 2);
  EXPECT_TRUE(wait_writes(written.load() + 2));
  stop = true;
  writer.join();
  EXPECT_EQ(failed.load(), 0);
  ASSERT_NE(b->port(), 0);
  ASSERT_TRUE(converge(a->port(), b->port(), 20s))
      << "A " << head(a->port(), kNodeA).height << ", B " << head(b->port(), kNodeB).height << "\n"
      << b->log();
  ASSERT_TRUE(b->terminate());
  ASSERT_TRUE(a->terminate());
  EXPECT_EQ(b->exit_code(), 0);
}

TEST_F(ServeEtcd, ANewReplicaFetchesBlocksPrunedFromEtcdFromAPeer) {
  // A keeps 2 blocks below the height it applied; it is the only node that recorded one,
  // so its pruning (every 2 s) soon deletes block 0 from etcd.
  auto a = start(kA, 1, {.lines = "keep_blocks = 2\n", .node_certificate = true});
  ASSERT_FALSE(HasFailure());
  for (int i = 0; i < 4; ++i)
    ASSERT_EQ(enrol(a->port(), kAdminA, "dr-pruned-" + std::to_string(i)).status, 201) << a->log();
  std::optional<std::uint64_t> lowest;
  ASSERT_TRUE(eventually(
      [&] {
        lowest = lowest_block_in_etcd();
        return lowest && *lowest > 0;
      },
      20s))
      << a->log();
  const Head at_a = head(a->port(), kNodeA);
  ASSERT_EQ(at_a.status, 200);

  // B, a brand-new replica without peers, cannot get block 0: serve refuses to start.
  expect_refused_naming_pruned_block("b-1", 0, "LEDGER_NOT_FOUND");

  // With A as its peer (called with B's node certificate), B fetches the pruned blocks,
  // checks them as it checks etcd's, and reaches A's head.
  auto b = start(kB, 2, {.lines = peers(*a), .node_certificate = true});
  ASSERT_NE(b->port(), 0) << b->log();
  ASSERT_TRUE(converge(a->port(), b->port(), 20s))
      << "A " << head(a->port(), kNodeA).height << ", B " << head(b->port(), kNodeB).height << "\n"
      << b->log();
  EXPECT_GE(head(b->port(), kNodeB).height, at_a.height);
  EXPECT_NE(b->log().find("ordering_peer_catch_up"), std::string::npos) << b->log();

  // The caught-up replica orders as any other: its write reaches A.
  ASSERT_EQ(enrol(b->port(), kAdminB, "dr-after-catch-up").status, 201) << b->log();
  EXPECT_TRUE(converge(a->port(), b->port(), 15s)) << a->log();
  EXPECT_EQ(testing::curl(*pki_, b->port(), "/healthz").status, 200);
  ASSERT_TRUE(b->terminate());
  ASSERT_TRUE(a->terminate());
  EXPECT_EQ(b->exit_code(), 0);
  EXPECT_EQ(a->exit_code(), 0);
}

TEST_F(ServeEtcd, AStoppedNodeBehindEtcdsPruningCatchesUpFromAPeer) {
  auto a = start(kA, 1, {.lines = "keep_blocks = 2\n", .node_certificate = true});
  auto b = start(kB, 1, {.node_certificate = true});
  ASSERT_FALSE(HasFailure());
  ASSERT_TRUE(converge(a->port(), b->port(), 10s)) << b->log();
  const std::uint64_t b_height = head(b->port(), kNodeB).height;
  ASSERT_TRUE(b->terminate());
  // B's recorded height holds pruning back; an operator retiring it for a while deletes it.
  ASSERT_TRUE(etcd_.etcdctl({"del", std::string(kPrefix) + "/applied/hospital-b"}).ok());
  for (int i = 0; i < 4; ++i)
    ASSERT_EQ(enrol(a->port(), kAdminA, "dr-while-b-away-" + std::to_string(i)).status, 201)
        << a->log();
  std::optional<std::uint64_t> lowest;
  ASSERT_TRUE(eventually(
      [&] {
        lowest = lowest_block_in_etcd();
        return lowest && *lowest > b_height + 1;
      },
      20s))
      << "B at " << b_height << "\n"
      << a->log();

  // Without peers, B cannot get the blocks it misses: serve refuses to start.
  expect_refused_naming_pruned_block("b-2", b_height + 1, "ORDERING_UNAVAILABLE");

  // With A as its peer, B fetches them, then follows etcd again up to A's head.
  b = start(kB, 3, {.lines = peers(*a), .node_certificate = true});
  ASSERT_NE(b->port(), 0) << b->log();
  ASSERT_TRUE(converge(a->port(), b->port(), 20s))
      << "A " << head(a->port(), kNodeA).height << ", B " << head(b->port(), kNodeB).height << "\n"
      << b->log();
  EXPECT_NE(b->log().find("ordering_peer_catch_up"), std::string::npos) << b->log();
  ASSERT_TRUE(b->terminate());
  ASSERT_TRUE(a->terminate());
  EXPECT_EQ(b->exit_code(), 0);
  EXPECT_EQ(a->exit_code(), 0);
}

}  // namespace
}  // namespace medledger::api
