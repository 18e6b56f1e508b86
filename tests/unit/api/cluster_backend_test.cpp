// ClusterBackend against a real redis-server (tests/unit/common/redis/redis_server.h) and
// librdkafka's mock cluster: sessions are registered as gateways would register them, the
// back-end's records are read back from the topics, and each test checks that a request
// reaches exactly the partitions of the nodes holding its targets.
#include "api/service/cluster_backend.h"

#include <gtest/gtest.h>

#include <future>
#include <map>
#include <set>

#include "../common/redis/redis_server.h"
#include "api/service/records.h"
#include "common/cluster/contract.h"
#include "common/kafka/consumer.h"
#include "common/kafka/mock_cluster.h"
#include "common/kafka/producer.h"
#include "common/redis/node_registry.h"
#include "common/redis/session_registry.h"
#include "common/redis/worker_id_lease.h"

namespace wsgw::api {
namespace {

using redis::testing::await;
using redis::testing::eventually;
using redis::testing::RedisServer;

constexpr int kPartitions = 8;

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

struct Record {
  std::string topic;
  int32_t partition = 0;
  std::map<std::string, std::string> headers;
  std::string value;
};

// The back-end's Redis queue in these tests: small, so that a big room overflows it when read
// all at once.
constexpr size_t kRedisQueue = 1024;

class ClusterBackendTest : public redis::testing::RedisTest {
 protected:
  void SetUp() override {
    RedisTest::SetUp();
    if (IsSkipped()) return;
    std::string error;
    kafka_ = kafka::MockCluster::create(1, error);
    ASSERT_TRUE(kafka_) << error;
    for (auto topic : {cluster::kDownstreamTopic, cluster::kAcksTopic}) {
      ASSERT_EQ(kafka_->create_topic(topic, kPartitions), 0);
    }
    ASSERT_EQ(kafka_->create_topic(cluster::kBroadcastTopic, 1), 0);
    ASSERT_EQ(kafka_->create_topic(cluster::kUpstreamTopic, 4), 0);

    redis_ = std::make_unique<redis::Client>(server().client_options());
    ASSERT_TRUE(redis_->wait_connected(std::chrono::seconds(3)));
    sessions_ = std::make_unique<redis::SessionRegistry>(*redis_);
    nodes_ = std::make_unique<redis::NodeRegistry>(*redis_);

    // Two gateway nodes with worker ids 3 and 5: partitions 3 and 5.
    set_worker_id("gw-a", 3);
    set_worker_id("gw-b", 5);
    // Alive for the whole test (in the future), unless a test makes one silent.
    heartbeat("gw-a", now_ms() + 60000);
    heartbeat("gw-b", now_ms() + 60000);

    kafka::ConsumerConfig cc;
    cc.brokers = kafka_->bootstrap_servers();
    cc.group_id = "test-reader";
    cc.manual_assignment = true;
    cc.auto_offset_reset = "earliest";
    cc.topics = {std::string(cluster::kDownstreamTopic), std::string(cluster::kBroadcastTopic),
                 std::string(cluster::kUpstreamTopic)};
    reader_ = kafka::Consumer::create(cc, error);
    ASSERT_TRUE(reader_) << error;

    BackendOptions options;
    options.node_name = "api-test";
    options.kafka_brokers = kafka_->bootstrap_servers();
    options.redis_host = "127.0.0.1";
    options.redis_port = server().port();
    options.downstream_partitions = kPartitions;
    options.create_topics = false;
    options.node_timeout = std::chrono::milliseconds(1500);
    options.reaper_period = std::chrono::milliseconds(200);
    options.ack_liveness_period = std::chrono::milliseconds(200);
    options.kafka_extra = {{"topic.metadata.refresh.interval.ms", "1000"}};
    options.redis_queue_capacity = kRedisQueue;
    backend_ = std::make_unique<ClusterBackend>(options, nullptr);
    ASSERT_TRUE(backend_->start(error)) << error;
  }

  void TearDown() override {
    if (backend_) backend_->stop();
    backend_.reset();
    reader_.reset();
    if (redis_) redis_->stop();
  }

  void set_worker_id(const std::string& node, int id) {
    auto reply = redis_->command_sync({"SET", sessions_->keys().worker_id_of(node),
                                       std::to_string(id)},
                                      std::chrono::seconds(2));
    ASSERT_FALSE(reply.is_error()) << reply.str();
  }

