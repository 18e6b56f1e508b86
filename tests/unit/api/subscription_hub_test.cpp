// SubscriptionHub end to end in process: librdkafka's mock cluster (real Kafka protocol, balanced
// consumer groups included), a real gRPC server on loopback whose Subscribe is the hub, and real
// client stubs reading the streams. Upstream records are produced the way a gateway writes them
// (common/cluster/contract.h).
//
// Joining a consumer group costs the mock coordinator a fixed 3 s, so each test opens all its
// streams at once and pays that delay once.
#include "api/service/subscription_hub.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <msgpack.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/cluster/contract.h"
#include "common/cluster/stage_latency.h"
#include "common/kafka/headers.h"
#include "common/kafka/mock_cluster.h"
#include "common/kafka/producer.h"
#include "common/metrics/registry.h"
#include "wsgw/v1/api.grpc.pb.h"

namespace wsgw::api {
namespace {

using namespace std::chrono_literals;
namespace header = cluster::header;

kafka::MockCluster& shared_cluster() {
  static std::unique_ptr<kafka::MockCluster> cluster = [] {
    std::string error;
    auto created = kafka::MockCluster::create(1, error);
    if (!created) ADD_FAILURE() << error;
    return created;
  }();
  return *cluster;
}

std::string unique_name(std::string_view prefix) {
  static std::atomic<int> counter{0};
  return std::string(prefix) + "-" + std::to_string(counter.fetch_add(1));
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// An upstream record as gateway/cluster/records.cpp writes it.
struct Record {
  std::string key;
  kafka::OwnedHeaders headers;
  std::string value;
};

Record base_record(std::string_view op, std::string_view sid, std::string_view nsp) {
  Record record;
  record.key = std::string(sid);
  record.headers.add(header::op, op);
  record.headers.add(header::sid, sid);
  record.headers.add(header::uid, "user-" + std::string(sid));
  record.headers.add(header::ns, nsp);
  record.headers.add(header::node, "gw-1");
  record.headers.add(header::trace_id, "trace-" + std::string(sid));
  record.headers.add(header::ts_gateway_in, std::to_string(now_ms()));
  return record;
}

Record event_record(std::string_view sid, std::string_view nsp, std::string_view name,
                    std::string args = "[1]") {
  Record record = base_record(cluster::op::event, sid, nsp);
  record.headers.add(header::event, name);
  record.value = std::move(args);
  return record;
}

Record disconnect_record(std::string_view sid, std::string_view nsp) {
  Record record = base_record(cluster::op::disconnect, sid, nsp);
  record.value = "client_close";
  return record;
}

Record ack_record(std::string_view sid, std::string_view nsp) {
  Record record = base_record(cluster::op::ack, sid, nsp);
  record.headers.add(header::ack_id, "4294967297");
  record.value = "[\"ok\"]";
  return record;
}

struct StringSink {
  std::string& out;
  void write(const char* data, std::size_t size) { out.append(data, size); }
};

Record connect_record(std::string_view sid, std::string_view nsp) {
  Record record = base_record(cluster::op::connect, sid, nsp);
  StringSink sink{record.value};
  msgpack::packer<StringSink> packer(sink);
  packer.pack_map(7);
  packer.pack(std::string("sid"));
  packer.pack(std::string(sid));
  packer.pack(std::string("uid"));
  packer.pack("user-" + std::string(sid));
  packer.pack(std::string("nsp"));
  packer.pack(std::string(nsp));
  packer.pack(std::string("node"));
  packer.pack(std::string("gw-1"));
  packer.pack(std::string("auth"));
  packer.pack(std::string(""));
  packer.pack(std::string("rooms"));
  packer.pack(std::vector<std::string>{"lobby"});
  packer.pack(std::string("connected_at"));
  packer.pack(static_cast<uint64_t>(now_ms()));
  return record;
}

// A record a gateway would never write: no x-sid.
Record malformed_record() {
  Record record = event_record("bad", "/docs", "comment.add");
  kafka::OwnedHeaders without_sid;
  for (const auto& entry : record.headers.entries()) {
    if (entry.name != header::sid) without_sid.add(entry.name, entry.value);
  }
  record.headers = std::move(without_sid);
  return record;
}

class TestService final : public v1::WsApiService::CallbackService {
 public:
  explicit TestService(SubscriptionHub& hub) : hub_(hub) {}
  grpc::ServerWriteReactor<v1::ClientEvent>* Subscribe(grpc::CallbackServerContext* context,
                                                       const v1::SubscribeRequest* request) override {
    return hub_.subscribe(context, *request);
  }

 private:
  SubscriptionHub& hub_;
};

// One client stream, read by its own thread (or by hand, read_one(), until start_reading()).
class Subscriber {
 public:
  Subscriber(v1::WsApiService::Stub& stub, const v1::SubscribeRequest& request, bool read_now = true) {
    context_.set_deadline(std::chrono::system_clock::now() + 60s);
    reader_ = stub.Subscribe(&context_, request);
    if (read_now) start_reading();
  }
  ~Subscriber() {
    context_.TryCancel();
    if (!thread_.joinable()) start_reading();
    thread_.join();
  }

  void start_reading() {
    thread_ = std::thread([this] {
      v1::ClientEvent event;
      while (reader_->Read(&event)) {
        std::lock_guard lock(mutex_);
        events_.push_back(event);
        changed_.notify_all();
      }
      grpc::Status status = reader_->Finish();
      std::lock_guard lock(mutex_);
      status_ = status;
      finished_ = true;
      changed_.notify_all();
    });
  }

  bool read_one(v1::ClientEvent& event) {
    if (!reader_->Read(&event)) return false;
    std::lock_guard lock(mutex_);
    events_.push_back(event);
    return true;
  }

  // Waits until `done(events)` holds or `timeout` passes.
  bool wait_until(const std::function<bool(const std::vector<v1::ClientEvent>&)>& done,
                  std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return done(events_); });
  }
  bool wait_started(std::chrono::milliseconds timeout = 10s) {
    return wait_until([](const auto& events) { return !events.empty(); }, timeout);
  }
  std::optional<grpc::Status> wait_finished(std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, timeout, [&] { return finished_; })) return std::nullopt;
    return status_;
  }

  std::vector<v1::ClientEvent> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }
  v1::SubscriptionStarted started() const {
    std::lock_guard lock(mutex_);
    return events_.empty() ? v1::SubscriptionStarted() : events_.front().subscription_started();
  }
  // The client events after subscription_started, without the warm-up markers.
  std::vector<v1::ClientEvent> received() const {
    std::vector<v1::ClientEvent> out;
    for (const auto& event : events()) {
      if (event.has_subscription_started() || event.sid() == "warm") continue;
      out.push_back(event);
    }
    return out;
  }
  bool saw_warm_up() const {
    for (const auto& event : events()) {
      if (event.sid() == "warm") return true;
    }
    return false;
  }
  void cancel() { context_.TryCancel(); }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::ClientEvent>> reader_;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<v1::ClientEvent> events_;
  grpc::Status status_;
  bool finished_ = false;
};

