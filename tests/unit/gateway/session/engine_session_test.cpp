#include "gateway/session/engine_session.h"

#include <gtest/gtest.h>

#include "common/util/snowflake.h"
#include "tests/unit/gateway/session/fakes.h"

namespace wsgw::session {
namespace {

using testing::FakeHost;
using testing::FakePoll;
using testing::FakeWs;
using Kind = EngineSession::Kind;

// Records what reaches the layer above.
struct RecordingHandler : SessionHandler {
  std::vector<std::string>* messages;
  bool* opened;
  Disconnect* closed_with;
  RecordingHandler(std::vector<std::string>* m, bool* o, Disconnect* c)
      : messages(m), opened(o), closed_with(c) {}
  void on_open(EngineSession&) override { *opened = true; }
  void on_message(EngineSession&, eio::Packet&& p) override {
    messages->push_back(p.binary ? "<bin:" + p.data + ">" : p.data);
  }
  void on_close(EngineSession&, Disconnect why) override { *closed_with = why; }
};

class EngineSessionTest : public ::testing::Test {
 protected:
  FakeHost host;
  std::vector<std::string> messages;
  bool opened = false;
  Disconnect closed_with = Disconnect::internal_error;

  std::unique_ptr<EngineSession> make(eio::Version v, Kind k, bool binary = true) {
    auto s = std::make_unique<EngineSession>(host, 42, v, k, binary);
    s->set_handler(std::make_unique<RecordingHandler>(&messages, &opened, &closed_with));
    return s;
  }
};

TEST_F(EngineSessionTest, WebSocketOpenPacketAnnouncesMaxIntervalAndNoUpgrades) {
  auto s = make(eio::Version::v4, Kind::websocket);
  FakeWs ws;
  ws.session = s.get();
  s->start_websocket(ws);
  host.run_deferred();  // writes go out at the end of the worker's turn
  ASSERT_EQ(ws.sent.size(), 1u);
  EXPECT_EQ(ws.sent[0], "0{\"sid\":\"" + util::encode_id(42) +
                            "\",\"upgrades\":[],\"pingInterval\":4000,\"pingTimeout\":500,"
                            "\"maxPayload\":1000000}");
  EXPECT_TRUE(opened);
}

TEST_F(EngineSessionTest, HeartbeatPingsAtMinIntervalAndClosesWithoutPong) {
  auto s = make(eio::Version::v4, Kind::websocket);
  FakeWs ws;
  ws.session = s.get();
  s->start_websocket(ws);
  host.advance(990);
  EXPECT_EQ(ws.sent.size(), 1u) << "no ping before the interval";
  host.advance(20);
  ASSERT_EQ(ws.sent.size(), 2u);
  EXPECT_EQ(ws.sent[1], "2");
  host.advance(400);
  EXPECT_FALSE(s->closed());
  host.advance(120);
  EXPECT_TRUE(s->closed());
  EXPECT_EQ(closed_with, Disconnect::ping_timeout);
  ASSERT_EQ(host.closed.size(), 1u);
  EXPECT_TRUE(ws.detached);
  EXPECT_EQ(ws.detach_code, Disconnect::ping_timeout);
}

TEST_F(EngineSessionTest, HealthyPongsGrowTheIntervalUpToTheMax) {
  auto s = make(eio::Version::v4, Kind::websocket);
  FakeWs ws;
  ws.session = s.get();
  s->start_websocket(ws);
  host.run_deferred();
  std::vector<uint64_t> ping_times;
  for (int i = 0; i < 8; ++i) {
    size_t before = ws.sent.size();
    while (ws.sent.size() == before) host.advance(10);
    ping_times.push_back(host.now);
    host.advance(10);
    s->ws_text(ws, "3");  // fast pong
  }
  // min 1000, +1000 after every 2 healthy pongs, capped at 4000
  std::vector<uint64_t> gaps;
  for (size_t i = 1; i < ping_times.size(); ++i) gaps.push_back(ping_times[i] - ping_times[i - 1]);
  EXPECT_NEAR(gaps[0], 1000, 20);
  EXPECT_NEAR(gaps[1], 2000, 20);
  EXPECT_NEAR(gaps[2], 2000, 20);
  EXPECT_NEAR(gaps[3], 3000, 20);
  EXPECT_NEAR(gaps.back(), 4000, 20);
  EXPECT_FALSE(s->closed());
}

TEST_F(EngineSessionTest, SlowPongDropsIntervalBackToMin) {
  Heartbeat hb(host.cfg.heartbeat);
  const auto& p = host.cfg.heartbeat;
  hb.on_pong(p, 5);
  hb.on_pong(p, 5);
  EXPECT_EQ(hb.interval_ms(), 2000u);
  EXPECT_FALSE(hb.on_pong(p, 300));  // more than half the timeout: a miss
  EXPECT_EQ(hb.interval_ms(), 1000u);
}

TEST_F(EngineSessionTest, Eio3ClientPingsAreAnsweredAndMissingPingsClose) {
  auto s = make(eio::Version::v3, Kind::websocket);
  FakeWs ws;
  ws.session = s.get();
  s->start_websocket(ws);
  host.advance(3000);
  s->ws_text(ws, "2");
  host.run_deferred();
  EXPECT_EQ(ws.sent.back(), "3");
  host.advance(4000);
  EXPECT_FALSE(s->closed()) << "interval 4000 + timeout 500 not yet over";
  host.advance(600);
  EXPECT_TRUE(s->closed());
  EXPECT_EQ(closed_with, Disconnect::ping_timeout);
}

TEST_F(EngineSessionTest, MessagesGoToHandlerAndBadFramesClose) {
  auto s = make(eio::Version::v4, Kind::websocket);
  FakeWs ws;
  ws.session = s.get();
  s->start_websocket(ws);
  s->ws_text(ws, "4hello");
  s->ws_binary(ws, std::string("\x01\x02", 2));
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0], "hello");
  EXPECT_EQ(messages[1], std::string("<bin:\x01\x02>", 8));
  s->ws_text(ws, "abc");
  EXPECT_TRUE(s->closed());
  EXPECT_EQ(closed_with, Disconnect::bad_packet);
  EXPECT_TRUE(ws.close_frame);
}

