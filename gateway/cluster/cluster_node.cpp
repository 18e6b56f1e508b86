#include "gateway/cluster/cluster_node.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <random>
#include <thread>

#include <spdlog/spdlog.h>

#include "common/cluster/contract.h"
#include "common/cluster/stage_latency.h"
#include "common/kafka/admin.h"
#include "common/redis/keys.h"
#include "common/util/snowflake.h"
#include "gateway/cluster/bus_command.h"
#include "gateway/session/engine_session.h"
#include "gateway/session/local_index.h"

namespace wsgw::cluster {
namespace {

int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

using steady = std::chrono::steady_clock;

constexpr size_t kTouchChunk = 10000;          // sids encoded and submitted per touch_batch call
constexpr size_t kReregisterChunk = 2000;      // registrations per worker step
constexpr size_t kReregisterQueueLimit = 8192;  // Redis commands waiting before we pause
constexpr auto kMetricsPeriod = std::chrono::seconds(1);
// What a downstream command costs besides its record's value (the command, its wire message,
// the posted handlers), for the --downstream-backlog budget.
constexpr size_t kCommandOverhead = 512;

}  // namespace

// One liveness flush in progress: the workers append their socket ids, the last one to answer
// makes it complete, and the service thread flushes it.
struct ClusterNode::LivenessGather {
  std::mutex mutex;
  std::vector<uint64_t> ids;
  size_t waiting = 0;
  steady::time_point started;
  bool complete() {
    std::lock_guard lock(mutex);
    return waiting == 0;
  }
};

struct ClusterNode::Reregistration {
  uint64_t generation = 0;
  int64_t now_ms = 0;
  std::atomic<size_t> steps_in_flight{0};
  std::atomic<size_t> workers_done{0};
  std::atomic<uint64_t> registered{0};
};

ClusterNode::ClusterNode(ClusterOptions options, metrics::Registry& r)
    : opt_(std::move(options)),
      // Three silent heartbeats: a reaper may have started on us (see liveness.h).
      heartbeat_tracker_(3 * static_cast<int64_t>(opt_.heartbeat_ms)),
      upstream_produced_(r.counter("wsgw_upstream_records_total",
                                   "Client events produced to Kafka").with({})),
      upstream_drops_(r.counter("wsgw_upstream_drops_total",
                                "Client events dropped: Kafka's local queue was full").with({})),
      acks_produced_(r.counter("wsgw_ack_records_total",
                               "Client answers to server acks produced to wsgw.acks").with({})),
      downstream_records_(r.counter("wsgw_downstream_records_total",
                                    "Downstream records applied by this node").with({})),
      downstream_skipped_(r.counter("wsgw_downstream_skipped_total",
                                    "Downstream records for another node sharing the partition")
                              .with({})),
      downstream_malformed_(r.counter("wsgw_downstream_malformed_total",
                                      "Downstream records that could not be read").with({})),
      downstream_pauses_(r.counter("wsgw_downstream_pauses_total",
                                   "Times reading downstream records paused because the workers "
                                   "were --downstream-backlog behind").with({})),
      downstream_backlog_gauge_(r.gauge("wsgw_downstream_backlog_bytes",
                                        "Downstream records read but not yet applied by every "
                                        "worker (bytes, as --downstream-backlog counts them)")
                                    .with({})),
      redis_drops_(r.counter("wsgw_redis_drops_total",
                             "Registry writes dropped: the Redis command queue was full").with({})),
      api_to_gateway_latency_(stage_latency(r, "api_to_gateway")),
      api_to_socket_latency_(stage_latency(r, "api_to_socket")),
      liveness_flushes_(r.counter("wsgw_liveness_flushes_total",
                                  "Batched last-seen flushes of this node's sessions").with({})),
      liveness_sessions_(r.counter("wsgw_liveness_flushed_sessions_total",
                                   "Sessions whose last-seen time was flushed").with({})),
      reregistrations_(r.counter("wsgw_reregistrations_total",
                                 "Times Redis had lost this node's sessions and they were "
                                 "registered again").with({})),
      reregistered_sessions_(r.counter("wsgw_reregistered_sessions_total",
                                       "Sessions registered again after Redis lost them").with({})),
      worker_id_changes_(r.counter("wsgw_worker_id_changes_total",
                                   "Re-acquired worker-id leases that got another id than the "
                                   "one this process mints socket ids with").with({})),
      bus_commands_(r.counter("wsgw_bus_commands_total", "Node bus commands received",
                              {"command", "result"})),
      producer_delivered_{r.counter("wsgw_kafka_producer_delivered_total",
                                    "Records the brokers acknowledged").with({})},
      producer_failed_{r.counter("wsgw_kafka_producer_failed_total",
                                 "Records whose delivery failed (timeout, broker error)").with({})},
      producer_queue_full_{r.counter("wsgw_kafka_producer_queue_full_total",
                                     "Records refused: producer queue full").with({})},
      producer_errors_{r.counter("wsgw_kafka_producer_errors_total",
                                 "Records refused for another reason (too large, bad partition)")
                           .with({})},
      consumer_records_{r.counter("wsgw_kafka_consumer_records_total",
                                  "Records the downstream consumer received").with({})},
      consumer_errors_{r.counter("wsgw_kafka_consumer_errors_total",
                                 "Error events seen by the downstream consumer").with({})},
      redis_rejected_{r.counter("wsgw_redis_rejected_total",
                                "Redis commands refused: queue full or stopping").with({})},
      redis_failed_{r.counter("wsgw_redis_failed_total",
                              "Redis commands failed locally (disconnected, timeout)").with({})},
      redis_connects_{r.counter("wsgw_redis_connects_total",
                                "Successful Redis connections, the first one included").with({})},
      bus_messages_{r.counter("wsgw_bus_messages_total", "Messages received on the node bus")
                        .with({})},
      bus_reconnects_{r.counter("wsgw_bus_reconnects_total",
                                "Reconnections of the node bus subscriber").with({})},
      producer_pending_(r.gauge("wsgw_kafka_producer_pending",
                                "Records the producer holds (queued or in flight)").with({})),
      redis_queued_(r.gauge("wsgw_redis_queued", "Redis commands waiting").with({})),
      redis_connected_(r.gauge("wsgw_redis_connected", "1 while connected to Redis").with({})),
      bus_connected_(r.gauge("wsgw_bus_connected", "1 while the node bus is subscribed").with({})) {
  any_namespace_ = std::find(opt_.namespaces.begin(), opt_.namespaces.end(), "*") != opt_.namespaces.end();
  trace_base_ = std::random_device{}();
  trace_base_ = (trace_base_ << 32) ^ std::random_device{}();
}

ClusterNode::~ClusterNode() { stop(); }

bool ClusterNode::connect(uint16_t& worker_id, std::string& error) {
  redis::ClientOptions ro;
  ro.host = opt_.redis.host;
  ro.port = opt_.redis.port;
  ro.username = opt_.redis.username;
  ro.password = opt_.redis.password;
  ro.client_name = "ws-gateway:" + opt_.node_name;
  redis_ = std::make_unique<redis::Client>(ro);
  if (!redis_->wait_connected(std::chrono::milliseconds(5000))) {
    error = "cannot reach Redis at " + opt_.redis.host + ":" + std::to_string(opt_.redis.port);
    return false;
  }
  lease_ = std::make_unique<redis::WorkerIdLease>(*redis_);
  auto id = lease_->acquire(opt_.node_name, std::chrono::milliseconds(opt_.lease_ttl_ms));
  if (!id.ok()) {
    error = "worker id lease: " + id.error;
    return false;
  }
  worker_id = id.value;
  snowflake_id_ = id.value;
  downstream_partitions_read_ = {static_cast<int32_t>(id.value % opt_.downstream_partitions)};
  sessions_ = std::make_unique<redis::SessionRegistry>(*redis_);
  nodes_ = std::make_unique<redis::NodeRegistry>(*redis_);

  if (opt_.create_topics &&
      !kafka::create_topics(opt_.kafka_brokers,
                            {{std::string(kUpstreamTopic), opt_.downstream_partitions},
                             {std::string(kDownstreamTopic), opt_.downstream_partitions},
                             {std::string(kBroadcastTopic), 1},
                             {std::string(kAcksTopic), opt_.downstream_partitions}},
                            error, 10000, opt_.kafka_extra)) {
    error = "Kafka topics: " + error;
    return false;
  }
  kafka::ProducerConfig pc;
  pc.brokers = opt_.kafka_brokers;
  pc.client_id = "ws-gateway:" + opt_.node_name;
  pc.extra = opt_.kafka_extra;
  producer_ = kafka::Producer::create(pc, error);
  if (!producer_) return false;
  spdlog::info("cluster: node {} holds worker id {}", opt_.node_name, worker_id);
  return true;
}

bool ClusterNode::make_consumer(std::string& error) {
  kafka::ConsumerConfig cc;
  cc.brokers = opt_.kafka_brokers;
  cc.group_id = "ws-gateway:" + opt_.node_name;  // manual assignment: nothing is committed
  cc.client_id = cc.group_id;
  cc.manual_assignment = true;
  cc.extra = opt_.kafka_extra;
  for (int32_t p : downstream_partitions_read_) cc.partitions.push_back({std::string(kDownstreamTopic), p});
  cc.partitions.push_back({std::string(kBroadcastTopic), 0});
  auto consumer = kafka::Consumer::create(cc, error);
  if (!consumer) return false;
  if (consumer_) consumer_->close();
  consumer_ = std::move(consumer);
  // Statistics restart with the new consumer.
  consumer_records_.last = 0;
  consumer_errors_.last = 0;
  return true;
}

bool ClusterNode::start(Hooks hooks, std::string& error) {
  hooks_ = std::move(hooks);
  if (!make_consumer(error)) return false;

  redis::SubscriberOptions so;
  so.host = opt_.redis.host;
  so.port = opt_.redis.port;
  so.username = opt_.redis.username;
  so.password = opt_.redis.password;
  so.client_name = "ws-gateway-bus:" + opt_.node_name;
  bus_ = std::make_unique<redis::Subscriber>(so, [this](const redis::Message& m) { on_bus_message(m); });
  bus_->subscribe(std::string(kBusChannel));
  bus_->subscribe(bus_node_channel(opt_.node_name));

  // Ready only once live: the consumer's partitions are assigned with their start offsets
  // fixed, so a push sent after /readyz turned 200 is never skipped. (This thread polls until
  // then; the service thread takes the consumer over afterwards.)
  const auto live_deadline = steady::now() + std::chrono::seconds(15);
  kafka::Message msg;
  while (consumer_->assigned_partition_count() == 0 && steady::now() < live_deadline) {
    if (consumer_->poll(50, msg)) on_record(msg);
  }
  if (consumer_->assigned_partition_count() == 0) {
    spdlog::warn("cluster: downstream partitions not assigned after 15 s (Kafka unreachable?); "
                 "serving anyway, pushes start once they are");
  }
  running_ = true;
  thread_ = std::thread([this] { service_loop(); });
  return true;
}

void ClusterNode::stop(steady::time_point deadline) {
  if (stopped_.exchange(true)) return;
  running_ = false;
  if (thread_.joinable()) thread_.join();
  if (bus_) bus_->stop();
  if (producer_) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
    const int flush_ms = static_cast<int>(std::clamp<int64_t>(left.count(), 0, 60000));
    if (!producer_->flush(flush_ms))
      spdlog::warn("cluster: {} records not delivered to Kafka within the shutdown grace",
                   producer_->pending());
  }
  if (consumer_) consumer_->close();
  if (lease_ && redis_ && redis_->connected()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
    lease_->release(std::clamp(left, std::chrono::milliseconds(100), std::chrono::milliseconds(2000)));
  }
  // Last: no Redis callback (they use this object) may run after stop().
  if (redis_) redis_->stop();
}