v1::SubscribeRequest request_for(std::string group = {}) {
  v1::SubscribeRequest request;
  request.set_group(std::move(group));
  request.set_subscriber("test");
  return request;
}

class SubscriptionHubTest : public ::testing::Test {
 protected:
  // A hub on a fresh single-partition topic (one partition: once one record arrives, a consumer
  // is live for everything after it), behind a real gRPC server.
  void start_hub(std::size_t stream_queue = 1024, std::string brokers = {},
                 std::chrono::milliseconds start_timeout = 15s,
                 const std::map<std::string, std::string>& extra = {}, std::size_t max_streams = 1000,
                 std::size_t max_groups = 100) {
    topic_ = unique_name("upstream");
    if (brokers.empty()) {
      brokers = shared_cluster().bootstrap_servers();
      ASSERT_EQ(shared_cluster().create_topic(topic_, 1), kafka::kNoError);
    }
    SubscriptionHubOptions options;
    options.brokers = brokers;
    options.api_node = "api-test";
    options.upstream_topic = topic_;
    options.stream_queue = stream_queue;
    options.start_timeout = start_timeout;
    options.max_streams = max_streams;
    options.max_groups = max_groups;
    // The mock keeps a group "rebalancing" for session.timeout.ms - 1 s after a member leaves;
    // keep that short (but above the 3 s first-join delay).
    options.kafka_extra = {{"session.timeout.ms", "3500"}, {"heartbeat.interval.ms", "500"}, {"log_level", "2"}};
    for (const auto& [name, value] : extra) options.kafka_extra[name] = value;
    hub_ = std::make_unique<SubscriptionHub>(options, &registry_);
    service_ = std::make_unique<TestService>(*hub_);

    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_TRUE(server_);
    ASSERT_GT(port, 0);
    auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
    stub_ = v1::WsApiService::NewStub(channel);

    if (!brokers.empty() && brokers == shared_cluster().bootstrap_servers()) {
      kafka::ProducerConfig config;
      config.brokers = brokers;
      config.linger_ms = 1;
      config.extra = {{"log_level", "2"}};
      std::string error;
      producer_ = kafka::Producer::create(config, error);
      ASSERT_TRUE(producer_) << error;
    }
  }

