#pragma once
// Shared helpers for the wsgw_kafka tests: one mock cluster per test program, unique topic names,
// and consumers that copy records out (the Message view dies at the next poll).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/kafka/consumer.h"
#include "common/kafka/headers.h"
#include "common/kafka/mock_cluster.h"
#include "common/kafka/producer.h"

namespace wsgw::kafka::testing {

// One cluster for the whole program: starting brokers costs time, and tests stay apart by using
// their own topics and groups.
inline MockCluster& shared_cluster() {
  static std::unique_ptr<MockCluster> cluster = [] {
    std::string error;
    auto created = MockCluster::create(3, error);
    if (!created) ADD_FAILURE() << error;
    return created;
  }();
  return *cluster;
}

inline std::string unique_name(std::string_view prefix) {
  static std::atomic<int> counter{0};
  return std::string(prefix) + "-" + std::to_string(counter.fetch_add(1));
}

inline int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// librdkafka logs connection failures to stderr; the tests that use dead brokers mean to.
inline std::map<std::string, std::string> quiet() { return {{"log_level", "2"}}; }

inline std::unique_ptr<Producer> make_producer(ProducerConfig config) {
  if (config.brokers.empty()) config.brokers = shared_cluster().bootstrap_servers();
  config.extra.merge(quiet());
  std::string error;
  auto producer = Producer::create(config, error);
  EXPECT_TRUE(producer) << error;
  return producer;
}

enum class Mode { manual, balanced_group };

// Most tests read with a manual assignment: it is live at once, while joining a group costs the mock
// coordinator's fixed 3 s initial rebalance delay.
inline std::unique_ptr<Consumer> make_consumer(const std::string& group, const std::string& topic,
                                               const std::string& offset_reset, Mode mode = Mode::manual) {
  ConsumerConfig config;
  config.brokers = shared_cluster().bootstrap_servers();
  config.group_id = group;
  config.topics = {topic};
  config.auto_offset_reset = offset_reset;
  config.manual_assignment = mode == Mode::manual;
  config.extra = quiet();
  // The mock holds a leaving group in "rebalancing" for session.timeout.ms - 1 s; keep that short, but
  // longer than the 3 s first-join delay, which a member must survive.
  config.extra["session.timeout.ms"] = "3500";
  config.extra["heartbeat.interval.ms"] = "500";
  config.on_error = [](const ClientError& error) { ADD_FAILURE() << "consumer error: " << error.reason; };
  std::string error;
  auto consumer = Consumer::create(config, error);
  EXPECT_TRUE(consumer) << error;
  return consumer;
}

// A record copied out of the consumer's buffer.
struct Record {
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
  std::string key;
  std::string value;
  OwnedHeaders headers;
  int64_t timestamp_ms = -1;
};

inline Record copy_record(const Message& message) {
  return Record{std::string(message.topic()), message.partition(), message.offset(), std::string(message.key()),
                std::string(message.value()), OwnedHeaders::copy_of(message.headers()), message.timestamp_ms()};
}

// Polls until `count` records arrived or `timeout_ms` passed.
inline std::vector<Record> consume(Consumer& consumer, size_t count, int timeout_ms) {
  std::vector<Record> records;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  Message message;
  while (records.size() < count && std::chrono::steady_clock::now() < deadline) {
    if (consumer.poll(50, message)) records.push_back(copy_record(message));
  }
  return records;
}

// Sends and flushes; fails the test if any record is not delivered.
inline void produce_and_flush(Producer& producer, const std::string& topic, const std::vector<std::string>& values,
                              std::string_view key = "k") {
  for (const std::string& value : values) {
    ASSERT_EQ(producer.send(topic, key, value, {}), Producer::SendResult::queued);
  }
  ASSERT_TRUE(producer.flush(5000));
}

}  // namespace wsgw::kafka::testing
