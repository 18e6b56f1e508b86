#include "api/service/cluster_backend.h"

#include <algorithm>
#include <charconv>
#include <random>
#include <set>

#include <spdlog/spdlog.h>

#include "api/service/packet_builder.h"
#include "api/service/validate.h"
#include "common/codec/base64.h"
#include "common/kafka/admin.h"
#include "common/kafka/consumer.h"
#include "common/kafka/producer.h"
#include "common/metrics/registry.h"
#include "common/redis/client.h"
#include "common/redis/node_registry.h"
#include "common/redis/session_registry.h"
#include "common/redis/worker_id_lease.h"

namespace wsgw::api {
namespace {

using Clock = std::chrono::steady_clock;

int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

int64_t steady_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(Clock::now().time_since_epoch()).count();
}

grpc::Status unavailable(std::string_view what) {
  return {grpc::StatusCode::UNAVAILABLE, std::string(what)};
}

// Redis refused the command at once: its queue is full or it is stopping.
grpc::Status redis_busy() { return unavailable("Redis command queue full or ws-api stopping"); }

grpc::Status redis_failed(const std::string& error) {
  return unavailable("Redis: " + error);
}

std::vector<std::string_view> views(const google::protobuf::RepeatedPtrField<std::string>& items) {
  return {items.begin(), items.end()};
}

google::protobuf::Timestamp timestamp_of(int64_t ms) {
  google::protobuf::Timestamp t;
  t.set_seconds(ms / 1000);
  t.set_nanos(static_cast<int32_t>((ms % 1000) * 1000000));
  return t;
}

void fill_socket_info(const redis::SessionRecord& s, bool include_rooms, v1::SocketInfo& info) {
  info.set_sid(s.sid);
  info.set_uid(s.uid);
  info.set_namespace_(s.nsp);
  info.set_node(s.node);
  if (include_rooms) {
    for (const auto& room : s.rooms) info.add_rooms(room);
  }
  *info.mutable_connected_at() = timestamp_of(s.connected_at_ms);
}

// Page tokens: base64url("<listing hash>\n<last item>"), so a token from another listing is
// refused rather than silently starting somewhere odd.
std::string listing_hash(std::string_view kind, std::string_view nsp, std::string_view room) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  auto mix = [&h](std::string_view part) {
    for (unsigned char c : part) h = (h ^ c) * 1099511628211ULL;
    h = (h ^ 0xff) * 1099511628211ULL;
  };
  mix(kind);
  mix(nsp);
  mix(room);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

std::string make_page_token(const std::string& listing, std::string_view last) {
  std::string raw = listing;
  raw.push_back('\n');
  raw.append(last);
  return codec::base64url_encode(raw);
}

// Reads a token into the last item of the previous page ("" for no token). False: not ours.
bool read_page_token(std::string_view token, const std::string& listing, std::string& last) {
  last.clear();
  if (token.empty()) return true;
  std::string raw;
  if (!codec::base64url_decode(token, raw)) return false;
  if (raw.size() <= listing.size() || raw.compare(0, listing.size(), listing) != 0 ||
      raw[listing.size()] != '\n') {
    return false;
  }
  last = raw.substr(listing.size() + 1);
  return true;
}

constexpr int32_t kDefaultPageSize = 100;
constexpr int32_t kMaxPageSize = 1000;

// Where a paged listing of one room starts. False: the token belongs to another listing.
struct Paging {
  std::string listing;  // listing_hash of the listing
  std::string last;     // the previous page's last item; "" on the first page
  int32_t size = kDefaultPageSize;

  bool start(std::string_view kind, std::string_view nsp, std::string_view room,
             std::string_view token, int32_t requested_size) {
    listing = listing_hash(kind, nsp, room);
    size = requested_size <= 0 ? kDefaultPageSize : std::min(requested_size, kMaxPageSize);
    return read_page_token(token, listing, last);
  }
};
constexpr int32_t kDefaultUserSocketLimit = 100;
constexpr size_t kReapBatch = 500;
constexpr size_t kFetchWindow = 512;       // session reads of one request in the Redis queue
constexpr size_t kAckLivenessBatch = 8192;  // pending acks checked per liveness period

// Sorted items after `last`, at most `size` of them; `next` is set when more remain.
std::vector<std::string> page_of(std::vector<std::string> items, const std::string& last,
                                 int32_t size, bool& more) {
  std::sort(items.begin(), items.end());
  items.erase(std::unique(items.begin(), items.end()), items.end());
  auto begin = last.empty() ? items.begin() : std::upper_bound(items.begin(), items.end(), last);
  const auto available = static_cast<size_t>(items.end() - begin);
  const auto take = std::min(available, static_cast<size_t>(size));
  more = available > take;
  return {begin, begin + static_cast<std::ptrdiff_t>(take)};
}

}  // namespace

struct ClusterBackend::PendingAck {
  std::string sid;
  std::string trace_id;
  v1::EmitWithAckResponse* response = nullptr;
  Done done;
  int64_t deadline_steady_ms = 0;
};

struct ClusterBackend::Metrics {
  metrics::Counter* records = nullptr;       // downstream records queued
  metrics::Counter* record_drops = nullptr;  // refused by the producer
  metrics::Counter* delivery_failures = nullptr;
  metrics::Counter* unknown_nodes = nullptr;
  metrics::Counter* reaped_sessions = nullptr;
  metrics::Counter* reaped_nodes = nullptr;
  metrics::Counter* acks_unmatched = nullptr;
  metrics::Family<metrics::Counter>* ack_outcomes = nullptr;
};

