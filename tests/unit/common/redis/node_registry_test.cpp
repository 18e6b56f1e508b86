// Node liveness and reaping: heartbeats, dead/live lists, batched reaps, idempotence, two
// concurrent reapers, a node coming back mid-reap.
#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <set>

#include "common/redis/node_registry.h"
#include "common/redis/session_registry.h"
#include "redis_server.h"

namespace wsgw::redis::testing {
namespace {

using namespace std::chrono_literals;
using Strings = std::vector<std::string>;

class NodeRegistryTest : public RedisTest {
 protected:
  void SetUp() override {
    RedisTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    client_ = std::make_unique<Client>(server().client_options());
    sessions_ = std::make_unique<SessionRegistry>(*client_);
    nodes_ = std::make_unique<NodeRegistry>(*client_);
  }

  void add_sessions(const std::string& node, int count, const std::string& room = "room") {
    std::promise<void> done;
    std::atomic<int> left{count};
    for (int i = 0; i < count; ++i) {
      SessionRecord r;
      r.sid = node + "-s" + std::to_string(i);
      r.node = node;
      r.uid = "u" + std::to_string(i % 7);
      r.nsp = "/";
      r.rooms = {room};
      r.connected_at_ms = 100;
      ASSERT_TRUE(sessions_->register_session(r, [&](Result<bool> res) {
        EXPECT_TRUE(res.ok()) << res.error;
        if (--left == 0) done.set_value();
      }));
    }
    ASSERT_EQ(done.get_future().wait_for(10s), std::future_status::ready);
  }

  std::optional<int64_t> beat(const std::string& node, int64_t now) {
    return await<std::optional<int64_t>>([&](auto cb) { return nodes_->heartbeat(node, now, cb); }).value;
  }

  // Runs a reap to its end and collects every batch.
  struct ReapOutcome {
    std::vector<SessionRecord> sessions;
    int batches = 0;
    bool finished = false;
    bool alive = false;
    std::string error;
  };
  ReapOutcome reap(NodeRegistry& registry, const std::string& node, int64_t now, int64_t timeout,
                   size_t batch_size) {
    auto outcome = std::make_shared<ReapOutcome>();
    auto done = std::make_shared<std::promise<void>>();
    const bool submitted = registry.reap(node, now, timeout, [outcome, done](Result<ReapBatch> r) {
      ++outcome->batches;
      if (!r.ok()) {
        outcome->error = r.error;
        done->set_value();
        return;
      }
      for (auto& s : r.value.sessions) outcome->sessions.push_back(std::move(s));
      outcome->finished = r.value.finished;
      outcome->alive = r.value.node_alive;
      if (r.value.finished || r.value.node_alive) done->set_value();
    }, batch_size);
    if (!submitted) return ReapOutcome{{}, 0, false, false, "not submitted"};
    if (done->get_future().wait_for(10s) != std::future_status::ready) {
      return ReapOutcome{{}, 0, false, false, "timed out"};
    }
    return *outcome;
  }

