#include "common/kafka/producer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include "common/cluster/contract.h"
#include "kafka_test_support.h"

namespace wsgw::kafka {
namespace {

using testing::consume;
using testing::make_consumer;
using testing::make_producer;
using testing::shared_cluster;
using testing::unique_name;
using SendResult = Producer::SendResult;

// Nothing listens on port 1: connections are refused at once, records stay in the local queue.
constexpr const char* kDeadBroker = "127.0.0.1:1";
constexpr ErrorCode kMessageTimedOut = -192;   // RD_KAFKA_RESP_ERR__MSG_TIMED_OUT
constexpr ErrorCode kMessageTooLarge = 10;     // RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE
constexpr ErrorCode kInvalidArgument = -186;   // RD_KAFKA_RESP_ERR__INVALID_ARG
constexpr ErrorCode kQueueFull = -184;         // RD_KAFKA_RESP_ERR__QUEUE_FULL

TEST(Producer, HeadersKeyAndValueRoundTripByteExact) {
  const std::string topic = unique_name("roundtrip");
  ASSERT_EQ(shared_cluster().create_topic(topic, 1), kNoError);
  auto producer = make_producer({});
  ASSERT_TRUE(producer);

  const std::string binary_value("\0\x01\x80\xff\r\n\0", 7);
  const std::string binary_body("\x00\x9f{\"a\":1}\xff", 11);
  const std::string long_value(3000, 'v');
  const std::vector<Header> headers = {
      {cluster::header::op, cluster::op::emit},
      {cluster::header::sid, "AAAAAAAAAAAAAAAAAAAA"},
      {cluster::header::room, "doc:42"},
      {cluster::header::except, ""},  // empty value
      {"x-binary", binary_value},
      {cluster::header::trace_id, long_value},
      {cluster::header::room, "doc:43"},  // duplicate name: both kept, get() sees the last
  };
  const int64_t before_ms = testing::now_ms();
  ASSERT_EQ(producer->send(topic, "session-1", binary_body, headers), SendResult::queued);
  ASSERT_EQ(producer->send(topic, "", "", {}), SendResult::queued);  // null key, empty body, no headers
  ASSERT_TRUE(producer->flush(5000));
  const int64_t after_ms = testing::now_ms();

  auto consumer = make_consumer(unique_name("g"), topic, "earliest");
  Message message;
  ASSERT_TRUE(consumer->poll(5000, message));
  EXPECT_EQ(message.topic(), topic);
  EXPECT_EQ(message.partition(), 0);
  EXPECT_EQ(message.offset(), 0);
  EXPECT_EQ(message.key(), "session-1");
  EXPECT_EQ(message.value(), binary_body);
  EXPECT_GE(message.timestamp_ms(), before_ms);
  EXPECT_LE(message.timestamp_ms(), after_ms);

  const MessageHeaders received = message.headers();
  ASSERT_EQ(received.size(), headers.size());
  size_t index = 0;
  for (const Header header : received) {  // wire order is preserved
    EXPECT_EQ(header.name, headers[index].name) << index;
    EXPECT_EQ(header.value, headers[index].value) << index;
    ++index;
  }
  EXPECT_EQ(received.get(cluster::header::op), "emit");
  EXPECT_EQ(received.get("x-binary"), binary_value);
  EXPECT_EQ(received.get(cluster::header::room), "doc:43");
  ASSERT_TRUE(received.get(cluster::header::except).has_value());
  EXPECT_EQ(received.get(cluster::header::except)->size(), 0u);
  EXPECT_EQ(received.get(cluster::header::uid), std::nullopt);
  EXPECT_EQ(received.get(cluster::header::trace_id)->size(), long_value.size());

  ASSERT_TRUE(consumer->poll(5000, message));
  EXPECT_TRUE(message.key().empty());
  EXPECT_TRUE(message.value().empty());
  EXPECT_TRUE(message.headers().empty());
  EXPECT_EQ(message.offset(), 1);
}

TEST(Producer, SameKeyKeepsOrderOnOnePartition) {
  const std::string topic = unique_name("ordering");
  ASSERT_EQ(shared_cluster().create_topic(topic, 4), kNoError);
  auto producer = make_producer({});
  ASSERT_TRUE(producer);
  constexpr int kKeys = 8;
  constexpr int kPerKey = 200;
  for (int sequence = 0; sequence < kPerKey; ++sequence) {
    for (int key = 0; key < kKeys; ++key) {
      const std::string value = std::to_string(sequence);
      ASSERT_EQ(producer->send(topic, "session-" + std::to_string(key), value, {}), SendResult::queued);
    }
  }
  ASSERT_TRUE(producer->flush(5000));
  EXPECT_EQ(producer->stats().delivered, static_cast<uint64_t>(kKeys * kPerKey));

  auto consumer = make_consumer(unique_name("g"), topic, "earliest");
  const auto records = consume(*consumer, kKeys * kPerKey, 8000);
  ASSERT_EQ(records.size(), static_cast<size_t>(kKeys * kPerKey));
  std::map<std::string, int> next_sequence;
  std::map<std::string, int32_t> partition_of_key;
  std::set<int32_t> partitions_used;
  for (const auto& record : records) {
    EXPECT_EQ(std::stoi(record.value), next_sequence[record.key]++) << record.key;
    auto [it, first] = partition_of_key.emplace(record.key, record.partition);
    EXPECT_EQ(it->second, record.partition) << record.key << " moved partitions";
    partitions_used.insert(record.partition);
  }
  for (const auto& [key, next] : next_sequence) EXPECT_EQ(next, kPerKey) << key;
  EXPECT_GT(partitions_used.size(), 1u);  // keys really spread, so the check above means something
}

TEST(Producer, TinyQueueAndDeadBrokerGivesQueueFullWithoutBlocking) {
  ProducerConfig config;
  config.brokers = kDeadBroker;
  config.max_queue_messages = 3;
  auto producer = make_producer(config);
  ASSERT_TRUE(producer);
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(producer->send("t", "k", "v", {}), SendResult::queued);
  ErrorCode error = kNoError;
  EXPECT_EQ(producer->send("t", "k", "v", {}, &error), SendResult::queue_full);
  EXPECT_EQ(error, kQueueFull);
  EXPECT_EQ(producer->send("t", "k", "v", {}), SendResult::queue_full);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(200));

