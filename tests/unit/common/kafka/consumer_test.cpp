#include "common/kafka/consumer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "common/cluster/contract.h"
#include "kafka_test_support.h"

namespace wsgw::kafka {
namespace {

using testing::consume;
using testing::make_consumer;
using testing::make_producer;
using testing::Mode;
using testing::produce_and_flush;
using testing::shared_cluster;
using testing::unique_name;

std::vector<std::string> numbered(std::string_view prefix, int count) {
  std::vector<std::string> values;
  for (int i = 0; i < count; ++i) values.push_back(std::string(prefix) + std::to_string(i));
  return values;
}

std::vector<std::string> values_of(const std::vector<testing::Record>& records) {
  std::vector<std::string> values;
  for (const auto& record : records) values.push_back(record.value);
  return values;
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// A "latest" consumer only sees records produced after its partitions were assigned and their end
// offsets looked up. Produce markers until one arrives: from then on it sees everything.
// Sets `markers` to how many were produced.
void wait_until_live(Producer& producer, Consumer& consumer, const std::string& topic, int& markers) {
  Message message;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(8);
  markers = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    ASSERT_EQ(producer.send(topic, "k", "marker-" + std::to_string(markers++), {}), Producer::SendResult::queued);
    producer.flush(1000);
    if (consumer.poll(100, message)) {
      ASSERT_TRUE(starts_with(message.value(), "marker-")) << "a record from before it started: " << message.value();
      while (consumer.poll(100, message)) ASSERT_TRUE(starts_with(message.value(), "marker-"));
      return;
    }
  }
  FAIL() << "the latest consumer never went live";
}

std::vector<std::string> without_markers(const std::vector<std::string>& values) {
  std::vector<std::string> kept;
  for (const auto& value : values) {
    if (!starts_with(value, "marker-")) kept.push_back(value);
  }
  return kept;
}

TEST(Consumer, ManualEarliestReadsHistoryLatestOnlyNewRecords) {
  const std::string topic = unique_name("offsets");
  ASSERT_EQ(shared_cluster().create_topic(topic, 3), kNoError);
  auto producer = make_producer({});
  ASSERT_TRUE(producer);
  produce_and_flush(*producer, topic, numbered("old-", 5));

  auto earliest = make_consumer(unique_name("wsgw-gw-a"), topic, "earliest");
  auto latest = make_consumer(unique_name("wsgw-gw-b"), topic, "latest");
  ASSERT_TRUE(earliest && latest);
  EXPECT_EQ(values_of(consume(*earliest, 5, 5000)), numbered("old-", 5));
  EXPECT_EQ(earliest->assigned_partition_count(), 3u);
  int markers = 0;
  wait_until_live(*producer, *latest, topic, markers);
  EXPECT_EQ(latest->assigned_partition_count(), 3u);

  produce_and_flush(*producer, topic, numbered("new-", 3));
  EXPECT_EQ(values_of(consume(*latest, 3, 5000)), numbered("new-", 3));
  // Both consumers see every record: that is what each gateway needs from wsgw.downstream.
  EXPECT_EQ(without_markers(values_of(consume(*earliest, markers + 3, 5000))), numbered("new-", 3));
}

TEST(Consumer, ManualAssignmentRetriesAMissingTopic) {
  const std::string topic = unique_name("late-topic");
  ASSERT_EQ(shared_cluster().create_topic(topic, 2), kNoError);
  shared_cluster().set_topic_error(topic, 3);  // UNKNOWN_TOPIC_OR_PART in metadata answers
  std::vector<ErrorCode> errors;
  ConsumerConfig config;
  config.brokers = shared_cluster().bootstrap_servers();
  config.group_id = "wsgw-gw-late";
  config.topics = {topic};
  config.auto_offset_reset = "earliest";
  config.manual_assignment = true;
  config.extra = testing::quiet();
  config.on_error = [&](const ClientError& error) { errors.push_back(error.code); };
  std::string error;
  auto consumer = Consumer::create(config, error);
  ASSERT_TRUE(consumer) << error;
  Message message;
  EXPECT_FALSE(consumer->poll(0, message));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(error_name(errors[0]), "UNKNOWN_TOPIC_OR_PART");
  EXPECT_EQ(consumer->assigned_partition_count(), 0u);
  EXPECT_EQ(consumer->stats().errors, 1u);
  EXPECT_FALSE(consumer->poll(0, message));  // no new attempt within the retry interval
  EXPECT_EQ(errors.size(), 1u);

  shared_cluster().set_topic_error(topic, kNoError);
  auto producer = make_producer({});
  ASSERT_TRUE(producer);
  produce_and_flush(*producer, topic, {"hello"});
  // The next attempt comes a second after the first; the record is then read from the beginning.
  EXPECT_EQ(values_of(consume(*consumer, 1, 4000)), std::vector<std::string>{"hello"});
  EXPECT_EQ(consumer->assigned_partition_count(), 2u);
}

// The gateway's shape (docs/cluster.md): its own partition of the downstream topic plus every
// partition of the broadcast topic, written by a producer that picks the partition.
TEST(Consumer, ManualAssignmentReadsExactlyTheListedPartitions) {
  const std::string downstream = unique_name("downstream");
  const std::string broadcast = unique_name("broadcast");
  ASSERT_EQ(shared_cluster().create_topic(downstream, 4), kNoError);
  ASSERT_EQ(shared_cluster().create_topic(broadcast, 1), kNoError);
  auto producer = make_producer({});
  ASSERT_TRUE(producer);
  for (int32_t partition = 0; partition < 4; ++partition) {
    for (int i = 0; i < 3; ++i) {
      const std::string value = "p" + std::to_string(partition) + "-" + std::to_string(i);
      ASSERT_EQ(producer->send_to(downstream, partition, "", value, {}), Producer::SendResult::queued);
    }
  }
  ASSERT_EQ(producer->send(broadcast, "", "everyone", {}), Producer::SendResult::queued);
  ASSERT_TRUE(producer->flush(5000));

  ConsumerConfig config;
  config.brokers = shared_cluster().bootstrap_servers();
  config.group_id = "wsgw-gw-7";
  config.manual_assignment = true;
  config.topics = {broadcast};
  config.partitions = {{downstream, 3}};
  config.auto_offset_reset = "earliest";
  config.extra = testing::quiet();
  config.on_error = [](const ClientError& error) { ADD_FAILURE() << error.reason; };
  std::string error;
  auto gateway = Consumer::create(config, error);
  ASSERT_TRUE(gateway) << error;
  std::vector<std::string> downstream_values;
  std::vector<std::string> broadcast_values;
  auto records = consume(*gateway, 4, 5000);
  const auto extra_records = consume(*gateway, 1, 300);  // nothing else may arrive
  records.insert(records.end(), extra_records.begin(), extra_records.end());
  for (const auto& record : records) {
    if (record.topic == downstream) {
      EXPECT_EQ(record.partition, 3);
      downstream_values.push_back(record.value);
    } else {
      broadcast_values.push_back(record.value);
    }
  }
  EXPECT_EQ(downstream_values, (std::vector<std::string>{"p3-0", "p3-1", "p3-2"}));
  EXPECT_EQ(broadcast_values, std::vector<std::string>{"everyone"});
  EXPECT_EQ(gateway->assigned_partition_count(), 2u);
}

TEST(Consumer, ManualAssignmentReportsAMissingPartition) {
  const std::string topic = unique_name("few-partitions");
  ASSERT_EQ(shared_cluster().create_topic(topic, 2), kNoError);
  std::vector<std::string> reasons;
  ConsumerConfig config;
  config.brokers = shared_cluster().bootstrap_servers();
  config.group_id = "wsgw-gw-9";
  config.manual_assignment = true;
  config.partitions = {{topic, 0}, {topic, 5}};
  config.extra = testing::quiet();
  config.on_error = [&](const ClientError& error) { reasons.emplace_back(error.reason); };
  std::string error;
  auto consumer = Consumer::create(config, error);
  ASSERT_TRUE(consumer) << error;
  Message message;
  EXPECT_FALSE(consumer->poll(0, message));
  ASSERT_EQ(reasons.size(), 1u);
  EXPECT_NE(reasons[0].find("partition 5"), std::string::npos) << reasons[0];
  EXPECT_EQ(consumer->assigned_partition_count(), 0u);  // all or nothing
}

// One scenario, so the mock coordinator's 3 s join delay is paid by three groups at once.
TEST(Consumer, BalancedGroupsStartAtTheirResetAndResumeAfterCommit) {
  const std::string topic = unique_name("groups");
  ASSERT_EQ(shared_cluster().create_topic(topic, 2), kNoError);
  auto producer = make_producer({});
  ASSERT_TRUE(producer);
  produce_and_flush(*producer, topic, numbered("old-", 4));

  const std::string resuming_group = unique_name("wsgw-api");
  auto earliest = make_consumer(unique_name("wsgw-gw-a"), topic, "earliest", Mode::balanced_group);
  auto latest = make_consumer(unique_name("wsgw-gw-b"), topic, "latest", Mode::balanced_group);
  auto resuming = make_consumer(resuming_group, topic, "earliest", Mode::balanced_group);
  ASSERT_TRUE(earliest && latest && resuming);

  EXPECT_EQ(values_of(consume(*earliest, 4, 8000)), numbered("old-", 4));
  EXPECT_EQ(earliest->assigned_partition_count(), 2u);  // the only member takes all partitions
  EXPECT_EQ(values_of(consume(*resuming, 4, 2000)), numbered("old-", 4));
  resuming->close();  // commits the offsets of the records poll() returned, then leaves
  Message message;
  EXPECT_FALSE(resuming->poll(10, message));
  resuming->close();  // idempotent
  resuming.reset();
  // Same group again, joining while the steps below run: it must continue after the committed
  // offsets, not from "earliest".
  auto restarted = make_consumer(resuming_group, topic, "earliest", Mode::balanced_group);
  ASSERT_TRUE(restarted);

  int markers = 0;
  wait_until_live(*producer, *latest, topic, markers);
  EXPECT_EQ(latest->assigned_partition_count(), 2u);
  produce_and_flush(*producer, topic, numbered("new-", 3));
  EXPECT_EQ(values_of(consume(*latest, 3, 5000)), numbered("new-", 3));
  // Every group sees every record: what a per-node gateway group relies on.
  EXPECT_EQ(without_markers(values_of(consume(*earliest, markers + 3, 5000))), numbered("new-", 3));

  std::vector<std::string> resumed;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(8);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!restarted->poll(50, message)) continue;
    ASSERT_FALSE(starts_with(message.value(), "old-")) << "re-read a committed record";
    if (!starts_with(message.value(), "marker-")) resumed.emplace_back(message.value());
    if (resumed.size() == 3) break;
  }
  EXPECT_EQ(resumed, numbered("new-", 3));
}

