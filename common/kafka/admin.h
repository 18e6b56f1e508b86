#pragma once
// Topic administration: create the topics of common/cluster/contract.h at deploy or start-up.
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace wsgw::kafka {

struct TopicSpec {
  std::string name;
  int partitions = 1;            // >= 1, or -1 for the broker's num.partitions (Kafka >= 2.4)
  int replication_factor = -1;  // >= 1, or -1 for the broker's default.replication.factor (Kafka >= 2.4)
};

// Creates the topics and waits for the result. A topic that already exists counts as success, so
// this is safe to run on every start. False with `error` naming every topic that failed.
// `extra` carries connection properties (security.protocol, sasl.*, ...).
bool create_topics(std::string_view brokers, const std::vector<TopicSpec>& topics, std::string& error,
                   int timeout_ms = 10000, const std::map<std::string, std::string>& extra = {});

}  // namespace wsgw::kafka
