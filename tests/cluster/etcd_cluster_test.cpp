// The etcd test fixture itself on real members: TLS with client certificates, leader
// failover, a member rejoining, and the NOSPACE alarm that the ordering must report.
#include "etcd_cluster.h"

#include <gtest/gtest.h>

#include <csignal>
#include <string>

#include "result_expect.h"

namespace medledger::testing {
namespace {

// The value that `etcdctl get KEY --print-value-only` prints, or "" if none.
std::string value_at(const EtcdCluster& cluster, int member, const std::string& key) {
  CommandResult r = cluster.etcdctl_at(member, {"get", key, "--print-value-only"});
  EXPECT_TRUE(r.ok()) << r.err;
  if (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
  return r.out;
}

// etcdctl with another client certificate than the cluster's default one.
CommandResult run_etcdctl_with(const EtcdCluster& cluster,
                               const EtcdCluster::ClientCertificate& client,
                               const std::vector<std::string>& args) {
  std::vector<std::string> all = {"--cert", client.cert.string(), "--key", client.key.string()};
  all.insert(all.end(), args.begin(), args.end());
  return cluster.etcdctl_at(0, all, EtcdCluster::Credentials::kNone);
}

TEST(EtcdCluster, ThreeMembersServeAPutOverTlsFromEveryMember) {
  EtcdCluster cluster;
  expect_ok(cluster.start());
  ASSERT_EQ(cluster.endpoints().size(), 3u);
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(cluster.endpoint(k), "https://127.0.0.1:" + std::to_string(cluster.client_port(k)));
    EXPECT_NE(cluster.client_port(k), 2379);
  }
  CommandResult put = cluster.etcdctl_at(0, {"put", "medledger/k", "v1"});
  ASSERT_TRUE(put.ok()) << put.err;
  // A linearizable read at another member sees the write.
  EXPECT_EQ(value_at(cluster, 2, "medledger/k"), "v1");
  EXPECT_EQ(value_at(cluster, 1, "medledger/k"), "v1");
}

TEST(EtcdCluster, RefusesAClientWithoutItsCertificate) {
  EtcdCluster cluster(EtcdOptions{.members = 1});
  expect_ok(cluster.start());
  CommandResult put =
      cluster.etcdctl_at(0, {"--dial-timeout", "1s", "--command-timeout", "2s", "put", "k", "x"},
                         EtcdCluster::Credentials::kNone);
  EXPECT_FALSE(put.ok()) << put.out;
  // Nothing was written: the same request with the certificate finds no key.
  EXPECT_EQ(value_at(cluster, 0, "k"), "");
  // The refusal is the missing certificate's doing: with it, the same put is served.
  ASSERT_TRUE(cluster.etcdctl_at(0, {"put", "k", "y"}).ok());
  EXPECT_EQ(value_at(cluster, 0, "k"), "y");
}

TEST(EtcdCluster, ServesEveryClientCertificateOfItsCa) {
  EtcdCluster cluster(EtcdOptions{.members = 1});
  expect_ok(cluster.start());
  EtcdCluster::ClientCertificate node_b = expect_ok(cluster.issue_client_certificate("node-b"));
  CommandResult put = run_etcdctl_with(cluster, node_b, {"put", "from-b", "1"});
  ASSERT_TRUE(put.ok()) << put.err;
  EXPECT_EQ(value_at(cluster, 0, "from-b"), "1");
}

TEST(EtcdCluster, ElectsANewLeaderWhenTheLeaderIsKilledAndTheMemberRejoins) {
  EtcdCluster cluster;
  expect_ok(cluster.start());
  std::optional<int> old_leader = cluster.leader();
  ASSERT_TRUE(old_leader.has_value());
  ASSERT_TRUE(cluster.etcdctl({"put", "before", "1"}).ok());

  cluster.kill_member(*old_leader, SIGKILL);
  EXPECT_FALSE(cluster.running(*old_leader));
  std::optional<int> new_leader = cluster.leader();
  ASSERT_TRUE(new_leader.has_value());
  EXPECT_NE(*new_leader, *old_leader);
  // Two of three members are a quorum: writes go on.
  CommandResult put = cluster.etcdctl({"put", "after", "2"});
  ASSERT_TRUE(put.ok()) << put.err;

  expect_ok(cluster.restart_member(*old_leader));
  EXPECT_TRUE(cluster.running(*old_leader));
  EXPECT_TRUE(cluster.healthy(*old_leader));
  // The rejoined member has the write it missed.
  EXPECT_EQ(value_at(cluster, *old_leader, "after"), "2");
  EXPECT_EQ(value_at(cluster, *old_leader, "before"), "1");
}

TEST(EtcdCluster, NoQuorumRefusesWritesUntilAMemberComesBack) {
  EtcdCluster cluster;
  expect_ok(cluster.start());
  int leader = cluster.leader().value_or(0);
  int a = (leader + 1) % 3;
  int b = (leader + 2) % 3;
  cluster.pause_member(a);
  cluster.pause_member(b);
  CommandResult put = cluster.etcdctl({"--command-timeout", "1s", "put", "k", "v"});
  EXPECT_FALSE(put.ok());
  cluster.resume_member(a);
  cluster.resume_member(b);
  ASSERT_TRUE(cluster.leader().has_value());
  put = cluster.etcdctl({"put", "k", "v"});
  EXPECT_TRUE(put.ok()) << put.err;
}

TEST(EtcdCluster, SmallQuotaRaisesTheNospaceAlarm) {
  EtcdCluster cluster(EtcdOptions{.members = 1, .quota_backend_bytes = 1 << 20});
  expect_ok(cluster.start());
  const std::string value(100 * 1000, 'x');
  bool refused = false;
  for (int i = 0; i < 40 && !refused; ++i) {
    CommandResult put = cluster.etcdctl({"put", "big/" + std::to_string(i), value});
    if (!put.ok()) {
      refused = true;
      EXPECT_NE(put.err.find("database space exceeded"), std::string::npos) << put.err;
    }
  }
  ASSERT_TRUE(refused) << "40 puts of 100 kB fitted in a 1 MiB quota";
  CommandResult alarms = cluster.etcdctl({"alarm", "list"});
  ASSERT_TRUE(alarms.ok()) << alarms.err;
  EXPECT_NE(alarms.out.find("NOSPACE"), std::string::npos) << alarms.out;
}

TEST(EtcdCluster, StopEndsEveryMemberItStarted) {
  EtcdCluster cluster;
  expect_ok(cluster.start());
  std::vector<pid_t> pids;
  for (int k = 0; k < cluster.size(); ++k) pids.push_back(cluster.pid(k));
  cluster.stop();
  for (int k = 0; k < cluster.size(); ++k) {
    EXPECT_FALSE(cluster.running(k));
    // Reaped: the PID no longer names a child of this process.
    EXPECT_NE(::kill(pids[static_cast<std::size_t>(k)], 0), 0);
  }
}

}  // namespace
}  // namespace medledger::testing