ClusterBackend::ClusterBackend(BackendOptions options, metrics::Registry* registry)
    : opt_(std::move(options)), registry_(registry), metrics_(std::make_unique<Metrics>()) {
  std::random_device rd;
  trace_base_ = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  if (registry != nullptr) {
    auto& r = *registry;
    metrics_->records = &r.counter("wsgw_api_downstream_records_total",
                                   "Records ws-api queued for the gateways (downstream and broadcast)")
                            .with({});
    metrics_->record_drops =
        &r.counter("wsgw_api_downstream_drops_total",
                   "Records the Kafka producer refused (local queue full or record too large)")
             .with({});
    metrics_->delivery_failures =
        &r.counter("wsgw_api_kafka_delivery_failures_total",
                   "Records Kafka did not acknowledge within message.timeout.ms")
             .with({});
    metrics_->unknown_nodes =
        &r.counter("wsgw_api_unknown_nodes_total",
                   "Target nodes skipped because Redis knows no worker id for them")
             .with({});
    metrics_->reaped_sessions =
        &r.counter("wsgw_api_reaped_sessions_total",
                   "Sessions of dead gateway nodes removed by the reaper (a disconnect each)")
             .with({});
    metrics_->reaped_nodes =
        &r.counter("wsgw_api_reaped_nodes_total", "Dead gateway nodes reaped completely").with({});
    metrics_->acks_unmatched =
        &r.counter("wsgw_api_acks_unmatched_total",
                   "Client acks on wsgw.acks with no pending EmitWithAck (late or foreign)")
             .with({});
    metrics_->ack_outcomes = &r.counter("wsgw_api_emit_with_ack_total",
                                        "EmitWithAck waits, by outcome", {"outcome"});
    r.gauge_callback("wsgw_api_pending_acks", "EmitWithAck calls waiting for a client's answer",
                     [this] { return static_cast<double>(pending_acks()); });
  }
}

ClusterBackend::~ClusterBackend() { stop(std::chrono::milliseconds(0)); }

void ClusterBackend::register_client_metrics(metrics::Registry& r) {
  // Read at scrape time from the clients' own counters (no hot-path cost).
  r.gauge_callback("wsgw_api_kafka_producer_pending",
                   "Records the Kafka producer holds: queued, in flight or awaiting a report",
                   [this] { return static_cast<double>(producer_->pending()); });
  r.counter_callback("wsgw_api_kafka_producer_delivered_total",
                     "Records the brokers acknowledged",
                     [this] { return static_cast<double>(producer_->stats().delivered); });
  r.counter_callback("wsgw_api_kafka_producer_queue_full_total",
                     "Records refused because the producer's local queue was full",
                     [this] { return static_cast<double>(producer_->stats().queue_full); });
  r.gauge_callback("wsgw_api_redis_queued", "Redis commands waiting to be sent",
                   [this] { return static_cast<double>(redis_->queued()); });
  r.counter_callback("wsgw_api_redis_rejected_total",
                     "Redis commands refused: the client's queue was full or it was stopping",
                     [this] { return static_cast<double>(redis_->stats().rejected_full); });
  r.gauge_callback("wsgw_api_redis_connected", "1 while the Redis connection is up",
                   [this] { return redis_->connected() ? 1.0 : 0.0; });
}

bool ClusterBackend::start(std::string& error) {
  redis::ClientOptions ro;
  ro.host = opt_.redis_host;
  ro.port = opt_.redis_port;
  ro.username = opt_.redis_username;
  ro.password = opt_.redis_password;
  ro.queue_capacity = opt_.redis_queue_capacity;
  redis_ = std::make_unique<redis::Client>(ro);
  if (!redis_->wait_connected(std::chrono::seconds(5))) {
    error = "cannot reach Redis at " + opt_.redis_host + ":" + std::to_string(opt_.redis_port) +
            ": " + redis_->last_error();
    return false;
  }
  sessions_ = std::make_unique<redis::SessionRegistry>(*redis_);
  nodes_ = std::make_unique<redis::NodeRegistry>(*redis_);
  // ws-api replicas lease their ids in a key space of their own (the ack-id space), apart
  // from the gateways' Snowflake ids.
  // Ids 0..1023 keep every ack id below 2^42 (common/cluster/contract.h).
  lease_ = std::make_unique<redis::WorkerIdLease>(*redis_,
                                                  std::string(redis::kDefaultKeyPrefix) + "api:");
  auto lease = lease_->acquire(opt_.node_name, opt_.lease_ttl);
  if (!lease.ok()) {
    error = "worker-id lease for " + opt_.node_name + ": " + lease.error;
    return false;
  }
  worker_id_ = lease.value;

  const int32_t p = opt_.downstream_partitions;
  if (opt_.create_topics &&
      !kafka::create_topics(opt_.kafka_brokers,
                            {{std::string(cluster::kUpstreamTopic), -1, -1},
                             {std::string(cluster::kDownstreamTopic), p, -1},
                             {std::string(cluster::kBroadcastTopic), 1, -1},
                             {std::string(cluster::kAcksTopic), p, -1}},
                            error, 10000, opt_.kafka_extra)) {
    error = "creating the Kafka topics: " + error;
    return false;
  }

  kafka::ProducerConfig pc;
  pc.brokers = opt_.kafka_brokers;
  pc.client_id = "ws-api-" + opt_.node_name;
  pc.linger_ms = 1;  // pushes are latency-sensitive; batching still happens under load
  pc.extra = opt_.kafka_extra;
  pc.on_delivery = [this](const kafka::DeliveryReport& report) {
    if (!report.ok() && metrics_->delivery_failures != nullptr) metrics_->delivery_failures->inc();
  };
  producer_ = kafka::Producer::create(pc, error);
  if (!producer_) return false;

  kafka::ConsumerConfig cc;
  cc.brokers = opt_.kafka_brokers;
  cc.group_id = "wsgw-api-acks-" + opt_.node_name;
  cc.client_id = "ws-api-acks-" + opt_.node_name;
  cc.manual_assignment = true;
  cc.partitions = {{std::string(cluster::kAcksTopic), partition_for_worker(worker_id_, p)}};
  cc.extra = opt_.kafka_extra;
  acks_ = kafka::Consumer::create(cc, error);
  if (!acks_) return false;

  if (registry_ != nullptr) register_client_metrics(*registry_);
  running_ = true;
  thread_ = std::thread([this] { service_loop(); });
  spdlog::info("cluster back-end: node {} (ack worker id {}), Redis {}:{}, Kafka {}, "
               "{} downstream partitions",
               opt_.node_name, worker_id_, opt_.redis_host, opt_.redis_port, opt_.kafka_brokers, p);
  return true;
}