// "Assigned" must mean "live": a "latest" consumer reads every record produced once its
// partitions count as assigned, with no markers or settling time. ws-api's Subscribe sends
// subscription_started, and a gateway declares itself ready, on exactly this signal.
TEST(Consumer, LatestConsumerReadsEverythingProducedOnceAssigned) {
  for (Mode mode : {Mode::manual, Mode::balanced_group}) {
    const std::string topic = unique_name("assigned-is-live");
    ASSERT_EQ(shared_cluster().create_topic(topic, 3), kNoError);
    auto producer = make_producer({});
    ASSERT_TRUE(producer);
    produce_and_flush(*producer, topic, numbered("old-", 3));
    auto consumer = make_consumer(unique_name("wsgw-live"), topic, "latest", mode);
    ASSERT_TRUE(consumer);
    Message message;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (consumer->assigned_partition_count() == 0 && std::chrono::steady_clock::now() < deadline) {
      EXPECT_FALSE(consumer->poll(20, message)) << "read a record from before the start";
    }
    ASSERT_EQ(consumer->assigned_partition_count(), 3u);
    // Immediately: no settling.
    produce_and_flush(*producer, topic, numbered("new-", 6));
    auto values = values_of(consume(*consumer, 6, 5000));
    std::sort(values.begin(), values.end());
    EXPECT_EQ(values, numbered("new-", 6)) << (mode == Mode::manual ? "manual" : "balanced");
  }
}

