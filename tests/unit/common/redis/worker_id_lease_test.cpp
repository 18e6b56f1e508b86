// Worker-id leases: lowest free id, restart keeps the id, expiry, racing nodes, exhaustion.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "common/redis/worker_id_lease.h"
#include "redis_server.h"

namespace wsgw::redis::testing {
namespace {

using namespace std::chrono_literals;
using RenewStatus = WorkerIdLease::RenewStatus;

class WorkerIdLeaseTest : public RedisTest {
 protected:
  RenewStatus renew(WorkerIdLease& lease) {
    std::promise<RenewStatus> p;
    auto f = p.get_future();
    if (!lease.renew([&](RenewStatus s) { p.set_value(s); })) return RenewStatus::unreachable;
    return f.wait_for(3s) == std::future_status::ready ? f.get() : RenewStatus::unreachable;
  }
};

TEST_F(WorkerIdLeaseTest, LowestFreeIdsAndRestartKeepsId) {
  Client client(server().client_options());
  WorkerIdLease a(client), b(client), c(client);
  EXPECT_EQ(a.acquire("gw-a", 10s).value, 0);
  EXPECT_EQ(b.acquire("gw-b", 10s).value, 1);
  EXPECT_EQ(c.acquire("gw-c", 10s).value, 2);
  EXPECT_EQ(a.id(), std::optional<uint16_t>(0));
  EXPECT_EQ(a.node_name(), "gw-a");

  // gw-b restarts (crash: its old lease is still live) and keeps id 1.
  WorkerIdLease b_again(client);
  auto r = b_again.acquire("gw-b", 10s);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.value, 1);

  // gw-a shuts down cleanly; a new pod takes the lowest free id, which is 0.
  auto released = a.release();
  ASSERT_TRUE(released.ok());
  EXPECT_TRUE(released.value);
  EXPECT_FALSE(a.id().has_value());
  WorkerIdLease d(client);
  EXPECT_EQ(d.acquire("gw-d", 10s).value, 0);
  // gw-a comes back: its old id is taken, so it gets the lowest free one.
  WorkerIdLease a_again(client);
  EXPECT_EQ(a_again.acquire("gw-a", 10s).value, 3);
  // The stale object cannot release what it no longer holds.
  EXPECT_FALSE(a.release().value);
  EXPECT_EQ(renew(d), RenewStatus::renewed);
}

TEST_F(WorkerIdLeaseTest, ExpiredLeaseIsLostAndReused) {
  Client client(server().client_options());
  WorkerIdLease a(client), b(client);
  ASSERT_EQ(a.acquire("gw-a", 150ms).value, 0);
  EXPECT_FALSE(a.expired_locally());
  std::this_thread::sleep_for(250ms);  // gw-a stalls past its TTL
  EXPECT_TRUE(a.expired_locally());
  ASSERT_EQ(b.acquire("gw-b", 10s).value, 0);  // free again: lowest id
  EXPECT_EQ(renew(a), RenewStatus::lost);
  // gw-a re-acquires: its remembered id is now gw-b's, so it moves on.
  EXPECT_EQ(a.acquire("gw-a", 10s).value, 1);
  EXPECT_EQ(renew(b), RenewStatus::renewed);
}

TEST_F(WorkerIdLeaseTest, RenewKeepsTheLeaseAlive) {
  Client client(server().client_options());
  WorkerIdLease a(client), b(client);
  ASSERT_EQ(a.acquire("gw-a", 300ms).value, 0);
  for (int i = 0; i < 6; ++i) {
    std::this_thread::sleep_for(100ms);
    ASSERT_EQ(renew(a), RenewStatus::renewed) << i;
  }
  EXPECT_FALSE(a.expired_locally());
  EXPECT_EQ(b.acquire("gw-b", 10s).value, 1);
  // The TTL in Redis was refreshed.
  Reply ttl = client.command_sync({"PTTL", "wsgw:worker-id:0"}, 2s);
  EXPECT_GT(ttl.integer(), 0);
  EXPECT_LE(ttl.integer(), 300);
}

TEST_F(WorkerIdLeaseTest, RacingNodesNeverShareAnId) {
  constexpr int kPerThread = 60;
  std::vector<int> ids[2];
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      Client client(server().client_options());  // each "node group" has its own connection
      for (int i = 0; i < kPerThread; ++i) {
        WorkerIdLease lease(client);
        auto r = lease.acquire("race-" + std::to_string(t) + "-" + std::to_string(i), 30s);
        ids[t].push_back(r.ok() ? r.value : -1);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<int> all;
  for (auto& v : ids) {
    for (int id : v) {
      EXPECT_GE(id, 0);
      EXPECT_TRUE(all.insert(id).second) << "id " << id << " handed out twice";
    }
  }
  // Lowest-free allocation: exactly 0..119.
  EXPECT_EQ(all.size(), 2u * kPerThread);
  EXPECT_EQ(*all.rbegin(), 2 * kPerThread - 1);
}

TEST_F(WorkerIdLeaseTest, ExhaustionFails) {
  Client client(server().client_options());
  std::vector<std::unique_ptr<WorkerIdLease>> leases;
  for (int i = 0; i < 4; ++i) {
    leases.push_back(std::make_unique<WorkerIdLease>(client, "wsgw:", /*max_id=*/3));
    ASSERT_EQ(leases.back()->acquire("n" + std::to_string(i), 10s).value, i);
  }
  WorkerIdLease extra(client, "wsgw:", 3);
  auto r = extra.acquire("n-extra", 10s);
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(extra.id().has_value());
  EXPECT_FALSE(extra.renew());  // nothing held
  // Bad arguments are refused before Redis is asked.
  EXPECT_FALSE(extra.acquire("", 10s).ok());
  EXPECT_FALSE(extra.acquire("x", 0ms).ok());
}

TEST_F(WorkerIdLeaseTest, FullRangeOf1024) {
  Client client(server().client_options());
  // Pre-lease 1023 ids directly, as 1023 other nodes would have.
  std::vector<Command> sets;
  for (int id = 0; id < 1024; ++id) {
    if (id == 700) continue;
    sets.push_back(Command{"SET"}.arg("wsgw:worker-id:" + std::to_string(id)).arg("other").arg("PX").arg(int64_t{60000}));
  }
  std::promise<void> p;
  ASSERT_TRUE(client.submit_many(std::move(sets), [&](std::vector<Reply>) { p.set_value(); }));
  p.get_future().wait();
  WorkerIdLease lease(client);
  EXPECT_EQ(lease.acquire("last-node", 10s).value, 700);
  WorkerIdLease none(client);
  EXPECT_FALSE(none.acquire("one-too-many", 10s).ok());
}

TEST_F(WorkerIdLeaseTest, UnreachableRedisIsNotLostUntilTheTtlPasses) {
  Client client(server().client_options());
  WorkerIdLease a(client);
  ASSERT_EQ(a.acquire("gw-a", 400ms).value, 0);
  server().kill_hard();
  EXPECT_EQ(renew(a), RenewStatus::unreachable);
  std::this_thread::sleep_for(450ms);
  EXPECT_EQ(renew(a), RenewStatus::lost);
  ASSERT_TRUE(server().restart());
}

}  // namespace
}  // namespace wsgw::redis::testing