void ClusterBackend::stop(std::chrono::milliseconds flush_timeout) {
  if (running_.exchange(false) && thread_.joinable()) thread_.join();
  {
    std::unordered_map<uint64_t, std::unique_ptr<PendingAck>> pending;
    {
      std::lock_guard lock(acks_mutex_);
      pending.swap(pending_);
    }
    for (auto& [id, ack] : pending) ack->done(unavailable("ws-api is shutting down"));
  }
  if (acks_) acks_->close();
  if (producer_) producer_->flush(static_cast<int>(flush_timeout.count()));
  if (lease_ && lease_->id()) lease_->release(std::chrono::milliseconds(500));
  if (redis_) redis_->stop();
}

size_t ClusterBackend::pending_acks() const {
  std::lock_guard lock(acks_mutex_);
  return pending_.size();
}

std::string ClusterBackend::new_trace_id() {
  char text[33];
  std::snprintf(text, sizeof text, "%016llx%016llx", static_cast<unsigned long long>(trace_base_),
                static_cast<unsigned long long>(trace_seq_.fetch_add(1) + 1));
  return text;
}

// ---------------------------------------------------------------------------------------------
// Plumbing

bool ClusterBackend::send(const DownstreamRecord& record) {
  const auto headers = record.headers.view();
  auto result = record.partition >= 0
                    ? producer_->send_to(record.topic, record.partition, record.key, record.value,
                                         headers)
                    : producer_->send(record.topic, record.key, record.value, headers);
  if (result != kafka::Producer::SendResult::queued) {
    if (metrics_->record_drops != nullptr) metrics_->record_drops->inc();
    return false;
  }
  if (metrics_->records != nullptr) metrics_->records->inc();
  return true;
}

void ClusterBackend::resolve_partitions(
    std::vector<std::string> nodes,
    std::function<void(std::vector<std::pair<std::string, int32_t>>)> done) {
  std::sort(nodes.begin(), nodes.end());
  nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
  std::vector<std::pair<std::string, int32_t>> known;
  std::vector<std::string> missing;
  const int64_t now = steady_ms();
  {
    std::lock_guard lock(partitions_mutex_);
    for (auto& node : nodes) {
      auto it = partition_cache_.find(node);
      if (it != partition_cache_.end() && it->second.second > now) {
        known.emplace_back(node, it->second.first);
      } else {
        missing.push_back(std::move(node));
      }
    }
  }
  if (missing.empty()) {
    done(std::move(known));
    return;
  }
  redis::Command mget{"MGET"};
  for (const auto& node : missing) mget.arg(sessions_->keys().worker_id_of(node));
  auto ok = redis_->submit(
      std::move(mget), [this, known = std::move(known), missing = std::move(missing),
                        done = std::move(done)](redis::Reply reply) mutable {
        const int64_t expiry = steady_ms() + 10000;  // a node keeps its id; 10 s bounds staleness
        const auto& values = reply.elements();
        for (size_t i = 0; i < missing.size(); ++i) {
          uint32_t id = 0;
          bool parsed = false;
          if (i < values.size() && values[i].is_string()) {
            const auto& text = values[i].str();
            auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
            parsed = ec == std::errc{} && end == text.data() + text.size();
          }
          if (!parsed) {
            // Without its worker id we cannot address the node's partition; it may have just
            // died (its lease memory expired). Counted, not fatal.
            if (metrics_->unknown_nodes != nullptr) metrics_->unknown_nodes->inc();
            continue;
          }
          const int32_t partition =
              partition_for_worker(static_cast<uint16_t>(id), opt_.downstream_partitions);
          {
            std::lock_guard lock(partitions_mutex_);
            partition_cache_[missing[i]] = {partition, expiry};
          }
          known.emplace_back(std::move(missing[i]), partition);
        }
        done(std::move(known));
      });
  if (!ok) done({});
}

void ClusterBackend::fetch_sessions(std::vector<std::string> sids, SessionsCallback done) {
  if (sids.empty()) {
    done(true, {});
    return;
  }
  // At most kFetchWindow reads of one request in the Redis queue at a time: a room of 100,000
  // sockets is read in turns (each answer submits the next read) instead of overflowing the
  // bounded queue and starving every other call.
  struct Fetch {
    std::mutex mutex;
    redis::SessionRegistry* sessions = nullptr;
    std::vector<std::string> sids;
    size_t next = 0;       // sids[next] is the next one to submit
    size_t remaining = 0;  // answers still expected
    bool ok = true;
    std::vector<redis::SessionRecord> records;
    SessionsCallback done;

    // Submits the read of sids[i]; its answer submits the next one. After a failure (a
    // refused submission, an error answer) the reads not yet submitted are given up at once:
    // the result is a failure anyway, and chaining them could recurse once per socket.
    static void read(const std::shared_ptr<Fetch>& f, size_t i) {
      auto complete = [f](std::optional<redis::SessionRecord> record, bool ok) {
        bool last = false;
        std::optional<size_t> following;
        {
          std::lock_guard lock(f->mutex);
          if (!ok) {
            f->ok = false;
            f->remaining -= f->sids.size() - f->next;
            f->next = f->sids.size();
          }
          if (record) f->records.push_back(std::move(*record));
          last = --f->remaining == 0;
          if (f->next < f->sids.size()) following = f->next++;
        }
        if (following) read(f, *following);
        if (last) f->done(f->ok, std::move(f->records));
      };
      const bool submitted = f->sessions->session(
          f->sids[i], [complete](redis::Result<std::optional<redis::SessionRecord>> r) {
            complete(r.ok() ? std::move(r.value) : std::nullopt, r.ok());
          });
      if (!submitted) complete(std::nullopt, false);
    }
  };
  auto fetch = std::make_shared<Fetch>();
  fetch->sessions = sessions_.get();
  fetch->remaining = sids.size();
  fetch->sids = std::move(sids);
  fetch->done = std::move(done);
  size_t first = 0;
  {
    std::lock_guard lock(fetch->mutex);
    first = std::min(kFetchWindow, fetch->sids.size());
    fetch->next = first;
  }
  for (size_t i = 0; i < first; ++i) Fetch::read(fetch, i);
}