void ClusterNode::service_loop() {
  auto next_beat = steady::now();
  auto next_touch = steady::now() + std::chrono::milliseconds(opt_.touch_period_ms);
  auto next_metrics = steady::now();
  kafka::Message msg;
  bool paused = false;
  while (running_) {
    if (downstream_backlog_->load(std::memory_order_relaxed) >
        static_cast<int64_t>(opt_.max_downstream_backlog_bytes)) {
      // The workers are behind: leave the records in Kafka (and librdkafka's bounded prefetch)
      // instead of queueing them in front of the workers without limit.
      if (!paused) downstream_pauses_.inc();
      paused = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    } else {
      paused = false;
      if (consumer_->poll(50, msg)) on_record(msg);
    }
    producer_->poll(0);
    const auto now = steady::now();
    if (now >= next_beat) {
      next_beat = now + std::chrono::milliseconds(opt_.heartbeat_ms);
      // Before this beat's renewal, which would report the same loss again.
      if (lease_lost_.exchange(false)) reacquire_lease();
      heartbeat();
    }
    if (reregister_requested_.exchange(false)) {
      // A new request restarts the sweep: the workers take a fresh snapshot of their sockets.
      reregistration_ = std::make_shared<Reregistration>();
      reregistration_->generation = ++reregistration_generation_;
      reregistration_->now_ms = wall_ms();
      reregistrations_.inc();
      spdlog::warn("cluster: Redis lost node {}'s sessions (restart or reap): registering them again",
                   opt_.node_name);
    }
    if (reregistration_) drive_reregistration();
    if (now >= next_touch) {
      next_touch = now + std::chrono::milliseconds(opt_.touch_period_ms);
      start_liveness_flush();
    }
    if (gather_ && gather_->complete()) finish_liveness_flush();
    if (now >= next_metrics) {
      next_metrics = now + kMetricsPeriod;
      refresh_client_metrics();
    }
  }
}

