#include "gateway/session/socketio_session.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "common/auth/jwt.h"
#include "tests/unit/gateway/session/fakes.h"

namespace wsgw::session {
namespace {

using testing::FakeHost;
using testing::FakeWs;

struct RecordingApp : SocketIoApp {
  std::vector<std::string> log;
  bool namespace_exists(std::string_view nsp) override { return nsp == "/" || nsp == "/custom"; }
  void on_connect(NamespaceSocket& s, std::string_view auth) override {
    log.push_back("connect " + s.nsp() + " user=" + s.user_id() + " auth=" + std::string(auth));
  }
  void on_event(NamespaceSocket& s, const sio::Packet& p, std::string_view name,
                std::string_view args, std::span<const std::string> att) override {
    log.push_back("event " + s.nsp() + " " + std::string(name) + " [" + std::string(args) + "] att=" +
                  std::to_string(att.size()) + (p.id ? " id=" + std::to_string(*p.id) : ""));
  }
  void on_ack(NamespaceSocket&, const sio::Packet& p, std::span<const std::string>) override {
    log.push_back("ack " + std::to_string(p.id.value_or(0)));
  }
  void on_disconnect(NamespaceSocket& s, std::string_view reason) override {
    log.push_back("disconnect " + s.nsp() + " " + std::string(reason));
  }
};

class SocketIoSessionTest : public ::testing::Test {
 protected:
  FakeHost host;
  RecordingApp app;
  util::Snowflake ids{7};
  SocketIoContext ctx;
  FakeWs ws;
  std::unique_ptr<EngineSession> engine;