void ClusterBackend::target_sessions(std::string_view sid, std::string_view uid,
                                     std::string_view nsp, bool all_namespaces,
                                     SessionsCallback done) {
  std::string ns(nsp);
  auto filter = [ns, all_namespaces, done = std::move(done)](
                    bool ok, std::vector<redis::SessionRecord> records) {
    if (!all_namespaces) {
      std::erase_if(records, [&ns](const redis::SessionRecord& r) { return r.nsp != ns; });
    }
    done(ok, std::move(records));
  };
  if (!sid.empty()) {
    fetch_sessions({std::string(sid)}, std::move(filter));
    return;
  }
  // The filter is moved into the callback once; a refused submit reports through `failed`.
  auto shared_filter = std::make_shared<decltype(filter)>(std::move(filter));
  bool submitted = sessions_->sockets_of_user(
      uid, [this, shared_filter](redis::Result<std::vector<std::string>> r) {
        if (!r.ok()) {
          (*shared_filter)(false, {});
          return;
        }
        fetch_sessions(std::move(r.value), *shared_filter);
      });
  if (!submitted) (*shared_filter)(false, {});
}

// ---------------------------------------------------------------------------------------------
// Emit

void ClusterBackend::emit(const v1::EmitRequest& request, v1::EmitResponse& response, Done done) {
  const std::string trace = request.trace_id().empty() ? new_trace_id() : request.trace_id();
  response.set_trace_id(trace);
  const std::string_view nsp = effective_namespace(request.namespace_());

  // Everything the record needs, built once; per node only the routing headers differ.
  struct Plan {
    SocketIoPacket packet;
    std::vector<std::string_view> attachments;
    std::vector<std::string_view> except;
    EmitTarget target;
  };
  auto plan = std::make_shared<Plan>();
  plan->packet = build_emit_packet(request);
  plan->attachments = views(request.attachments());
  plan->except = views(request.except_sids());
  switch (request.target_case()) {
    case v1::EmitRequest::kSid: plan->target = EmitTarget::socket(request.sid()); break;
    case v1::EmitRequest::kUid: plan->target = EmitTarget::user(request.uid()); break;
    case v1::EmitRequest::kRoom: plan->target = EmitTarget::room(request.room()); break;
    default: plan->target = EmitTarget::everyone(); break;
  }

  auto record_for = [this, plan, &request, nsp, trace](std::string_view node, int32_t partition) {
    DownstreamContext ctx{node, partition, trace, wall_ms()};
    return make_emit_record(plan->packet, plan->attachments, nsp, plan->target, plan->except,
                            request.is_volatile(), ctx);
  };
  auto send_to_nodes = [this, record_for, &response, done](std::vector<std::string> nodes) {
    resolve_partitions(std::move(nodes),
                       [this, record_for, &response, done](auto targets) {
                         uint32_t sent = 0;
                         for (const auto& [node, partition] : targets) {
                           if (send(record_for(node, partition))) ++sent;
                         }
                         response.set_target_nodes(sent);
                         if (sent < targets.size()) {
                           done({grpc::StatusCode::RESOURCE_EXHAUSTED,
                                 "Kafka producer queue full: sent to " + std::to_string(sent) +
                                     " of " + std::to_string(targets.size()) + " nodes"});
                         } else {
                           done(grpc::Status::OK);
                         }
                       });
  };
  auto on_nodes = [send_to_nodes, done](redis::Result<std::vector<std::string>> r) {
    if (!r.ok()) {
      done(redis_failed(r.error));
      return;
    }
    send_to_nodes(std::move(r.value));
  };

  bool submitted = true;
  switch (plan->target.kind) {
    case EmitTarget::Kind::everyone: {
      // One record on wsgw.broadcast, read by every gateway; target_nodes counts the live ones.
      if (!send(record_for("", -1))) {
        done({grpc::StatusCode::RESOURCE_EXHAUSTED, "Kafka producer queue full"});
        return;
      }
      submitted = nodes_->live_nodes(
          wall_ms(), opt_.node_timeout.count(),
          [&response, done](redis::Result<std::vector<std::string>> r) {
            response.set_target_nodes(r.ok() ? static_cast<uint32_t>(r.value.size()) : 0);
            done(grpc::Status::OK);
          });
      if (!submitted) {
        done(grpc::Status::OK);  // sent; only the count is unknown
      }
      return;
    }
    case EmitTarget::Kind::sid:
      submitted = sessions_->node_of(
          request.sid(), [send_to_nodes, done](redis::Result<std::optional<std::string>> r) {
            if (!r.ok()) {
              done(redis_failed(r.error));
              return;
            }
            std::vector<std::string> nodes;
            if (r.value) nodes.push_back(std::move(*r.value));
            send_to_nodes(std::move(nodes));
          });
      break;
    case EmitTarget::Kind::uid:
      submitted = sessions_->nodes_for_user(request.uid(), on_nodes);
      break;
    case EmitTarget::Kind::room:
      submitted = sessions_->nodes_for_room(nsp, request.room(), on_nodes);
      break;
  }
  if (!submitted) done(redis_busy());
}

// ---------------------------------------------------------------------------------------------
// Acks

