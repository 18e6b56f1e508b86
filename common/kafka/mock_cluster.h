#pragma once
// An in-process Kafka cluster (librdkafka's mock cluster): real brokers speaking the Kafka protocol on
// 127.0.0.1 ephemeral ports, no JVM. For unit tests and the local demo stack only; it is the one
// embedded stand-in allowed for Kafka. Other processes can connect to bootstrap_servers() while the
// owning process keeps this object alive. Data lives in memory and dies with it.
//
// Topics are auto-created on first use (4 partitions) or explicitly by create_topic / create_topics.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/kafka/error.h"

struct rd_kafka_s;
struct rd_kafka_mock_cluster_s;

namespace wsgw::kafka {

class MockCluster {
 public:
  // broker_count >= 1; broker ids are 1..broker_count.
  static std::unique_ptr<MockCluster> create(int broker_count, std::string& error);
  ~MockCluster();
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  // "127.0.0.1:port,..." for ProducerConfig/ConsumerConfig::brokers.
  const std::string& bootstrap_servers() const { return bootstrap_servers_; }

  ErrorCode create_topic(std::string_view name, int partitions, int replication_factor = 1);
  // Fault injection for tests: a broker that is down refuses connections; an RTT delays every
  // response of that broker.
  ErrorCode set_broker_down(int32_t broker_id);
  ErrorCode set_broker_up(int32_t broker_id);
  ErrorCode set_broker_rtt(int32_t broker_id, int rtt_ms);
  // Makes metadata answers for `topic` carry `error` (kNoError clears it); e.g. 3 =
  // UNKNOWN_TOPIC_OR_PART pretends the topic is missing, since the mock auto-creates topics otherwise.
  void set_topic_error(std::string_view topic, ErrorCode error);

 private:
  MockCluster(rd_kafka_s* host, rd_kafka_mock_cluster_s* cluster);
  rd_kafka_s* host_;  // the client instance the mock cluster is attached to
  rd_kafka_mock_cluster_s* cluster_;
  std::string bootstrap_servers_;
};

}  // namespace wsgw::kafka
