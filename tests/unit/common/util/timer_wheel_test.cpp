#include "common/util/timer_wheel.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <random>
#include <stdexcept>
#include <vector>

namespace wsgw::util {
namespace {

struct Firing {
  int id;
  uint64_t now_ms;
  bool operator==(const Firing&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Firing& f) { return os << "#" << f.id << "@" << f.now_ms; }

class TestTimer : public TimerNode {
 public:
  TestTimer(int id, std::vector<Firing>* log) : id_(id), log_(log) {}
  std::function<void(uint64_t)> action;  // runs after the firing is logged

 protected:
  void on_timer(uint64_t now_ms) override {
    if (log_ != nullptr) log_->push_back({id_, now_ms});
    if (action) action(now_ms);
  }

 private:
  int id_;
  std::vector<Firing>* log_;
};

TEST(TimerWheel, RejectsZeroTickOrSlots) {
  EXPECT_THROW(TimerWheel(0, 0, 16), std::invalid_argument);
  EXPECT_THROW(TimerWheel(0, 10, 0), std::invalid_argument);
}

TEST(TimerWheel, FiresAtTheDeadlineNotBefore) {
  std::vector<Firing> log;
  TimerWheel wheel(1000);
  TestTimer t(1, &log);
  wheel.schedule(t, 1105);
  EXPECT_TRUE(t.armed());
  EXPECT_EQ(t.deadline_ms(), 1105u);
  EXPECT_EQ(wheel.size(), 1u);
  EXPECT_EQ(wheel.advance(1104), 0u);  // same tick as the deadline, but not yet due
  EXPECT_TRUE(log.empty());
  EXPECT_EQ(wheel.advance(1105), 1u);
  EXPECT_EQ(log, (std::vector<Firing>{{1, 1105}}));
  EXPECT_FALSE(t.armed());
  EXPECT_EQ(wheel.size(), 0u);
  EXPECT_EQ(wheel.now_ms(), 1105u);
  EXPECT_EQ(wheel.advance(5000), 0u);  // fires once per arming
}

TEST(TimerWheel, FiresInDeadlineOrderAcrossTicks) {
  std::vector<Firing> log;
  TimerWheel wheel(0, 10, 128);  // one revolution (1280 ms) covers the jump below
  std::vector<std::unique_ptr<TestTimer>> timers;
  const uint64_t deadlines[] = {250, 30, 610, 90, 11, 400};
  for (int i = 0; i < 6; ++i) {
    timers.push_back(std::make_unique<TestTimer>(i, &log));
    wheel.schedule(*timers.back(), deadlines[i]);
  }
  EXPECT_EQ(wheel.advance(1000), 6u);
  std::vector<int> order;
  for (const auto& f : log) order.push_back(f.id);
  EXPECT_EQ(order, (std::vector<int>{4, 1, 3, 0, 5, 2}));
}

TEST(TimerWheel, WithinOneTickFiresInScheduleOrder) {
  std::vector<Firing> log;
  TimerWheel wheel(0, 10, 64);
  TestTimer a(1, &log), b(2, &log), c(3, &log);
  wheel.schedule(a, 19);
  wheel.schedule(b, 11);
  wheel.schedule(c, 15);
  EXPECT_EQ(wheel.advance(20), 3u);
  EXPECT_EQ(log, (std::vector<Firing>{{1, 20}, {2, 20}, {3, 20}}));
}

TEST(TimerWheel, CancelAndReschedule) {
  std::vector<Firing> log;
  TimerWheel wheel(0);
  TestTimer a(1, &log), b(2, &log), c(3, &log);
  wheel.schedule(a, 100);
  wheel.schedule(b, 100);
  wheel.schedule(c, 100);
  wheel.cancel(b);
  wheel.cancel(b);  // no-op when not armed
  EXPECT_FALSE(b.armed());
  EXPECT_EQ(wheel.size(), 2u);
  wheel.schedule(c, 500);  // re-arm later
  wheel.schedule(a, 50);   // re-arm earlier
  EXPECT_EQ(wheel.size(), 2u);
  EXPECT_EQ(wheel.advance(60), 1u);
  EXPECT_EQ(wheel.advance(499), 0u);
  EXPECT_EQ(wheel.advance(500), 1u);
  EXPECT_EQ(log, (std::vector<Firing>{{1, 60}, {3, 500}}));
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheel, PastDeadlineFiresOnTheNextAdvance) {
  std::vector<Firing> log;
  TimerWheel wheel(0);
  EXPECT_EQ(wheel.advance(5000), 0u);
  TestTimer late(1, &log), now(2, &log);
  wheel.schedule(late, 10);
  wheel.schedule(now, 5000);
  EXPECT_EQ(wheel.advance(5000), 2u);  // even without time moving
  EXPECT_EQ(log.size(), 2u);
}

TEST(TimerWheel, TimeNeverMovesBackwards) {
  std::vector<Firing> log;
  TimerWheel wheel(1000);
  TestTimer t(1, &log);
  wheel.schedule(t, 1500);
  EXPECT_EQ(wheel.advance(2000), 1u);
  wheel.schedule(t, 2100);
  EXPECT_EQ(wheel.advance(100), 0u);
  EXPECT_EQ(wheel.now_ms(), 2000u);
  EXPECT_EQ(wheel.advance(2100), 1u);
}

TEST(TimerWheel, DeadlinesSeveralRevolutionsAway) {
  // 8 slots of 10 ms: one revolution is 80 ms.
  std::vector<Firing> log;
  TimerWheel wheel(0, 10, 8);
  const uint64_t deadlines[] = {85, 170, 1000, 10007, 79, 80, 81};
  std::vector<std::unique_ptr<TestTimer>> timers;
  for (int i = 0; i < 7; ++i) {
    timers.push_back(std::make_unique<TestTimer>(i, &log));
    wheel.schedule(*timers.back(), deadlines[i]);
  }
  for (uint64_t now = 1; now <= 11000; ++now) wheel.advance(now);
  ASSERT_EQ(log.size(), 7u);
  for (const Firing& f : log) EXPECT_EQ(f.now_ms, deadlines[f.id]) << f;  // exactly on time
}

TEST(TimerWheel, LongPauseVisitsEachSlotOnceAndFiresEverythingDue) {
  std::vector<Firing> log;
  TimerWheel wheel(0, 10, 16);
  std::vector<std::unique_ptr<TestTimer>> timers;
  for (int i = 0; i < 100; ++i) {
    timers.push_back(std::make_unique<TestTimer>(i, &log));
    wheel.schedule(*timers.back(), static_cast<uint64_t>(i) * 997);
  }
  EXPECT_EQ(wheel.advance(50000), 51u);  // deadlines 0..49850
  EXPECT_EQ(wheel.size(), 49u);
  EXPECT_EQ(wheel.advance(3600000), 49u);
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheel, CallbackCanRescheduleItself) {
  std::vector<Firing> log;
  TimerWheel wheel(0);
  TestTimer heartbeat(1, &log);
  heartbeat.action = [&](uint64_t now) { wheel.schedule(heartbeat, now + 25); };
  wheel.schedule(heartbeat, 25);
  for (uint64_t now = 1; now <= 250; ++now) wheel.advance(now);
  ASSERT_EQ(log.size(), 10u);
  for (size_t i = 0; i < log.size(); ++i) EXPECT_EQ(log[i].now_ms, 25 * (i + 1));
  EXPECT_TRUE(heartbeat.armed());
}

TEST(TimerWheel, RescheduleAtNowInCallbackWaitsForTheNextAdvance) {
  std::vector<Firing> log;
  TimerWheel wheel(0);
  TestTimer eager(1, &log);
  eager.action = [&](uint64_t now) { wheel.schedule(eager, now); };
  wheel.schedule(eager, 10);
  EXPECT_EQ(wheel.advance(10), 1u);  // no endless loop within one advance
  EXPECT_EQ(wheel.advance(10), 1u);
  EXPECT_EQ(wheel.advance(11), 1u);
  wheel.cancel(eager);
  EXPECT_EQ(wheel.advance(12), 0u);
}

TEST(TimerWheel, CallbackCanDestroyOrCancelNodesInTheSameSlot) {
  std::vector<Firing> log;
  TimerWheel wheel(0);
  auto victim = std::make_unique<TestTimer>(2, &log);
  TestTimer cancelled(3, &log);
  TestTimer killer(1, &log);
  killer.action = [&](uint64_t) {
    victim.reset();  // destroyed while waiting in the slot being processed
    wheel.cancel(cancelled);
  };
  wheel.schedule(killer, 100);
  wheel.schedule(*victim, 100);
  wheel.schedule(cancelled, 100);
  EXPECT_EQ(wheel.advance(100), 1u);
  EXPECT_EQ(log, (std::vector<Firing>{{1, 100}}));
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheel, CallbackCanDestroyNodesElsewhereAndItself) {
  std::vector<Firing> log;
  TimerWheel wheel(0);
  auto later = std::make_unique<TestTimer>(2, &log);
  auto* self_destroying = new TestTimer(1, &log);
  self_destroying->action = [&, self_destroying](uint64_t) {
    later.reset();
    delete self_destroying;
  };
  wheel.schedule(*self_destroying, 100);
  wheel.schedule(*later, 200);
  EXPECT_EQ(wheel.size(), 2u);
  EXPECT_EQ(wheel.advance(300), 1u);
  EXPECT_EQ(wheel.size(), 0u);
  EXPECT_EQ(log, (std::vector<Firing>{{1, 300}}));
}

TEST(TimerWheel, CallbackCanScheduleOthersIntoTheCurrentSlot) {
  std::vector<Firing> log;
  TimerWheel wheel(0);
  TestTimer first(1, &log), overdue(2, &log), moved(3, &log);
  wheel.schedule(moved, 100);
  first.action = [&](uint64_t now) {
    wheel.schedule(overdue, now - 50);  // already due: fires on the next advance
    wheel.schedule(moved, now + 1000);  // was about to fire in this very slot
  };
  wheel.schedule(first, 100);
  wheel.schedule(moved, 100);
  EXPECT_EQ(wheel.advance(100), 1u);
  EXPECT_EQ(wheel.advance(100), 1u);
  EXPECT_EQ(log, (std::vector<Firing>{{1, 100}, {2, 100}}));
  EXPECT_EQ(wheel.advance(1100), 1u);
}

TEST(TimerWheel, OverdueNodeScheduledDuringAMultiTickAdvanceIsNotLost) {
  // While an advance walks ticks 0..10, a callback at tick 1 schedules nodes that are due
  // (their deadlines lie in ticks already walked or still ahead): none may wait a revolution.
  std::vector<Firing> log;
  TimerWheel wheel(0, 10, 64);
  TestTimer first(1, &log), past(2, &log), ahead(3, &log), at_now(4, &log);
  first.action = [&](uint64_t now) {
    wheel.schedule(past, 5);
    wheel.schedule(ahead, 50);
    wheel.schedule(at_now, now);
  };
  wheel.schedule(first, 15);
  EXPECT_EQ(wheel.advance(100), 4u);
  EXPECT_EQ(wheel.size(), 0u);
  EXPECT_EQ(log.size(), 4u);
}

TEST(TimerWheel, OverdueNodeScheduledDuringALongPauseFiresByTheNextAdvance) {
  std::vector<Firing> log;
  TimerWheel wheel(0, 10, 8);
  TestTimer first(1, &log), past(2, &log);
  first.action = [&](uint64_t) { wheel.schedule(past, 3); };
  wheel.schedule(first, 15);
  const size_t fired = wheel.advance(10000);  // far more than one revolution (80 ms)
  EXPECT_GE(fired, 1u);
  EXPECT_EQ(fired + wheel.advance(10001), 2u);
  EXPECT_FALSE(past.armed());
}

TEST(TimerWheel, DestroyedNodeUnlinksItself) {
  std::vector<Firing> log;
  TimerWheel wheel(0);
  {
    TestTimer gone(1, &log);
    wheel.schedule(gone, 10);
    EXPECT_EQ(wheel.size(), 1u);
  }
  EXPECT_EQ(wheel.size(), 0u);
  EXPECT_EQ(wheel.advance(100), 0u);
}

TEST(TimerWheel, DestroyedWheelDisarmsItsNodes) {
  std::vector<Firing> log;
  TestTimer survivor(1, &log);
  {
    TimerWheel wheel(0);
    wheel.schedule(survivor, 10);
  }
  EXPECT_FALSE(survivor.armed());
}  // survivor's destructor must not touch the dead wheel

TEST(TimerWheel, NodeMovesBetweenWheels) {
  std::vector<Firing> log;
  TimerWheel a(0), b(0);
  TestTimer t(1, &log);
  a.schedule(t, 10);
  b.schedule(t, 20);
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(b.size(), 1u);
  a.cancel(t);  // cancelling through the other wheel still works
  EXPECT_FALSE(t.armed());
  EXPECT_EQ(b.size(), 0u);
}

TEST(TimerWheel, HundredThousandNodesEachFireOnTime) {
  constexpr int kNodes = 100000;
  constexpr uint64_t kStep = 7;  // advance every 7 ms
  TimerWheel wheel(0, 10, 4096);
  std::mt19937_64 rng(2024);
  std::vector<uint64_t> fired_at(kNodes, 0);
  std::vector<uint64_t> deadline(kNodes);

  struct Node : TimerNode {
    uint64_t* fired_at = nullptr;
    void on_timer(uint64_t now) override { *fired_at = now; }
  };
  std::vector<Node> nodes(kNodes);
  for (int i = 0; i < kNodes; ++i) {
    deadline[i] = 1 + rng() % 120000;  // up to 2 minutes: about three revolutions
    nodes[i].fired_at = &fired_at[i];
    wheel.schedule(nodes[i], deadline[i]);
  }
  // Cancel every tenth.
  for (int i = 0; i < kNodes; i += 10) wheel.cancel(nodes[i]);
  EXPECT_EQ(wheel.size(), static_cast<size_t>(kNodes - kNodes / 10));

  size_t fired = 0;
  for (uint64_t now = kStep; now <= 121000; now += kStep) fired += wheel.advance(now);
  EXPECT_EQ(fired, static_cast<size_t>(kNodes - kNodes / 10));
  EXPECT_EQ(wheel.size(), 0u);
  for (int i = 0; i < kNodes; ++i) {
    if (i % 10 == 0) {
      ASSERT_EQ(fired_at[i], 0u) << i;
      continue;
    }
    ASSERT_GE(fired_at[i], deadline[i]) << i;
    ASSERT_LT(fired_at[i], deadline[i] + kStep) << i;
  }
}

}  // namespace
}  // namespace wsgw::util