void ClusterBackend::emit_with_ack(const v1::EmitWithAckRequest& request,
                                   v1::EmitWithAckResponse& response, Done done) {
  const std::string trace = request.trace_id().empty() ? new_trace_id() : request.trace_id();
  response.set_trace_id(trace);
  int64_t timeout_ms = 10000;
  if (request.has_timeout()) {
    timeout_ms = request.timeout().seconds() * 1000 + request.timeout().nanos() / 1000000;
  }
  const std::string_view nsp = effective_namespace(request.namespace_());
  auto on_session = [this, &request, &response, done, trace, timeout_ms,
                     nsp](bool ok, std::vector<redis::SessionRecord> found) {
    if (!ok) {
      done(unavailable("Redis unreachable"));
      return;
    }
    if (found.empty()) {
      done({grpc::StatusCode::NOT_FOUND,
            "socket " + request.sid() + " is not connected to namespace " + std::string(nsp)});
      return;
    }
    const std::string node = found.front().node;
    resolve_partitions({node}, [this, &request, &response, done, trace, timeout_ms, nsp,
                                node](auto targets) {
      if (targets.empty()) {
        done(unavailable("no worker id known for gateway node " + node));
        return;
      }
      const uint64_t ack_id = (static_cast<uint64_t>(worker_id_) << cluster::kAckIdWorkerShift) |
                              ack_seq_.fetch_add(1);
      // Everything read from `request` is read before the ack is published in pending_: from
      // then on the service thread may expire it (a timeout of a few ns) or stop() end it, and
      // gRPC frees the request once the call is finished.
      const SocketIoPacket packet = build_emit_packet(request, ack_id);
      const auto attachments = views(request.attachments());
      DownstreamContext ctx{targets.front().first, targets.front().second, trace, wall_ms()};
      const DownstreamRecord record = make_emit_record(
          packet, attachments, nsp, EmitTarget::socket(request.sid()), {}, false, ctx);
      {
        std::lock_guard lock(acks_mutex_);
        if (pending_.size() >= opt_.max_pending_acks) {
          done({grpc::StatusCode::RESOURCE_EXHAUSTED,
                "too many EmitWithAck calls waiting (--max-pending-acks)"});
          return;
        }
        auto pending = std::make_unique<PendingAck>();
        pending->sid = request.sid();
        pending->trace_id = trace;
        pending->response = &response;
        pending->done = done;
        pending->deadline_steady_ms = steady_ms() + timeout_ms;
        pending_[ack_id] = std::move(pending);
      }
      if (!send(record)) {
        finish_ack(ack_id, v1::EmitWithAckResponse::OUTCOME_UNSPECIFIED, nullptr,
                   {grpc::StatusCode::RESOURCE_EXHAUSTED, "Kafka producer queue full"});
      }
    });
  };
  target_sessions(request.sid(), "", nsp, false, std::move(on_session));
}

void ClusterBackend::finish_ack(uint64_t ack_id, v1::EmitWithAckResponse::Outcome outcome,
                                const v1::ClientEvent* answer, grpc::Status status) {
  std::unique_ptr<PendingAck> pending;
  {
    std::lock_guard lock(acks_mutex_);
    auto it = pending_.find(ack_id);
    if (it == pending_.end()) return;  // answered, expired or stopped already
    pending = std::move(it->second);
    pending_.erase(it);
  }
  if (status.ok()) {
    pending->response->set_outcome(outcome);
    if (answer != nullptr) {
      pending->response->set_args_json(answer->event().args_json());
      for (const auto& attachment : answer->event().attachments()) {
        pending->response->add_attachments(attachment);
      }
    }
    if (metrics_->ack_outcomes != nullptr) {
      std::string_view name = outcome == v1::EmitWithAckResponse::OUTCOME_ACKED     ? "acked"
                              : outcome == v1::EmitWithAckResponse::OUTCOME_TIMEOUT ? "timeout"
                                                                                     : "disconnected";
      metrics_->ack_outcomes->with({name}).inc();
    }
  }
  pending->done(std::move(status));
}

void ClusterBackend::poll_acks() {
  kafka::Message message;
  // Drain what is there, but bounded so the loop's other duties keep their period.
  for (int i = 0; i < 1000 && acks_->poll(i == 0 ? 20 : 0, message); ++i) {
    UpstreamOp op{};
    v1::ClientEvent event;
    std::string error;
    if (!parse_upstream(message, op, event, error) || op != UpstreamOp::ack) {
      if (metrics_->acks_unmatched != nullptr) metrics_->acks_unmatched->inc();
      continue;
    }
    const uint64_t ack_id = event.event().ack().ack_id();
    bool matches = false;
    {
      std::lock_guard lock(acks_mutex_);
      auto it = pending_.find(ack_id);
      matches = it != pending_.end() && it->second->sid == event.sid();
    }
    if (!matches) {
      if (metrics_->acks_unmatched != nullptr) metrics_->acks_unmatched->inc();
      continue;
    }
    finish_ack(ack_id, v1::EmitWithAckResponse::OUTCOME_ACKED, &event);
  }
}

void ClusterBackend::expire_acks(int64_t now) {
  std::vector<uint64_t> expired;
  {
    std::lock_guard lock(acks_mutex_);
    for (const auto& [id, ack] : pending_) {
      if (ack->deadline_steady_ms <= now) expired.push_back(id);
    }
  }
  for (uint64_t id : expired) finish_ack(id, v1::EmitWithAckResponse::OUTCOME_TIMEOUT, nullptr);
}