TEST(Consumer, MessageViewLivesUntilTheNextPoll) {
  const std::string topic = unique_name("lifetime");
  ASSERT_EQ(shared_cluster().create_topic(topic, 1), kNoError);
  auto producer = make_producer({});
  ASSERT_TRUE(producer);
  const std::vector<Header> headers = {{cluster::header::op, cluster::op::emit}, {cluster::header::node, "gw-1"}};
  ASSERT_EQ(producer->send(topic, "k", "first", headers), Producer::SendResult::queued);
  ASSERT_EQ(producer->send(topic, "k", "second", {}), Producer::SendResult::queued);
  ASSERT_TRUE(producer->flush(5000));

  auto consumer = make_consumer(unique_name("g"), topic, "earliest");
  ASSERT_TRUE(consumer);
  Message message;
  ASSERT_TRUE(consumer->poll(5000, message));
  ASSERT_TRUE(message.valid());
  const std::string_view value_view = message.value();
  const std::optional<std::string_view> node_view = message.headers().get(cluster::header::node);
  // Other work in between (here: producing) does not disturb the view.
  ASSERT_EQ(producer->send(topic, "k", "third", {}), Producer::SendResult::queued);
  ASSERT_TRUE(producer->flush(5000));
  EXPECT_EQ(value_view, "first");
  EXPECT_EQ(node_view, "gw-1");
  // What must outlive the next poll is copied out.
  const std::string kept_value(message.value());
  const OwnedHeaders kept_headers = OwnedHeaders::copy_of(message.headers());

  ASSERT_TRUE(consumer->poll(5000, message));  // the "first" record is released here
  EXPECT_EQ(message.value(), "second");
  EXPECT_TRUE(message.headers().empty());
  EXPECT_EQ(kept_value, "first");
  EXPECT_EQ(kept_headers.get(cluster::header::op), "emit");

  ASSERT_TRUE(consumer->poll(5000, message));
  EXPECT_EQ(message.value(), "third");
  EXPECT_FALSE(consumer->poll(100, message));  // nothing more: the view is reset, not left dangling
  EXPECT_FALSE(message.valid());
  EXPECT_EQ(consumer->stats().received, 3u);
  consumer->close();
  EXPECT_FALSE(consumer->poll(0, message));
  EXPECT_FALSE(message.valid());
}

