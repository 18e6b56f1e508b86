#include "gateway/cluster/records.h"

#include <gtest/gtest.h>

#include <msgpack.hpp>

#include "common/auth/jwt.h"
#include "common/cluster/contract.h"
#include "gateway/session/socketio_session.h"
#include "tests/unit/gateway/session/fakes.h"

namespace wsgw::cluster {
namespace {

using session::testing::FakeHost;
using session::testing::FakeWs;

struct NullApp : session::SocketIoApp {
  bool namespace_exists(std::string_view) override { return true; }
  void on_connect(session::NamespaceSocket&, std::string_view) override {}
  void on_event(session::NamespaceSocket&, const sio::Packet&, std::string_view, std::string_view,
                std::span<const std::string>) override {}
  void on_ack(session::NamespaceSocket&, const sio::Packet&, std::span<const std::string>) override {}
  void on_disconnect(session::NamespaceSocket&, std::string_view) override {}
};

class RecordsTest : public ::testing::Test {
 protected:
  FakeHost host;
  NullApp app;
  util::Snowflake ids{3};
  auth::JwtVerifier jwt{"k"};
  session::SocketIoContext ctx;
  FakeWs ws;
  std::unique_ptr<session::EngineSession> engine;
  UpstreamContext up{"gw-1", "trace-1", 1700000000000};

