#include "gateway/cluster/liveness.h"

#include <gtest/gtest.h>

namespace wsgw::cluster {
namespace {

constexpr int64_t kSilence = 6000;

// Sends and answers beats as a healthy Redis would: each answer is the previous beat.
struct Beats {
  HeartbeatTracker t{kSilence};
  bool beat(int64_t at, std::optional<int64_t> previous) {
    t.sent(at);
    return t.answered(at, previous);
  }
};

TEST(HeartbeatTracker, FirstAnswerNeverReregisters) {
  Beats b;
  EXPECT_FALSE(b.beat(1000, std::nullopt));  // a new node
  Beats restarted;
  EXPECT_FALSE(restarted.beat(1000, 1));  // a restarted pod: the old process's beat
}

TEST(HeartbeatTracker, SteadyBeatsDoNot) {
  Beats b;
  b.beat(1000, std::nullopt);
  EXPECT_FALSE(b.beat(3000, 1000));
  EXPECT_FALSE(b.beat(5000, 3000));
}

TEST(HeartbeatTracker, UnknownNodeLaterReregisters) {
  Beats b;
  b.beat(1000, std::nullopt);
  b.beat(3000, 1000);
  EXPECT_TRUE(b.beat(5000, std::nullopt));  // Redis restarted empty, or we were reaped
  EXPECT_FALSE(b.beat(7000, 5000));          // and back to normal
}

TEST(HeartbeatTracker, EntryRecreatedBySomeoneElseReregisters) {
  // After a Redis restart a new session's registration adds the node (score = its connect
  // time) before our heartbeat: the answer is a value we never wrote.
  Beats b;
  b.beat(1000, std::nullopt);
  b.beat(3000, 1000);
  EXPECT_TRUE(b.beat(5000, 4200));
}

TEST(HeartbeatTracker, AFailedBeatThatRanAnywayIsStillOurs) {
  Beats b;
  b.beat(1000, std::nullopt);
  b.t.sent(3000);
  b.t.failed(3000);  // the reply was lost, but the script ran
  EXPECT_FALSE(b.beat(5000, 3000));
}

TEST(HeartbeatTracker, LongSilenceReregistersEvenWithOurOwnValue) {
  // Redis was unreachable: beats failed without running; a reaper may have started on us.
  Beats b;
  b.beat(1000, std::nullopt);
  for (int64_t at = 3000; at <= 9000; at += 2000) {
    b.t.sent(at);
    b.t.failed(at);
  }
  EXPECT_TRUE(b.beat(11000, 1000));
}

TEST(HeartbeatTracker, SilenceAtTheLimitIsFine) {
  Beats b;
  b.beat(1000, std::nullopt);
  EXPECT_FALSE(b.beat(1000 + kSilence, 1000));
}

TEST(HeartbeatTracker, RemembersOnlyABoundedNumberOfUnconfirmedBeats) {
  Beats b;
  b.beat(0, std::nullopt);
  for (int64_t at = 1; at <= 1000; ++at) b.t.sent(at);  // a long outage
  // The oldest ones are forgotten: an answer naming one looks foreign (re-register: the safe side).
  EXPECT_TRUE(b.beat(1001, 1));
  EXPECT_FALSE(b.beat(1002, 1001));
}

}  // namespace
}  // namespace wsgw::cluster