void ClusterBackend::check_ack_liveness() {
  // One pipelined EXISTS per waiting socket: a socket gone from the registry (disconnected or
  // reaped) will never answer. At most kAckLivenessBatch per period, taking turns, so a
  // hundred thousand waiting acks never flood the bounded Redis queue (each is then checked
  // every few periods instead of every one).
  std::vector<std::pair<uint64_t, std::string>> waiting;
  {
    std::lock_guard lock(acks_mutex_);
    if (ack_liveness_cursor_ >= pending_.size()) ack_liveness_cursor_ = 0;
    auto it = pending_.begin();
    std::advance(it, static_cast<std::ptrdiff_t>(ack_liveness_cursor_));
    for (; it != pending_.end() && waiting.size() < kAckLivenessBatch; ++it) {
      waiting.emplace_back(it->first, it->second->sid);
    }
    ack_liveness_cursor_ += waiting.size();
  }
  if (waiting.empty()) return;
  std::vector<redis::Command> commands;
  commands.reserve(waiting.size());
  for (const auto& [id, sid] : waiting) {
    commands.push_back({"EXISTS", sessions_->keys().session(sid)});
  }
  redis_->submit_many(std::move(commands),
                      [this, waiting = std::move(waiting)](std::vector<redis::Reply> replies) {
                        for (size_t i = 0; i < waiting.size() && i < replies.size(); ++i) {
                          if (replies[i].is_integer() && replies[i].integer() == 0) {
                            finish_ack(waiting[i].first,
                                       v1::EmitWithAckResponse::OUTCOME_DISCONNECTED, nullptr);
                          }
                        }
                      });
}

void ClusterBackend::answer_ack(const v1::AnswerAckRequest& request, Done done) {
  const std::string trace = request.trace_id().empty() ? new_trace_id() : request.trace_id();
  const auto& ack = request.ack();
  auto send_answer = [this, &request, done, trace](std::string node) {
    if (node.empty()) {
      done(grpc::Status::OK);  // the socket is gone: nobody to answer (see AnswerAck's doc)
      return;
    }
    resolve_partitions({std::move(node)}, [this, &request, done, trace](auto targets) {
      if (targets.empty()) {
        done(grpc::Status::OK);
        return;
      }
      const auto& ack = request.ack();
      const SocketIoPacket packet = build_ack_packet(request);
      const auto attachments = views(request.attachments());
      DownstreamContext ctx{targets.front().first, targets.front().second, trace, wall_ms()};
      const bool sent = send(make_emit_record(packet, attachments, ack.namespace_(),
                                              EmitTarget::socket(ack.sid()), {}, false, ctx));
      done(sent ? grpc::Status::OK
                : grpc::Status{grpc::StatusCode::RESOURCE_EXHAUSTED, "Kafka producer queue full"});
    });
  };
  if (!ack.node().empty()) {
    send_answer(ack.node());
    return;
  }
  bool submitted = sessions_->node_of(
      ack.sid(), [send_answer, done](redis::Result<std::optional<std::string>> r) {
        if (!r.ok()) {
          done(redis_failed(r.error));
          return;
        }
        send_answer(r.value.value_or(""));
      });
  if (!submitted) done(redis_busy());
}

// ---------------------------------------------------------------------------------------------
// Rooms and disconnects

void ClusterBackend::membership(bool join, std::string_view sid, std::string_view uid,
                                std::string_view nsp,
                                const google::protobuf::RepeatedPtrField<std::string>& rooms,
                                std::string_view trace_id, Matched matched, Done done) {
  const std::string trace = trace_id.empty() ? new_trace_id() : std::string(trace_id);
  const std::string ns(effective_namespace(nsp));
  const SocketTarget target = sid.empty() ? SocketTarget::user(uid) : SocketTarget::socket(sid);
  target_sessions(sid, uid, ns, false, [this, join, target, ns, &rooms, trace, matched, done](
                                           bool ok, std::vector<redis::SessionRecord> found) {
    if (!ok) {
      done(unavailable("Redis unreachable"));
      return;
    }
    matched(found.size());
    std::vector<std::string> nodes;
    for (const auto& s : found) {
      nodes.push_back(s.node);
      // Also written here, not only by the gateway once it applied the command, so that a
      // presence read right after JoinRoom returns already sees it. The scripts are
      // idempotent, so the gateway's own write changes nothing.
      for (const auto& room : rooms) {
        if (join) {
          sessions_->join(s.sid, room);
        } else {
          sessions_->leave(s.sid, room);
        }
      }
    }
    resolve_partitions(std::move(nodes), [this, join, target, ns, &rooms, trace,
                                          done](auto targets) {
      bool all_sent = true;
      for (const auto& [node, partition] : targets) {
        DownstreamContext ctx{node, partition, trace, wall_ms()};
        for (const auto& room : rooms) {
          all_sent &= send(join ? make_join_record(ns, target, room, ctx)
                                : make_leave_record(ns, target, room, ctx));
        }
      }
      done(all_sent ? grpc::Status::OK
                    : grpc::Status{grpc::StatusCode::RESOURCE_EXHAUSTED,
                                   "Kafka producer queue full"});
    });
  });
}

void ClusterBackend::join_room(const v1::JoinRoomRequest& request, v1::JoinRoomResponse& response,
                               Done done) {
  membership(true, request.sid(), request.uid(), request.namespace_(), request.rooms(),
             request.trace_id(),
             [&response](size_t n) { response.set_sockets(static_cast<uint32_t>(n)); }, done);
}

void ClusterBackend::leave_room(const v1::LeaveRoomRequest& request,
                                v1::LeaveRoomResponse& response, Done done) {
  membership(false, request.sid(), request.uid(), request.namespace_(), request.rooms(),
             request.trace_id(),
             [&response](size_t n) { response.set_sockets(static_cast<uint32_t>(n)); }, done);
}

