#include "common/kafka/mock_cluster.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <array>
#include <string>

namespace wsgw::kafka {

std::unique_ptr<MockCluster> MockCluster::create(int broker_count, std::string& error) {
  if (broker_count < 1) {
    error = "mock kafka cluster: need at least one broker";
    return nullptr;
  }
  // The mock cluster runs on the threads of a client instance; a producer that never produces is the
  // lightest host.
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::array<char, 512> reason{};
  // The host has no bootstrap servers by design; skip the notice saying so.
  rd_kafka_conf_set(conf, "log_level", "4", reason.data(), reason.size());
  rd_kafka_t* host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, reason.data(), reason.size());
  if (host == nullptr) {
    rd_kafka_conf_destroy(conf);
    error = std::string("mock kafka cluster: ") + reason.data();
    return nullptr;
  }
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(host, broker_count);
  if (cluster == nullptr) {
    rd_kafka_destroy(host);
    error = "mock kafka cluster: could not start the brokers";
    return nullptr;
  }
  return std::unique_ptr<MockCluster>(new MockCluster(host, cluster));
}

MockCluster::MockCluster(rd_kafka_s* host, rd_kafka_mock_cluster_s* cluster)
    : host_(host), cluster_(cluster), bootstrap_servers_(rd_kafka_mock_cluster_bootstraps(cluster)) {}

MockCluster::~MockCluster() {
  rd_kafka_mock_cluster_destroy(cluster_);
  rd_kafka_destroy(host_);
}

ErrorCode MockCluster::create_topic(std::string_view name, int partitions, int replication_factor) {
  const std::string owned(name);
  return rd_kafka_mock_topic_create(cluster_, owned.c_str(), partitions, replication_factor);
}

ErrorCode MockCluster::set_broker_down(int32_t broker_id) { return rd_kafka_mock_broker_set_down(cluster_, broker_id); }

ErrorCode MockCluster::set_broker_up(int32_t broker_id) { return rd_kafka_mock_broker_set_up(cluster_, broker_id); }

ErrorCode MockCluster::set_broker_rtt(int32_t broker_id, int rtt_ms) {
  return rd_kafka_mock_broker_set_rtt(cluster_, broker_id, rtt_ms);
}

void MockCluster::set_topic_error(std::string_view topic, ErrorCode error) {
  const std::string owned(topic);
  rd_kafka_mock_topic_set_error(cluster_, owned.c_str(), static_cast<rd_kafka_resp_err_t>(error));
}

}  // namespace wsgw::kafka