  void TearDown() override {
    subscribers_.clear();  // cancels and joins the readers
    if (hub_) hub_->stop();
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + 1s);
  }

  Subscriber& subscribe(const v1::SubscribeRequest& request, bool read_now = true) {
    subscribers_.push_back(std::make_unique<Subscriber>(*stub_, request, read_now));
    return *subscribers_.back();
  }

  void produce(const Record& record) {
    const std::vector<kafka::Header> headers = record.headers.view();
    ASSERT_EQ(producer_->send(topic_, record.key, record.value, headers), kafka::Producer::SendResult::queued);
  }
  void flush() { ASSERT_TRUE(producer_->flush(5000)); }

  // "latest" consumers skip records produced before their end offsets are looked up, which
  // happens just after subscription_started. Produce markers (sid "warm", a disconnect in /docs,
  // which every filter of these tests lets through) until each group has seen one.
  void warm_up(const std::vector<std::vector<Subscriber*>>& groups) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      produce(disconnect_record("warm", "/docs"));
      flush();
      std::this_thread::sleep_for(50ms);
      bool all = true;
      for (const auto& group : groups) {
        bool seen = false;
        for (const Subscriber* member : group) seen = seen || member->saw_warm_up();
        all = all && seen;
      }
      if (all) return;
    }
    FAIL() << "the subscription groups never went live";
  }

  uint64_t counter(const std::string& name, const std::vector<std::string>& labels = {},
                   const std::vector<std::string>& values = {}) {
    return registry_.counter(name, "", labels).with(values).value();
  }
  double gauge(const std::string& name) { return registry_.gauge(name, "").with({}).value(); }

  metrics::Registry registry_;
  std::string topic_;
  std::unique_ptr<SubscriptionHub> hub_;
  std::unique_ptr<TestService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::WsApiService::Stub> stub_;
  std::unique_ptr<kafka::Producer> producer_;
  std::vector<std::unique_ptr<Subscriber>> subscribers_;
};

std::vector<std::string> sids_of(const std::vector<v1::ClientEvent>& events) {
  std::vector<std::string> sids;
  for (const auto& event : events) sids.push_back(event.sid());
  return sids;
}

// sid -> its event names, in arrival order.
std::map<std::string, std::vector<std::string>> by_socket(const std::vector<v1::ClientEvent>& events) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& event : events) out[event.sid()].push_back(event.event().name());
  return out;
}