void ClusterNode::on_record(const kafka::Message& msg) {
  std::vector<kafka::Header> headers(msg.headers().begin(), msg.headers().end());
  auto cmd = std::make_unique<DownstreamCommand>();
  const auto sent = header_millis(headers, header::ts_api);
  if (sent) {
    api_to_gateway_latency_.observe(static_cast<double>(std::max<int64_t>(0, wall_ms() - *sent)) / 1000.0);
  }
  std::string error;
  if (!parse_downstream(headers, msg.value(), opt_.node_name, *cmd, error)) {
    downstream_malformed_.inc();
    spdlog::warn("cluster: dropped a downstream record: {}", error);
  } else if (cmd->kind == DownstreamCommand::Kind::skip) {
    downstream_skipped_.inc();
  } else {
    downstream_records_.inc();
    cmd->ts_api_ms = sent.value_or(0);  // after parse_downstream, which resets the command
    // Counted until the last worker drops its reference (the deleter runs on that worker).
    const auto bytes = static_cast<int64_t>(msg.value().size() + kCommandOverhead);
    downstream_backlog_->fetch_add(bytes, std::memory_order_relaxed);
    std::shared_ptr<const DownstreamCommand> tracked(
        cmd.release(), [backlog = downstream_backlog_, bytes](const DownstreamCommand* c) {
          backlog->fetch_sub(bytes, std::memory_order_relaxed);
          delete c;
        });
    hooks_.dispatch(std::move(tracked));
  }
}

