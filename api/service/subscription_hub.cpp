#include "api/service/subscription_hub.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "api/service/glob.h"
#include "api/service/records.h"
#include "common/cluster/stage_latency.h"
#include "common/kafka/consumer.h"
#include "common/kafka/message.h"
#include "common/metrics/registry.h"
#include "wsgw/v1/api.grpc.pb.h"

namespace wsgw::api {
namespace {

// How long a group thread blocks in one poll: the bound on how late it notices stop(), a new
// assignment or a start timeout.
constexpr int kPollMs = 100;
constexpr std::string_view kKafkaGroupPrefix = "wsgw-sub-";
constexpr std::string_view kPrivateGroupPrefix = "_anon-";

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// FNV-1a: stable across runs and platforms, unlike std::hash, so a socket's member is
// reproducible (and testable).
uint64_t sid_hash(std::string_view sid) {
  uint64_t hash = 1469598103934665603ull;
  for (unsigned char c : sid) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

std::string base36(uint64_t value) {
  static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string out;
  do {
    out.push_back(kDigits[value % 36]);
    value /= 36;
  } while (value != 0);
  std::reverse(out.begin(), out.end());
  return out;
}

v1::ClientEventKind kind_of(UpstreamOp op) {
  switch (op) {
    case UpstreamOp::connect: return v1::CLIENT_EVENT_KIND_CONNECTED;
    case UpstreamOp::disconnect: return v1::CLIENT_EVENT_KIND_DISCONNECTED;
    case UpstreamOp::event: return v1::CLIENT_EVENT_KIND_EVENT;
    case UpstreamOp::ack: break;
  }
  return v1::CLIENT_EVENT_KIND_UNSPECIFIED;
}

// A SubscribeRequest's filters (already validated).
struct Filters {
  std::vector<std::string> namespaces;  // empty: every namespace
  std::vector<std::string> events;      // empty: every event name
  uint32_t kinds = 0;                   // bit per ClientEventKind; 0: every kind

  static Filters of(const v1::SubscribeRequest& request) {
    Filters filters;
    filters.namespaces.assign(request.namespaces().begin(), request.namespaces().end());
    filters.events.assign(request.events().begin(), request.events().end());
    for (int kind : request.kinds()) {
      if (kind > 0 && kind < 32) filters.kinds |= 1u << kind;
    }
    return filters;
  }

  static bool any_matches(const std::vector<std::string>& patterns, std::string_view text) {
    if (patterns.empty()) return true;
    return std::any_of(patterns.begin(), patterns.end(),
                       [&](const std::string& pattern) { return glob_match(pattern, text); });
  }

  bool matches(UpstreamOp op, const v1::ClientEvent& event) const {
    const v1::ClientEventKind kind = kind_of(op);
    if (kind == v1::CLIENT_EVENT_KIND_UNSPECIFIED) return false;
    if (kinds != 0 && (kinds & (1u << kind)) == 0) return false;
    if (!any_matches(namespaces, event.namespace_())) return false;
    if (kind == v1::CLIENT_EVENT_KIND_EVENT && !any_matches(events, event.event().name())) return false;
    return true;
  }
};

// A stream that ends at once (the hub is stopped).
class EndedStream final : public grpc::ServerWriteReactor<v1::ClientEvent> {
 public:
  explicit EndedStream(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

grpc::Status shutting_down() {
  return {grpc::StatusCode::UNAVAILABLE, "ws-api is shutting down; resubscribe"};
}

grpc::Status too_many(std::string_view what, std::size_t limit, std::string_view option) {
  return {grpc::StatusCode::RESOURCE_EXHAUSTED,
          "too many " + std::string(what) + " on this ws-api replica (" + std::to_string(limit) +
              ", " + std::string(option) + ")"};
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// One Subscribe call. gRPC owns the reactor until OnDone; the hub's group threads hold
// shared_ptrs to it, so `self_` keeps it alive until OnDone and the last holder frees it.
//
// Invariant: at most one of StartWrite/Finish is in progress, and Finish is called once, after
// which nothing is written. Whoever flips `writing_` false -> true (or sets `finish_called_`)
// under `mutex_` makes the matching gRPC call, after releasing every lock.
class Stream final : public grpc::ServerWriteReactor<v1::ClientEvent> {
 public:
  enum class Action : uint8_t { none, write, finish };
  enum class Queued : uint8_t { queued, overflow, closed };
  struct Enqueued {
    Queued result = Queued::closed;
    Action action = Action::none;
  };

  Stream(std::weak_ptr<SubscriptionHub::Impl> hub, std::string id, std::string group_name,
         std::string group_key, std::string subscriber, Filters filters, std::size_t capacity,
         std::chrono::steady_clock::time_point start_deadline)
      : id(std::move(id)),
        group_name(std::move(group_name)),
        group_key(std::move(group_key)),
        subscriber(std::move(subscriber)),
        filters(std::move(filters)),
        start_deadline(start_deadline),
        hub_(std::move(hub)),
        capacity_(std::max<std::size_t>(capacity, 1)) {}

  void hold_self(std::shared_ptr<Stream> self) { self_ = std::move(self); }

  // Queues `event`; `first` (subscription_started) bypasses the bound. Call perform() on the
  // returned action once no lock is held.
  Enqueued enqueue(v1::ClientEvent&& event, bool first) {
    std::lock_guard lock(mutex_);
    if (closing_) return {Queued::closed, Action::none};
    if (!first && queue_.size() >= capacity_) {
      close_locked({grpc::StatusCode::RESOURCE_EXHAUSTED,
                    "subscriber too slow: its queue of " + std::to_string(capacity_) +
                        " events overflowed and they were dropped; resubscribe"});
      return {Queued::overflow, next_action_locked()};
    }
    queue_.push_back(std::move(event));
    return {Queued::queued, next_action_locked()};
  }

  // Ends the stream with `status` unless it is already ending. No lock may be held.
  void end(const grpc::Status& status) {
    Action action = Action::none;
    {
      std::lock_guard lock(mutex_);
      if (closing_) return;
      close_locked(status);
      action = next_action_locked();
    }
    perform(action);
  }

  void perform(Action action) {
    switch (action) {
      case Action::none: break;
      case Action::write: StartWrite(&in_flight_); break;
      case Action::finish:
        // final_status_ is frozen once closing_ is set.
        Finish(final_status_);
        break;
    }
  }

  bool closing() const { return closing_.load(std::memory_order_acquire); }

  void OnWriteDone(bool ok) override {
    Action action = Action::none;
    {
      std::lock_guard lock(mutex_);
      writing_ = false;
      if (!ok && !closing_) close_locked({grpc::StatusCode::CANCELLED, "stream broken"});
      action = next_action_locked();
    }
    perform(action);
    if (!ok) leave_hub();
  }

  void OnCancel() override {
    end({grpc::StatusCode::CANCELLED, "cancelled by the subscriber"});
    leave_hub();
  }

  void OnDone() override {
    leave_hub();
    std::shared_ptr<Stream> last = std::move(self_);  // may free this when the scope ends
  }

  const std::string id;
  const std::string group_name;
  const std::string group_key;
  const std::string subscriber;
  const Filters filters;
  const std::chrono::steady_clock::time_point start_deadline;
  // Guarded by the hub's mutex.
  bool registered = false;
  // Guarded by the group's mutex: subscription_started has been queued.
  bool started = false;

 private:
  void leave_hub();

  void close_locked(grpc::Status status) {
    final_status_ = std::move(status);
    closing_.store(true, std::memory_order_release);
    queue_.clear();
  }

  Action next_action_locked() {
    if (writing_ || finish_called_) return Action::none;
    if (closing_) {
      finish_called_ = true;
      return Action::finish;
    }
    if (queue_.empty()) return Action::none;
    in_flight_ = std::move(queue_.front());
    queue_.pop_front();
    writing_ = true;
    return Action::write;
  }

  std::weak_ptr<SubscriptionHub::Impl> hub_;
  const std::size_t capacity_;
  std::shared_ptr<Stream> self_;

  std::mutex mutex_;
  std::deque<v1::ClientEvent> queue_;
  v1::ClientEvent in_flight_;  // untouched while writing_
  bool writing_ = false;
  bool finish_called_ = false;
  std::atomic<bool> closing_{false};
  grpc::Status final_status_;
};

using StreamPtr = std::shared_ptr<Stream>;

// A subscription group with members on this replica, and its Kafka consumer's thread.
struct Group {
  std::string name;  // as reported in SubscriptionStarted.group
  std::string key;   // in the hub's map: private groups never collide with named ones
  bool named = false;

  std::mutex mutex;
  std::vector<StreamPtr> members;  // in arrival order: a stable order for the sid hash
  bool ready = false;              // partitions were assigned once; guarded by `mutex`

  std::mutex wake_mutex;
  std::condition_variable wake;
  std::atomic<bool> stop{false};
  std::atomic<bool> exited{false};
  std::thread thread;
};
using GroupPtr = std::shared_ptr<Group>;

// ---------------------------------------------------------------------------------------------

struct SubscriptionHub::Impl : std::enable_shared_from_this<SubscriptionHub::Impl> {
  Impl(SubscriptionHubOptions opts, metrics::Registry* registry) : options(std::move(opts)) {
    id_prefix = (options.api_node.empty() ? std::string("ws-api") : options.api_node) + "-" +
                base36(static_cast<uint64_t>(unix_ms())) + "-";
    if (registry == nullptr) return;
    subscriptions_gauge = &registry->gauge("wsgw_api_subscriptions",
                                           "Subscribe streams open on this ws-api replica").with({});
    groups_gauge = &registry->gauge("wsgw_api_subscription_groups",
                                    "Subscription groups with a Kafka consumer on this replica")
                        .with({});
    auto& events = registry->counter("wsgw_api_subscription_events_total",
                                     "Upstream records per subscription group, by what became of them",
                                     {"result"});
    delivered = &events.with({"delivered"});
    unmatched = &events.with({"unmatched"});
    dropped_no_member = &events.with({"dropped_no_member"});
    overflowed = &events.with({"overflow"});
    malformed = &registry->counter("wsgw_api_upstream_malformed_total",
                                   "Upstream records ws-api could not read (counted per group consumer)")
                     .with({});
    gateway_to_api = &cluster::stage_latency(*registry, "gateway_to_api");
  }

  grpc::ServerWriteReactor<v1::ClientEvent>* subscribe(const v1::SubscribeRequest& request);
  void remove(const StreamPtr& stream);
  void stop();
  void run_group(const GroupPtr& group);
  void dispatch(Group& group, const kafka::Message& message);
  void start_members(Group& group);
  void expire_members(Group& group, const std::string& reason);
  void reap_retired_locked();

  static void count(metrics::Counter* counter) {
    if (counter != nullptr) counter->inc();
  }

  const SubscriptionHubOptions options;
  std::string id_prefix;
  std::atomic<uint64_t> next_id{1};

  metrics::Gauge* subscriptions_gauge = nullptr;
  metrics::Gauge* groups_gauge = nullptr;
  metrics::Counter* delivered = nullptr;
  metrics::Counter* unmatched = nullptr;
  metrics::Counter* dropped_no_member = nullptr;
  metrics::Counter* overflowed = nullptr;
  metrics::Counter* malformed = nullptr;
  metrics::Histogram* gateway_to_api = nullptr;

  // Lock order: hub mutex -> group mutex -> stream mutex. gRPC calls happen under none.
  mutable std::mutex mutex;
  bool stopped = false;
  std::map<std::string, GroupPtr> groups;
  std::vector<GroupPtr> retired;  // closing their consumers; joined once exited
  size_t stream_count = 0;
};

void Stream::leave_hub() {
  if (auto hub = hub_.lock()) hub->remove(self_ ? self_ : StreamPtr());
}

grpc::ServerWriteReactor<v1::ClientEvent>* SubscriptionHub::Impl::subscribe(
    const v1::SubscribeRequest& request) {
  const std::string id = id_prefix + std::to_string(next_id.fetch_add(1));
  const bool named = !request.group().empty();
  std::string group_name = named ? request.group() : std::string(kPrivateGroupPrefix) + id;
  std::string group_key = (named ? "n:" : "p:") + group_name;
  auto stream = std::make_shared<Stream>(weak_from_this(), id, group_name, group_key,
                                         request.subscriber(), Filters::of(request),
                                         options.stream_queue,
                                         std::chrono::steady_clock::now() + options.start_timeout);

  Stream::Action action = Stream::Action::none;
  {
    std::lock_guard lock(mutex);
    if (stopped) return new EndedStream(shutting_down());
    if (stream_count >= options.max_streams) {
      return new EndedStream(too_many("Subscribe streams", options.max_streams, "--max-subscriptions"));
    }
    auto existing = groups.find(group_key);
    if (existing == groups.end() && groups.size() >= options.max_groups) {
      return new EndedStream(
          too_many("subscription groups", options.max_groups, "--max-subscription-groups"));
    }
    // From here gRPC owns the reactor: it lives at least until OnDone.
    stream->hold_self(stream);
    reap_retired_locked();
    GroupPtr& group = existing != groups.end() ? existing->second : groups[group_key];
    if (!group) {
      group = std::make_shared<Group>();
      group->name = group_name;
      group->key = group_key;
      group->named = named;
      if (groups_gauge != nullptr) groups_gauge->inc();
      group->thread = std::thread([self = shared_from_this(), g = group] { self->run_group(g); });
    }
    stream->registered = true;
    ++stream_count;
    if (subscriptions_gauge != nullptr) subscriptions_gauge->inc();
    std::lock_guard group_lock(group->mutex);
    group->members.push_back(stream);
    if (group->ready) {
      // The group is reading already: start at once, under the group's lock so no event can
      // be queued before subscription_started.
      stream->started = true;
      v1::ClientEvent started;
      auto* body = started.mutable_subscription_started();
      body->set_subscription_id(stream->id);
      body->set_group(stream->group_name);
      body->set_api_node(options.api_node);
      action = stream->enqueue(std::move(started), true).action;
    }
  }
  spdlog::info("subscription {} opened: group {}, subscriber \"{}\"", id, group_name, request.subscriber());
  stream->perform(action);
  return stream.get();
}

void SubscriptionHub::Impl::remove(const StreamPtr& stream) {
  if (!stream) return;
  std::lock_guard lock(mutex);
  if (!stream->registered) return;
  stream->registered = false;
  --stream_count;
  if (subscriptions_gauge != nullptr) subscriptions_gauge->dec();
  spdlog::info("subscription {} closed", stream->id);
  auto it = groups.find(stream->group_key);
  if (it == groups.end()) return;
  GroupPtr group = it->second;
  bool empty = false;
  {
    std::lock_guard group_lock(group->mutex);
    std::erase(group->members, stream);
    empty = group->members.empty();
  }
  if (!empty) return;
  // The last local member left: close the consumer so Kafka moves the partitions to the
  // group's members on other replicas at once.
  groups.erase(it);
  if (groups_gauge != nullptr) groups_gauge->dec();
  {
    std::lock_guard wake_lock(group->wake_mutex);
    group->stop.store(true);
  }
  group->wake.notify_all();
  retired.push_back(std::move(group));
  reap_retired_locked();
}

void SubscriptionHub::Impl::reap_retired_locked() {
  // An exited thread is past its last statement: joining it does not block.
  std::erase_if(retired, [](const GroupPtr& group) {
    if (!group->exited.load()) return false;
    if (group->thread.joinable()) group->thread.join();
    return true;
  });
}

void SubscriptionHub::Impl::stop() {
  std::vector<StreamPtr> streams;
  std::vector<GroupPtr> threads;
  {
    std::lock_guard lock(mutex);
    if (stopped) return;
    stopped = true;
    for (auto& [key, group] : groups) {
      std::lock_guard group_lock(group->mutex);
      for (const StreamPtr& member : group->members) {
        if (member->registered) streams.push_back(member);
        member->registered = false;
      }
      group->members.clear();
      threads.push_back(group);
    }
    if (subscriptions_gauge != nullptr) subscriptions_gauge->dec(static_cast<double>(stream_count));
    if (groups_gauge != nullptr) groups_gauge->dec(static_cast<double>(groups.size()));
    stream_count = 0;
    groups.clear();
    for (GroupPtr& group : retired) threads.push_back(std::move(group));
    retired.clear();
  }
  for (const StreamPtr& stream : streams) stream->end(shutting_down());
  for (const GroupPtr& group : threads) {
    {
      std::lock_guard wake_lock(group->wake_mutex);
      group->stop.store(true);
    }
    group->wake.notify_all();
  }
  for (const GroupPtr& group : threads) {
    if (group->thread.joinable()) group->thread.join();
  }
  if (!streams.empty()) spdlog::info("subscriptions: {} streams ended for shutdown", streams.size());
}

void SubscriptionHub::Impl::run_group(const GroupPtr& group) {
  kafka::ConsumerConfig config;
  config.brokers = options.brokers;
  config.group_id = std::string(kKafkaGroupPrefix) + group->name;
  config.client_id = (options.api_node.empty() ? std::string("ws-api") : options.api_node) + "-sub";
  config.topics = {options.upstream_topic};
  config.auto_offset_reset = "latest";
  config.extra = options.kafka_extra;
  // A private group dies with its stream: committed offsets would only linger.
  if (!group->named) config.extra["enable.auto.commit"] = "false";
  const std::string group_name = group->name;
  config.on_error = [group_name](const kafka::ClientError& error) {
    spdlog::warn("subscription group {}: kafka: {}", group_name, error.reason);
  };
  std::string create_error;
  std::unique_ptr<kafka::Consumer> consumer = kafka::Consumer::create(config, create_error);
  if (!consumer) spdlog::error("subscription group {}: {}", group->name, create_error);

  bool ready = false;
  kafka::Message message;
  while (!group->stop.load()) {
    if (consumer) {
      if (consumer->poll(kPollMs, message)) dispatch(*group, message);
      if (!ready && consumer->assigned_partition_count() > 0) {
        ready = true;
        start_members(*group);
      }
      if (!ready) {
        expire_members(*group, "ws-api could not join the Kafka consumer group in time; resubscribe");
      }
    } else {
      expire_members(*group, "ws-api cannot read wsgw.upstream: " + create_error);
      std::unique_lock wake_lock(group->wake_mutex);
      group->wake.wait_for(wake_lock, std::chrono::milliseconds(kPollMs),
                           [&] { return group->stop.load(); });
    }
  }
  message = kafka::Message();
  if (consumer) consumer->close();  // commits (named groups) and leaves the Kafka group
  consumer.reset();
  group->exited.store(true);
}

void SubscriptionHub::Impl::start_members(Group& group) {
  std::vector<std::pair<StreamPtr, Stream::Action>> actions;
  {
    std::lock_guard lock(group.mutex);
    group.ready = true;
    for (const StreamPtr& member : group.members) {
      if (member->started) continue;
      member->started = true;
      v1::ClientEvent started;
      auto* body = started.mutable_subscription_started();
      body->set_subscription_id(member->id);
      body->set_group(member->group_name);
      body->set_api_node(options.api_node);
      actions.emplace_back(member, member->enqueue(std::move(started), true).action);
    }
  }
  for (auto& [member, action] : actions) member->perform(action);
}

void SubscriptionHub::Impl::expire_members(Group& group, const std::string& reason) {
  const auto now = std::chrono::steady_clock::now();
  std::vector<StreamPtr> expired;
  {
    std::lock_guard lock(group.mutex);
    if (group.ready) return;
    for (const StreamPtr& member : group.members) {
      if (!member->started && !member->closing() && member->start_deadline <= now) {
        expired.push_back(member);
      }
    }
  }
  for (const StreamPtr& member : expired) {
    spdlog::warn("subscription {} (group {}): {}", member->id, group.name, reason);
    member->end({grpc::StatusCode::UNAVAILABLE, reason});
    remove(member);
  }
}

void SubscriptionHub::Impl::dispatch(Group& group, const kafka::Message& message) {
  UpstreamOp op = UpstreamOp::connect;
  v1::ClientEvent event;
  std::string error;
  if (!parse_upstream(message, op, event, error)) {
    count(malformed);
    spdlog::debug("subscription group {}: upstream record {}-{} skipped: {}", group.name,
                  message.partition(), message.offset(), error);
    return;
  }
  if (gateway_to_api != nullptr) {
    for (const v1::HopTimestamp& hop : event.metadata().hops()) {
      if (hop.hop() != "gateway-in") continue;
      const int64_t hop_ms = hop.time().seconds() * 1000 + hop.time().nanos() / 1'000'000;
      gateway_to_api->observe(static_cast<double>(std::max<int64_t>(unix_ms() - hop_ms, 0)) / 1000.0);
      break;
    }
  }
  // A client's answer to EmitWithAck belongs to the waiting replica, never to subscribers.
  if (op == UpstreamOp::ack) return;

  StreamPtr chosen;
  Stream::Enqueued enqueued;
  {
    std::lock_guard lock(group.mutex);
    // Small: a group has a handful of members on one replica.
    std::vector<Stream*> eligible;
    bool any_started = false;
    for (const StreamPtr& member : group.members) {
      if (!member->started || member->closing()) continue;
      any_started = true;
      if (member->filters.matches(op, event)) eligible.push_back(member.get());
    }
    if (eligible.empty()) {
      count(any_started ? unmatched : dropped_no_member);
      return;
    }
    Stream* pick = eligible[sid_hash(event.sid()) % eligible.size()];
    for (const StreamPtr& member : group.members) {
      if (member.get() == pick) chosen = member;
    }
    enqueued = chosen->enqueue(std::move(event), false);
  }
  chosen->perform(enqueued.action);
  switch (enqueued.result) {
    case Stream::Queued::queued: count(delivered); break;
    case Stream::Queued::closed: count(dropped_no_member); break;
    case Stream::Queued::overflow:
      count(overflowed);
      spdlog::warn("subscription {} (group {}): queue overflowed, stream ended", chosen->id, group.name);
      remove(chosen);
      break;
  }
}

// ---------------------------------------------------------------------------------------------

SubscriptionHub::SubscriptionHub(SubscriptionHubOptions options, metrics::Registry* registry)
    : impl_(std::make_shared<Impl>(std::move(options), registry)) {}

SubscriptionHub::~SubscriptionHub() { stop(); }

grpc::ServerWriteReactor<v1::ClientEvent>* SubscriptionHub::subscribe(grpc::CallbackServerContext*,
                                                                     const v1::SubscribeRequest& request) {
  return impl_->subscribe(request);
}

void SubscriptionHub::stop() { impl_->stop(); }

size_t SubscriptionHub::streams() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->stream_count;
}

size_t SubscriptionHub::groups() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->groups.size();
}

}  // namespace wsgw::api
