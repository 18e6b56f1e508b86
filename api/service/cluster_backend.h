#pragma once
// ws-api's cluster back-end (docs/cluster.md): what turns a validated wsgw.v1 request into
// Kafka records for exactly the gateway nodes that hold its targets, and presence reads into
// answers. It owns
//   - a Redis client with the session registry (who is where), the node registry (gateway
//     heartbeats, the reaper) and this replica's worker-id lease (the ack-id space);
//   - a Kafka producer for wsgw.downstream (one partition per gateway node), wsgw.broadcast
//     (everyone) and wsgw.upstream (disconnects of reaped sessions);
//   - a consumer of this replica's partition of wsgw.acks (clients' answers to EmitWithAck);
//   - one service thread: producer delivery reports, the acks consumer, ack timeouts and
//     disconnect checks, the reaper of dead gateway nodes, the lease renewal.
//
// Every request method is asynchronous: it returns at once and calls `done` exactly once,
// on the caller's thread (validation-level failures), the Redis client thread, or the service
// thread, after filling the response. The request and response must stay valid until then
// (gRPC's callback API guarantees that until the reactor finishes). Nothing blocks a gRPC
// thread.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <grpcpp/support/status.h>

#include "api/service/records.h"
#include "common/cluster/contract.h"
#include "wsgw/v1/api.pb.h"

namespace wsgw::redis {
class Client;
class SessionRegistry;
class NodeRegistry;
class WorkerIdLease;
struct SessionRecord;
}  // namespace wsgw::redis

namespace wsgw::kafka {
class Producer;
class Consumer;
}  // namespace wsgw::kafka

namespace wsgw::metrics {
class Registry;
class Counter;
class Gauge;
}  // namespace wsgw::metrics

namespace wsgw::api {

struct BackendOptions {
  std::string node_name;  // this replica (the pod name): its worker-id lease and logs
  std::string kafka_brokers;
  std::string redis_host = "127.0.0.1";
  uint16_t redis_port = 6379;
  std::string redis_username;
  std::string redis_password;
  size_t redis_queue_capacity = 65536;  // commands waiting in the Redis client; beyond: refused
  int32_t downstream_partitions = cluster::kDefaultDownstreamPartitions;
  // A gateway node whose heartbeat is older than this is dead: the reaper removes its
  // sessions and reports a `disconnected` (node_lost) event for each. Well above the
  // gateways' heartbeat period (2 s).
  std::chrono::milliseconds node_timeout{10000};
  std::chrono::milliseconds reaper_period{2000};
  std::chrono::milliseconds lease_ttl{15000};
  // EmitWithAck: waits at once at most; beyond it RESOURCE_EXHAUSTED.
  size_t max_pending_acks = 100000;
  // How often pending acks check that their socket still exists (OUTCOME_DISCONNECTED).
  std::chrono::milliseconds ack_liveness_period{1000};
  // Create the topics at start when missing. Off where the cluster cannot (librdkafka's mock
  // cluster has no CreateTopics): the topics must then exist already.
  bool create_topics = true;
  // librdkafka properties for every client (tests shorten timeouts with them).
  std::map<std::string, std::string> kafka_extra;
};

class ClusterBackend {
 public:
  using Done = std::function<void(grpc::Status)>;

  // `registry` may be null; otherwise it must outlive the back-end.
  ClusterBackend(BackendOptions options, metrics::Registry* registry);
  ~ClusterBackend();  // stop()
  ClusterBackend(const ClusterBackend&) = delete;
  ClusterBackend& operator=(const ClusterBackend&) = delete;

  // Blocks up to a few seconds: Redis, the lease, the topics, the producer, the acks
  // consumer, the service thread. False with `error` when Redis or Kafka is unusable.
  bool start(std::string& error);
  // Pending acks end with UNAVAILABLE, the producer is flushed for up to `flush_timeout`,
  // the lease is released. Idempotent.
  void stop(std::chrono::milliseconds flush_timeout = std::chrono::milliseconds(2000));