  session::NamespaceSocket& connect(const std::string& user) {
    ctx.app = &app;
    ctx.ids = &ids;
    ctx.jwt = &jwt;
    engine = std::make_unique<session::EngineSession>(host, 1, eio::Version::v4,
                                                      session::EngineSession::Kind::websocket, true);
    engine->set_handler(std::make_unique<session::SocketIoSession>(
        ctx, auth::jwt_sign_hs256("{\"sub\":\"" + user + "\"}", "k")));
    ws.session = engine.get();
    engine->start_websocket(ws);
    engine->ws_text(ws, "40/docs,");
    auto* sio = dynamic_cast<session::SocketIoSession*>(engine->handler());
    return *sio->find("/docs");
  }
};

std::string header(const UpstreamRecord& r, std::string_view name) {
  return std::string(r.headers.get(name).value_or("<missing>"));
}

TEST_F(RecordsTest, UpstreamEventCarriesRoutingInHeadersAndArgsAsJson) {
  auto& s = connect("alice");
  auto r = upstream_event(s, "edit", R"({"op":1},2)", 7, {}, up);
  EXPECT_EQ(r.key, s.sid());
  EXPECT_EQ(header(r, header::op), "event");
  EXPECT_EQ(header(r, header::sid), s.sid());
  EXPECT_EQ(header(r, header::uid), "alice");
  EXPECT_EQ(header(r, header::ns), "/docs");
  EXPECT_EQ(header(r, header::event), "edit");
  EXPECT_EQ(header(r, header::ack_id), "7");
  EXPECT_EQ(header(r, header::node), "gw-1");
  EXPECT_EQ(header(r, header::trace_id), "trace-1");
  EXPECT_EQ(header(r, header::ts_gateway_in), "1700000000000");
  EXPECT_EQ(r.value, R"([{"op":1},2])");
  EXPECT_FALSE(r.headers.get(header::binary_count));
}

TEST_F(RecordsTest, UpstreamEventWithAttachmentsIsAMessagePackArray) {
  auto& s = connect("alice");
  std::vector<std::string> bins{std::string("\x00\x01", 2), "xyz"};
  auto r = upstream_event(s, "up", R"({"_placeholder":true,"num":0})", std::nullopt, bins, up);
  EXPECT_EQ(header(r, header::binary_count), "2");
  auto oh = msgpack::unpack(r.value.data(), r.value.size());
  const auto& o = oh.get();
  ASSERT_EQ(o.type, msgpack::type::ARRAY);
  ASSERT_EQ(o.via.array.size, 3u);
  EXPECT_EQ(o.via.array.ptr[0].as<std::string>(), R"([{"_placeholder":true,"num":0}])");
  ASSERT_EQ(o.via.array.ptr[1].type, msgpack::type::BIN);
  EXPECT_EQ(std::string(o.via.array.ptr[1].via.bin.ptr, o.via.array.ptr[1].via.bin.size), bins[0]);
}

TEST_F(RecordsTest, UpstreamConnectEnvelopeAndDisconnect) {
  auto& s = connect("bob");
  ASSERT_TRUE(s.join("doc:9"));
  auto r = upstream_connect(s, R"({"token":"t"})", 1234, up);
  EXPECT_EQ(header(r, header::op), "connect");
  auto oh = msgpack::unpack(r.value.data(), r.value.size());
  std::map<std::string, msgpack::object> m;
  oh.get().convert(m);
  EXPECT_EQ(m.at("sid").as<std::string>(), s.sid());
  EXPECT_EQ(m.at("uid").as<std::string>(), "bob");
  EXPECT_EQ(m.at("nsp").as<std::string>(), "/docs");
  EXPECT_EQ(m.at("node").as<std::string>(), "gw-1");
  EXPECT_EQ(m.at("auth").as<std::string>(), R"({"token":"t"})");
  EXPECT_EQ(m.at("rooms").as<std::vector<std::string>>(), std::vector<std::string>{"doc:9"});
  EXPECT_EQ(m.at("connected_at").as<int64_t>(), 1234);
  auto d = upstream_disconnect(s, "ping_timeout", up);
  EXPECT_EQ(header(d, header::op), "disconnect");
  EXPECT_EQ(d.value, "ping_timeout");
  EXPECT_FALSE(d.headers.get(header::detail));
  // A kick's text rides in the reason string to on_disconnect and leaves as x-detail.
  auto k = upstream_disconnect(s, kick_reason("account suspended"), up);
  EXPECT_EQ(k.value, "kicked");
  EXPECT_EQ(header(k, header::detail), "account suspended");
  EXPECT_EQ(upstream_disconnect(s, kick_reason(""), up).value, "kicked");
  auto a = upstream_ack(s, 42, "[true]", {}, up);
  EXPECT_EQ(header(a, header::ack_id), "42");
  EXPECT_EQ(a.value, "[true]");
}

// Downstream ------------------------------------------------------------------------------------

using H = kafka::Header;

TEST(DownstreamRecords, EmitToRoomBuildsTheMessageOnce) {
  const std::string except = util::encode_id(6) + "," + util::encode_id(5);  // Header holds views
  std::vector<H> h{{header::op, "emit"}, {header::node, "gw-1"}, {header::ns, "/docs"},
                   {header::room, "doc:1"}, {header::is_volatile, "1"}, {header::except, except}};
  DownstreamCommand c;
  std::string err;
  ASSERT_TRUE(parse_downstream(h, R"(2/docs,["news",1])", "gw-1", c, err)) << err;
  EXPECT_EQ(c.kind, DownstreamCommand::Kind::emit);
  EXPECT_EQ(c.delivery.target, session::Delivery::Target::room);
  EXPECT_EQ(c.delivery.key, "doc:1");
  EXPECT_EQ(c.delivery.nsp, "/docs");
  EXPECT_TRUE(c.delivery.is_volatile);
  EXPECT_EQ(c.delivery.except, (std::vector<uint64_t>{5, 6})) << "sorted for the workers";
  ASSERT_EQ(c.delivery.msg->packets.size(), 1u);
  EXPECT_EQ(c.delivery.msg->packets[0].data(), R"(2/docs,["news",1])");
}

TEST(DownstreamRecords, BroadcastAndAttachmentsAndOtherNodes) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_array(2);
  pk.pack(std::string(R"(51-["file",{"_placeholder":true,"num":0}])"));
  pk.pack_bin(3);
  pk.pack_bin_body("abc", 3);
  std::vector<H> bh{{header::op, "emit"}, {header::binary_count, "1"}};
  DownstreamCommand c;
  std::string err;
  ASSERT_TRUE(parse_downstream(bh, std::string_view(buf.data(), buf.size()), "gw-1", c, err)) << err;
  EXPECT_EQ(c.delivery.target, session::Delivery::Target::everyone);
  EXPECT_EQ(c.delivery.nsp, "/");
  ASSERT_EQ(c.delivery.msg->packets.size(), 2u);
  EXPECT_TRUE(c.delivery.msg->packets[1].binary);
  EXPECT_EQ(c.delivery.msg->packets[1].data(), "abc");