void ClusterNode::heartbeat() {
  const int64_t beat = wall_ms();
  heartbeat_tracker_.sent(beat);
  const bool queued = nodes_->heartbeat(opt_.node_name, beat, [this, beat](redis::Result<std::optional<int64_t>> r) {
    if (!r.ok()) {
      heartbeat_tracker_.failed(beat);
      return;
    }
    if (heartbeat_tracker_.answered(beat, r.value)) reregister_requested_ = true;
  });
  if (!queued) {
    heartbeat_tracker_.failed(beat);
    redis_drops_.inc();
  }
  lease_->renew([this](redis::WorkerIdLease::RenewStatus s) {
    if (s == redis::WorkerIdLease::RenewStatus::lost) lease_lost_ = true;
  });
}

void ClusterNode::reacquire_lease() {
  spdlog::error("cluster: node {} lost its worker-id lease {}; acquiring one again", opt_.node_name,
                snowflake_id_);
  // Point the node name at the id we mint with, unless Redis still remembers one: acquire()
  // takes the remembered id back when it is free, which is the common case after a restart of
  // Redis (everything is free). Queued before acquire's script, so it runs first.
  redis::Command hint{"SET", redis::KeySchema().worker_id_of(opt_.node_name)};
  hint.arg(static_cast<int64_t>(snowflake_id_)).arg("NX").arg("PX").arg(int64_t{24 * 3600 * 1000});
  redis_->submit(std::move(hint));
  auto id = lease_->acquire(opt_.node_name, std::chrono::milliseconds(opt_.lease_ttl_ms),
                            std::chrono::milliseconds(2000));
  if (!id.ok()) {
    spdlog::error("cluster: worker-id lease not re-acquired ({}); retrying", id.error);
    lease_lost_ = true;  // next heartbeat
    return;
  }
  if (id.value == snowflake_id_) {
    spdlog::info("cluster: node {} holds worker id {} again", opt_.node_name, id.value);
    return;
  }
  // A running process cannot change the worker id inside its socket ids. Keep minting with the
  // old one (the lease now protects another id), and also read the new id's partition, which
  // ws-api may route to from now on.
  worker_id_changes_.inc();
  spdlog::error("cluster: node {} re-acquired worker id {} but mints socket ids with {}: ids may "
                "collide with the node holding {} now; restart this node soon",
                opt_.node_name, id.value, snowflake_id_, snowflake_id_);
  const auto partition = static_cast<int32_t>(id.value % opt_.downstream_partitions);
  if (std::find(downstream_partitions_read_.begin(), downstream_partitions_read_.end(), partition) ==
      downstream_partitions_read_.end()) {
    downstream_partitions_read_.push_back(partition);
    std::string error;
    if (!make_consumer(error)) spdlog::error("cluster: cannot read partition {}: {}", partition, error);
  }
}