  EXPECT_FALSE(producer->flush(100));
  EXPECT_EQ(producer->pending(), 3u);
  const ProducerStats stats = producer->stats();
  EXPECT_EQ(stats.queued, 3u);
  EXPECT_EQ(stats.queue_full, 2u);
  EXPECT_EQ(stats.delivered, 0u);

  // Destroying with records stuck in the queue must not hang.
  const auto destroy_started = std::chrono::steady_clock::now();
  producer.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - destroy_started, std::chrono::seconds(3));
}

TEST(Producer, QueueBoundedInBytesToo) {
  ProducerConfig config;
  config.brokers = kDeadBroker;
  config.max_queue_kbytes = 4;
  auto producer = make_producer(config);
  ASSERT_TRUE(producer);
  const std::string value(1024, 'x');
  int queued = 0;
  while (queued < 100 && producer->send("t", "k", value, {}) == SendResult::queued) ++queued;
  EXPECT_GE(queued, 1);
  EXPECT_LE(queued, 4);
  EXPECT_EQ(producer->stats().queue_full, 1u);
}

TEST(Producer, SlowBrokerFillsTheQueueThenDrains) {
  // A dedicated single-broker cluster: the RTT must not slow the other tests' brokers.
  std::string error;
  auto cluster = MockCluster::create(1, error);
  ASSERT_TRUE(cluster) << error;
  const std::string topic = unique_name("slow");
  ASSERT_EQ(cluster->create_topic(topic, 1), kNoError);
  ProducerConfig config;
  config.brokers = cluster->bootstrap_servers();
  config.max_queue_messages = 20;
  config.linger_ms = 0;
  auto producer = make_producer(config);
  ASSERT_TRUE(producer);
  // Warm up (metadata, producer id) before slowing the broker down.
  ASSERT_EQ(producer->send(topic, "k", "warm", {}), SendResult::queued);
  ASSERT_TRUE(producer->flush(5000));

  ASSERT_EQ(cluster->set_broker_rtt(1, 500), kNoError);
  int queued = 0;
  for (int i = 0; i < 20; ++i) queued += producer->send(topic, "k", std::to_string(i), {}) == SendResult::queued;
  EXPECT_EQ(queued, 20);
  // The broker is slow, not gone: the queue stays full for a while, and send() still never blocks.
  const auto started = std::chrono::steady_clock::now();
  int refused = 0;
  while (std::chrono::steady_clock::now() - started < std::chrono::milliseconds(200)) {
    refused += producer->send(topic, "k", "more", {}) == SendResult::queue_full;
    producer->poll(10);
  }
  EXPECT_EQ(static_cast<uint64_t>(refused), producer->stats().queue_full);
  EXPECT_GT(refused, 10);
  EXPECT_EQ(producer->stats().delivered, 1u);
  EXPECT_EQ(producer->pending(), 20u);

  ASSERT_EQ(cluster->set_broker_rtt(1, 0), kNoError);
  EXPECT_TRUE(producer->flush(8000));
  const ProducerStats stats = producer->stats();
  EXPECT_EQ(stats.delivered, 21u);
  EXPECT_EQ(stats.failed, 0u);
  EXPECT_EQ(producer->pending(), 0u);
  EXPECT_EQ(producer->send(topic, "k", "room again", {}), SendResult::queued);
  EXPECT_TRUE(producer->flush(5000));
}