  std::vector<H> other{{header::op, "emit"}, {header::node, "gw-2"}};
  ASSERT_TRUE(parse_downstream(other, "2[\"x\"]", "gw-1", c, err));
  EXPECT_EQ(c.kind, DownstreamCommand::Kind::skip);
}

TEST(DownstreamRecords, JoinLeaveKick) {
  DownstreamCommand c;
  std::string err;
  std::vector<H> join{{header::op, "join"}, {header::uid, "alice"}, {header::room, "doc:1"}};
  ASSERT_TRUE(parse_downstream(join, "", "gw", c, err)) << err;
  EXPECT_EQ(c.kind, DownstreamCommand::Kind::join);
  EXPECT_EQ(c.delivery.target, session::Delivery::Target::user);
  EXPECT_EQ(c.room, "doc:1");
  const std::string sid = util::encode_id(9);
  std::vector<H> kick{{header::op, "kick"}, {header::sid, sid}};
  ASSERT_TRUE(parse_downstream(kick, "spam", "gw", c, err)) << err;
  EXPECT_EQ(c.kind, DownstreamCommand::Kind::kick);
  EXPECT_EQ(c.reason, "spam");
  EXPECT_FALSE(c.close_connection);
  kick.push_back({header::close_connection, "1"});
  DownstreamCommand closing;
  ASSERT_TRUE(parse_downstream(kick, "spam", "gw", closing, err)) << err;
  EXPECT_TRUE(closing.close_connection);
  kick.back() = {header::close_connection, "yes"};
  EXPECT_FALSE(parse_downstream(kick, "spam", "gw", closing, err)) << "x-close is 0 or 1";
}

TEST(DownstreamRecords, TimestampHeaders) {
  std::vector<kafka::Header> h{{header::op, "emit"}, {header::ts_api, "1700000000123"}};
  EXPECT_EQ(header_millis(h, header::ts_api), 1700000000123);
  EXPECT_EQ(header_millis(h, header::ts_gateway_in), std::nullopt);
  for (std::string_view bad : {"", "-5", "12x", " 12", "99999999999999999999999", "1.5"}) {
    std::vector<kafka::Header> b{{header::ts_api, bad}};
    EXPECT_EQ(header_millis(b, header::ts_api), std::nullopt) << bad;
  }
  // The last one wins, as everywhere else.
  std::vector<kafka::Header> twice{{header::ts_api, "1"}, {header::ts_api, "2"}};
  EXPECT_EQ(header_millis(twice, header::ts_api), 2);
}

TEST(AckPartitions, FollowTheApiReplicaInTheAckId) {
  // ws-api mints ack ids as (api worker id << 32) | sequence; the answer must reach the
  // partition that replica reads, whatever the sequence.
  const unsigned long long replica5 = (5ull << kAckIdWorkerShift);
  EXPECT_EQ(ack_id_partition(replica5 | 0, 64), 5);
  EXPECT_EQ(ack_id_partition(replica5 | 0xffffffffull, 64), 5);
  EXPECT_EQ(ack_id_partition((69ull << kAckIdWorkerShift) | 7, 64), 5);
  EXPECT_EQ(ack_id_partition(7, 64), 0);  // a client-chosen small id: replica 0
  EXPECT_EQ(ack_id_partition(replica5, 0), 0);
}

TEST(DownstreamRecords, MalformedRecordsAreRejected) {
  DownstreamCommand c;
  std::string err;
  auto bad = [&](std::vector<H> h, std::string_view value) {
    return !parse_downstream(h, value, "gw", c, err);
  };
  EXPECT_TRUE(bad({}, "x"));
  EXPECT_TRUE(bad({{header::op, "nope"}, {header::sid, "a"}}, ""));
  EXPECT_TRUE(bad({{header::op, "emit"}}, ""));
  EXPECT_TRUE(bad({{header::op, "emit"}, {header::sid, "a"}, {header::room, "r"}}, "2[1]"));
  EXPECT_TRUE(bad({{header::op, "emit"}, {header::ns, "docs"}}, "2[1]"));
  EXPECT_TRUE(bad({{header::op, "emit"}, {header::except, "!!"}}, "2[1]"));
  EXPECT_TRUE(bad({{header::op, "emit"}, {header::binary_count, "99"}}, "x"));
  EXPECT_TRUE(bad({{header::op, "emit"}, {header::binary_count, "1"}}, "not msgpack"));
  EXPECT_TRUE(bad({{header::op, "join"}, {header::sid, "a"}}, ""));
  EXPECT_TRUE(bad({{header::op, "kick"}}, ""));
  EXPECT_TRUE(bad({{header::op, "kick"}, {header::sid, "a"}, {header::uid, "b"}}, ""));
}

}  // namespace
}  // namespace wsgw::cluster