  void heartbeat(const std::string& node, int64_t at) {
    auto r = await<std::optional<int64_t>>(
        [&](auto done) { return nodes_->heartbeat(node, at, std::move(done)); });
    ASSERT_TRUE(r.ok()) << r.error;
  }

  void add_session(const std::string& sid, const std::string& node, const std::string& uid,
                   const std::string& nsp, std::vector<std::string> rooms = {}) {
    redis::SessionRecord r;
    r.sid = sid;
    r.node = node;
    r.uid = uid;
    r.nsp = nsp;
    r.rooms = std::move(rooms);
    r.connected_at_ms = now_ms();
    auto result = await<bool>([&](auto done) { return sessions_->register_session(r, std::move(done)); });
    ASSERT_TRUE(result.ok()) << result.error;
  }

  // Every record that arrives within `quiet` of the previous one (at least `min_count`).
  std::vector<Record> read_records(size_t min_count,
                                   std::chrono::milliseconds quiet = std::chrono::milliseconds(400)) {
    std::vector<Record> out;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    auto last = std::chrono::steady_clock::now();
    kafka::Message m;
    while (std::chrono::steady_clock::now() < deadline) {
      if (reader_->poll(50, m)) {
        Record r;
        r.topic = std::string(m.topic());
        r.partition = m.partition();
        r.value = std::string(m.value());
        for (auto h : m.headers()) r.headers[std::string(h.name)] = std::string(h.value);
        out.push_back(std::move(r));
        last = std::chrono::steady_clock::now();
      } else if (out.size() >= min_count && std::chrono::steady_clock::now() - last > quiet) {
        break;
      }
    }
    return out;
  }

  template <class Call>
  grpc::Status call(Call&& start) {
    std::promise<grpc::Status> promise;
    auto future = promise.get_future();
    start([&promise](grpc::Status s) { promise.set_value(std::move(s)); });
    if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      return {grpc::StatusCode::DEADLINE_EXCEEDED, "test: no answer"};
    }
    return future.get();
  }

  std::unique_ptr<kafka::MockCluster> kafka_;
  std::unique_ptr<redis::Client> redis_;
  std::unique_ptr<redis::SessionRegistry> sessions_;
  std::unique_ptr<redis::NodeRegistry> nodes_;
  std::unique_ptr<kafka::Consumer> reader_;
  std::unique_ptr<ClusterBackend> backend_;
};

TEST_F(ClusterBackendTest, EmitToSocketGoesOnlyToItsNodesPartition) {
  add_session("sidA1", "gw-a", "alice", "/");
  add_session("sidB1", "gw-b", "bob", "/");
  v1::EmitRequest req;
  req.set_sid("sidA1");
  req.set_event("news");
  req.set_args_json(R"([{"n":1}])");
  v1::EmitResponse resp;
  ASSERT_TRUE(call([&](auto done) { backend_->emit(req, resp, done); }).ok());
  EXPECT_EQ(resp.target_nodes(), 1u);
  EXPECT_FALSE(resp.trace_id().empty());
  auto records = read_records(1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].topic, cluster::kDownstreamTopic);
  EXPECT_EQ(records[0].partition, 3);
  EXPECT_EQ(records[0].headers["x-node"], "gw-a");
  EXPECT_EQ(records[0].headers["x-sid"], "sidA1");
  EXPECT_EQ(records[0].headers["x-trace-id"], resp.trace_id());
  EXPECT_EQ(records[0].value, R"(2["news",{"n":1}])");
}

TEST_F(ClusterBackendTest, EmitToUnknownSocketSendsNothing) {
  v1::EmitRequest req;
  req.set_sid("nobody");
  req.set_event("news");
  v1::EmitResponse resp;
  ASSERT_TRUE(call([&](auto done) { backend_->emit(req, resp, done); }).ok());
  EXPECT_EQ(resp.target_nodes(), 0u);
  EXPECT_TRUE(read_records(0, std::chrono::milliseconds(300)).empty());
}