ClusterNode::WorkerSockets& ClusterNode::worker_sockets(session::SessionHost& host) {
  std::lock_guard lock(workers_mutex_);
  auto& slot = workers_[&host];
  if (!slot) slot = std::make_unique<WorkerSockets>();
  return *slot;
}

void ClusterNode::start_liveness_flush() {
  if (!hooks_.post_to_workers || hooks_.worker_count == 0) return;
  if (gather_) {
    // A worker did not answer within a whole period (stopping, or stuck): give up on it.
    spdlog::warn("cluster: liveness flush abandoned: a worker did not answer within {} ms",
                 opt_.touch_period_ms);
  }
  auto g = std::make_shared<LivenessGather>();
  g->waiting = hooks_.worker_count;
  g->started = steady::now();
  gather_ = g;
  hooks_.post_to_workers([g](session::SessionHost& host) {
    std::lock_guard lock(g->mutex);
    if (const session::LocalIndex* index = host.local_index()) {
      g->ids.reserve(g->ids.size() + index->socket_count());
      index->for_each_socket([&](const session::NamespaceSocket& s) { g->ids.push_back(s.id()); });
    }
    --g->waiting;
  });
}

void ClusterNode::finish_liveness_flush() {
  auto g = std::move(gather_);
  const int64_t now = wall_ms();
  std::vector<std::pair<std::string, int64_t>> chunk;
  chunk.reserve(std::min(kTouchChunk, g->ids.size()));
  size_t flushed = 0;
  for (size_t i = 0; i < g->ids.size(); i += kTouchChunk) {
    chunk.clear();
    const size_t end = std::min(g->ids.size(), i + kTouchChunk);
    for (size_t j = i; j < end; ++j) chunk.emplace_back(util::encode_id(g->ids[j]), now);
    if (sessions_->touch_batch(chunk)) {
      flushed += chunk.size();
    } else {
      redis_drops_.inc();
    }
  }
  liveness_flushes_.inc();
  liveness_sessions_.inc(flushed);
  spdlog::debug("cluster: flushed last-seen of {} sessions", flushed);
}

void ClusterNode::drive_reregistration() {
  auto r = reregistration_;
  if (r->workers_done.load() >= hooks_.worker_count) {
    spdlog::warn("cluster: node {} registered {} sessions again", opt_.node_name, r->registered.load());
    reregistration_.reset();
    return;
  }
  // One step per worker at a time, and only while the Redis queue has room: a million
  // sessions must not flood the bounded command queue (they would be dropped).
  if (r->steps_in_flight.load() > 0 || redis_->queued() > kReregisterQueueLimit) return;
  if (!hooks_.post_to_workers) return;
  r->steps_in_flight = hooks_.worker_count;
  hooks_.post_to_workers([this, r](session::SessionHost& host) { reregister_step(host, r); });
}

