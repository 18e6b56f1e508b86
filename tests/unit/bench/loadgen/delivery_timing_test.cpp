// What the broadcast benchmarks add to the load generator: finding a tracked event and its
// "ts" in a received message, building the receipt it answers with, and the latency histogram.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "bench/loadgen/client_protocol.h"
#include "bench/loadgen/latency_histogram.h"

namespace wsgw::loadgen {
namespace {

TEST(EventMessage, SplitsNameArgsNamespaceAndAckId) {
  auto v = parse_event_message(R"(42["message",{"ts":1,"a":[1,2]}])");
  ASSERT_TRUE(v.ok);
  EXPECT_EQ(v.nsp, "/");
  EXPECT_EQ(v.name, "message");
  EXPECT_EQ(v.args, R"(,{"ts":1,"a":[1,2]})");
  EXPECT_FALSE(v.has_ack_id);

  v = parse_event_message(R"(42/docs,17["hi"])");
  ASSERT_TRUE(v.ok);
  EXPECT_EQ(v.nsp, "/docs");
  EXPECT_EQ(v.name, "hi");
  EXPECT_EQ(v.args, "");
  EXPECT_TRUE(v.has_ack_id);
  EXPECT_EQ(v.ack_id, 17u);

  // An escaped quote does not end the name.
  v = parse_event_message(R"(42["a\"b",1])");
  ASSERT_TRUE(v.ok);
  EXPECT_EQ(v.name, R"(a\"b)");
  EXPECT_EQ(v.args, ",1");
}

TEST(EventMessage, RejectsEverythingElse) {
  for (const char* bad : {"", "4", "42", "42[", "42[]", "43[\"x\"]", "40", "2", "451-[\"x\"]",
                          "42[1,2]", "42[\"unterminated]", "42[\"x\"", "42[\"x\"x]", "42/nsp",
                          "4299999999999999999999[\"x\"]", "42[\"x\\\"]", "42 [\"x\"]"}) {
    EXPECT_FALSE(parse_event_message(bad).ok) << bad;
  }
}

TEST(EventTimestamp, FastPathAndAnywhereInTheFirstObject) {
  uint64_t ts = 0;
  EXPECT_TRUE(event_timestamp_us(R"(,{"ts":1712345678901234,"x":1})", ts));
  EXPECT_EQ(ts, 1712345678901234u);
  // Python's json.dumps puts blanks after ':' and ','; other fields may come first.
  EXPECT_TRUE(event_timestamp_us(R"(,{"ts": 42, "pad": "x"})", ts));
  EXPECT_EQ(ts, 42u);
  EXPECT_TRUE(event_timestamp_us(R"(,{"type":"xx","ts":7})", ts));
  EXPECT_EQ(ts, 7u);
  // The whole message as the loadgen sees it.
  auto v = parse_event_message(R"(42["message",{"ts": 99, "pad": "xxxxxxxx"}])");
  ASSERT_TRUE(v.ok);
  EXPECT_TRUE(event_timestamp_us(v.args, ts));
  EXPECT_EQ(ts, 99u);
}

TEST(Receipt, CarriesTheEventsTimestampOrNothing) {
  EXPECT_EQ(make_receipt_message("/", "receipt", R"(,{"ts":42,"pad":"x"})"), R"(42["receipt",{"ts":42}])");
  EXPECT_EQ(make_receipt_message("/chat", "receipt", ",1"), R"(42/chat,["receipt",{}])");
}

TEST(Receipt, AnAckAnswersTheEventsAckIdWhenItAskedForOne) {
  EXPECT_EQ(make_ack_message("/", 7), "437[]");
  EXPECT_EQ(make_ack_message("/chat", 12), "43/chat,12[]");
  const EventView with_id = parse_event_message(R"(4213["message",{"ts":5}])");
  const EventView without = parse_event_message(R"(42["message",{"ts":5}])");
  ASSERT_TRUE(with_id.ok && with_id.has_ack_id && without.ok && !without.has_ack_id);
  const ReceiptPolicy ack{"/", "", true};
  EXPECT_EQ(receipt_for(ack, with_id), "4313[]");
  EXPECT_EQ(receipt_for(ack, without), "") << "nothing to ack, no receipt event configured";
  const ReceiptPolicy both{"/", "receipt", true};
  EXPECT_EQ(receipt_for(both, without), R"(42["receipt",{"ts":5}])");
  EXPECT_EQ(receipt_for(ReceiptPolicy{"/", "", false}, with_id), "");
}

TEST(EventTimestamp, MissingNegativeOrOverflowingIsNoTimestamp) {
  uint64_t ts = 5;
  for (const char* bad : {"", ",1", ",\"ts\"", R"(,{"ts":-1})", R"(,{"ts":"1"})", R"(,{"ts":})",
                          R"(,{"t":1})", R"(,[{"ts":1}])", R"(,{"ts":99999999999999999999999})"}) {
    EXPECT_FALSE(event_timestamp_us(bad, ts)) << bad;
  }
  EXPECT_EQ(ts, 5u);
}

TEST(EventMessage, ReceiptsRoundTrip) {
  EXPECT_EQ(make_event_message("/", "receipt", R"({"ts":5})"), R"(42["receipt",{"ts":5}])");
  EXPECT_EQ(make_event_message("/docs", "receipt", ""), R"(42/docs,["receipt"])");
  const std::string receipt = make_event_message("/", "receipt", R"({"ts":123})");
  auto v = parse_event_message(receipt);
  ASSERT_TRUE(v.ok);
  EXPECT_EQ(v.name, "receipt");
  uint64_t ts = 0;
  EXPECT_TRUE(event_timestamp_us(v.args, ts));
  EXPECT_EQ(ts, 123u);
}

TEST(LatencyHistogram, BucketsCoverEveryValueContiguously) {
  EXPECT_EQ(LatencyHistogram::bucket_index(0), 0u);
  EXPECT_EQ(LatencyHistogram::bucket_index(63), 63u);
  EXPECT_EQ(LatencyHistogram::bucket_index(64), 64u);
  for (size_t i = 0; i + 1 < LatencyHistogram::kBuckets; ++i) {
    const uint64_t lo = LatencyHistogram::bucket_lower(i);
    const uint64_t w = LatencyHistogram::bucket_width(i);
    ASSERT_EQ(lo + w, LatencyHistogram::bucket_lower(i + 1)) << i;
    ASSERT_EQ(LatencyHistogram::bucket_index(lo), i);
    ASSERT_EQ(LatencyHistogram::bucket_index(lo + w - 1), i);
    // Never wider than 1/32 of its lower bound above the exact range.
    if (lo >= LatencyHistogram::kExactBelow) {
      ASSERT_LE(w * 32, lo) << i;
    }
  }
  EXPECT_EQ(LatencyHistogram::bucket_index(UINT64_MAX), LatencyHistogram::kBuckets - 1);
}

TEST(LatencyHistogram, PercentilesWithinOneBucketOfTheTruth) {
  LatencyHistogram h;
  std::vector<uint64_t> values;
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(8.0, 1.5);  // around 3 ms, long tail
  for (int i = 0; i < 20000; ++i) {
    auto v = static_cast<uint64_t>(dist(rng));
    values.push_back(v);
    h.record(v);
  }
  std::sort(values.begin(), values.end());
  EXPECT_EQ(h.count(), values.size());
  EXPECT_EQ(h.min(), values.front());
  EXPECT_EQ(h.max(), values.back());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const uint64_t truth = values[static_cast<size_t>(std::ceil(q * values.size())) - 1];
    const uint64_t got = h.percentile(q);
    EXPECT_GE(got, truth) << q;
    EXPECT_LE(got, truth + truth / 32 + 1) << q;
  }
  EXPECT_EQ(h.percentile(1.0), values.back());
  EXPECT_EQ(h.percentile(0.0), values.front());
}