void ClusterBackend::kick(std::string_view sid, std::string_view uid, std::string_view nsp,
                          std::string_view reason, std::string_view notify_event,
                          bool close_connection, std::string_view trace_id, Matched matched,
                          Done done) {
  const std::string trace = trace_id.empty() ? new_trace_id() : std::string(trace_id);
  const std::string ns(effective_namespace(nsp));
  const std::string why = reason.empty() ? std::string("kicked") : std::string(reason);
  const std::string notify(notify_event);
  const SocketTarget target = sid.empty() ? SocketTarget::user(uid) : SocketTarget::socket(sid);
  target_sessions(sid, uid, ns, false, [this, target, ns, why, notify, trace, matched,
                                        close_connection, done](bool ok, std::vector<redis::SessionRecord> list) {
    if (!ok) {
      done(unavailable("Redis unreachable"));
      return;
    }
    matched(list.size());
    std::vector<std::string> nodes;
    for (const auto& s : list) nodes.push_back(s.node);
    resolve_partitions(std::move(nodes), [this, target, ns, why, notify, trace, close_connection,
                                          done](auto targets) {
      bool all_sent = true;
      for (const auto& [node, partition] : targets) {
        DownstreamContext ctx{node, partition, trace, wall_ms()};
        if (!notify.empty()) {
          // Same partition, sent first: the client gets the notice before the DISCONNECT.
          const SocketIoPacket notice = build_disconnect_notice(ns, notify, why);
          const EmitTarget to = target.kind == SocketTarget::Kind::sid
                                    ? EmitTarget::socket(target.key)
                                    : EmitTarget::user(target.key);
          all_sent &= send(make_emit_record(notice, {}, ns, to, {}, false, ctx));
        }
        all_sent &= send(make_kick_record(ns, target, why, ctx, close_connection));
      }
      done(all_sent ? grpc::Status::OK
                    : grpc::Status{grpc::StatusCode::RESOURCE_EXHAUSTED,
                                   "Kafka producer queue full"});
    });
  });
}

void ClusterBackend::disconnect_socket(const v1::DisconnectSocketRequest& request,
                                       v1::DisconnectSocketResponse& response, Done done) {
  // The socket's namespace is whatever it was registered with; read it first.
  fetch_sessions({request.sid()}, [this, &request, &response, done](
                                      bool ok, std::vector<redis::SessionRecord> list) {
    if (!ok || list.empty()) {
      if (!ok) {
        done(unavailable("Redis unreachable"));
      } else {
        response.set_found(false);
        done(grpc::Status::OK);
      }
      return;
    }
    kick(request.sid(), "", list.front().nsp, request.reason(), request.notify_event(),
         request.close_connection(), request.trace_id(),
         [&response](size_t n) { response.set_found(n > 0); }, done);
  });
}

void ClusterBackend::disconnect_user(const v1::DisconnectUserRequest& request,
                                     v1::DisconnectUserResponse& response, Done done) {
  kick("", request.uid(), request.namespace_(), request.reason(), request.notify_event(),
       request.close_connection(), request.trace_id(),
       [&response](size_t n) { response.set_sockets(static_cast<uint32_t>(n)); }, done);
}

// ---------------------------------------------------------------------------------------------
// Presence

void ClusterBackend::list_room_sockets(const v1::ListRoomSocketsRequest& request,
                                       v1::ListRoomSocketsResponse& response, Done done) {
  const std::string_view nsp = effective_namespace(request.namespace_());
  Paging paging;
  if (!paging.start("room-sockets", nsp, request.room(), request.page_token(), request.page_size())) {
    done({grpc::StatusCode::INVALID_ARGUMENT, "page_token: not a token of this listing"});
    return;
  }
  const std::string listing = paging.listing, last = paging.last;
  const int32_t size = paging.size;
  bool submitted = sessions_->sockets_in_room(
      nsp, request.room(),
      [this, &request, &response, done, listing, last, size](
          redis::Result<std::vector<std::string>> r) {
        if (!r.ok()) {
          done(redis_failed(r.error));
          return;
        }
        bool more = false;
        auto page = page_of(std::move(r.value), last, size, more);
        if (more) response.set_next_page_token(make_page_token(listing, page.back()));
        fetch_sessions(std::move(page), [&request, &response, done](
                                            bool ok, std::vector<redis::SessionRecord> list) {
          if (!ok) {
            done(unavailable("Redis unreachable"));
            return;
          }
          std::sort(list.begin(), list.end(),
                    [](const auto& a, const auto& b) { return a.sid < b.sid; });
          for (const auto& s : list) {
            fill_socket_info(s, request.include_rooms(), *response.add_sockets());
          }
          done(grpc::Status::OK);
        });
      });
  if (!submitted) done(redis_busy());
}

void ClusterBackend::list_room_users(const v1::ListRoomUsersRequest& request,
                                     v1::ListRoomUsersResponse& response, Done done) {
  const std::string_view nsp = effective_namespace(request.namespace_());
  Paging paging;
  if (!paging.start("room-users", nsp, request.room(), request.page_token(), request.page_size())) {
    done({grpc::StatusCode::INVALID_ARGUMENT, "page_token: not a token of this listing"});
    return;
  }
  const std::string listing = paging.listing, last = paging.last;
  const int32_t size = paging.size;
  bool submitted = sessions_->sockets_in_room(
      nsp, request.room(),
      [this, &response, done, listing, last, size](redis::Result<std::vector<std::string>> r) {
        if (!r.ok()) {
          done(redis_failed(r.error));
          return;
        }
        // Users are not indexed per room: read the room's sessions and keep their distinct
        // users. Costs one pipelined read per socket of the room.
        fetch_sessions(std::move(r.value), [&response, done, listing, last, size](
                                               bool ok, std::vector<redis::SessionRecord> list) {
          if (!ok) {
            done(unavailable("Redis unreachable"));
            return;
          }
          std::vector<std::string> uids;
          for (auto& s : list) {
            if (!s.uid.empty()) uids.push_back(std::move(s.uid));
          }
          bool more = false;
          auto page = page_of(std::move(uids), last, size, more);
          if (more) response.set_next_page_token(make_page_token(listing, page.back()));
          for (auto& uid : page) response.add_uids(std::move(uid));
          done(grpc::Status::OK);
        });
      });
  if (!submitted) done(redis_busy());
}

