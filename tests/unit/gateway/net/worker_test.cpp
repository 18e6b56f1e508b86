#include "gateway/net/worker.h"

#include <gtest/gtest.h>

#include "common/auth/jwt.h"
#include "gateway/net/server_context.h"
#include "gateway/session/socketio_session.h"
#include "tests/unit/gateway/session/fakes.h"

namespace wsgw::net {
namespace {

using session::Delivery;
using session::testing::FakeWs;

struct NullApp : session::SocketIoApp {
  bool namespace_exists(std::string_view nsp) override { return nsp == "/" || nsp == "/b"; }
  void on_connect(session::NamespaceSocket&, std::string_view) override {}
  void on_event(session::NamespaceSocket&, const sio::Packet&, std::string_view, std::string_view,
                std::span<const std::string>) override {}
  void on_ack(session::NamespaceSocket&, const sio::Packet&, std::span<const std::string>) override {}
  void on_disconnect(session::NamespaceSocket&, std::string_view) override {}
};

// Several Socket.IO clients on one worker, each with a recording WebSocket link.
class WorkerDeliveryTest : public ::testing::Test {
 protected:
  ServerContext ctx;
  NullApp app;
  util::Snowflake ids{1};
  auth::JwtVerifier jwt{"k"};
  std::unique_ptr<Worker> worker;
  std::vector<std::unique_ptr<FakeWs>> links;
  std::vector<session::EngineSession*> sessions;