TEST_F(ClusterBackendTest, EmitToRoomAndUserReachesEachHoldingNodeOnce) {
  add_session("s1", "gw-a", "alice", "/docs", {"doc-1"});
  add_session("s2", "gw-a", "bob", "/docs", {"doc-1"});
  add_session("s3", "gw-b", "alice", "/docs", {"doc-1"});
  add_session("s4", "gw-b", "carol", "/docs", {"doc-2"});

  v1::EmitRequest room;
  room.set_room("doc-1");
  room.set_namespace_("/docs");
  room.set_event("edit");
  v1::EmitResponse resp;
  ASSERT_TRUE(call([&](auto done) { backend_->emit(room, resp, done); }).ok());
  EXPECT_EQ(resp.target_nodes(), 2u);
  auto records = read_records(2);
  ASSERT_EQ(records.size(), 2u);
  std::set<std::pair<int32_t, std::string>> got;
  for (auto& r : records) {
    EXPECT_EQ(r.headers["x-room"], "doc-1");
    EXPECT_EQ(r.headers["x-ns"], "/docs");
    got.insert({r.partition, r.headers["x-node"]});
  }
  EXPECT_EQ(got, (std::set<std::pair<int32_t, std::string>>{{3, "gw-a"}, {5, "gw-b"}}));

  v1::EmitRequest user;
  user.set_uid("carol");
  user.set_namespace_("/docs");
  user.set_event("ping");
  ASSERT_TRUE(call([&](auto done) { backend_->emit(user, resp, done); }).ok());
  EXPECT_EQ(resp.target_nodes(), 1u);
  records = read_records(1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].partition, 5);
  EXPECT_EQ(records[0].headers["x-uid"], "carol");
}

TEST_F(ClusterBackendTest, EmitToEveryoneIsOneBroadcastRecord) {
  v1::EmitRequest req;
  req.mutable_everyone();
  req.set_event("hello");
  v1::EmitResponse resp;
  ASSERT_TRUE(call([&](auto done) { backend_->emit(req, resp, done); }).ok());
  EXPECT_EQ(resp.target_nodes(), 2u);  // the live nodes
  auto records = read_records(1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].topic, cluster::kBroadcastTopic);
  EXPECT_EQ(records[0].headers.count("x-node"), 0u);
}

TEST_F(ClusterBackendTest, EmitWithAckGetsTheClientsAnswerFromTheAcksTopic) {
  add_session("sidA1", "gw-a", "alice", "/");
  v1::EmitWithAckRequest req;
  req.set_sid("sidA1");
  req.set_event("confirm");
  req.set_args_json("[1]");
  req.mutable_timeout()->set_seconds(5);
  v1::EmitWithAckResponse resp;
  std::promise<grpc::Status> promise;
  backend_->emit_with_ack(req, resp, [&](grpc::Status s) { promise.set_value(s); });

  auto records = read_records(1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].partition, 3);
  // 21234["confirm",1]: the ack id follows the packet type.
  const std::string& packet = records[0].value;
  ASSERT_EQ(packet.substr(0, 1), "2");
  const size_t bracket = packet.find('[');
  const uint64_t ack_id = std::stoull(packet.substr(1, bracket - 1));
  EXPECT_EQ(ack_id >> cluster::kAckIdWorkerShift, backend_->worker_id());
  EXPECT_EQ(packet.substr(bracket), R"(["confirm",1])");
  EXPECT_EQ(backend_->pending_acks(), 1u);

  // The gateway's answer, as ClusterNode::on_ack produces it.
  std::string error;
  kafka::ProducerConfig pc;
  pc.brokers = kafka_->bootstrap_servers();
  auto producer = kafka::Producer::create(pc, error);
  ASSERT_TRUE(producer) << error;
  const std::string id_text = std::to_string(ack_id);
  std::vector<kafka::Header> headers = {{"x-op", "ack"},      {"x-sid", "sidA1"},
                                        {"x-ns", "/"},        {"x-node", "gw-a"},
                                        {"x-ack-id", id_text}, {"x-trace-id", "t1"},
                                        {"x-ts-gateway-in", "1"}};
  ASSERT_EQ(producer->send_to(cluster::kAcksTopic,
                              cluster::ack_id_partition(ack_id, kPartitions), "sidA1",
                              R"(["ok",2])", headers),
            kafka::Producer::SendResult::queued);
  producer->flush(5000);

  auto future = promise.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_TRUE(future.get().ok());
  EXPECT_EQ(resp.outcome(), v1::EmitWithAckResponse::OUTCOME_ACKED);
  EXPECT_EQ(resp.args_json(), R"(["ok",2])");
  EXPECT_EQ(backend_->pending_acks(), 0u);
}

