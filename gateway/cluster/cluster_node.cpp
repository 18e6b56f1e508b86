#include "gateway/cluster/cluster_node.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <random>

#include <spdlog/spdlog.h>

#include "common/cluster/contract.h"
#include "common/kafka/admin.h"
#include "common/util/snowflake.h"

namespace wsgw::cluster {
namespace {

int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

bool parse_redis_url(std::string_view url, std::string& host, uint16_t& port, std::string& error) {
  constexpr std::string_view scheme = "redis://";
  if (url.substr(0, scheme.size()) == scheme) url.remove_prefix(scheme.size());
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  const size_t colon = url.rfind(':');
  host = std::string(url.substr(0, colon));
  port = 6379;
  if (colon != std::string_view::npos) {
    auto p = url.substr(colon + 1);
    unsigned v = 0;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    if (ec != std::errc{} || end != p.data() + p.size() || v == 0 || v > 65535) {
      error = "bad port in Redis URL: " + std::string(url);
      return false;
    }
    port = static_cast<uint16_t>(v);
  }
  if (host.empty()) {
    error = "Redis URL needs a host: redis://HOST:PORT";
    return false;
  }
  return true;
}

ClusterNode::ClusterNode(ClusterOptions options, metrics::Registry& r)
    : opt_(std::move(options)),
      upstream_produced_(r.counter("wsgw_upstream_records_total",
                                   "Client events produced to Kafka").with({})),
      upstream_drops_(r.counter("wsgw_upstream_drops_total",
                                "Client events dropped: Kafka's local queue was full").with({})),
      downstream_records_(r.counter("wsgw_downstream_records_total",
                                    "Downstream records applied by this node").with({})),
      downstream_skipped_(r.counter("wsgw_downstream_skipped_total",
                                    "Downstream records for another node sharing the partition")
                              .with({})),
      downstream_malformed_(r.counter("wsgw_downstream_malformed_total",
                                      "Downstream records that could not be read").with({})),
      redis_drops_(r.counter("wsgw_redis_drops_total",
                             "Registry writes dropped: the Redis command queue was full").with({})) {
  any_namespace_ = std::find(opt_.namespaces.begin(), opt_.namespaces.end(), "*") != opt_.namespaces.end();
  trace_base_ = std::random_device{}();
  trace_base_ = (trace_base_ << 32) ^ std::random_device{}();
}

ClusterNode::~ClusterNode() { stop(); }

bool ClusterNode::connect(uint16_t& worker_id, std::string& error) {
  redis::ClientOptions ro;
  ro.host = opt_.redis_host;
  ro.port = opt_.redis_port;
  ro.client_name = "ws-gateway:" + opt_.node_name;
  redis_ = std::make_unique<redis::Client>(ro);
  if (!redis_->wait_connected(std::chrono::milliseconds(5000))) {
    error = "cannot reach Redis at " + opt_.redis_host + ":" + std::to_string(opt_.redis_port);
    return false;
  }
  lease_ = std::make_unique<redis::WorkerIdLease>(*redis_);
  auto id = lease_->acquire(opt_.node_name, std::chrono::milliseconds(opt_.lease_ttl_ms));
  if (!id.ok()) {
    error = "worker id lease: " + id.error;
    return false;
  }
  worker_id = id.value;
  sessions_ = std::make_unique<redis::SessionRegistry>(*redis_);
  nodes_ = std::make_unique<redis::NodeRegistry>(*redis_);

  if (!kafka::create_topics(opt_.kafka_brokers,
                            {{std::string(kUpstreamTopic), opt_.downstream_partitions},
                             {std::string(kDownstreamTopic), opt_.downstream_partitions},
                             {std::string(kBroadcastTopic), 1}},
                            error)) {
    error = "Kafka topics: " + error;
    return false;
  }
  kafka::ProducerConfig pc;
  pc.brokers = opt_.kafka_brokers;
  pc.client_id = "ws-gateway:" + opt_.node_name;
  producer_ = kafka::Producer::create(pc, error);
  if (!producer_) return false;
  spdlog::info("cluster: node {} holds worker id {}", opt_.node_name, worker_id);
  return true;
}

bool ClusterNode::start(Dispatch dispatch, std::string& error) {
  dispatch_ = std::move(dispatch);
  kafka::ConsumerConfig cc;
  cc.brokers = opt_.kafka_brokers;
  cc.group_id = "ws-gateway:" + opt_.node_name;  // manual assignment: nothing is committed
  cc.client_id = cc.group_id;
  cc.manual_assignment = true;
  const auto id = lease_->id().value_or(0);
  cc.partitions = {{std::string(kDownstreamTopic), int32_t(id % opt_.downstream_partitions)},
                   {std::string(kBroadcastTopic), 0}};
  consumer_ = kafka::Consumer::create(cc, error);
  if (!consumer_) return false;
  running_ = true;
  thread_ = std::thread([this] { service_loop(); });
  return true;
}

void ClusterNode::stop() {
  if (!running_.exchange(false)) return;
  if (thread_.joinable()) thread_.join();
  if (producer_) producer_->flush(5000);
  if (consumer_) consumer_->close();
  if (lease_) lease_->release();
}

void ClusterNode::service_loop() {
  using clock = std::chrono::steady_clock;
  auto next_beat = clock::now();
  kafka::Message msg;
  while (running_) {
    if (consumer_->poll(50, msg)) {
      auto cmd = std::make_shared<DownstreamCommand>();
      std::string error;
      std::vector<kafka::Header> headers(msg.headers().begin(), msg.headers().end());
      if (!parse_downstream(headers, msg.value(), opt_.node_name, *cmd, error)) {
        downstream_malformed_.inc();
        spdlog::warn("cluster: dropped a downstream record: {}", error);
      } else if (cmd->kind == DownstreamCommand::Kind::skip) {
        downstream_skipped_.inc();
      } else {
        downstream_records_.inc();
        dispatch_(std::move(cmd));
      }
    }
    producer_->poll(0);
    if (clock::now() >= next_beat) {
      next_beat = clock::now() + std::chrono::milliseconds(opt_.heartbeat_ms);
      nodes_->heartbeat(opt_.node_name, wall_ms());
      lease_->renew([node = opt_.node_name](redis::WorkerIdLease::RenewStatus s) {
        if (s == redis::WorkerIdLease::RenewStatus::lost)
          spdlog::error("cluster: node {} lost its worker id lease; ids may collide", node);
      });
    }
  }
}

UpstreamContext ClusterNode::context(std::string& trace_storage) {
  trace_storage = util::encode_id(trace_base_ + trace_seq_.fetch_add(1, std::memory_order_relaxed));
  return UpstreamContext{opt_.node_name, trace_storage, wall_ms()};
}

void ClusterNode::produce(UpstreamRecord&& r) {
  const auto headers = r.headers.view();
  if (producer_->send(kUpstreamTopic, r.key, r.value, headers) == kafka::Producer::SendResult::queued)
    upstream_produced_.inc();
  else
    upstream_drops_.inc();
}

bool ClusterNode::namespace_exists(std::string_view nsp) {
  return any_namespace_ ||
         std::find(opt_.namespaces.begin(), opt_.namespaces.end(), nsp) != opt_.namespaces.end();
}

void ClusterNode::on_connect(session::NamespaceSocket& s, std::string_view auth_json) {
  const int64_t now = wall_ms();
  redis::SessionRecord rec{s.sid(), opt_.node_name, s.user_id(), s.nsp(), s.rooms(), now, now};
  if (!sessions_->register_session(rec)) redis_drops_.inc();
  std::string trace;
  produce(upstream_connect(s, auth_json, now, context(trace)));
}

void ClusterNode::on_event(session::NamespaceSocket& s, const sio::Packet& p,
                           std::string_view event_name, std::string_view args,
                           std::span<const std::string> attachments) {
  std::string trace;
  produce(upstream_event(s, event_name, args, p.id, attachments, context(trace)));
}

void ClusterNode::on_ack(session::NamespaceSocket& s, const sio::Packet& p,
                         std::span<const std::string> attachments) {
  if (!p.id) return;
  std::string trace;
  produce(upstream_ack(s, *p.id, p.data, attachments, context(trace)));
}

void ClusterNode::on_disconnect(session::NamespaceSocket& s, std::string_view reason) {
  if (!sessions_->unregister_session(s.sid())) redis_drops_.inc();
  std::string trace;
  produce(upstream_disconnect(s, reason, context(trace)));
}

void ClusterNode::joined(const session::NamespaceSocket& s, std::string_view room) {
  if (!sessions_->join(s.sid(), room)) redis_drops_.inc();
}

void ClusterNode::left(const session::NamespaceSocket& s, std::string_view room) {
  if (!sessions_->leave(s.sid(), room)) redis_drops_.inc();
}

}  // namespace wsgw::cluster