TEST_F(EngineSessionTest, PollingHandshakeBodyAndHeldGetIsAnsweredWithBatchedPackets) {
  auto s = make(eio::Version::v4, Kind::polling);
  bool binary = true;
  std::string body = s->start_polling(binary);
  EXPECT_FALSE(binary);
  EXPECT_EQ(body.rfind("0{\"sid\":", 0), 0u);
  EXPECT_NE(body.find("\"upgrades\":[\"websocket\"]"), std::string::npos);

  FakePoll get;
  EXPECT_EQ(s->poll_get(get), EngineSession::PollError::none);
  host.run_deferred();
  EXPECT_TRUE(get.bodies.empty()) << "a GET is held until there is data";
  s->send(make_message(make_text_packet(eio::PacketType::message, "a")));
  s->send(make_message(make_text_packet(eio::PacketType::message, "b")));
  host.run_deferred();
  ASSERT_EQ(get.bodies.size(), 1u);
  EXPECT_EQ(get.bodies[0], "4a\x1e" "4b");
}

TEST_F(EngineSessionTest, PollingPostDeliversPacketsAndBadPayloadCloses) {
  auto s = make(eio::Version::v4, Kind::polling);
  bool binary;
  s->start_polling(binary);
  EXPECT_EQ(s->poll_post("4x\x1e" "bAQI=", false), EngineSession::PostError::none);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0], "x");
  EXPECT_EQ(messages[1], std::string("<bin:\x01\x02>", 8));
  EXPECT_EQ(s->poll_post("zzz", false), EngineSession::PostError::bad_payload);
  EXPECT_TRUE(s->closed());
  EXPECT_EQ(closed_with, Disconnect::bad_packet);
}