TEST_F(ClusterBackendTest, EmitWithAckEndsOnTimeoutOrDisconnect) {
  add_session("sidA1", "gw-a", "alice", "/");
  add_session("sidA2", "gw-a", "alice", "/");
  v1::EmitWithAckRequest quick;
  quick.set_sid("sidA1");
  quick.set_event("x");
  quick.mutable_timeout()->set_nanos(300 * 1000 * 1000);
  v1::EmitWithAckResponse quick_resp;
  EXPECT_TRUE(call([&](auto done) { backend_->emit_with_ack(quick, quick_resp, done); }).ok());
  EXPECT_EQ(quick_resp.outcome(), v1::EmitWithAckResponse::OUTCOME_TIMEOUT);

  v1::EmitWithAckRequest slow;
  slow.set_sid("sidA2");
  slow.set_event("x");
  slow.mutable_timeout()->set_seconds(30);
  v1::EmitWithAckResponse slow_resp;
  std::promise<grpc::Status> promise;
  backend_->emit_with_ack(slow, slow_resp, [&](grpc::Status s) { promise.set_value(s); });
  ASSERT_TRUE(eventually([&] { return backend_->pending_acks() == 1; }));
  auto gone = await<bool>([&](auto done) { return sessions_->unregister_session("sidA2", std::move(done)); });
  ASSERT_TRUE(gone.ok());
  auto future = promise.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(slow_resp.outcome(), v1::EmitWithAckResponse::OUTCOME_DISCONNECTED);

  v1::EmitWithAckRequest missing;
  missing.set_sid("nobody");
  missing.set_event("x");
  v1::EmitWithAckResponse missing_resp;
  EXPECT_EQ(call([&](auto done) { backend_->emit_with_ack(missing, missing_resp, done); }).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(ClusterBackendTest, JoinForAUserUpdatesRedisAndSendsOneRecordPerNodeAndRoom) {
  add_session("s1", "gw-a", "alice", "/");
  add_session("s2", "gw-b", "alice", "/");
  add_session("s3", "gw-b", "alice", "/other");  // another namespace: not concerned
  v1::JoinRoomRequest req;
  req.set_uid("alice");
  req.add_rooms("r1");
  req.add_rooms("r2");
  v1::JoinRoomResponse resp;
  ASSERT_TRUE(call([&](auto done) { backend_->join_room(req, resp, done); }).ok());
  EXPECT_EQ(resp.sockets(), 2u);
  auto records = read_records(4);
  EXPECT_EQ(records.size(), 4u);
  for (auto& r : records) {
    EXPECT_EQ(r.headers["x-op"], "join");
    EXPECT_EQ(r.headers["x-uid"], "alice");
  }
  // Presence sees it at once.
  v1::ListRoomSocketsRequest list;
  list.set_room("r1");
  v1::ListRoomSocketsResponse sockets;
  ASSERT_TRUE(call([&](auto done) { backend_->list_room_sockets(list, sockets, done); }).ok());
  ASSERT_EQ(sockets.sockets_size(), 2);
  EXPECT_EQ(sockets.sockets(0).sid(), "s1");
  EXPECT_EQ(sockets.sockets(0).node(), "gw-a");
  EXPECT_EQ(sockets.sockets(1).sid(), "s2");
}

TEST_F(ClusterBackendTest, PresenceListsPageAndCount) {
  for (int i = 0; i < 5; ++i) {
    add_session("s" + std::to_string(i), i % 2 ? "gw-a" : "gw-b", i < 3 ? "u" + std::to_string(i) : "u0",
                "/", {"room"});
  }
  v1::ListRoomSocketsRequest list;
  list.set_room("room");
  list.set_page_size(2);
  std::vector<std::string> seen;
  for (int page = 0; page < 5; ++page) {
    v1::ListRoomSocketsResponse resp;
    ASSERT_TRUE(call([&](auto done) { backend_->list_room_sockets(list, resp, done); }).ok());
    for (auto& s : resp.sockets()) seen.push_back(s.sid());
    if (resp.next_page_token().empty()) break;
    list.set_page_token(resp.next_page_token());
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"s0", "s1", "s2", "s3", "s4"}));

  // A token of the room-sockets listing is refused by another listing.
  v1::ListRoomUsersRequest users;
  users.set_room("room");
  users.set_page_token(list.page_token());
  v1::ListRoomUsersResponse users_resp;
  EXPECT_EQ(call([&](auto done) { backend_->list_room_users(users, users_resp, done); }).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  users.clear_page_token();
  ASSERT_TRUE(call([&](auto done) { backend_->list_room_users(users, users_resp, done); }).ok());
  EXPECT_EQ(std::vector<std::string>(users_resp.uids().begin(), users_resp.uids().end()),
            (std::vector<std::string>{"u0", "u1", "u2"}));

  v1::CountRoomsRequest count;
  count.add_rooms("room");
  count.add_rooms("empty");
  v1::CountRoomsResponse counts;
  ASSERT_TRUE(call([&](auto done) { backend_->count_rooms(count, counts, done); }).ok());
  ASSERT_EQ(counts.counts_size(), 2);
  EXPECT_EQ(counts.counts(0).sockets(), 5u);
  EXPECT_EQ(counts.counts(0).users(), 3u);
  EXPECT_EQ(counts.counts(1).sockets(), 0u);

  v1::ListUserSocketsRequest mine;
  mine.set_uid("u0");
  mine.set_limit(2);
  v1::ListUserSocketsResponse mine_resp;
  ASSERT_TRUE(call([&](auto done) { backend_->list_user_sockets(mine, mine_resp, done); }).ok());
  EXPECT_EQ(mine_resp.sockets_size(), 2);
  EXPECT_TRUE(mine_resp.truncated());
}

TEST_F(ClusterBackendTest, PresenceOfARoomLargerThanTheRedisQueue) {
  // Three times as many sockets as the back-end's Redis queue holds: the per-socket reads of
  // ListRoomUsers and CountRooms must go in turns, not all at once.
  constexpr int kSockets = 3 * static_cast<int>(kRedisQueue);
  for (int i = 0; i < kSockets; ++i) {
    add_session("big" + std::to_string(i), "gw-a", "user" + std::to_string(i % 700), "/", {"big"});
  }
  v1::CountRoomsRequest count;
  count.add_rooms("big");
  v1::CountRoomsResponse counts;
  grpc::Status status = call([&](auto done) { backend_->count_rooms(count, counts, done); });
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(counts.counts(0).sockets(), static_cast<uint32_t>(kSockets));
  EXPECT_EQ(counts.counts(0).users(), 700u);

  v1::ListRoomUsersRequest users;
  users.set_room("big");
  users.set_page_size(1000);
  v1::ListRoomUsersResponse users_resp;
  status = call([&](auto done) { backend_->list_room_users(users, users_resp, done); });
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(users_resp.uids_size(), 700);
  EXPECT_TRUE(users_resp.next_page_token().empty());
}

TEST_F(ClusterBackendTest, DisconnectSendsNoticeThenKickToTheSocketsNode) {
  add_session("s1", "gw-b", "alice", "/chat");
  v1::DisconnectSocketRequest req;
  req.set_sid("s1");
  req.set_reason("bye");
  req.set_notify_event("kicked");
  v1::DisconnectSocketResponse resp;
  ASSERT_TRUE(call([&](auto done) { backend_->disconnect_socket(req, resp, done); }).ok());
  EXPECT_TRUE(resp.found());
  auto records = read_records(2);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].headers["x-op"], "emit");
  EXPECT_EQ(records[1].headers["x-op"], "kick");
  EXPECT_EQ(records[1].headers["x-ns"], "/chat");
  EXPECT_EQ(records[1].value, "bye");
  EXPECT_EQ(records[1].partition, 5);

  req.set_sid("gone");
  ASSERT_TRUE(call([&](auto done) { backend_->disconnect_socket(req, resp, done); }).ok());
  EXPECT_FALSE(resp.found());
}

TEST_F(ClusterBackendTest, ReaperRemovesADeadNodesSessionsAndReportsNodeLost) {
  add_session("s1", "gw-a", "alice", "/");
  add_session("s2", "gw-a", "", "/");
  add_session("s3", "gw-b", "bob", "/");
  heartbeat("gw-a", now_ms() - 60000);  // silent for a minute
  auto records = read_records(2, std::chrono::milliseconds(1000));
  std::set<std::string> reaped;
  for (auto& r : records) {
    ASSERT_EQ(r.topic, cluster::kUpstreamTopic);
    EXPECT_EQ(r.headers["x-op"], "disconnect");
    EXPECT_EQ(r.headers["x-node"], "gw-a");
    EXPECT_EQ(r.value, "node_lost");
    reaped.insert(r.headers["x-sid"]);
  }
  EXPECT_EQ(reaped, (std::set<std::string>{"s1", "s2"}));
  auto left = await<int64_t>([&](auto done) { return sessions_->count_sessions(std::move(done)); });
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left.value, 1);
}

}  // namespace
}  // namespace wsgw::api
