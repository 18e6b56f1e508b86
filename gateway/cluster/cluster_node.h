#pragma once
// Cluster mode of one gateway node (docs/cluster.md): it leases its Snowflake worker id in
// Redis, registers sessions there, produces client events to wsgw.upstream and answers to
// server acks to wsgw.acks, and consumes its partition of wsgw.downstream plus wsgw.broadcast,
// handing each record to the app's dispatch (which posts it to the workers). It is the
// SocketIoApp of a clustered gateway.
//
// Liveness (the article's two-level scheme): a client's heartbeat touches nothing but its own
// session; every `touch_period_ms` the service thread collects the ids of every local socket
// from the workers and flushes their last-seen times to Redis in one pipelined batch. The node
// itself heart-beats every `heartbeat_ms`; when an answer shows that Redis lost the node's
// sessions (restart, reap), every local session is registered again, worker by worker, paced
// by the Redis client's queue (liveness.h says when).
//
// Node bus: a Redis pub/sub subscriber on "wsgw:bus" and "wsgw:bus:<node>" (bus_command.h).
//
// Threads: SocketIoApp callbacks run on the worker threads (the Kafka producer and the Redis
// client are thread-safe and bounded); one service thread polls the consumer, serves producer
// delivery reports, heart-beats the node and the lease, flushes liveness and refreshes client
// metrics; the subscriber has its own thread.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/cluster/contract.h"
#include "common/kafka/consumer.h"
#include "common/kafka/producer.h"
#include "common/metrics/registry.h"
#include "common/redis/client.h"
#include "common/redis/node_registry.h"
#include "common/redis/session_registry.h"
#include "common/redis/url.h"
#include "common/redis/subscriber.h"
#include "common/redis/worker_id_lease.h"
#include "gateway/cluster/liveness.h"
#include "gateway/cluster/records.h"
#include "gateway/session/socketio_session.h"

namespace wsgw::cluster {

struct ClusterOptions {
  std::string node_name;
  std::string kafka_brokers;
  std::map<std::string, std::string> kafka_extra;  // --kafka-option: every client, applied last
  redis::Url redis{"127.0.0.1", 6379, {}, {}};
  int32_t downstream_partitions = kDefaultDownstreamPartitions;
  bool create_topics = true;  // at start, when missing
  std::vector<std::string> namespaces{"/"};  // "*" = any
  uint32_t heartbeat_ms = 2000;
  uint32_t lease_ttl_ms = 15000;
  uint32_t touch_period_ms = 10000;  // liveness flush period
  // Downstream records dispatched to the workers and not yet applied by all of them (bytes,
  // each record counted as its value plus kCommandOverhead): above this the service thread
  // stops reading Kafka until the workers catch up. Every queue between Kafka and the
  // sockets is bounded that way; librdkafka's own prefetch is bounded by its settings.
  size_t max_downstream_backlog_bytes = 64u << 20;
};


class ClusterNode final : public session::SocketIoApp {
 public:
  using Dispatch = std::function<void(std::shared_ptr<const DownstreamCommand>)>;
  // Runs `fn` on every worker's thread (posted), with the worker as its SessionHost.
  using PostToWorkers = std::function<void(std::function<void(session::SessionHost&)> fn)>;

  // What the node needs from the process around it.
  struct Hooks {
    Dispatch dispatch;              // called on the service thread for every record for us
    PostToWorkers post_to_workers;  // liveness flushes and re-registration
    size_t worker_count = 0;
    std::function<void()> drain;    // the bus's "drain": begin the SIGTERM drain (thread-safe)
  };

  ClusterNode(ClusterOptions options, metrics::Registry& registry);
  ~ClusterNode() override;

  // Start-up, before the workers exist: Redis, the worker-id lease, topics, the producer.
  bool connect(uint16_t& worker_id, std::string& error);
  // Starts the service thread and the bus subscriber.
  bool start(Hooks hooks, std::string& error);
  // After the sessions are closed: stop the threads, flush the producer until `deadline` at
  // the latest (a dead Kafka never holds the exit longer), release the lease. Idempotent.
  void stop(std::chrono::steady_clock::time_point deadline);
  void stop() { stop(std::chrono::steady_clock::now() + std::chrono::seconds(5)); }

  // session::SocketIoApp (worker threads)
  bool namespace_exists(std::string_view nsp) override;
  bool confirms_connect_later() const override { return true; }
  void on_connect(session::NamespaceSocket& s, std::string_view auth_json) override;
  void on_event(session::NamespaceSocket& s, const sio::Packet& p, std::string_view event_name,
                std::string_view args, std::span<const std::string> attachments) override;
  // The client answered a server ack: produced to wsgw.acks, partition
  // ack_id_partition(ack id, downstream partitions), where the waiting ws-api replica reads.
  void on_ack(session::NamespaceSocket& s, const sio::Packet& p,
              std::span<const std::string> attachments) override;
  void on_disconnect(session::NamespaceSocket& s, std::string_view reason) override;
  // Called by the dispatch after a join/leave was applied locally, to keep Redis in step.
  void joined(const session::NamespaceSocket& s, std::string_view room);
  void left(const session::NamespaceSocket& s, std::string_view room);