TEST_F(EngineSessionTest, DuplicateGetClosesSessionAndEndsFirstGetWithClosePacket) {
  auto s = make(eio::Version::v4, Kind::polling);
  bool binary;
  s->start_polling(binary);
  FakePoll first, second;
  EXPECT_EQ(s->poll_get(first), EngineSession::PollError::none);
  EXPECT_EQ(s->poll_get(second), EngineSession::PollError::duplicate_get);
  ASSERT_EQ(first.bodies.size(), 1u);
  EXPECT_EQ(first.bodies[0], "1");
  EXPECT_TRUE(s->closed());
}

TEST_F(EngineSessionTest, ClientClosePacketEndsHeldGetWithNoop) {
  auto s = make(eio::Version::v4, Kind::polling);
  bool binary;
  s->start_polling(binary);
  FakePoll get;
  s->poll_get(get);
  EXPECT_EQ(s->poll_post("1", false), EngineSession::PostError::none);
  ASSERT_EQ(get.bodies.size(), 1u);
  EXPECT_EQ(get.bodies[0], "6");
  EXPECT_EQ(closed_with, Disconnect::client_close);
}

TEST_F(EngineSessionTest, PollingPingTimeoutIsNoticedLazilyOnTheNextRequest) {
  auto s = make(eio::Version::v4, Kind::polling);
  bool binary;
  s->start_polling(binary);
  host.advance(1010);  // the ping goes out
  host.now += 600;     // past the pong deadline, but the wheel has not ticked yet
  FakePoll get;
  EXPECT_EQ(s->poll_get(get), EngineSession::PollError::closed);
}

TEST_F(EngineSessionTest, UpgradeProbeThenUpgradeMovesQueueToWebSocket) {
  auto s = make(eio::Version::v4, Kind::polling);
  bool binary;
  s->start_polling(binary);
  FakePoll get;
  s->poll_get(get);
  FakeWs probe;
  probe.session = s.get();
  ASSERT_TRUE(s->begin_probe(probe));
  EXPECT_FALSE(s->begin_probe(probe)) << "one probe at a time";
  s->ws_text(probe, "2probe");
  host.run_deferred();
  ASSERT_EQ(probe.direct.size(), 1u);
  EXPECT_NE(probe.direct[0].find("3probe"), std::string::npos);
  ASSERT_EQ(get.bodies.size(), 1u);
  EXPECT_EQ(get.bodies[0], "6") << "held GET released with a noop";
  FakePoll during;
  EXPECT_EQ(s->poll_get(during), EngineSession::PollError::none);
  host.run_deferred();
  ASSERT_EQ(during.bodies.size(), 1u) << "a GET sent while the client pauses is not held";
  EXPECT_EQ(during.bodies[0], "6");
  s->send(make_message(make_text_packet(eio::PacketType::message, "queued")));
  s->ws_text(probe, "5");
  EXPECT_EQ(s->kind(), Kind::websocket);
  EXPECT_EQ(s->ws(), &probe);
  ASSERT_FALSE(probe.sent.empty());
  EXPECT_EQ(probe.sent.back(), "4queued");
  FakePoll late;
  EXPECT_EQ(s->poll_get(late), EngineSession::PollError::not_polling);
  s->ws_text(probe, "4after");
  EXPECT_EQ(messages.back(), "after");
}

TEST_F(EngineSessionTest, ASecondProbeIsNotAnsweredAndEndsTheProbeNotTheSession) {
  auto s = make(eio::Version::v4, Kind::polling);
  bool binary;
  s->start_polling(binary);
  FakeWs probe;
  probe.session = s.get();
  ASSERT_TRUE(s->begin_probe(probe));
  s->ws_text(probe, "2probe");
  ASSERT_EQ(probe.direct.size(), 1u);
  // A client that repeats the probe (and, hostile, never reads) gets no second reply to buffer.
  s->ws_text(probe, "2probe");
  EXPECT_EQ(probe.direct.size(), 1u) << "answered twice";
  EXPECT_TRUE(probe.detached);
  EXPECT_EQ(probe.detach_code, Disconnect::bad_packet);
  EXPECT_FALSE(s->closed()) << "the polling session goes on";
  EXPECT_EQ(s->kind(), Kind::polling);
  FakeWs retry;
  retry.session = s.get();
  EXPECT_TRUE(s->begin_probe(retry)) << "a new probe may start";
}

