#pragma once
// The Subscribe side of ws-api (proto/wsgw/v1/api.proto, "Subscribe"): streams the client events
// the gateways produce to wsgw.upstream to component services.
//
// Groups and Kafka. Every subscription group (a named one, or the private group of a stream that
// gave none) gets its own balanced Kafka consumer on wsgw.upstream with group.id
// "wsgw-sub-<group>", created when the group's first local member arrives and closed (leaving the
// Kafka group) when its last local member leaves. Kafka splits the topic's partitions between the
// replicas that have members of the group, so the group sees each record once cluster-wide, and
// since upstream records are keyed by socket id one socket's records stay on one replica, in
// order. Inside a replica a record goes to ONE local member: the hash of its sid over the members
// whose filters match, so one socket's events reach the same member while membership is unchanged.
// Named groups commit offsets (a restarted replica resumes); private groups never commit, so
// nothing lingers in Kafka but an expiring empty group.
//
// Start. subscription_started is sent once the group's consumer has partitions assigned; until
// then the stream waits, at most start_timeout (then UNAVAILABLE). Caveat: with
// auto.offset.reset=latest, the end offset of a freshly assigned partition is looked up just
// after the assignment, so a record produced in the few milliseconds between the two can be
// skipped by a brand-new group.
//
// Limits. At most max_streams streams and max_groups groups (named or private) per replica; a
// Subscribe beyond either ends at once with RESOURCE_EXHAUSTED.
//
// Streams. Each stream has a bounded queue of stream_queue events and one write in flight;
// overflow ends it with RESOURCE_EXHAUSTED (its queued events are lost), a cancelled client is
// removed from its group, stop() ends every stream with UNAVAILABLE.
//
// Threads. One polling thread per group with local members (groups are few). gRPC callbacks
// never block: they only lock short-held mutexes and call Start*/Finish outside of them.
//
// Metrics (when a registry is given; it must outlive the hub):
//   wsgw_api_subscriptions                       gauge, active streams
//   wsgw_api_subscription_groups                 gauge, groups with a Kafka consumer here
//   wsgw_api_subscription_events_total{result}   per record and group: delivered, unmatched
//       (no member's filters match: normal), dropped_no_member (no started member, or the chosen
//       one was closing), overflow (the chosen member's queue was full: the stream ended)
//   wsgw_api_upstream_malformed_total            records parse_upstream refused (counted by each
//       group consumer that read it)
//   wsgw_stage_latency_seconds{stage="gateway_to_api"}  x-ts-gateway-in to consumption, per
//       record and group
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>

#include <grpcpp/support/server_callback.h>

#include "common/cluster/contract.h"

namespace grpc {
class CallbackServerContext;
}

namespace wsgw::v1 {
class ClientEvent;
class SubscribeRequest;
}  // namespace wsgw::v1

namespace wsgw::metrics {
class Registry;
class Histogram;
template <class M>
class Family;
}  // namespace wsgw::metrics

namespace wsgw::api {

struct SubscriptionHubOptions {
  std::string brokers;   // Kafka bootstrap servers
  std::string api_node;  // this replica's name: SubscriptionStarted.api_node, subscription ids
  std::string upstream_topic = std::string(cluster::kUpstreamTopic);
  std::size_t stream_queue = 1024;                  // events queued per stream before overflow
  // Bounds on what Subscribe callers can make this replica hold: streams, and groups (each
  // group is a Kafka consumer and a thread). Beyond: RESOURCE_EXHAUSTED at once.
  std::size_t max_streams = 1000;
  std::size_t max_groups = 100;
  std::chrono::milliseconds start_timeout{30000};   // waiting for the group's partitions
  std::map<std::string, std::string> kafka_extra;   // any librdkafka consumer property, applied last
};

class SubscriptionHub {
 public:
  // `registry` may be null.
  SubscriptionHub(SubscriptionHubOptions options, metrics::Registry* registry);
  ~SubscriptionHub();  // stop()s
  SubscriptionHub(const SubscriptionHub&) = delete;
  SubscriptionHub& operator=(const SubscriptionHub&) = delete;

  // Serves one Subscribe call; `request` must have passed validate(). Returns the call's
  // reactor (it owns itself). Non-blocking. After stop(): a stream that ends with UNAVAILABLE.
  grpc::ServerWriteReactor<v1::ClientEvent>* subscribe(grpc::CallbackServerContext* context,
                                                       const v1::SubscribeRequest& request);

  // Ends every stream with UNAVAILABLE, closes the group consumers (leaving their Kafka groups)
  // and joins their threads; later subscribe() calls are refused. Idempotent. Call it before
  // shutting the gRPC server down, so the server does not wait for endless streams.
  void stop();

  size_t streams() const;  // active streams (waiting for their start, or streaming)
  size_t groups() const;   // groups with a consumer here (closing ones not counted)

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace wsgw::api