TEST(Producer, FlushDeliversAndReportsEveryRecord) {
  const std::string topic = unique_name("flush");
  std::vector<DeliveryReport> reports;
  std::map<std::string, int> reports_per_key;
  std::vector<std::string> report_ops;
  ProducerConfig config;
  config.on_delivery = [&](const DeliveryReport& report) {
    reports.push_back(report);
    ++reports_per_key[std::string(report.message.key())];
    report_ops.emplace_back(report.message.headers().get(cluster::header::op).value_or("?"));
  };
  auto producer = make_producer(config);
  ASSERT_TRUE(producer);
  const std::vector<Header> headers = {{cluster::header::op, cluster::op::event}};
  for (int i = 0; i < 300; ++i) {
    ASSERT_EQ(producer->send(topic, "key-" + std::to_string(i % 3), "x", headers), SendResult::queued);
  }
  EXPECT_TRUE(producer->flush(5000));
  EXPECT_EQ(producer->pending(), 0u);
  ASSERT_EQ(reports.size(), 300u);
  for (const auto& report : reports) EXPECT_TRUE(report.ok()) << error_name(report.error);
  // Reports come per partition batch, so only the totals are predictable.
  EXPECT_EQ(reports_per_key, (std::map<std::string, int>{{"key-0", 100}, {"key-1", 100}, {"key-2", 100}}));
  EXPECT_EQ(report_ops.back(), "event");
  const ProducerStats stats = producer->stats();
  EXPECT_EQ(stats.queued, 300u);
  EXPECT_EQ(stats.delivered, 300u);
  EXPECT_EQ(stats.failed, 0u);
}

TEST(Producer, DeliveryFailureIsCountedAndReported) {
  std::vector<ErrorCode> errors;
  std::vector<std::string> failed_keys;
  std::vector<std::string> failed_sids;
  std::vector<ErrorCode> client_errors;
  ProducerConfig config;
  config.brokers = kDeadBroker;
  config.extra = {{"message.timeout.ms", "200"}};
  config.on_error = [&](const ClientError& error) {
    EXPECT_FALSE(error.fatal);
    EXPECT_FALSE(error.reason.empty());
    client_errors.push_back(error.code);
  };
  config.on_delivery = [&](const DeliveryReport& report) {
    errors.push_back(report.error);
    failed_keys.emplace_back(report.message.key());
    failed_sids.emplace_back(report.message.headers().get(cluster::header::sid).value_or(""));
  };
  auto producer = make_producer(config);
  ASSERT_TRUE(producer);
  const std::vector<Header> headers = {{cluster::header::sid, "sid-7"}};
  ASSERT_EQ(producer->send("t", "session-7", "payload", headers), SendResult::queued);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (errors.empty() && std::chrono::steady_clock::now() < deadline) producer->poll(50);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], kMessageTimedOut) << error_name(errors[0]);
  EXPECT_EQ(failed_keys[0], "session-7");
  EXPECT_EQ(failed_sids[0], "sid-7");
  EXPECT_EQ(producer->stats().failed, 1u);
  EXPECT_EQ(producer->stats().delivered, 0u);
  // The unreachable cluster itself was reported too, through on_error from poll().
  constexpr ErrorCode kAllBrokersDown = -187;  // RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN
  EXPECT_NE(std::find(client_errors.begin(), client_errors.end(), kAllBrokersDown), client_errors.end());
}

