#pragma once
// Cluster mode of one gateway node (docs/cluster.md): it leases its Snowflake worker id in
// Redis, registers sessions there, produces client events to wsgw.upstream, and consumes its
// partition of wsgw.downstream plus wsgw.broadcast, handing each record to the app's dispatch
// (which posts it to the workers). It is the SocketIoApp of a clustered gateway.
//
// Threads: SocketIoApp callbacks run on the worker threads (the Kafka producer and the Redis
// client are thread-safe and bounded); one service thread polls the consumer, serves producer
// delivery reports and heart-beats the node and the lease.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/cluster/contract.h"
#include "common/kafka/consumer.h"
#include "common/kafka/producer.h"
#include "common/metrics/registry.h"
#include "common/redis/client.h"
#include "common/redis/node_registry.h"
#include "common/redis/session_registry.h"
#include "common/redis/worker_id_lease.h"
#include "gateway/cluster/records.h"
#include "gateway/session/socketio_session.h"

namespace wsgw::cluster {

struct ClusterOptions {
  std::string node_name;
  std::string kafka_brokers;
  std::string redis_host = "127.0.0.1";
  uint16_t redis_port = 6379;
  int32_t downstream_partitions = kDefaultDownstreamPartitions;
  std::vector<std::string> namespaces{"/"};  // "*" = any
  uint32_t heartbeat_ms = 2000;
  uint32_t lease_ttl_ms = 15000;
};

// Parses "redis://host:port" (or "host:port").
bool parse_redis_url(std::string_view url, std::string& host, uint16_t& port, std::string& error);

class ClusterNode final : public session::SocketIoApp {
 public:
  using Dispatch = std::function<void(std::shared_ptr<const DownstreamCommand>)>;

  ClusterNode(ClusterOptions options, metrics::Registry& registry);
  ~ClusterNode() override;

  // Start-up, before the workers exist: Redis, the worker-id lease, topics, the producer.
  bool connect(uint16_t& worker_id, std::string& error);
  // Starts the service thread; `dispatch` is called on it for every record for this node.
  bool start(Dispatch dispatch, std::string& error);
  // After the sessions are closed: flush the producer, stop the thread, release the lease.
  void stop();

  // session::SocketIoApp (worker threads)
  bool namespace_exists(std::string_view nsp) override;
  void on_connect(session::NamespaceSocket& s, std::string_view auth_json) override;
  void on_event(session::NamespaceSocket& s, const sio::Packet& p, std::string_view event_name,
                std::string_view args, std::span<const std::string> attachments) override;
  void on_ack(session::NamespaceSocket& s, const sio::Packet& p,
              std::span<const std::string> attachments) override;
  void on_disconnect(session::NamespaceSocket& s, std::string_view reason) override;
  // Called by the dispatch after a join/leave was applied locally, to keep Redis in step.
  void joined(const session::NamespaceSocket& s, std::string_view room);
  void left(const session::NamespaceSocket& s, std::string_view room);

 private:
  void produce(UpstreamRecord&& r);
  UpstreamContext context(std::string& trace_storage);
  void service_loop();

  ClusterOptions opt_;
  std::unique_ptr<redis::Client> redis_;
  std::unique_ptr<redis::WorkerIdLease> lease_;
  std::unique_ptr<redis::SessionRegistry> sessions_;
  std::unique_ptr<redis::NodeRegistry> nodes_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<kafka::Consumer> consumer_;
  Dispatch dispatch_;
  std::thread thread_;
  std::atomic<bool> running_{false};
  std::atomic<uint64_t> trace_seq_{0};
  uint64_t trace_base_ = 0;
  bool any_namespace_ = false;
  metrics::Counter& upstream_produced_;
  metrics::Counter& upstream_drops_;
  metrics::Counter& downstream_records_;
  metrics::Counter& downstream_skipped_;
  metrics::Counter& downstream_malformed_;
  metrics::Counter& redis_drops_;
};

}  // namespace wsgw::cluster