void ClusterBackend::list_user_sockets(const v1::ListUserSocketsRequest& request,
                                       v1::ListUserSocketsResponse& response, Done done) {
  const int32_t limit = request.limit() > 0 ? request.limit() : kDefaultUserSocketLimit;
  target_sessions("", request.uid(), effective_namespace(request.namespace_()),
                  request.all_namespaces(),
                  [&request, &response, done, limit](bool ok,
                                                     std::vector<redis::SessionRecord> list) {
                    if (!ok) {
                      done(unavailable("Redis unreachable"));
                      return;
                    }
                    std::sort(list.begin(), list.end(),
                              [](const auto& a, const auto& b) { return a.sid < b.sid; });
                    if (list.size() > static_cast<size_t>(limit)) {
                      list.resize(static_cast<size_t>(limit));
                      response.set_truncated(true);
                    }
                    for (const auto& s : list) {
                      fill_socket_info(s, request.include_rooms(), *response.add_sockets());
                    }
                    done(grpc::Status::OK);
                  });
}

void ClusterBackend::count_rooms(const v1::CountRoomsRequest& request,
                                 v1::CountRoomsResponse& response, Done done) {
  const std::string nsp(effective_namespace(request.namespace_()));
  struct State {
    std::mutex mutex;
    size_t remaining = 0;
    bool ok = true;
  };
  auto state = std::make_shared<State>();
  state->remaining = static_cast<size_t>(request.rooms_size());
  for (const auto& room : request.rooms()) {
    auto* count = response.add_counts();
    count->set_room(room);
  }
  if (state->remaining == 0) {
    done(grpc::Status::OK);
    return;
  }
  auto complete_one = [state, done](bool ok) {
    bool last = false;
    {
      std::lock_guard lock(state->mutex);
      state->ok &= ok;
      last = --state->remaining == 0;
    }
    if (last) done(state->ok ? grpc::Status::OK : unavailable("Redis unreachable"));
  };
  for (int i = 0; i < request.rooms_size(); ++i) {
    auto* count = response.mutable_counts(i);
    bool submitted = sessions_->sockets_in_room(
        nsp, request.rooms(i),
        [this, count, complete_one](redis::Result<std::vector<std::string>> r) {
          if (!r.ok()) {
            complete_one(false);
            return;
          }
          count->set_sockets(r.value.size());
          fetch_sessions(std::move(r.value), [count, complete_one](
                                                 bool ok, std::vector<redis::SessionRecord> list) {
            std::set<std::string> users;
            for (auto& s : list) {
              if (!s.uid.empty()) users.insert(std::move(s.uid));
            }
            count->set_users(users.size());
            complete_one(ok);
          });
        });
    if (!submitted) complete_one(false);
  }
}

// ---------------------------------------------------------------------------------------------
// The service thread

void ClusterBackend::run_reaper() {
  const int64_t now = wall_ms();
  nodes_->dead_nodes(now, opt_.node_timeout.count(), [this, now](
                                                          redis::Result<std::vector<std::string>> r) {
    if (!r.ok()) return;  // Redis trouble: the next period retries
    for (auto& node : r.value) {
      {
        std::lock_guard lock(reaper_mutex_);
        if (std::find(reaping_.begin(), reaping_.end(), node) != reaping_.end()) continue;
        reaping_.push_back(node);
      }
      spdlog::warn("gateway node {} stopped heart-beating: reaping its sessions", node);
      const std::string trace = new_trace_id();
      bool submitted = nodes_->reap(
          node, now, opt_.node_timeout.count(),
          [this, node, trace](redis::Result<redis::ReapBatch> batch) {
            bool over = !batch.ok() || batch.value.finished || batch.value.node_alive;
            if (batch.ok()) {
              const int64_t ts = wall_ms();
              for (const auto& s : batch.value.sessions) {
                send(make_reaped_disconnect_record(s.sid, s.uid, s.nsp, node, trace, ts));
              }
              if (metrics_->reaped_sessions != nullptr) {
                metrics_->reaped_sessions->inc(static_cast<double>(batch.value.sessions.size()));
              }
              if (batch.value.finished) {
                if (metrics_->reaped_nodes != nullptr) metrics_->reaped_nodes->inc();
                spdlog::info("gateway node {} reaped", node);
                std::lock_guard lock(partitions_mutex_);
                partition_cache_.erase(node);
              }
            } else {
              spdlog::warn("reaping node {}: {}", node, batch.error);
            }
            if (over) {
              std::lock_guard lock(reaper_mutex_);
              std::erase(reaping_, node);
            }
          },
          kReapBatch);
      if (!submitted) {
        std::lock_guard lock(reaper_mutex_);
        std::erase(reaping_, node);
      }
    }
  });
}

void ClusterBackend::service_loop() {
  int64_t next_expiry = 0, next_liveness = 0, next_reap = 0, next_renew = 0;
  const int64_t renew_period = std::max<int64_t>(opt_.lease_ttl.count() / 3, 100);
  while (running_.load()) {
    poll_acks();
    producer_->poll(0);
    const int64_t now = steady_ms();
    if (now >= next_expiry) {
      expire_acks(now);
      next_expiry = now + 50;
    }
    if (now >= next_liveness) {
      check_ack_liveness();
      next_liveness = now + opt_.ack_liveness_period.count();
    }
    if (now >= next_reap) {
      run_reaper();
      next_reap = now + opt_.reaper_period.count();
    }
    if (now >= next_renew) {
      lease_->renew([this](redis::WorkerIdLease::RenewStatus status) {
        if (status == redis::WorkerIdLease::RenewStatus::lost) {
          // Another replica may now mint ack ids in our space; answers to our pending acks
          // could be misrouted. Rare (Redis lost its data, or we stalled beyond the TTL):
          // reported loudly; an operator restarts the replica.
          spdlog::error("ws-api worker-id lease {} lost: restart this replica", worker_id_);
        }
      });
      next_renew = now + renew_period;
    }
  }
}

}  // namespace wsgw::api