TEST(Producer, DestructionPurgesWithoutCallingBack) {
  int callbacks = 0;
  ProducerConfig config;
  config.brokers = kDeadBroker;
  config.on_delivery = [&](const DeliveryReport&) { ++callbacks; };
  auto producer = make_producer(config);
  ASSERT_TRUE(producer);
  for (int i = 0; i < 10; ++i) ASSERT_EQ(producer->send("t", "k", "v", {}), SendResult::queued);
  producer.reset();
  EXPECT_EQ(callbacks, 0);
}

TEST(Producer, RefusesInvalidRecords) {
  ProducerConfig config;
  config.extra = {{"message.max.bytes", "1000"}};
  auto producer = make_producer(config);
  ASSERT_TRUE(producer);
  ErrorCode error = kNoError;
  EXPECT_EQ(producer->send("big", "k", std::string(5000, 'x'), {}, &error), SendResult::error);
  EXPECT_EQ(error, kMessageTooLarge) << error_name(error);
  EXPECT_EQ(producer->send("", "k", "v", {}, &error), SendResult::error);
  EXPECT_EQ(error, kInvalidArgument);
  EXPECT_EQ(producer->send(std::string_view("a\0b", 3), "k", "v", {}, &error), SendResult::error);
  const std::vector<Header> unnamed = {{"", "value"}};
  EXPECT_EQ(producer->send("t", "k", "v", unnamed, &error), SendResult::error);
  const std::vector<Header> nul_in_name = {{std::string_view("x-\0op", 5), "value"}};
  EXPECT_EQ(producer->send("t", "k", "v", nul_in_name, &error), SendResult::error);
  EXPECT_EQ(producer->stats().errors, 5u);
  EXPECT_EQ(producer->stats().queued, 0u);
}

TEST(Producer, SendToRefusesPartitionsTheTopicDoesNotHave) {
  const std::string topic = unique_name("partitions");
  ASSERT_EQ(shared_cluster().create_topic(topic, 2), kNoError);
  auto producer = make_producer({});
  ASSERT_TRUE(producer);
  ASSERT_EQ(producer->send_to(topic, 1, "k", "v", {}), SendResult::queued);
  ASSERT_TRUE(producer->flush(5000));  // now the topic's partition count is known
  ErrorCode error = kNoError;
  EXPECT_EQ(producer->send_to(topic, 2, "k", "v", {}, &error), SendResult::error);
  EXPECT_EQ(error_name(error), "_UNKNOWN_PARTITION");
  EXPECT_EQ(producer->send_to(topic, -5, "k", "v", {}, &error), SendResult::error);
  EXPECT_EQ(error, kInvalidArgument);
  EXPECT_EQ(producer->stats().errors, 2u);
}

TEST(Producer, BadConfigurationIsReportedNotThrown) {
  std::string error;
  ProducerConfig config;
  EXPECT_EQ(Producer::create(config, error), nullptr);
  EXPECT_NE(error.find("brokers"), std::string::npos);

  config.brokers = kDeadBroker;
  config.extra = {{"no.such.property", "1"}};
  error.clear();
  EXPECT_EQ(Producer::create(config, error), nullptr);
  EXPECT_NE(error.find("no.such.property"), std::string::npos) << error;

  config.extra = {{"linger.ms", "not-a-number"}};
  error.clear();
  EXPECT_EQ(Producer::create(config, error), nullptr);
  EXPECT_NE(error.find("linger.ms"), std::string::npos) << error;
}

TEST(Producer, SendIsSafeFromManyThreads) {
  const std::string topic = unique_name("threads");
  auto producer = make_producer({});
  ASSERT_TRUE(producer);
  constexpr int kThreads = 4;
  constexpr int kEach = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Each thread also uses its own topic the first time: exercises the topic-handle cache.
      const std::string own_topic = topic + "-" + std::to_string(t);
      for (int i = 0; i < kEach; ++i) {
        EXPECT_EQ(producer->send(i % 2 == 0 ? topic : own_topic, "k", "v", {}), SendResult::queued);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_TRUE(producer->flush(5000));
  EXPECT_EQ(producer->stats().delivered, static_cast<uint64_t>(kThreads * kEach));
}

}  // namespace
}  // namespace wsgw::kafka