TEST(LatencyHistogram, EmptyMergeAndJson) {
  LatencyHistogram a, b;
  EXPECT_EQ(a.percentile(0.5), 0u);
  EXPECT_EQ(a.min(), 0u);
  EXPECT_EQ(a.to_json(),
            R"({"count": 0, "min": 0, "mean": 0.0, "p50": 0, "p90": 0, "p99": 0, "p999": 0, "max": 0, "buckets": []})");
  a.record(10);
  a.record(10);
  b.record(1000);
  b.record(uint64_t{1} << 50);  // beyond the last octave: last bucket, exact max
  a.merge(b);
  EXPECT_EQ(a.count(), 4u);
  EXPECT_EQ(a.min(), 10u);
  EXPECT_EQ(a.max(), uint64_t{1} << 50);
  EXPECT_EQ(a.percentile(0.5), 10u);
  EXPECT_EQ(a.bucket_count(10), 2u);
  const std::string j = a.to_json();
  EXPECT_NE(j.find("[10, 1, 2]"), std::string::npos) << j;
  EXPECT_NE(j.find("[992, 16, 1]"), std::string::npos) << j;
  EXPECT_EQ(a.percentile(0.99), uint64_t{1} << 50);
}

}  // namespace
}  // namespace wsgw::loadgen