  void SetUp() override {
    ctx.sio.app = &app;
    ctx.sio.ids = &ids;
    ctx.sio.jwt = &jwt;
    worker = std::make_unique<Worker>(ctx, 0);
  }
  void TearDown() override {
    for (auto* s : sessions) s->close(session::Disconnect::shutdown);
    worker.reset();
  }
  // Connects a client as `user` to namespace `nsp`; returns its link (messages so far cleared).
  FakeWs& client(const std::string& user, const std::string& nsp = "/") {
    auto s = std::make_unique<session::EngineSession>(*worker, ids.next(), eio::Version::v4,
                                                      session::EngineSession::Kind::websocket, true);
    s->set_handler(std::make_unique<session::SocketIoSession>(
        ctx.sio, auth::jwt_sign_hs256("{\"sub\":\"" + user + "\"}", "k")));
    auto& ref = worker->add_session(std::move(s));
    auto link = std::make_unique<FakeWs>();
    link->session = &ref;
    ref.start_websocket(*link);
    ref.ws_text(*link, nsp == "/" ? "40" : "40" + nsp + ",");
    run_worker();  // the CONNECT answer is written at the end of the turn
    link->sent.clear();
    sessions.push_back(&ref);
    links.push_back(std::move(link));
    return *links.back();
  }
  session::NamespaceSocket& socket_of(size_t i, const std::string& nsp = "/") {
    auto* sio = dynamic_cast<session::SocketIoSession*>(sessions[i]->handler());
    return *sio->find(nsp);
  }
  // Delivers and runs the worker's deferred work: a corked delivery writes at the end of the batch.
  size_t deliver(const Delivery& d) {
    const size_t n = worker->deliver(d);
    run_worker();
    return n;
  }
  void run_worker() {
    worker->io().restart();
    worker->io().poll();
  }
  Delivery make(Delivery::Target t, std::string key, std::string nsp = "/") {
    Delivery d;
    d.target = t;
    d.key = std::move(key);
    d.nsp = std::move(nsp);
    d.msg = session::make_socketio_message("2[\"x\"]");
    return d;
  }
};

TEST_F(WorkerDeliveryTest, EveryoneInANamespaceGetsTheSameBytesOnce) {
  auto& a = client("alice");
  auto& b = client("bob");
  auto& other_ns = client("carol", "/b");
  auto d = make(Delivery::Target::everyone, "");
  EXPECT_EQ(deliver(d), 2u);
  EXPECT_EQ(a.sent, std::vector<std::string>{"42[\"x\"]"});
  EXPECT_EQ(b.sent, std::vector<std::string>{"42[\"x\"]"});
  EXPECT_TRUE(other_ns.sent.empty());
}

TEST_F(WorkerDeliveryTest, BroadcastsQueuedBackToBackLeaveInOneWritePerSocket) {
  auto& a = client("alice");
  auto& b = client("bob");
  const int a0 = a.flushes, b0 = b.flushes;
  auto d = make(Delivery::Target::everyone, "");
  // Three broadcasts posted to the worker before it runs (as the cluster's dispatch does).
  for (int i = 0; i < 3; ++i) boost::asio::post(worker->io(), [this, d] { worker->deliver(d); });
  run_worker();
  EXPECT_EQ(a.sent.size(), 3u);
  EXPECT_EQ(b.sent.size(), 3u);
  EXPECT_EQ(a.flushes - a0, 1) << "corked: one write for the three frames";
  EXPECT_EQ(b.flushes - b0, 1);
}

TEST_F(WorkerDeliveryTest, ClosingAConnectionMidVisitSkipsItsOtherNamespaceSockets) {
  // alice has 8 connections, each with "/" and "/b". Closing the connection of a "/" socket
  // destroys that connection's "/b" socket, which the visit may still hold (the user's set has
  // no order): it must be skipped, not touched (valgrind/ASan see the difference).
  constexpr size_t kConnections = 8;
  for (size_t i = 0; i < kConnections; ++i) {
    auto& link = client("alice");
    sessions[i]->ws_text(link, "40/b,");
    run_worker();
    link.sent.clear();
  }
  ASSERT_EQ(worker->local_index()->socket_count(), 2 * kConnections);
  std::vector<std::string> seen;
  Delivery d = make(Delivery::Target::user, "alice");
  worker->for_each_target(d, [&](session::NamespaceSocket& s) {
    seen.push_back(s.nsp());
    s.owner().close_connection("kicked");
  });
  EXPECT_EQ(seen, std::vector<std::string>(kConnections, "/"));
  for (auto* s : sessions) EXPECT_TRUE(s->closed());
  EXPECT_EQ(worker->local_index()->socket_count(), 0u);
  EXPECT_EQ(links[0]->sent, (std::vector<std::string>{"41/b,", "41"}))
      << "a DISCONNECT for each namespace of the closed connection";
}

TEST_F(WorkerDeliveryTest, RoomUserSocketAndExcept) {
  auto& a = client("alice");
  auto& a2 = client("alice");
  auto& b = client("bob");
  ASSERT_TRUE(socket_of(0).join("doc:1"));
  ASSERT_TRUE(socket_of(2).join("doc:1"));

  EXPECT_EQ(deliver(make(Delivery::Target::room, "doc:1")), 2u);
  EXPECT_EQ(a.sent.size(), 1u);
  EXPECT_TRUE(a2.sent.empty());
  EXPECT_EQ(b.sent.size(), 1u);

  EXPECT_EQ(deliver(make(Delivery::Target::user, "alice")), 2u);
  EXPECT_EQ(a.sent.size(), 2u);
  EXPECT_EQ(a2.sent.size(), 1u);

  EXPECT_EQ(deliver(make(Delivery::Target::socket, socket_of(2).sid())), 1u);
  EXPECT_EQ(b.sent.size(), 2u);
  EXPECT_EQ(deliver(make(Delivery::Target::socket, "not-an-id")), 0u);

  auto d = make(Delivery::Target::room, "doc:1");
  d.except.push_back(socket_of(0).id());
  EXPECT_EQ(deliver(d), 1u);
  EXPECT_EQ(a.sent.size(), 2u) << "excluded";
  EXPECT_EQ(b.sent.size(), 3u);
}

TEST_F(WorkerDeliveryTest, DisconnectedSocketsAreGoneFromEveryIndex) {
  client("alice");
  ASSERT_TRUE(socket_of(0).join("doc:1"));
  const std::string sid = socket_of(0).sid();
  sessions[0]->close(session::Disconnect::client_close);
  sessions.erase(sessions.begin());
  EXPECT_EQ(deliver(make(Delivery::Target::room, "doc:1")), 0u);
  EXPECT_EQ(deliver(make(Delivery::Target::user, "alice")), 0u);
  EXPECT_EQ(deliver(make(Delivery::Target::socket, sid)), 0u);
  EXPECT_EQ(deliver(make(Delivery::Target::everyone, "")), 0u);
}

}  // namespace
}  // namespace wsgw::net