  std::unique_ptr<Client> client_;
  std::unique_ptr<SessionRegistry> sessions_;
  std::unique_ptr<NodeRegistry> nodes_;
};

TEST_F(NodeRegistryTest, HeartbeatsAndLiveness) {
  EXPECT_EQ(beat("A", 1000), std::nullopt);  // first beat: unknown before
  EXPECT_EQ(beat("A", 2000), std::optional<int64_t>(1000));
  EXPECT_EQ(beat("B", 1500), std::nullopt);
  EXPECT_EQ(beat("C", 9000), std::nullopt);
  // now 10000, timeout 8000: dead when the last beat is at or before 2000.
  auto dead = await<Strings>([&](auto cb) { return nodes_->dead_nodes(10000, 8000, cb); });
  ASSERT_TRUE(dead.ok()) << dead.error;
  EXPECT_EQ(dead.value, (Strings{"B", "A"}));  // oldest first
  EXPECT_EQ(await<Strings>([&](auto cb) { return nodes_->live_nodes(10000, 8000, cb); }).value, Strings{"C"});
  // Large, realistic epoch-millisecond values survive the round trip exactly.
  EXPECT_EQ(beat("D", 1735689600123), std::nullopt);
  EXPECT_EQ(beat("D", 1735689601123), std::optional<int64_t>(1735689600123));
}

TEST_F(NodeRegistryTest, ReapRemovesEverySessionInBatchesAndIsIdempotent) {
  beat("dead", 100);
  beat("alive", 100000);
  add_sessions("dead", 10);
  add_sessions("alive", 3);
  auto outcome = reap(*nodes_, "dead", 100000, 30000, 3);
  ASSERT_TRUE(outcome.error.empty()) << outcome.error;
  EXPECT_TRUE(outcome.finished);
  EXPECT_EQ(outcome.batches, 4);  // 3 + 3 + 3 + 1
  ASSERT_EQ(outcome.sessions.size(), 10u);
  std::set<std::string> sids;
  for (const auto& s : outcome.sessions) {
    sids.insert(s.sid);
    EXPECT_EQ(s.node, "dead");
    EXPECT_EQ(s.rooms, Strings{"room"});  // enough to emit a complete disconnect
    EXPECT_EQ(s.connected_at_ms, 100);
  }
  EXPECT_EQ(sids.size(), 10u);
  // Gone from every index; the live node is untouched.
  EXPECT_EQ(await<Strings>([&](auto cb) { return sessions_->nodes_for_room("/", "room", cb); }).value,
            Strings{"alive"});
  EXPECT_EQ(await<int64_t>([&](auto cb) { return sessions_->count_sessions(cb); }).value, 3);
  EXPECT_EQ(await<int64_t>([&](auto cb) { return sessions_->count_of_user("u0", cb); }).value, 1);
  EXPECT_TRUE(await<Strings>([&](auto cb) { return nodes_->dead_nodes(100000, 30000, cb); }).value.empty());
  // Reaping again reports nothing.
  auto again = reap(*nodes_, "dead", 100000, 30000, 3);
  EXPECT_TRUE(again.finished);
  EXPECT_TRUE(again.sessions.empty());
  EXPECT_EQ(again.batches, 1);
  // The reaped node heart-beats again: it learns it was forgotten.
  EXPECT_EQ(beat("dead", 100001), std::nullopt);
}

TEST_F(NodeRegistryTest, LiveNodeIsNotReaped) {
  beat("A", 50000);
  add_sessions("A", 5);
  auto outcome = reap(*nodes_, "A", 60000, 30000, 100);
  EXPECT_TRUE(outcome.alive);
  EXPECT_FALSE(outcome.finished);
  EXPECT_TRUE(outcome.sessions.empty());
  EXPECT_EQ(await<int64_t>([&](auto cb) { return sessions_->count_on_node("A", cb); }).value, 5);
}

TEST_F(NodeRegistryTest, NodeComingBackStopsTheReap) {
  beat("A", 100);
  add_sessions("A", 6);
  std::vector<SessionRecord> got;
  std::promise<void> done;
  bool beat_sent = false;
  ASSERT_TRUE(nodes_->reap("A", 100000, 30000, [&](Result<ReapBatch> r) {
    ASSERT_TRUE(r.ok()) << r.error;
    for (auto& s : r.value.sessions) got.push_back(s);
    if (!beat_sent) {
      // After the first batch the node heart-beats (queued before the next reap batch).
      beat_sent = true;
      nodes_->heartbeat("A", 99000);
    }
    if (r.value.finished || r.value.node_alive) done.set_value();
  }, 2));
  ASSERT_EQ(done.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_EQ(got.size(), 2u);
  EXPECT_EQ(await<int64_t>([&](auto cb) { return sessions_->count_on_node("A", cb); }).value, 4);
}

TEST_F(NodeRegistryTest, TwoReapersNeverReportASessionTwice) {
  beat("dead", 100);
  add_sessions("dead", 1000);
  Client other_client(server().client_options());
  NodeRegistry other(other_client);
  ReapOutcome first, second;
  std::thread t1([&] { first = reap(*nodes_, "dead", 100000, 30000, 25); });
  std::thread t2([&] { second = reap(other, "dead", 100000, 30000, 25); });
  t1.join();
  t2.join();
  ASSERT_TRUE(first.error.empty()) << first.error;
  ASSERT_TRUE(second.error.empty()) << second.error;
  std::set<std::string> sids;
  for (auto* o : {&first, &second}) {
    for (const auto& s : o->sessions) EXPECT_TRUE(sids.insert(s.sid).second) << s.sid << " reported twice";
  }
  EXPECT_EQ(sids.size(), 1000u);
  EXPECT_EQ(first.sessions.size() + second.sessions.size(), 1000u);
  std::printf("[ info     ] concurrent reapers split 1000 sessions %zu / %zu\n", first.sessions.size(),
              second.sessions.size());
  EXPECT_EQ(await<int64_t>([&](auto cb) { return sessions_->count_sessions(cb); }).value, 0);
}

TEST_F(NodeRegistryTest, NodeReapsItselfOnShutdown) {
  beat("me", 5000);
  add_sessions("me", 4);
  auto outcome = reap(*nodes_, "me", 5000, 0, 100);  // timeout 0: any heartbeat <= now
  EXPECT_TRUE(outcome.finished);
  EXPECT_EQ(outcome.sessions.size(), 4u);
  Strings keys;
  detail::decode_string_list(client_->command_sync({"KEYS", "*"}, 2s), keys);
  EXPECT_TRUE(keys.empty()) << keys.size() << " keys left, first " << keys.front();
}

TEST_F(NodeRegistryTest, SessionsWithoutHeartbeatAreStillReapable) {
  add_sessions("never-beat", 2);  // registration puts the node in the liveness set
  auto dead = await<Strings>([&](auto cb) { return nodes_->dead_nodes(100000, 30000, cb); });
  EXPECT_EQ(dead.value, Strings{"never-beat"});
  EXPECT_EQ(reap(*nodes_, "never-beat", 100000, 30000, 10).sessions.size(), 2u);
}

}  // namespace
}  // namespace wsgw::redis::testing