 private:
  // Re-registration progress on one worker, touched only on that worker's thread (the map of
  // workers is locked only to find the entry). The sockets themselves (and their connect times)
  // live in the worker's LocalIndex and are looked up by id, so nothing here can dangle, and a
  // connection costs the cluster no memory of its own.
  struct WorkerSockets {
    uint64_t rereg_generation = 0;
    std::vector<uint64_t> rereg_ids;
    size_t rereg_next = 0;
    bool rereg_done = true;
  };
  struct LivenessGather;
  struct Reregistration;

  WorkerSockets& worker_sockets(session::SessionHost& host);
  // Answers the client's CONNECT and produces the upstream "connect" (once, worker thread).
  void announce(session::NamespaceSocket& s, std::string_view auth_json);
  bool produce(std::string_view topic, int32_t partition, UpstreamRecord&& r);  // -1: by key
  UpstreamContext context(std::string& trace_storage);
  bool make_consumer(std::string& error);
  void service_loop();
  void on_record(const kafka::Message& msg);
  void heartbeat();
  void start_liveness_flush();
  void finish_liveness_flush();
  void drive_reregistration();
  void reregister_step(session::SessionHost& host, const std::shared_ptr<Reregistration>& r);
  void reacquire_lease();
  void refresh_client_metrics();
  void on_bus_message(const redis::Message& m);

  ClusterOptions opt_;
  Hooks hooks_;
  std::unique_ptr<redis::Client> redis_;
  std::unique_ptr<redis::WorkerIdLease> lease_;
  std::unique_ptr<redis::SessionRegistry> sessions_;
  std::unique_ptr<redis::NodeRegistry> nodes_;
  std::unique_ptr<redis::Subscriber> bus_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<kafka::Consumer> consumer_;  // service thread only (after start)
  std::thread thread_;
  std::atomic<bool> running_{false};
  std::atomic<bool> stopped_{false};
  std::atomic<uint64_t> trace_seq_{0};
  uint64_t trace_base_ = 0;
  bool any_namespace_ = false;

  std::mutex workers_mutex_;
  std::unordered_map<const session::SessionHost*, std::unique_ptr<WorkerSockets>> workers_;

  // Worker ids: the one our Snowflake generator mints with (fixed for the process) and the
  // partitions of wsgw.downstream we read (that id's, plus a re-acquired lease's if different).
  uint16_t snowflake_id_ = 0;
  std::vector<int32_t> downstream_partitions_read_;

  HeartbeatTracker heartbeat_tracker_;
  std::atomic<bool> reregister_requested_{false};
  std::atomic<bool> lease_lost_{false};
  std::shared_ptr<LivenessGather> gather_;           // service thread
  std::shared_ptr<Reregistration> reregistration_;  // service thread
  uint64_t reregistration_generation_ = 0;

  metrics::Counter& upstream_produced_;
  metrics::Counter& upstream_drops_;
  metrics::Counter& acks_produced_;
  metrics::Counter& downstream_records_;
  metrics::Counter& downstream_skipped_;
  metrics::Counter& downstream_malformed_;
  metrics::Counter& downstream_pauses_;
  metrics::Gauge& downstream_backlog_gauge_;
  // Bytes of dispatched commands not yet released by every worker (see ClusterOptions). Shared
  // with the commands' deleters, which may run after this node is gone (at shutdown).
  std::shared_ptr<std::atomic<int64_t>> downstream_backlog_ = std::make_shared<std::atomic<int64_t>>(0);
  metrics::Counter& redis_drops_;
  metrics::Histogram& api_to_gateway_latency_;
  metrics::Histogram& api_to_socket_latency_;

 public:
  // Observed by each worker once it has written an emit to its sockets: ws-api → the bytes
  // handed to the kernel (or queued behind a slow socket's backlog).
  metrics::Histogram& api_to_socket_latency() { return api_to_socket_latency_; }

 private:
  metrics::Counter& liveness_flushes_;
  metrics::Counter& liveness_sessions_;
  metrics::Counter& reregistrations_;
  metrics::Counter& reregistered_sessions_;
  metrics::Counter& worker_id_changes_;
  metrics::Family<metrics::Counter>& bus_commands_;
  // Client statistics mirrored on the service thread (counters advance by the difference).
  struct Mirror {
    metrics::Counter& counter;
    uint64_t last = 0;
    void set(uint64_t v) {
      if (v > last) counter.inc(v - last);
      last = v;
    }
  };
  Mirror producer_delivered_, producer_failed_, producer_queue_full_, producer_errors_;
  Mirror consumer_records_, consumer_errors_;
  Mirror redis_rejected_, redis_failed_, redis_connects_, bus_messages_, bus_reconnects_;
  metrics::Gauge& producer_pending_;
  metrics::Gauge& redis_queued_;
  metrics::Gauge& redis_connected_;
  metrics::Gauge& bus_connected_;
};

}  // namespace wsgw::cluster