TEST_F(EngineSessionTest, TinyMessagesCountTheirBookkeepingAgainstTheQueueLimit) {
  // EIO3 pongs are 3 bytes on the wire but about 150 in memory: 1 MiB of queue must not mean
  // 350,000 of them.
  host.cfg.max_queue_bytes = 1 << 20;
  auto s = make(eio::Version::v3, Kind::polling);
  bool binary;
  s->start_polling(binary);
  size_t queued = 0;
  while (s->send(make_message(make_text_packet(eio::PacketType::pong, {})))) ++queued;
  EXPECT_LT(queued, (1u << 20) / kMessageOverhead + 1);
  EXPECT_GT(queued, (1u << 20) / (kMessageOverhead + 16));
}

TEST_F(EngineSessionTest, SendQueueOverflowPolicy) {
  auto msg = [](size_t n) { return make_message(make_text_packet(eio::PacketType::message, std::string(n, 'x'))); };
  // Room for two messages of 30 and 20 bytes more (each counts its frame plus the overhead).
  host.cfg.max_queue_bytes = 2 * msg(30)->bytes + 20;
  auto s = make(eio::Version::v4, Kind::polling);
  bool binary;
  s->start_polling(binary);
  EXPECT_TRUE(s->send(msg(30), true));
  EXPECT_TRUE(s->send(msg(30), false));
  EXPECT_FALSE(s->send(msg(50), true)) << "volatile that does not fit is dropped";
  EXPECT_TRUE(s->send(msg(50), false)) << "evicts the queued volatile message";
  EXPECT_EQ(s->queue().size(), 2u);
  EXPECT_FALSE(s->closed());
  EXPECT_FALSE(s->send(msg(50), false));
  EXPECT_FALSE(s->closed()) << "never closed inside send(): its caller may still use the session";
  EXPECT_FALSE(s->send(msg(1), false)) << "nothing more is queued once it overflowed";
  host.run_deferred();
  EXPECT_TRUE(s->closed());
  EXPECT_EQ(closed_with, Disconnect::slow_consumer);
}

TEST_F(EngineSessionTest, WebSocketWritesWaitForTheEndOfTheTurnAndCoalesce) {
  auto s = make(eio::Version::v4, Kind::websocket);
  FakeWs ws;
  ws.session = s.get();
  s->start_websocket(ws);
  host.run_deferred();
  const int after_open = ws.flushes;
  auto msg = [](std::string text) { return make_message(make_text_packet(eio::PacketType::message, std::move(text))); };
  for (const char* t : {"a", "b", "c"}) EXPECT_TRUE(s->send(msg(t)));
  EXPECT_EQ(ws.flushes, after_open) << "no write inside send()";
  host.run_deferred();
  EXPECT_EQ(ws.flushes, after_open + 1) << "one write for the whole burst";
  ASSERT_GE(ws.sent.size(), 3u);
  EXPECT_EQ(std::vector<std::string>(ws.sent.end() - 3, ws.sent.end()),
            (std::vector<std::string>{"4a", "4b", "4c"}));
  EXPECT_TRUE(s->send(msg("e")));
  s->close(Disconnect::kicked);
  host.run_deferred();  // the deferred flush of a session closed meanwhile does nothing
  EXPECT_TRUE(s->closed());
}

TEST_F(EngineSessionTest, HandshakeDeadlineClosesWithConnectTimeout) {
  auto s = make(eio::Version::v4, Kind::websocket);
  FakeWs ws;
  ws.session = s.get();
  s->start_websocket(ws);
  s->set_handshake_deadline(host.now + 300);
  host.advance(310);
  EXPECT_TRUE(s->closed());
  EXPECT_EQ(closed_with, Disconnect::connect_timeout);
}

}  // namespace
}  // namespace wsgw::session
