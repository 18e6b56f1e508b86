// A rough produce-throughput figure against the in-process mock cluster (loopback, same process), not a
// benchmark of a real cluster: it shows what the wrapper and librdkafka cost per record.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "common/cluster/contract.h"
#include "kafka_test_support.h"

namespace wsgw::kafka {
namespace {

TEST(ProducerThroughput, SmallRecordsWithSixHeaders) {
  // WSGW_KAFKA_RECORDS overrides the count (default 100k, about a second here).
  const char* configured = std::getenv("WSGW_KAFKA_RECORDS");
  const int records = configured != nullptr ? std::atoi(configured) : 100000;
  const std::string topic = testing::unique_name("throughput");
  ASSERT_EQ(testing::shared_cluster().create_topic(topic, 6), kNoError);
  auto producer = testing::make_producer({});
  ASSERT_TRUE(producer);

  const std::string value = R"(42["message",{"text":"hello from the benchmark","n":12345}])";
  const std::vector<Header> headers = {
      {cluster::header::op, cluster::op::event},
      {cluster::header::sid, "AAAAAAAAAAAAAAAAAAAA"},
      {cluster::header::uid, "user-12345"},
      {cluster::header::ns, "/"},
      {cluster::header::event, "message"},
      {cluster::header::ts_gateway_in, "1700000000000"},
  };
  uint64_t retries = 0;
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < records; ++i) {
    const std::string key = "session-" + std::to_string(i % 1000);
    while (producer->send(topic, key, value, headers) == Producer::SendResult::queue_full) {
      ++retries;
      producer->poll(1);
    }
    if (i % 1000 == 0) producer->poll(0);
  }
  const auto queued = std::chrono::steady_clock::now();
  ASSERT_TRUE(producer->flush(30000));
  const auto done = std::chrono::steady_clock::now();
  const double seconds = std::chrono::duration<double>(done - started).count();
  const double send_seconds = std::chrono::duration<double>(queued - started).count();
  EXPECT_EQ(producer->stats().delivered, static_cast<uint64_t>(records));
  std::printf("[ throughput ] %d records (%zu-byte value, 6 headers): %.0f records/s delivered, "
              "send() alone %.0f records/s, %llu queue_full retries\n",
              records, value.size(), records / seconds, records / send_seconds,
              static_cast<unsigned long long>(retries));
}

}  // namespace
}  // namespace wsgw::kafka