void ClusterNode::reregister_step(session::SessionHost& host, const std::shared_ptr<Reregistration>& r) {
  // On the worker's thread, so each registration is queued before any later unregister of the
  // same socket (which this thread also issues): a socket gone meanwhile is never resurrected.
  auto& ws = worker_sockets(host);
  session::LocalIndex* index = host.local_index();
  if (ws.rereg_generation != r->generation) {
    ws.rereg_generation = r->generation;
    ws.rereg_ids.clear();
    if (index) {
      ws.rereg_ids.reserve(index->socket_count());
      index->for_each_socket([&](const session::NamespaceSocket& s) { ws.rereg_ids.push_back(s.id()); });
    }
    ws.rereg_next = 0;
    ws.rereg_done = false;
  }
  if (!ws.rereg_done) {
    std::vector<std::pair<std::string, int64_t>> touch;
    size_t budget = kReregisterChunk;
    while (ws.rereg_next < ws.rereg_ids.size() && budget > 0) {
      const uint64_t id = ws.rereg_ids[ws.rereg_next];
      // Gone meanwhile: skipped (its unregister was queued on this thread already).
      if (session::NamespaceSocket* s = index ? index->find_socket(id) : nullptr) {
        const int64_t at = s->connected_at_ms();
        redis::SessionRecord rec{s->sid(), opt_.node_name, s->user_id(), s->nsp(), s->rooms(), at, at};
        if (!sessions_->register_session(rec)) {
          redis_drops_.inc();
          break;  // queue full: this socket again on the next step
        }
        // A registration starts last-seen at the connect time; an idle reaper must not take
        // an old session for a dead one before the next flush.
        touch.emplace_back(std::move(rec.sid), r->now_ms);
        r->registered.fetch_add(1);
        reregistered_sessions_.inc();
        --budget;
      }
      ++ws.rereg_next;
    }
    if (!touch.empty() && !sessions_->touch_batch(touch)) redis_drops_.inc();
    if (ws.rereg_next >= ws.rereg_ids.size()) {
      ws.rereg_done = true;
      std::vector<uint64_t>().swap(ws.rereg_ids);  // don't keep a copy of every id
      r->workers_done.fetch_add(1);
    }
  }
  r->steps_in_flight.fetch_sub(1);
}

void ClusterNode::refresh_client_metrics() {
  const auto ps = producer_->stats();
  producer_delivered_.set(ps.delivered);
  producer_failed_.set(ps.failed);
  producer_queue_full_.set(ps.queue_full);
  producer_errors_.set(ps.errors);
  producer_pending_.set(static_cast<double>(producer_->pending()));
  const auto cs = consumer_->stats();
  consumer_records_.set(cs.received);
  consumer_errors_.set(cs.errors);
  const auto rs = redis_->stats();
  redis_rejected_.set(rs.rejected_full);
  redis_failed_.set(rs.failed_local);
  redis_connects_.set(rs.connects);
  redis_queued_.set(static_cast<double>(redis_->queued()));
  downstream_backlog_gauge_.set(static_cast<double>(downstream_backlog_->load(std::memory_order_relaxed)));
  redis_connected_.set(redis_->connected() ? 1 : 0);
  if (bus_) {
    bus_messages_.set(bus_->messages_received());
    bus_reconnects_.set(bus_->reconnects());
    bus_connected_.set(bus_->connected() ? 1 : 0);
  }
}

void ClusterNode::on_bus_message(const redis::Message& m) {
  // On the subscriber thread: quick, never throws.
  const BusCommand c = parse_bus_command(m.payload);
  bus_commands_.with({c.command_label(), c.result_label()}).inc();
  if (!c.ok()) {
    spdlog::warn("cluster: node bus {}: ignored: {}", m.channel, c.error);
    return;
  }
  switch (c.kind) {
    case BusCommand::Kind::log_level:
      spdlog::set_level(spdlog::level::from_str(std::string(c.level)));
      spdlog::warn("cluster: node bus {}: log level is now {}", m.channel, c.level);
      break;
    case BusCommand::Kind::drain:
      spdlog::warn("cluster: node bus {}: drain requested", m.channel);
      if (hooks_.drain) hooks_.drain();
      break;
  }
}