  void SetUp() override {
    ctx.app = &app;
    ctx.ids = &ids;
    ctx.connect_timeout_ms = 2000;
  }
  void open(eio::Version v, std::string handshake_token = {}) {
    engine = std::make_unique<EngineSession>(host, 1, v, EngineSession::Kind::websocket, true);
    engine->set_handler(std::make_unique<SocketIoSession>(ctx, std::move(handshake_token)));
    ws.session = engine.get();
    engine->start_websocket(ws);
    host.run_deferred();
    ws.sent.clear();
  }
  // A frame from the client, then the end of the worker's turn (the session's writes are
  // deferred to it).
  void text(std::string_view frame) {
    engine->ws_text(ws, frame);
    host.run_deferred();
  }
};

TEST_F(SocketIoSessionTest, ConnectToMainAndCustomNamespace) {
  open(eio::Version::v4);
  text("40");
  ASSERT_EQ(ws.sent.size(), 1u);
  EXPECT_EQ(ws.sent[0].rfind("40{\"sid\":\"", 0), 0u) << ws.sent[0];
  text("40/custom,{\"token\":\"abc\"}");
  ASSERT_EQ(ws.sent.size(), 2u);
  EXPECT_EQ(ws.sent[1].rfind("40/custom,{\"sid\":\"", 0), 0u) << ws.sent[1];
  ASSERT_EQ(app.log.size(), 2u);
  EXPECT_EQ(app.log[1], "connect /custom user= auth={\"token\":\"abc\"}");
}

TEST_F(SocketIoSessionTest, UnknownNamespaceGetsConnectError) {
  open(eio::Version::v4);
  text("40/random,");
  ASSERT_EQ(ws.sent.size(), 1u);
  EXPECT_EQ(ws.sent[0], "44/random,{\"message\":\"Invalid namespace\"}");
  EXPECT_FALSE(engine->closed());
}

TEST_F(SocketIoSessionTest, NamespacesPerConnectionAreBounded) {
  struct AnyNamespace : RecordingApp {
    bool namespace_exists(std::string_view) override { return true; }
  } any;
  ctx.app = &any;
  open(eio::Version::v4);
  for (int i = 0; i < 40; ++i) text("40/n" + std::to_string(i) + ",");
  ASSERT_EQ(ws.sent.size(), 40u);
  EXPECT_EQ(ws.sent[31].rfind("40/n31,", 0), 0u);
  EXPECT_EQ(ws.sent[32], "44/n32,{\"message\":\"Too many namespaces\"}");
  EXPECT_FALSE(engine->closed());
}

TEST_F(SocketIoSessionTest, EventsAcksAndIgnoredNamespaces) {
  open(eio::Version::v4);
  text("40");
  text("42[\"message\",1,\"2\",{\"3\":[true]}]");
  text("4212[\"message-with-ack\",true]");
  text("43/custom,5[]");  // not connected to /custom: ignored
  text("437[\"x\"]");
  ASSERT_EQ(app.log.size(), 4u);
  EXPECT_EQ(app.log[1], "event / message [1,\"2\",{\"3\":[true]}] att=0");
  EXPECT_EQ(app.log[2], "event / message-with-ack [true] att=0 id=12");
  EXPECT_EQ(app.log[3], "ack 7");
}

TEST_F(SocketIoSessionTest, EventsOverTheConnectionsRateAreDropped) {
  ctx.max_events_per_second = 5;
  open(eio::Version::v4);
  text("40");
  text("40/custom,");
  const auto idle = [&](uint64_t ms) {  // time passes; the client answers the server's pings
    for (uint64_t t = 0; t < ms; t += 100) {
      host.advance(100);
      text("3");
    }
  };
  const auto events = [&] {
    return std::count_if(app.log.begin(), app.log.end(), [](const std::string& l) { return l.rfind("event ", 0) == 0; });
  };
  // A burst of 8 over two namespaces: the first 5 pass (one budget per connection).
  for (int i = 0; i < 4; ++i) text("42[\"e\"]");
  for (int i = 0; i < 4; ++i) text("42/custom,[\"e\"]");
  EXPECT_EQ(events(), 5);
  text("437[\"answer\"]");  // acks to the server's emits are never limited
  EXPECT_EQ(app.log.back(), "ack 7");
  // 5 per second refill: 400 ms later two more pass.
  idle(400);
  for (int i = 0; i < 4; ++i) text("42[\"e\"]");
  EXPECT_EQ(events(), 7);
  // The bucket never holds more than one second's worth (2 s idle: still only 5).
  idle(2000);
  for (int i = 0; i < 10; ++i) text("42[\"e\"]");
  EXPECT_EQ(events(), 12);
  EXPECT_FALSE(engine->closed()) << "dropping is the whole penalty";
}

TEST_F(SocketIoSessionTest, BinaryEventIsAssembledFromAttachments) {
  open(eio::Version::v4);
  text("40");
  text("452-[\"up\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]");
  EXPECT_EQ(app.log.size(), 1u);
  engine->ws_binary(ws, "\x01");
  EXPECT_EQ(app.log.size(), 1u);
  engine->ws_binary(ws, "\x02");
  ASSERT_EQ(app.log.size(), 2u);
  EXPECT_NE(app.log[1].find("att=2"), std::string::npos) << app.log[1];
}

TEST_F(SocketIoSessionTest, MalformedPacketsCloseTheConnection) {
  for (const char* bad : {"4abc", "42{}", "42abc[\"message\"]", "49", "42[\"connect\"]"}) {
    open(eio::Version::v4);
    text("40");
    text(bad);
    EXPECT_TRUE(engine->closed()) << bad;
  }
  open(eio::Version::v4);
  text("40");
  engine->ws_binary(ws, "stray attachment");
  EXPECT_TRUE(engine->closed());
}

TEST_F(SocketIoSessionTest, ConnectTimeoutWithoutConnectPacket) {
  ctx.connect_timeout_ms = 800;  // shorter than the first ping + pong timeout (1500)
  open(eio::Version::v4);
  host.advance(790);
  EXPECT_FALSE(engine->closed());
  host.advance(30);
  EXPECT_TRUE(engine->closed());
  ASSERT_FALSE(host.closed.empty());
  EXPECT_EQ(host.closed.back().second, Disconnect::connect_timeout);
}

TEST_F(SocketIoSessionTest, LegacyClientsAreConnectedToMainImplicitly) {
  engine = std::make_unique<EngineSession>(host, 1, eio::Version::v3, EngineSession::Kind::websocket, true);
  engine->set_handler(std::make_unique<SocketIoSession>(ctx, ""));
  ws.session = engine.get();
  engine->start_websocket(ws);
  host.run_deferred();
  ASSERT_EQ(ws.sent.size(), 2u);
  EXPECT_EQ(ws.sent[1], "40");
  text("40/custom");
  EXPECT_EQ(ws.sent.back(), "40/custom,");
}

TEST_F(SocketIoSessionTest, ALegacyClientWhoseImplicitConnectWasRefusedTimesOut) {
  auth::JwtVerifier verifier("s3cret");
  ctx.jwt = &verifier;
  engine = std::make_unique<EngineSession>(host, 1, eio::Version::v3, EngineSession::Kind::websocket, true);
  engine->set_handler(std::make_unique<SocketIoSession>(ctx, ""));  // no token: refused
  ws.session = engine.get();
  engine->start_websocket(ws);
  host.run_deferred();
  ASSERT_EQ(ws.sent.back().rfind("44", 0), 0u) << ws.sent.back();
  for (int i = 0; i < 25 && !engine->closed(); ++i) {  // pinging like a live client
    host.advance(100);
    text("2");
  }
  EXPECT_TRUE(engine->closed()) << "a refused client kept its session by pinging";
  ASSERT_FALSE(host.closed.empty());
  EXPECT_EQ(host.closed.back().second, Disconnect::connect_timeout);
}

TEST_F(SocketIoSessionTest, ADisconnectWhoseNoticeOverflowsTheQueueLeavesTheSessionConsistent) {
  open(eio::Version::v4);
  text("40");
  text("40/custom,");
  auto* sio = dynamic_cast<SocketIoSession*>(engine->handler());
  NamespaceSocket* custom = sio->find("/custom");
  ASSERT_NE(custom, nullptr);
  // The queue is full (the client stopped reading): the DISCONNECT notice overflows it.
  host.cfg.max_queue_bytes = engine->queue().bytes();
  ws.session = nullptr;  // the fake link stops draining the queue
  sio->disconnect(*custom, "kicked");
  EXPECT_EQ(sio->find("/custom"), nullptr);
  EXPECT_NE(sio->find("/"), nullptr) << "the other namespace is untouched until the close";
  EXPECT_EQ(app.log.back(), "disconnect /custom kicked");
  host.run_deferred();
  EXPECT_TRUE(engine->closed());
  EXPECT_EQ(host.closed.back().second, Disconnect::slow_consumer);
  EXPECT_EQ(app.log.back(), "disconnect / slow_consumer");
}

TEST_F(SocketIoSessionTest, JwtFromAuthPayloadOrHandshake) {
  auth::JwtVerifier verifier("s3cret");
  ctx.jwt = &verifier;
  const std::string good = auth::jwt_sign_hs256(R"({"sub":"u1","rooms":["doc:1"]})", "s3cret");
  const std::string bad = auth::jwt_sign_hs256(R"({"sub":"u1"})", "other");

  open(eio::Version::v4);
  text("40");
  ASSERT_EQ(ws.sent.size(), 1u);
  EXPECT_EQ(ws.sent[0], "44{\"message\":\"unauthorized\",\"data\":{\"reason\":\"missing token\"}}");

  open(eio::Version::v4);
  text("40{\"token\":\"" + bad + "\"}");
  EXPECT_EQ(ws.sent[0].rfind("44{\"message\":\"unauthorized\"", 0), 0u) << ws.sent[0];

  open(eio::Version::v4);
  text("40{\"token\":\"" + good + "\"}");
  EXPECT_EQ(ws.sent[0].rfind("40{\"sid\"", 0), 0u) << ws.sent[0];
  EXPECT_NE(app.log.back().find("user=u1"), std::string::npos);

  open(eio::Version::v4, good);  // from the Authorization header or ?token=
  text("40");
  EXPECT_EQ(ws.sent[0].rfind("40{\"sid\"", 0), 0u) << ws.sent[0];
}

TEST_F(SocketIoSessionTest, DisconnectOfNamespaceAndClose) {
  open(eio::Version::v4);
  text("40");
  text("40/custom,");
  text("41/custom,");
  EXPECT_EQ(app.log.back(), "disconnect /custom client namespace disconnect");
  EXPECT_FALSE(engine->closed());
  engine->close(Disconnect::kicked);
  EXPECT_EQ(app.log.back(), "disconnect / kicked");
  EXPECT_EQ(ws.sent.back(), "41") << "a kicked client is told, so it does not reconnect";
}

TEST_F(SocketIoSessionTest, AppThatConfirmsLaterHoldsTheConnectAnswer) {
  struct Later : RecordingApp {
    NamespaceSocket* pending = nullptr;
    bool confirms_connect_later() const override { return true; }
    void on_connect(NamespaceSocket& s, std::string_view auth) override {
      RecordingApp::on_connect(s, auth);
      pending = &s;
    }
  } later;
  ctx.app = &later;
  open(eio::Version::v4);
  text("40");
  ASSERT_NE(later.pending, nullptr);
  EXPECT_FALSE(later.pending->confirmed());
  EXPECT_TRUE(ws.sent.empty()) << "no CONNECT answer before the app confirms";
  text("42[\"early\"]");  // a client that guessed: ignored until confirmed
  EXPECT_EQ(later.log.size(), 1u);
  later.pending->owner().confirm(*later.pending);
  host.run_deferred();
  ASSERT_EQ(ws.sent.size(), 1u);
  EXPECT_EQ(ws.sent[0], "40{\"sid\":\"" + later.pending->sid() + "\"}");
  later.pending->owner().confirm(*later.pending);
  host.run_deferred();
  EXPECT_EQ(ws.sent.size(), 1u) << "confirming twice answers once";
  text("42[\"late\"]");
  ASSERT_EQ(later.log.size(), 2u);
  EXPECT_EQ(later.log[1], "event / late [] att=0");
}

TEST_F(SocketIoSessionTest, UnconfirmedSocketCanStillBeDisconnected) {
  struct Later : RecordingApp {
    bool confirms_connect_later() const override { return true; }
  } later;
  ctx.app = &later;
  open(eio::Version::v4);
  text("40/custom,");
  text("41/custom,");
  EXPECT_EQ(later.log.back(), "disconnect /custom client namespace disconnect");
  EXPECT_TRUE(ws.sent.empty());
}

TEST_F(SocketIoSessionTest, ASocketHoldsAtMostAThousandRooms) {
  open(eio::Version::v4);
  text("40");
  NamespaceSocket* sock = dynamic_cast<SocketIoSession*>(engine->handler())->find("/");
  ASSERT_NE(sock, nullptr);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(sock->join("r" + std::to_string(i))) << i;
  EXPECT_FALSE(sock->join("one-too-many"));
  EXPECT_EQ(host.local_index_store.members("/", "one-too-many"), nullptr);
  EXPECT_TRUE(sock->leave("r0"));
  EXPECT_TRUE(sock->join("one-too-many")) << "room again after a leave";
}

TEST_F(SocketIoSessionTest, RoomsFollowTheJwtClaimAndAreLeftOnDisconnect) {
  auth::JwtVerifier verifier("k");
  ctx.jwt = &verifier;
  open(eio::Version::v4, auth::jwt_sign_hs256(R"({"sub":"u","rooms":["doc:1"]})", "k"));
  text("40");
  auto* sio = dynamic_cast<SocketIoSession*>(engine->handler());
  ASSERT_NE(sio, nullptr);
  NamespaceSocket* sock = sio->find("/");
  ASSERT_NE(sock, nullptr);
  EXPECT_TRUE(sock->join("doc:1"));
  EXPECT_FALSE(sock->join("doc:1")) << "already a member";
  EXPECT_FALSE(sock->join("doc:2")) << "not in the rooms claim";
  ASSERT_NE(host.local_index_store.members("/", "doc:1"), nullptr);
  EXPECT_EQ(host.local_index_store.members("/", "doc:1")->size(), 1u);
  EXPECT_EQ(host.local_index_store.members("/custom", "doc:1"), nullptr) << "rooms are per namespace";
  EXPECT_EQ(host.local_index_store.find_socket(sock->id()), sock);
  ASSERT_NE(host.local_index_store.user_sockets("u"), nullptr);
  EXPECT_EQ(host.local_index_store.user_sockets("u")->count(sock), 1u);
  engine->close(Disconnect::client_close);
  EXPECT_EQ(host.local_index_store.members("/", "doc:1"), nullptr);
  EXPECT_EQ(host.local_index_store.room_count(), 0u);
  EXPECT_EQ(host.local_index_store.socket_count(), 0u);
  EXPECT_EQ(host.local_index_store.user_sockets("u"), nullptr);
}

TEST(LocalIndexRooms, JoinLeaveAndMembers) {
  LocalIndex idx;
  auto* a = reinterpret_cast<NamespaceSocket*>(0x10);
  auto* b = reinterpret_cast<NamespaceSocket*>(0x20);
  EXPECT_TRUE(idx.join("/", "r", a));
  EXPECT_TRUE(idx.join("/", "r", b));
  EXPECT_FALSE(idx.join("/", "r", a));
  EXPECT_EQ(idx.members("/", "r")->size(), 2u);
  EXPECT_TRUE(idx.leave("/", "r", a));
  EXPECT_FALSE(idx.leave("/", "r", a));
  EXPECT_TRUE(idx.leave("/", "r", b));
  EXPECT_EQ(idx.members("/", "r"), nullptr) << "empty rooms are dropped";
  EXPECT_TRUE(idx.join("/a", "b", a));
  EXPECT_EQ(idx.members("/a\0b", ""), nullptr);
}

}  // namespace
}  // namespace wsgw::session