  void emit(const v1::EmitRequest& request, v1::EmitResponse& response, Done done);
  void emit_with_ack(const v1::EmitWithAckRequest& request, v1::EmitWithAckResponse& response,
                     Done done);
  void answer_ack(const v1::AnswerAckRequest& request, Done done);
  void join_room(const v1::JoinRoomRequest& request, v1::JoinRoomResponse& response, Done done);
  void leave_room(const v1::LeaveRoomRequest& request, v1::LeaveRoomResponse& response,
                  Done done);
  void disconnect_socket(const v1::DisconnectSocketRequest& request,
                         v1::DisconnectSocketResponse& response, Done done);
  void disconnect_user(const v1::DisconnectUserRequest& request,
                       v1::DisconnectUserResponse& response, Done done);
  void list_room_sockets(const v1::ListRoomSocketsRequest& request,
                         v1::ListRoomSocketsResponse& response, Done done);
  void list_room_users(const v1::ListRoomUsersRequest& request,
                       v1::ListRoomUsersResponse& response, Done done);
  void list_user_sockets(const v1::ListUserSocketsRequest& request,
                         v1::ListUserSocketsResponse& response, Done done);
  void count_rooms(const v1::CountRoomsRequest& request, v1::CountRoomsResponse& response,
                   Done done);

  const BackendOptions& options() const { return opt_; }
  uint16_t worker_id() const { return worker_id_; }
  size_t pending_acks() const;

 private:
  struct PendingAck;
  struct Metrics;
  // Sessions of several sids read in one pipeline; absent sids are skipped.
  using SessionsCallback = std::function<void(bool ok, std::vector<redis::SessionRecord>)>;

  // The partitions of `nodes` (worker id % partitions, cached); unknown nodes are left out.
  // `done` runs on the Redis client thread.
  void resolve_partitions(std::vector<std::string> nodes,
                          std::function<void(std::vector<std::pair<std::string, int32_t>>)> done);
  bool send(const DownstreamRecord& record);  // false: the producer refused it (counted)
  void fetch_sessions(std::vector<std::string> sids, SessionsCallback done);
  // Join/leave for a socket or a user's sockets in a namespace.
  // `matched` learns how many sockets the request concerns (before `done`, and only when
  // Redis answered); the RPC puts it into its response.
  using Matched = std::function<void(size_t sockets)>;
  void membership(bool join, std::string_view sid, std::string_view uid, std::string_view nsp,
                  const google::protobuf::RepeatedPtrField<std::string>& rooms,
                  std::string_view trace_id, Matched matched, Done done);
  void kick(std::string_view sid, std::string_view uid, std::string_view nsp,
            std::string_view reason, std::string_view notify_event, bool close_connection,
            std::string_view trace_id, Matched matched, Done done);
  // The sessions a request about `sid` or `uid` in `nsp` concerns.
  void target_sessions(std::string_view sid, std::string_view uid, std::string_view nsp,
                       bool all_namespaces, SessionsCallback done);

  void service_loop();
  void poll_acks();
  void expire_acks(int64_t now_steady_ms);
  void check_ack_liveness();
  void run_reaper();
  void finish_ack(uint64_t ack_id, v1::EmitWithAckResponse::Outcome outcome,
                  const v1::ClientEvent* answer, grpc::Status status = grpc::Status::OK);
  std::string new_trace_id();
  void register_client_metrics(metrics::Registry& registry);

  BackendOptions opt_;
  metrics::Registry* registry_ = nullptr;
  std::unique_ptr<redis::Client> redis_;
  std::unique_ptr<redis::SessionRegistry> sessions_;
  std::unique_ptr<redis::NodeRegistry> nodes_;
  std::unique_ptr<redis::WorkerIdLease> lease_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<kafka::Consumer> acks_;
  std::unique_ptr<Metrics> metrics_;
  uint16_t worker_id_ = 0;
  std::thread thread_;
  std::atomic<bool> running_{false};
  std::atomic<uint64_t> trace_seq_{0};
  uint64_t trace_base_ = 0;

  // node name -> (partition, expiry on the steady clock)
  std::mutex partitions_mutex_;
  std::unordered_map<std::string, std::pair<int32_t, int64_t>> partition_cache_;

  mutable std::mutex acks_mutex_;
  std::unordered_map<uint64_t, std::unique_ptr<PendingAck>> pending_;
  std::atomic<uint32_t> ack_seq_{0};
  size_t ack_liveness_cursor_ = 0;  // where the next liveness check starts (under acks_mutex_)

  std::mutex reaper_mutex_;
  std::vector<std::string> reaping_;  // nodes with a reap in progress (one at a time each)
};

}  // namespace wsgw::api