TEST_F(SubscriptionHubTest, EveryGroupGetsEveryEventAndAGroupSplitsBySocket) {
  start_hub();
  const std::string split = unique_name("split");
  const std::string whole = unique_name("whole");
  Subscriber& a1 = subscribe(request_for(split));
  Subscriber& a2 = subscribe(request_for(split));
  Subscriber& b = subscribe(request_for(whole));
  Subscriber& alone = subscribe(request_for());
  for (Subscriber* s : {&a1, &a2, &b, &alone}) ASSERT_TRUE(s->wait_started());
  EXPECT_EQ(hub_->streams(), 4u);
  EXPECT_EQ(hub_->groups(), 3u);
  EXPECT_EQ(gauge("wsgw_api_subscriptions"), 4);

  // subscription_started: unique ids, the group joined, this replica.
  std::set<std::string> ids;
  for (Subscriber* s : {&a1, &a2, &b, &alone}) {
    const v1::SubscriptionStarted started = s->started();
    EXPECT_EQ(started.api_node(), "api-test");
    EXPECT_EQ(started.subscription_id().rfind("api-test-", 0), 0u) << started.subscription_id();
    ids.insert(started.subscription_id());
    EXPECT_TRUE(s->events().front().sid().empty());
  }
  EXPECT_EQ(ids.size(), 4u);
  EXPECT_EQ(a1.started().group(), split);
  EXPECT_EQ(a2.started().group(), split);
  EXPECT_EQ(b.started().group(), whole);
  EXPECT_EQ(alone.started().group(), "_anon-" + alone.started().subscription_id());

  warm_up({{&a1, &a2}, {&b}, {&alone}});
  constexpr int kSockets = 12;
  constexpr int kPerSocket = 3;
  for (int n = 0; n < kPerSocket; ++n) {
    for (int s = 0; s < kSockets; ++s) produce(event_record("sid" + std::to_string(s), "/", "e" + std::to_string(n)));
  }
  flush();
  const size_t total = kSockets * kPerSocket;
  auto has_all = [&](const auto& events) {
    size_t count = 0;
    for (const auto& event : events) count += event.sid().rfind("sid", 0) == 0;
    return count >= total;
  };
  EXPECT_TRUE(b.wait_until(has_all));
  EXPECT_TRUE(alone.wait_until(has_all));
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (a1.received().size() + a2.received().size() < total && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  std::this_thread::sleep_for(200ms);  // nothing more may come

  const std::vector<std::string> in_order = {"e0", "e1", "e2"};
  for (Subscriber* s : {&b, &alone}) {
    const auto sockets = by_socket(s->received());
    ASSERT_EQ(sockets.size(), size_t{kSockets});
    for (const auto& [sid, names] : sockets) EXPECT_EQ(names, in_order) << sid;
  }
  // The split group: every event once, each socket wholly on one member, in order.
  const auto first = by_socket(a1.received());
  const auto second = by_socket(a2.received());
  EXPECT_FALSE(first.empty());
  EXPECT_FALSE(second.empty());
  EXPECT_EQ(first.size() + second.size(), size_t{kSockets});
  for (const auto& [sid, names] : first) {
    EXPECT_EQ(second.count(sid), 0u) << sid << " went to both members";
    EXPECT_EQ(names, in_order) << sid;
  }
  for (const auto& [sid, names] : second) EXPECT_EQ(names, in_order) << sid;

  // Event ids: set, and the same record has the same id in every group.
  std::set<std::string> event_ids;
  for (const auto& event : b.received()) {
    EXPECT_FALSE(event.event_id().empty());
    event_ids.insert(event.event_id());
  }
  EXPECT_EQ(event_ids.size(), total);
  for (const auto& event : alone.received()) EXPECT_EQ(event_ids.count(event.event_id()), 1u);
  const v1::ClientEvent sample = b.received().front();
  EXPECT_EQ(sample.uid(), "user-" + sample.sid());
  EXPECT_EQ(sample.metadata().node(), "gw-1");
  EXPECT_EQ(sample.event().args_json(), "[1]");

  EXPECT_GE(counter("wsgw_api_subscription_events_total", {"result"}, {"delivered"}), 3 * total);
  const std::string exposition = registry_.render();
  EXPECT_NE(exposition.find("wsgw_stage_latency_seconds_count{stage=\"gateway_to_api\"}"), std::string::npos);
  EXPECT_EQ(exposition.find("wsgw_stage_latency_seconds_count{stage=\"gateway_to_api\"} 0\n"), std::string::npos);
  // The same family and series as any other registration through the shared helper.
  EXPECT_EQ(&cluster::stage_latency(registry_, "gateway_to_api"),
            &registry_.histogram("wsgw_stage_latency_seconds", "x", {"stage"},
                                 metrics::exponential_buckets(0.0005, 2, 16)).with({"gateway_to_api"}));
}

TEST_F(SubscriptionHubTest, FiltersAckAndMalformedRecords) {
  start_hub();
  v1::SubscribeRequest docs = request_for();
  docs.add_namespaces("/docs*");
  v1::SubscribeRequest comments = request_for();
  comments.add_events("comment.*");
  v1::SubscribeRequest lifecycle = request_for();
  lifecycle.add_kinds(v1::CLIENT_EVENT_KIND_CONNECTED);
  lifecycle.add_kinds(v1::CLIENT_EVENT_KIND_DISCONNECTED);
  v1::SubscribeRequest combined = request_for();  // namespace AND event name
  combined.add_namespaces("/chat");
  combined.add_namespaces("/docs");
  combined.add_events("comment.add");
  combined.add_kinds(v1::CLIENT_EVENT_KIND_EVENT);
  Subscriber& by_namespace = subscribe(docs);
  Subscriber& by_event = subscribe(comments);
  Subscriber& by_kind = subscribe(lifecycle);
  Subscriber& by_all = subscribe(combined);
  Subscriber& everything = subscribe(request_for());
  std::vector<Subscriber*> all = {&by_namespace, &by_event, &by_kind, &by_all, &everything};
  for (Subscriber* s : all) ASSERT_TRUE(s->wait_started());
  warm_up({{&by_namespace}, {&by_event}, {&by_kind}, {&everything}});
  // by_all lets no marker through: its group shares the one partition, and the records below
  // come after the markers the other groups saw; give its consumer the same head start.
  std::this_thread::sleep_for(300ms);

  produce(event_record("x1", "/docs", "comment.add"));
  produce(event_record("x2", "/chat", "comment.add"));
  produce(event_record("x3", "/docs", "other"));
  produce(disconnect_record("x4", "/chat"));
  produce(connect_record("x5", "/docs-2"));
  produce(ack_record("x6", "/docs"));
  produce(malformed_record());
  produce(event_record("x9", "/docs", "comment.end"));
  flush();

  auto has = [](std::string sid) {
    return [sid](const std::vector<v1::ClientEvent>& events) {
      for (const auto& event : events) {
        if (event.sid() == sid) return true;
      }
      return false;
    };
  };
  EXPECT_TRUE(everything.wait_until(has("x9")));
  EXPECT_TRUE(by_namespace.wait_until(has("x9")));
  EXPECT_TRUE(by_event.wait_until(has("x9")));
  EXPECT_TRUE(by_kind.wait_until(has("x5")));
  EXPECT_TRUE(by_all.wait_until(has("x2")));
  std::this_thread::sleep_for(300ms);  // nothing more may come

  using Sids = std::vector<std::string>;
  EXPECT_EQ(sids_of(everything.received()), (Sids{"x1", "x2", "x3", "x4", "x5", "x9"}));  // no ack, no malformed
  EXPECT_EQ(sids_of(by_namespace.received()), (Sids{"x1", "x3", "x5", "x9"}));
  EXPECT_EQ(sids_of(by_event.received()), (Sids{"x1", "x2", "x4", "x5", "x9"}));  // names filter events only
  EXPECT_EQ(sids_of(by_kind.received()), (Sids{"x4", "x5"}));
  EXPECT_EQ(sids_of(by_all.received()), (Sids{"x1", "x2"}));

  const auto lifecycle_events = by_kind.received();
  ASSERT_EQ(lifecycle_events.size(), 2u);
  EXPECT_EQ(lifecycle_events[0].disconnected().reason(), "client_close");
  ASSERT_TRUE(lifecycle_events[1].has_connected());
  EXPECT_EQ(lifecycle_events[1].connected().socket().namespace_(), "/docs-2");
  EXPECT_EQ(lifecycle_events[1].connected().socket().rooms_size(), 1);

  // Each of the five group consumers read the malformed record once.
  EXPECT_EQ(counter("wsgw_api_upstream_malformed_total"), 5u);
  EXPECT_GE(counter("wsgw_api_subscription_events_total", {"result"}, {"unmatched"}), 1u);
}

TEST_F(SubscriptionHubTest, SlowSubscriberOverflowsWithResourceExhausted) {
  start_hub(/*stream_queue=*/8);
  Subscriber& slow = subscribe(request_for(), /*read_now=*/false);
  v1::ClientEvent event;
  ASSERT_TRUE(slow.read_one(event));
  ASSERT_TRUE(event.has_subscription_started());
  // Warm up by hand: read until its first marker arrives. Markers go slowly: the consumer
  // fetches in bursts, and a burst larger than the queue would overflow it already.
  std::atomic<bool> live{false};
  std::thread marker_reader([&] {
    v1::ClientEvent marker;
    live = slow.read_one(marker) && marker.sid() == "warm";
  });
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!live && std::chrono::steady_clock::now() < deadline) {
    produce(disconnect_record("warm", "/docs"));
    flush();
    std::this_thread::sleep_for(250ms);
  }
  marker_reader.join();
  ASSERT_TRUE(live);
  EXPECT_EQ(hub_->streams(), 1u);

  // The client reads nothing now. Far more than the queue plus whatever HTTP/2 flow control
  // lets into the client's buffers.
  constexpr int kEvents = 300;
  const std::string args = "[\"" + std::string(16 * 1024, 'x') + "\"]";
  for (int i = 0; i < kEvents; ++i) produce(event_record("big" + std::to_string(i % 7), "/", "bulk", args));
  flush();
  for (int i = 0; i < 250 && hub_->streams() != 0; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(hub_->streams(), 0u);  // removed at the overflow, before the client noticed
  EXPECT_EQ(hub_->groups(), 0u);
  EXPECT_EQ(counter("wsgw_api_subscription_events_total", {"result"}, {"overflow"}), 1u);

  slow.start_reading();
  const std::optional<grpc::Status> status = slow.wait_finished();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status->error_message();
  size_t bulk = 0;
  for (const auto& e : slow.events()) bulk += e.event().name() == "bulk";
  EXPECT_LT(bulk, size_t{kEvents});
}

TEST_F(SubscriptionHubTest, CancelRemovesTheMemberAndStopEndsTheRest) {
  start_hub();
  const std::string group = unique_name("shared");
  Subscriber& leaving = subscribe(request_for(group));
  Subscriber& staying = subscribe(request_for(group));
  Subscriber& alone = subscribe(request_for());
  for (Subscriber* s : {&leaving, &staying, &alone}) ASSERT_TRUE(s->wait_started());
  warm_up({{&leaving, &staying}, {&alone}});
  EXPECT_EQ(hub_->groups(), 2u);

  leaving.cancel();
  ASSERT_TRUE(leaving.wait_finished().has_value());
  for (int i = 0; i < 50 && hub_->streams() != 2; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(hub_->streams(), 2u);
  EXPECT_EQ(hub_->groups(), 2u);  // the group still has a member here

  // With one member left, it gets every socket's events.
  for (int s = 0; s < 10; ++s) produce(event_record("after" + std::to_string(s), "/", "e"));
  flush();
  EXPECT_TRUE(staying.wait_until([](const auto& events) {
    size_t n = 0;
    for (const auto& e : events) n += e.sid().rfind("after", 0) == 0;
    return n == 10;
  }));

  // The last member of a group leaving closes the group's consumer.
  alone.cancel();
  ASSERT_TRUE(alone.wait_finished().has_value());
  for (int i = 0; i < 50 && hub_->groups() != 1; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(hub_->groups(), 1u);
  EXPECT_EQ(hub_->streams(), 1u);
  EXPECT_EQ(gauge("wsgw_api_subscriptions"), 1);
  EXPECT_EQ(gauge("wsgw_api_subscription_groups"), 1);

  hub_->stop();
  const std::optional<grpc::Status> status = staying.wait_finished();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->error_code(), grpc::StatusCode::UNAVAILABLE) << status->error_message();
  EXPECT_EQ(hub_->streams(), 0u);
  EXPECT_EQ(hub_->groups(), 0u);
  EXPECT_EQ(gauge("wsgw_api_subscriptions"), 0);
  EXPECT_EQ(gauge("wsgw_api_subscription_groups"), 0);

  // After stop(): refused at once, without subscription_started.
  Subscriber& late = subscribe(request_for(group));
  const std::optional<grpc::Status> late_status = late.wait_finished();
  ASSERT_TRUE(late_status.has_value());
  EXPECT_EQ(late_status->error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(late.events().empty());
  hub_->stop();  // idempotent
}

TEST_F(SubscriptionHubTest, StreamsAndGroupsBeyondTheLimitsAreResourceExhausted) {
  start_hub(1024, {}, 15s, {}, /*max_streams=*/3, /*max_groups=*/2);
  const std::string a = unique_name("limit-a"), b = unique_name("limit-b"), c = unique_name("limit-c");
  Subscriber& a1 = subscribe(request_for(a));
  Subscriber& b1 = subscribe(request_for(b));
  ASSERT_TRUE(a1.wait_started(20s));
  ASSERT_TRUE(b1.wait_started(20s));

  // A third group (named, or the private group of a stream without one): refused.
  for (const std::string& group : {c, std::string()}) {
    Subscriber& refused = subscribe(request_for(group));
    const std::optional<grpc::Status> status = refused.wait_finished(5s);
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(status->error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status->error_message();
    EXPECT_NE(status->error_message().find("--max-subscription-groups"), std::string::npos);
    EXPECT_TRUE(refused.events().empty());
  }
  // A member of an existing group fits, until the stream limit.
  Subscriber& a2 = subscribe(request_for(a));
  ASSERT_TRUE(a2.wait_started(20s));
  Subscriber& a3 = subscribe(request_for(a));
  const std::optional<grpc::Status> status = a3.wait_finished(5s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status->error_message();
  EXPECT_NE(status->error_message().find("--max-subscriptions"), std::string::npos);
  EXPECT_EQ(hub_->streams(), 3u);
  EXPECT_EQ(hub_->groups(), 2u);
}

TEST_F(SubscriptionHubTest, StartTimesOutWhenKafkaIsUnreachable) {
  start_hub(1024, "127.0.0.1:1", 400ms);
  Subscriber& waiting = subscribe(request_for(unique_name("nobody")));
  const auto begin = std::chrono::steady_clock::now();
  const std::optional<grpc::Status> status = waiting.wait_finished(5s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->error_code(), grpc::StatusCode::UNAVAILABLE) << status->error_message();
  EXPECT_GE(std::chrono::steady_clock::now() - begin, 350ms);
  EXPECT_TRUE(waiting.events().empty());  // never started
  for (int i = 0; i < 50 && hub_->groups() != 0; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(hub_->streams(), 0u);
  EXPECT_EQ(hub_->groups(), 0u);
}

TEST_F(SubscriptionHubTest, BadKafkaConfigurationEndsTheStreamAtItsStartTimeout) {
  start_hub(1024, "127.0.0.1:1", 200ms, {{"no.such.property", "1"}});
  Subscriber& waiting = subscribe(request_for());
  const std::optional<grpc::Status> status = waiting.wait_finished(5s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(status->error_message().find("cannot read"), std::string::npos) << status->error_message();
  EXPECT_TRUE(waiting.events().empty());
}

}  // namespace
}  // namespace wsgw::api
