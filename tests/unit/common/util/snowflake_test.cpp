#include "common/util/snowflake.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <stdexcept>
#include <thread>
#include <unordered_set>
#include <vector>

namespace wsgw::util {
namespace {

// Snowflake::Clock is a plain function pointer, so the injected time lives in a global.
std::atomic<uint64_t> g_fake_now{0};
uint64_t fake_now() { return g_fake_now.load(); }

constexpr uint64_t kEpoch = Snowflake::kDefaultEpochMs;

TEST(Snowflake, RejectsWorkerIdsOverTenBits) {
  EXPECT_THROW(Snowflake(1024), std::invalid_argument);
  EXPECT_THROW(Snowflake(65535), std::invalid_argument);
  EXPECT_NO_THROW(Snowflake(1023));
  EXPECT_NO_THROW(Snowflake(0));
}

TEST(Snowflake, LayoutAndDecode) {
  g_fake_now = kEpoch + 123456;
  Snowflake gen(777, &fake_now);
  const uint64_t first = gen.next();
  const uint64_t second = gen.next();
  EXPECT_EQ(first, (uint64_t{123456} << 22) | (uint64_t{777} << 12) | 0);
  EXPECT_EQ(second, first + 1);

  const Snowflake::Parts parts = Snowflake::decode(second);
  EXPECT_EQ(parts.timestamp_ms, kEpoch + 123456);
  EXPECT_EQ(parts.worker_id, 777);
  EXPECT_EQ(parts.sequence, 1);

  // A custom epoch is given back to decode().
  g_fake_now = 5000;
  Snowflake custom(3, &fake_now, 1000);
  const Snowflake::Parts p = Snowflake::decode(custom.next(), 1000);
  EXPECT_EQ(p.timestamp_ms, 5000u);
  EXPECT_EQ(p.worker_id, 3);
}

TEST(Snowflake, UsesTheSystemClockByDefault) {
  Snowflake gen(1);
  const uint64_t before = system_now_ms();
  const Snowflake::Parts parts = Snowflake::decode(gen.next());
  const uint64_t after = system_now_ms();
  EXPECT_GE(parts.timestamp_ms, before);
  EXPECT_LE(parts.timestamp_ms, after);
  EXPECT_EQ(parts.worker_id, 1);
}

TEST(Snowflake, StrictlyIncreasingAsTimeMoves) {
  g_fake_now = kEpoch + 10;
  Snowflake gen(5, &fake_now);
  uint64_t last = 0;
  for (int i = 0; i < 10000; ++i) {
    if (i % 7 == 0) g_fake_now += 1;
    const uint64_t id = gen.next();
    ASSERT_GT(id, last);
    last = id;
  }
}

TEST(Snowflake, ClockGoingBackwardsKeepsTheLastTimestamp) {
  g_fake_now = kEpoch + 100000;
  Snowflake gen(9, &fake_now);
  const uint64_t before = gen.next();
  g_fake_now = kEpoch + 50000;  // NTP stepped the clock back 50 s
  const uint64_t after = gen.next();
  EXPECT_GT(after, before);
  EXPECT_EQ(Snowflake::decode(after).timestamp_ms, kEpoch + 100000);
  EXPECT_EQ(Snowflake::decode(after).sequence, 1);
  // When the clock catches up and passes, it is used again.
  g_fake_now = kEpoch + 100001;
  const Snowflake::Parts caught_up = Snowflake::decode(gen.next());
  EXPECT_EQ(caught_up.timestamp_ms, kEpoch + 100001);
  EXPECT_EQ(caught_up.sequence, 0);
}

TEST(Snowflake, ClockBeforeEpochCountsAsEpoch) {
  g_fake_now = kEpoch - 1000;
  Snowflake gen(2, &fake_now);
  EXPECT_EQ(Snowflake::decode(gen.next()).timestamp_ms, kEpoch);
}

TEST(Snowflake, SequenceOverflowMovesToTheNextMillisecond) {
  g_fake_now = kEpoch + 42;
  Snowflake gen(1, &fake_now);
  uint64_t last = 0;
  for (int i = 0; i < 4096; ++i) {
    const uint64_t id = gen.next();
    ASSERT_GT(id, last);
    last = id;
    ASSERT_EQ(Snowflake::decode(id).timestamp_ms, kEpoch + 42);
    ASSERT_EQ(Snowflake::decode(id).sequence, i);
  }
  // The 4097th id in the same millisecond borrows the next one.
  const Snowflake::Parts borrowed = Snowflake::decode(gen.next());
  EXPECT_EQ(borrowed.timestamp_ms, kEpoch + 43);
  EXPECT_EQ(borrowed.sequence, 0);
  EXPECT_EQ(borrowed.worker_id, 1);
  // The real clock reaching that millisecond must not reuse its sequence numbers.
  g_fake_now = kEpoch + 43;
  const Snowflake::Parts next = Snowflake::decode(gen.next());
  EXPECT_EQ(next.timestamp_ms, kEpoch + 43);
  EXPECT_EQ(next.sequence, 1);
}

TEST(Snowflake, UniqueAcrossThreads) {
  Snowflake gen(511);  // real clock: many ids per ms, so sequences and overflow are exercised
  constexpr int kThreads = 4;
  constexpr int kPerThread = 100000;
  std::vector<std::vector<uint64_t>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto& mine = ids[static_cast<size_t>(t)];
      mine.reserve(kPerThread);
      for (int i = 0; i < kPerThread; ++i) mine.push_back(gen.next());
    });
  }
  for (auto& th : threads) th.join();

  std::vector<uint64_t> all;
  for (const auto& mine : ids) {
    // Each thread sees its own ids strictly increasing.
    EXPECT_TRUE(std::adjacent_find(mine.begin(), mine.end(), std::greater_equal<>()) == mine.end());
    all.insert(all.end(), mine.begin(), mine.end());
  }
  std::sort(all.begin(), all.end());
  EXPECT_TRUE(std::adjacent_find(all.begin(), all.end()) == all.end()) << "duplicate id";
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
  for (uint64_t id : {all.front(), all.back()}) EXPECT_EQ(Snowflake::decode(id).worker_id, 511);
}