TEST(Consumer, BadConfigurationIsReportedNotThrown) {
  std::string error;
  ConsumerConfig config;
  config.brokers = "127.0.0.1:1";
  config.topics = {"t"};
  EXPECT_EQ(Consumer::create(config, error), nullptr);
  EXPECT_NE(error.find("group_id"), std::string::npos) << error;

  config.group_id = "g";
  config.auto_offset_reset = "beginning";
  EXPECT_EQ(Consumer::create(config, error), nullptr);
  EXPECT_NE(error.find("auto_offset_reset"), std::string::npos) << error;

  config.auto_offset_reset = "earliest";
  config.topics.clear();
  EXPECT_EQ(Consumer::create(config, error), nullptr);
  EXPECT_NE(error.find("topics or partitions"), std::string::npos) << error;

  config.topics = {""};
  EXPECT_EQ(Consumer::create(config, error), nullptr);

  config.topics = {"t"};
  config.partitions = {{"t", 0}};
  EXPECT_EQ(Consumer::create(config, error), nullptr);
  EXPECT_NE(error.find("manual_assignment"), std::string::npos) << error;
  config.manual_assignment = true;
  config.partitions = {{"t", -1}};
  EXPECT_EQ(Consumer::create(config, error), nullptr);
  config.partitions.clear();
  config.manual_assignment = false;

  config.topics = {"t"};
  config.extra = {{"no.such.property", "1"}};
  EXPECT_EQ(Consumer::create(config, error), nullptr);
  EXPECT_NE(error.find("no.such.property"), std::string::npos) << error;
}

}  // namespace
}  // namespace wsgw::kafka