UpstreamContext ClusterNode::context(std::string& trace_storage) {
  trace_storage = util::encode_id(trace_base_ + trace_seq_.fetch_add(1, std::memory_order_relaxed));
  return UpstreamContext{opt_.node_name, trace_storage, wall_ms()};
}

bool ClusterNode::produce(std::string_view topic, int32_t partition, UpstreamRecord&& r) {
  const auto headers = r.headers.view();
  const auto result = partition < 0 ? producer_->send(topic, r.key, r.value, headers)
                                    : producer_->send_to(topic, partition, r.key, r.value, headers);
  if (result == kafka::Producer::SendResult::queued) return true;
  upstream_drops_.inc();
  return false;
}

bool ClusterNode::namespace_exists(std::string_view nsp) {
  return any_namespace_ ||
         std::find(opt_.namespaces.begin(), opt_.namespaces.end(), nsp) != opt_.namespaces.end();
}

void ClusterNode::on_connect(session::NamespaceSocket& s, std::string_view auth_json) {
  // The client is told its sid (CONNECT answer) and components hear "connect" only once Redis
  // has the session, so an RPC by that sid right after either finds it. The reply comes on the
  // Redis thread and goes back to the socket's worker; a socket gone meanwhile is never
  // announced (its disconnect is not produced either: on_disconnect sees it unconfirmed).
  const int64_t now = wall_ms();
  session::SessionHost& host = s.owner().engine().host();
  s.set_connected_at_ms(now);
  redis::SessionRecord rec{s.sid(), opt_.node_name, s.user_id(), s.nsp(), s.rooms(), now, now};
  auto registered = [this, host = &host, id = s.id(), auth = std::string(auth_json)](
                        redis::Result<bool>) mutable {
    host->post([this, host, id, auth = std::move(auth)] {
      session::LocalIndex* index = host->local_index();
      if (session::NamespaceSocket* sock = index ? index->find_socket(id) : nullptr) announce(*sock, auth);
    });
  };
  if (!sessions_->register_session(rec, std::move(registered))) {
    redis_drops_.inc();  // Redis is not there: answer anyway; re-registration catches up later
    announce(s, auth_json);
  }
}

void ClusterNode::announce(session::NamespaceSocket& s, std::string_view auth_json) {
  if (s.confirmed()) return;
  s.owner().confirm(s);
  std::string trace;
  if (produce(kUpstreamTopic, -1, upstream_connect(s, auth_json, s.connected_at_ms(), context(trace))))
    upstream_produced_.inc();
}

void ClusterNode::on_event(session::NamespaceSocket& s, const sio::Packet& p,
                           std::string_view event_name, std::string_view args,
                           std::span<const std::string> attachments) {
  std::string trace;
  if (produce(kUpstreamTopic, -1, upstream_event(s, event_name, args, p.id, attachments, context(trace))))
    upstream_produced_.inc();
}

void ClusterNode::on_ack(session::NamespaceSocket& s, const sio::Packet& p,
                         std::span<const std::string> attachments) {
  if (!p.id) return;
  std::string trace;
  // Only the ws-api replica that minted the ack id reads this partition (contract.h).
  if (produce(kAcksTopic, ack_id_partition(*p.id, opt_.downstream_partitions),
              upstream_ack(s, *p.id, p.data, attachments, context(trace))))
    acks_produced_.inc();
}

void ClusterNode::on_disconnect(session::NamespaceSocket& s, std::string_view reason) {
  if (!sessions_->unregister_session(s.sid())) redis_drops_.inc();
  if (!s.confirmed()) return;  // never announced: no disconnect either
  std::string trace;
  if (produce(kUpstreamTopic, -1, upstream_disconnect(s, reason, context(trace))))
    upstream_produced_.inc();
}

void ClusterNode::joined(const session::NamespaceSocket& s, std::string_view room) {
  if (!sessions_->join(s.sid(), room)) redis_drops_.inc();
}

void ClusterNode::left(const session::NamespaceSocket& s, std::string_view room) {
  if (!sessions_->leave(s.sid(), room)) redis_drops_.inc();
}

}  // namespace wsgw::cluster