TEST(EncodedId, FixedWidthUrlSafeRoundTrip) {
  std::mt19937_64 rng(12345);
  std::vector<uint64_t> samples = {0, 1, 63, 64, 4095, UINT64_MAX, UINT64_MAX - 1, uint64_t{1} << 63};
  for (int i = 0; i < 10000; ++i) samples.push_back(rng());
  for (uint64_t id : samples) {
    const std::string text = encode_id(id);
    ASSERT_EQ(text.size(), kEncodedIdSize);
    for (char c : text) {
      ASSERT_TRUE((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-' ||
                  c == '_')
          << text;
    }
    uint64_t decoded = 0;
    ASSERT_TRUE(decode_id(text, decoded)) << text;
    ASSERT_EQ(decoded, id);
  }
  EXPECT_EQ(encode_id(0), "-----------");
  EXPECT_EQ(encode_id(UINT64_MAX), "Ezzzzzzzzzz");
}

TEST(EncodedId, StringsSortLikeNumbers) {
  std::mt19937_64 rng(99);
  std::vector<uint64_t> ids;
  for (int i = 0; i < 5000; ++i) ids.push_back(rng() >> (rng() % 64));
  for (int i = 0; i < 64; ++i) ids.push_back(uint64_t{1} << i);
  std::sort(ids.begin(), ids.end());
  for (size_t i = 1; i < ids.size(); ++i) {
    if (ids[i] == ids[i - 1]) continue;
    ASSERT_LT(encode_id(ids[i - 1]), encode_id(ids[i])) << ids[i - 1] << " " << ids[i];
  }
}

TEST(EncodedId, RejectsMalformedText) {
  uint64_t id = 77;
  EXPECT_FALSE(decode_id("", id));
  EXPECT_FALSE(decode_id("----------", id));    // 10 chars
  EXPECT_FALSE(decode_id("------------", id));  // 12 chars
  EXPECT_FALSE(decode_id("----------+", id));   // not in the alphabet
  EXPECT_FALSE(decode_id("----------=", id));
  EXPECT_FALSE(decode_id("---------- ", id));
  EXPECT_FALSE(decode_id("Fzzzzzzzzzz", id));   // more than 64 bits
  EXPECT_FALSE(decode_id("zzzzzzzzzzz", id));
  EXPECT_EQ(id, 77u);  // untouched on failure
  EXPECT_TRUE(decode_id("Ezzzzzzzzzz", id));
  EXPECT_EQ(id, UINT64_MAX);
}

TEST(EncodedId, SnowflakeIdsSortAsText) {
  g_fake_now = kEpoch + 1;
  Snowflake gen(1000, &fake_now);
  std::string last;
  for (int i = 0; i < 20000; ++i) {
    if (i % 1000 == 0) g_fake_now += 17;
    const std::string text = encode_id(gen.next());
    ASSERT_GT(text, last);
    last = text;
  }
}

}  // namespace
}  // namespace wsgw::util
