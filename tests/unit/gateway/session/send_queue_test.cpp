#include "gateway/session/send_queue.h"

#include <gtest/gtest.h>

namespace wsgw::session {
namespace {

WireMessagePtr msg(size_t n) {
  return make_message(make_text_packet(eio::PacketType::message, std::string(n, 'x')));
}

TEST(SendQueue, CountsBytesAndReleasesStorageWhenDrained) {
  SendQueue q;
  auto m = msg(10);
  const size_t size = m->bytes;
  EXPECT_EQ(q.push(m, false, 1000), SendQueue::PushResult::queued);
  EXPECT_EQ(q.push(m, false, 1000), SendQueue::PushResult::queued);
  EXPECT_EQ(q.bytes(), 2 * size);
  EXPECT_EQ(m.use_count(), 3) << "queued by reference, not copied";
  q.pop_front(1);
  EXPECT_EQ(q.bytes(), size);
  q.pop_front(1);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
  EXPECT_EQ(m.use_count(), 1);
}

TEST(SendQueue, PinnedEntriesAreNeverEvicted) {
  SendQueue q;
  const size_t s = msg(10)->bytes;
  q.push(msg(10), true, 3 * s);
  q.push(msg(10), true, 3 * s);
  size_t evicted = 0;
  // With the first (volatile) entry pinned by a writer, only the second may be evicted.
  EXPECT_EQ(q.push(msg(10 + 2 * s), false, 3 * s, 1, &evicted), SendQueue::PushResult::overflow);
  EXPECT_EQ(evicted, 1u);
  EXPECT_EQ(q.size(), 1u);
}

TEST(SendQueue, ManyPushPopCyclesKeepAccountingExact) {
  SendQueue q;
  size_t expected = 0;
  for (int i = 0; i < 1000; ++i) {
    auto m = msg(static_cast<size_t>(i % 7));
    expected += m->bytes;
    ASSERT_EQ(q.push(m, false, SIZE_MAX), SendQueue::PushResult::queued);
    if (i % 3 == 0) {
      expected -= q.pending()[0].msg->bytes;
      q.pop_front(1);
    }
    ASSERT_EQ(q.bytes(), expected);
  }
}

}  // namespace
}  // namespace wsgw::session
