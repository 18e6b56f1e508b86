#include "api/service/records.h"

#include <gtest/gtest.h>
#include <msgpack.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "api/service/packet_builder.h"
#include "common/cluster/contract.h"
#include "common/kafka/consumer.h"
#include "common/kafka/message.h"
#include "common/kafka/mock_cluster.h"
#include "common/kafka/producer.h"
#include "wsgw/v1/api.pb.h"

namespace wsgw::api {
namespace {

using HeaderList = std::vector<std::pair<std::string, std::string>>;
using namespace std::literals;

HeaderList list_of(const kafka::OwnedHeaders& headers) {
  HeaderList list;
  for (const auto& entry : headers.entries()) list.emplace_back(entry.name, entry.value);
  return list;
}

DownstreamContext on_node(std::string_view node, int32_t partition) {
  return {.node = node, .partition = partition, .trace_id = "trace-1", .ts_api_ms = 1700000000123};
}

// ---------------------------------------------------------------------------------------------
// Downstream

TEST(PartitionForWorker, IsWorkerIdModuloPartitions) {
  EXPECT_EQ(partition_for_worker(5, 64), 5);
  EXPECT_EQ(partition_for_worker(64, 64), 0);
  EXPECT_EQ(partition_for_worker(130, 64), 2);
  EXPECT_EQ(partition_for_worker(65535, 7), 65535 % 7);
  EXPECT_EQ(partition_for_worker(9, 1), 0);
  EXPECT_EQ(partition_for_worker(9, 0), -1);
  EXPECT_EQ(partition_for_worker(9, -4), -1);
}

TEST(EmitRecord, RoomOnOneNodeIsExact) {
  const SocketIoPacket packet = build_event_packet("/docs", "news", R"([{"n":1}])", 0);
  const DownstreamRecord record =
      make_emit_record(packet, {}, "/docs", EmitTarget::room("doc:42"), {}, false, on_node("gw-7", 7));
  EXPECT_EQ(record.topic, "wsgw.downstream");
  EXPECT_EQ(record.partition, 7);
  EXPECT_EQ(list_of(record.headers), (HeaderList{{"x-op", "emit"},
                                                 {"x-ns", "/docs"},
                                                 {"x-node", "gw-7"},
                                                 {"x-room", "doc:42"},
                                                 {"x-trace-id", "trace-1"},
                                                 {"x-ts-api", "1700000000123"}}));
  EXPECT_EQ(record.value, R"(2/docs,["news",{"n":1}])");
}

TEST(EmitRecord, EveryoneGoesToTheBroadcastTopicWithoutNode) {
  const SocketIoPacket packet = build_event_packet("/", "tick", "[1]", 0);
  const DownstreamRecord record =
      make_emit_record(packet, {}, "", EmitTarget::everyone(), {}, false, on_node("", -1));
  EXPECT_EQ(record.topic, "wsgw.broadcast");
  EXPECT_EQ(record.partition, -1);
  EXPECT_EQ(list_of(record.headers), (HeaderList{{"x-op", "emit"},
                                                 {"x-ns", "/"},  // "" is the API's "/"
                                                 {"x-trace-id", "trace-1"},
                                                 {"x-ts-api", "1700000000123"}}));
  EXPECT_EQ(record.value, R"(2["tick",1])");
}

TEST(EmitRecord, SocketWithExceptAndVolatile) {
  const std::vector<std::string_view> except = {"sidA", "sid-B_2"};
  const DownstreamRecord record = make_emit_record({"2[\"x\"]", 0}, {}, "/", EmitTarget::socket("sid1"),
                                                   except, true, on_node("gw-0", 0));
  EXPECT_EQ(list_of(record.headers), (HeaderList{{"x-op", "emit"},
                                                 {"x-ns", "/"},
                                                 {"x-node", "gw-0"},
                                                 {"x-sid", "sid1"},
                                                 {"x-except", "sidA,sid-B_2"},
                                                 {"x-volatile", "1"},
                                                 {"x-trace-id", "trace-1"},
                                                 {"x-ts-api", "1700000000123"}}));
  EXPECT_EQ(record.value, "2[\"x\"]");
}

TEST(EmitRecord, UserWithOneExcept) {
  const std::vector<std::string_view> except = {"only"};
  const DownstreamRecord record =
      make_emit_record({"2[\"x\"]", 0}, {}, "/", EmitTarget::user("user 1"), except, false, on_node("n", 3));
  EXPECT_EQ(list_of(record.headers), (HeaderList{{"x-op", "emit"},
                                                 {"x-ns", "/"},
                                                 {"x-node", "n"},
                                                 {"x-uid", "user 1"},
                                                 {"x-except", "only"},
                                                 {"x-trace-id", "trace-1"},
                                                 {"x-ts-api", "1700000000123"}}));
}

TEST(EmitRecord, AttachmentsMakeAMessagePackArrayByteForByte) {
  const SocketIoPacket packet =
      build_event_packet("/", "file", R"([{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])", 2);
  ASSERT_EQ(packet.attachments, 2u);
  const std::vector<std::string_view> attachments = {"\x01\x02"sv, ""sv};
  const DownstreamRecord record = make_emit_record(packet, attachments, "/", EmitTarget::socket("s1"), {},
                                                   false, on_node("gw-1", 1));
  EXPECT_EQ(list_of(record.headers), (HeaderList{{"x-op", "emit"},
                                                 {"x-ns", "/"},
                                                 {"x-node", "gw-1"},
                                                 {"x-sid", "s1"},
                                                 {"x-attachments", "2"},
                                                 {"x-trace-id", "trace-1"},
                                                 {"x-ts-api", "1700000000123"}}));
  // fixarray(3), str8 (the text is 68 bytes, over fixstr's 31), bin8 2 bytes, bin8 empty.
  std::string expected = "\x93\xd9"s + static_cast<char>(packet.text.size()) + packet.text;
  expected += "\xc4\x02\x01\x02"s;
  expected += "\xc4\x00"s;
  EXPECT_EQ(record.value, expected);
  EXPECT_EQ(packet.text.substr(0, 4), "52-[");
}

TEST(EmitRecord, AttachmentsRoundTripThroughMsgpack) {
  std::string big(70000, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  const std::vector<std::string_view> attachments = {big, "abc"};
  const SocketIoPacket packet{R"(52-["b",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])", 2};
  const DownstreamRecord record =
      make_emit_record(packet, attachments, "/", EmitTarget::everyone(), {}, false, on_node("", -1));
  const msgpack::object_handle handle = msgpack::unpack(record.value.data(), record.value.size());
  const msgpack::object& root = handle.get();
  ASSERT_EQ(root.type, msgpack::type::ARRAY);
  ASSERT_EQ(root.via.array.size, 3u);
  EXPECT_EQ(root.via.array.ptr[0].type, msgpack::type::STR);
  EXPECT_EQ(root.via.array.ptr[0].as<std::string>(), packet.text);
  for (std::size_t i = 0; i < attachments.size(); ++i) {
    const msgpack::object& item = root.via.array.ptr[i + 1];
    ASSERT_EQ(item.type, msgpack::type::BIN);
    EXPECT_EQ(std::string_view(item.via.bin.ptr, item.via.bin.size), attachments[i]) << i;
  }
  EXPECT_EQ(static_cast<unsigned char>(record.value[1 + 2 + packet.text.size()]), 0xc6)  // bin32
      << "a 70000-byte attachment needs the 32-bit length form";
}

TEST(MembershipRecords, JoinAndLeaveAreExact) {
  const DownstreamRecord join = make_join_record("/docs", SocketTarget::socket("s1"), "doc:1", on_node("gw-2", 2));
  EXPECT_EQ(join.topic, "wsgw.downstream");
  EXPECT_EQ(join.partition, 2);
  EXPECT_EQ(list_of(join.headers), (HeaderList{{"x-op", "join"},
                                               {"x-ns", "/docs"},
                                               {"x-node", "gw-2"},
                                               {"x-sid", "s1"},
                                               {"x-room", "doc:1"},
                                               {"x-trace-id", "trace-1"},
                                               {"x-ts-api", "1700000000123"}}));
  EXPECT_EQ(join.value, "");

  const DownstreamRecord leave = make_leave_record("", SocketTarget::user("u-9"), "lobby", on_node("gw-3", 11));
  EXPECT_EQ(leave.partition, 11);
  EXPECT_EQ(list_of(leave.headers), (HeaderList{{"x-op", "leave"},
                                                {"x-ns", "/"},
                                                {"x-node", "gw-3"},
                                                {"x-uid", "u-9"},
                                                {"x-room", "lobby"},
                                                {"x-trace-id", "trace-1"},
                                                {"x-ts-api", "1700000000123"}}));
  EXPECT_EQ(leave.value, "");
}

TEST(KickRecord, CarriesTheReasonAsValue) {
  const DownstreamRecord by_sid =
      make_kick_record("/", SocketTarget::socket("s1"), "account suspended", on_node("gw-1", 1));
  EXPECT_EQ(by_sid.topic, "wsgw.downstream");
  EXPECT_EQ(list_of(by_sid.headers), (HeaderList{{"x-op", "kick"},
                                                 {"x-ns", "/"},
                                                 {"x-node", "gw-1"},
                                                 {"x-sid", "s1"},
                                                 {"x-trace-id", "trace-1"},
                                                 {"x-ts-api", "1700000000123"}}));
  EXPECT_EQ(by_sid.value, "account suspended");

  DownstreamContext context = on_node("gw-4", 4);
  context.trace_id = "";
  context.ts_api_ms = 0;
  const DownstreamRecord by_uid = make_kick_record("/chat", SocketTarget::user("u1"), "", context);
  EXPECT_EQ(list_of(by_uid.headers), (HeaderList{{"x-op", "kick"},
                                                 {"x-ns", "/chat"},
                                                 {"x-node", "gw-4"},
                                                 {"x-uid", "u1"},
                                                 {"x-trace-id", ""},
                                                 {"x-ts-api", "0"}}));
  EXPECT_EQ(by_uid.value, "");

  const DownstreamRecord closing =
      make_kick_record("/", SocketTarget::socket("s1"), "", on_node("gw-1", 1), true);
  EXPECT_EQ(list_of(closing.headers), (HeaderList{{"x-op", "kick"},
                                                  {"x-ns", "/"},
                                                  {"x-node", "gw-1"},
                                                  {"x-sid", "s1"},
                                                  {"x-close", "1"},
                                                  {"x-trace-id", "trace-1"},
                                                  {"x-ts-api", "1700000000123"}}));
}

// ---------------------------------------------------------------------------------------------
// Upstream

// An upstream record as the contract says a gateway writes it.
struct Upstream {
  HeaderList headers;
  std::string value;

  static Upstream of(std::string_view op, std::string value = {}) {
    return {{{"x-op", std::string(op)},
             {"x-sid", "sid_1"},
             {"x-ns", "/docs"},
             {"x-node", "gw-a"},
             {"x-trace-id", "tr-9"},
             {"x-ts-gateway-in", "1700000000123"},
             {"x-uid", "alice"}},
            std::move(value)};
  }
  Upstream& set(std::string_view name, std::string_view value) {
    for (auto& [n, v] : headers) {
      if (n == name) {
        v = value;
        return *this;
      }
    }
    headers.emplace_back(name, value);
    return *this;
  }
  Upstream& remove(std::string_view name) {
    std::erase_if(headers, [&](const auto& header) { return header.first == name; });
    return *this;
  }
};

struct Parsed {
  bool ok = false;
  UpstreamOp op = UpstreamOp::connect;
  v1::ClientEvent event;
  std::string error;
};

Parsed parse(const Upstream& record) {
  std::vector<kafka::Header> headers;
  for (const auto& [name, value] : record.headers) headers.push_back({name, value});
  Parsed parsed;
  parsed.ok = parse_upstream(headers, record.value, parsed.op, parsed.event, parsed.error);
  if (parsed.ok) {
    EXPECT_TRUE(parsed.error.empty()) << parsed.error;
  }
  return parsed;
}

// Expects a refusal whose message names `field`.
void expect_refused_here(const Upstream& record, std::string_view field) {
  const Parsed parsed = parse(record);
  EXPECT_FALSE(parsed.ok);
  EXPECT_NE(parsed.error.find(field), std::string::npos) << "error: " << parsed.error;
}
#define EXPECT_REFUSED(record, field)          \
  do {                                         \
    SCOPED_TRACE("the refusal expected here"); \
    expect_refused_here(record, field);        \
  } while (false)

struct StringSink {
  std::string& out;
  void write(const char* data, std::size_t size) { out.append(data, size); }
};

// The connect envelope of the contract; `skip` leaves one key out, `extra` adds raw entries.
std::string connect_value(std::map<std::string, std::string> strings, std::vector<std::string> rooms,
                          uint64_t connected_at, std::string_view skip = {}, int extra_entries = 0,
                          const std::function<void(msgpack::packer<StringSink>&)>& extra = {}) {
  std::string out;
  StringSink sink{out};
  msgpack::packer<StringSink> packer(sink);
  std::size_t entries = strings.size() + 2 + extra_entries;
  if (!skip.empty()) --entries;
  packer.pack_map(static_cast<uint32_t>(entries));
  for (const auto& [key, value] : strings) {
    if (key == skip) continue;
    packer.pack(key);
    packer.pack(value);
  }
  if (skip != "rooms") {
    packer.pack("rooms"s);
    packer.pack(rooms);
  }
  if (skip != "connected_at") {
    packer.pack("connected_at"s);
    packer.pack(connected_at);
  }
  if (extra) extra(packer);
  return out;
}

std::map<std::string, std::string> connect_strings() {
  return {{"sid", "sid_1"}, {"uid", "alice"}, {"nsp", "/docs"}, {"node", "gw-a"}, {"auth", R"({"token":"t"})"}};
}

std::string good_connect(std::string_view skip = {}) {
  return connect_value(connect_strings(), {"doc:1", "team"}, 1700000000999, skip);
}

TEST(ParseUpstream, ConnectFillsSocketInfoAndMetadata) {
  const Parsed parsed = parse(Upstream::of("connect", good_connect()));
  ASSERT_TRUE(parsed.ok) << parsed.error;
  EXPECT_EQ(parsed.op, UpstreamOp::connect);
  const v1::ClientEvent& event = parsed.event;
  EXPECT_EQ(event.kind_case(), v1::ClientEvent::kConnected);
  EXPECT_EQ(event.sid(), "sid_1");
  EXPECT_EQ(event.uid(), "alice");
  EXPECT_EQ(event.namespace_(), "/docs");
  EXPECT_EQ(event.event_id(), "");
  EXPECT_EQ(event.metadata().trace_id(), "tr-9");
  EXPECT_EQ(event.metadata().node(), "gw-a");
  ASSERT_EQ(event.metadata().hops_size(), 1);
  EXPECT_EQ(event.metadata().hops(0).hop(), "gateway-in");
  EXPECT_EQ(event.metadata().hops(0).time().seconds(), 1700000000);
  EXPECT_EQ(event.metadata().hops(0).time().nanos(), 123000000);
  const v1::SocketInfo& socket = event.connected().socket();
  EXPECT_EQ(socket.sid(), "sid_1");
  EXPECT_EQ(socket.uid(), "alice");
  EXPECT_EQ(socket.namespace_(), "/docs");
  EXPECT_EQ(socket.node(), "gw-a");
  EXPECT_EQ(socket.auth_json(), R"({"token":"t"})");
  ASSERT_EQ(socket.rooms_size(), 2);
  EXPECT_EQ(socket.rooms(0), "doc:1");
  EXPECT_EQ(socket.rooms(1), "team");
  EXPECT_EQ(socket.connected_at().seconds(), 1700000000);
  EXPECT_EQ(socket.connected_at().nanos(), 999000000);
}

TEST(ParseUpstream, ConnectWithoutUserOrAuth) {
  auto strings = connect_strings();
  strings["uid"] = "";
  strings["auth"] = "";
  Upstream record = Upstream::of("connect", connect_value(strings, {}, 0));
  record.remove("x-uid");
  const Parsed parsed = parse(record);
  ASSERT_TRUE(parsed.ok) << parsed.error;
  EXPECT_EQ(parsed.event.uid(), "");
  EXPECT_EQ(parsed.event.connected().socket().auth_json(), "{}");  // what Socket.IO gives a handler
  EXPECT_EQ(parsed.event.connected().socket().rooms_size(), 0);
  EXPECT_EQ(parsed.event.connected().socket().connected_at().seconds(), 0);
}

TEST(ParseUpstream, ConnectSkipsUnknownKeysForForwardCompatibility) {
  const std::string value = connect_value(connect_strings(), {}, 5, {}, 2, [](auto& packer) {
    packer.pack("transport"s);
    packer.pack("websocket"s);
    packer.pack("future"s);
    packer.pack(std::vector<int>{1, 2});
  });
  const Parsed parsed = parse(Upstream::of("connect", value));
  ASSERT_TRUE(parsed.ok) << parsed.error;
  EXPECT_EQ(parsed.event.connected().socket().sid(), "sid_1");
}

TEST(ParseUpstream, ConnectRefusesMissingKeysAndWrongTypes) {
  for (const char* key : {"sid", "uid", "nsp", "node", "auth", "rooms", "connected_at"}) {
    EXPECT_REFUSED(Upstream::of("connect", good_connect(key)), "missing \""s + key + "\"");
  }
  auto wrong = [](std::string_view key, auto value) {
    auto strings = connect_strings();
    strings.erase(std::string(key));
    return connect_value(strings, {}, 1, {}, 1, [&](auto& packer) {
      packer.pack(std::string(key));
      packer.pack(value);
    });
  };
  EXPECT_REFUSED(Upstream::of("connect", wrong("sid", 42)), "\"sid\" has the wrong type");
  EXPECT_REFUSED(Upstream::of("connect", wrong("auth", std::vector<int>{})), "\"auth\" has the wrong type");
  // rooms as a string, connected_at negative or as a string: the map then holds the key twice
  // (the helper always writes them), which is refused as well; check the types on their own too.
  std::string rooms_as_string = connect_value(connect_strings(), {}, 1, "rooms", 1, [](auto& packer) {
    packer.pack("rooms"s);
    packer.pack("doc:1"s);
  });
  EXPECT_REFUSED(Upstream::of("connect", rooms_as_string), "\"rooms\" has the wrong type");
  std::string negative_time = connect_value(connect_strings(), {}, 1, "connected_at", 1, [](auto& packer) {
    packer.pack("connected_at"s);
    packer.pack(int64_t{-5});
  });
  EXPECT_REFUSED(Upstream::of("connect", negative_time), "\"connected_at\" has the wrong type");
  std::string time_as_text = connect_value(connect_strings(), {}, 1, "connected_at", 1, [](auto& packer) {
    packer.pack("connected_at"s);
    packer.pack("1700000000000"s);
  });
  EXPECT_REFUSED(Upstream::of("connect", time_as_text), "\"connected_at\" has the wrong type");
  EXPECT_REFUSED(Upstream::of("connect", connect_value(connect_strings(), {}, 253402300800000)),
                 "connected_at out of range");
}

TEST(ParseUpstream, ConnectRefusesBadShapes) {
  std::string duplicate = connect_value(connect_strings(), {}, 1, {}, 1, [](auto& packer) {
    packer.pack("sid"s);
    packer.pack("sid_1"s);
  });
  EXPECT_REFUSED(Upstream::of("connect", duplicate), "twice");
  std::string int_key = connect_value(connect_strings(), {}, 1, {}, 1, [](auto& packer) {
    packer.pack(7);
    packer.pack("x"s);
  });
  EXPECT_REFUSED(Upstream::of("connect", int_key), "not a string");
  std::string nested_rooms = connect_value(connect_strings(), {}, 1, "rooms", 1, [](auto& packer) {
    packer.pack("rooms"s);
    packer.pack(std::vector<std::vector<std::string>>{{"a"}});
  });
  EXPECT_REFUSED(Upstream::of("connect", nested_rooms), "connect value");  // depth limit
  std::string int_room = connect_value(connect_strings(), {}, 1, "rooms", 1, [](auto& packer) {
    packer.pack("rooms"s);
    packer.pack(std::vector<int>{1});
  });
  EXPECT_REFUSED(Upstream::of("connect", int_room), "connect rooms");
  EXPECT_REFUSED(Upstream::of("connect", connect_value(connect_strings(), {"bad\nroom"}, 1)), "connect rooms");
  EXPECT_REFUSED(Upstream::of("connect", connect_value(connect_strings(), std::vector<std::string>(1025, "r"), 1)),
                 "connect value");

  std::string as_array;
  {
    StringSink sink{as_array};
    msgpack::packer<StringSink> packer(sink);
    packer.pack(std::vector<std::string>{"sid_1"});
  }
  EXPECT_REFUSED(Upstream::of("connect", as_array), "not a MessagePack map");
  EXPECT_REFUSED(Upstream::of("connect", good_connect() + "\x01"), "connect value");      // trailing byte
  EXPECT_REFUSED(Upstream::of("connect", good_connect().substr(0, 20)), "connect value");  // truncated
  EXPECT_REFUSED(Upstream::of("connect", ""), "connect value");
  EXPECT_REFUSED(Upstream::of("connect", "{\"sid\":\"sid_1\"}"), "connect value");
  // A map or array that claims 4 billion entries is refused before anything is allocated for it.
  EXPECT_REFUSED(Upstream::of("connect", "\xdf\xff\xff\xff\xff"s), "connect value");
  EXPECT_REFUSED(Upstream::of("connect", "\x81\xa5rooms\xdd\xff\xff\xff\xff"s), "connect value");
  // Extension types have no place in the envelope.
  std::string ext = connect_value(connect_strings(), {}, 1, {}, 1, [](auto& packer) {
    packer.pack("x"s);
    packer.pack_ext(1, 3);
    packer.pack_ext_body("\x01", 1);
  });
  EXPECT_REFUSED(Upstream::of("connect", ext), "connect value");
}

TEST(ParseUpstream, ConnectMustAgreeWithTheHeaders) {
  auto with = [](std::string_view key, std::string value) {
    auto strings = connect_strings();
    strings[std::string(key)] = std::move(value);
    return connect_value(strings, {}, 1);
  };
  EXPECT_REFUSED(Upstream::of("connect", with("sid", "other")), "sid differs from x-sid");
  EXPECT_REFUSED(Upstream::of("connect", with("nsp", "/")), "nsp differs from x-ns");
  EXPECT_REFUSED(Upstream::of("connect", with("node", "gw-b")), "node differs from x-node");
  EXPECT_REFUSED(Upstream::of("connect", with("uid", "bob")), "uid differs from x-uid");
  EXPECT_REFUSED(Upstream::of("connect", with("uid", "")), "uid differs from x-uid");
  EXPECT_REFUSED(Upstream::of("connect", with("auth", "{")), "connect auth");
  EXPECT_REFUSED(Upstream::of("connect", with("auth", "[1]")), "connect auth");
}

TEST(ParseUpstream, DisconnectCarriesReasonAndCode) {
  Parsed parsed = parse(Upstream::of("disconnect", "ping_timeout"));
  ASSERT_TRUE(parsed.ok) << parsed.error;
  EXPECT_EQ(parsed.op, UpstreamOp::disconnect);
  EXPECT_EQ(parsed.event.kind_case(), v1::ClientEvent::kDisconnected);
  EXPECT_EQ(parsed.event.disconnected().reason(), "ping_timeout");
  EXPECT_EQ(parsed.event.disconnected().code(), 4001u);
  EXPECT_EQ(parsed.event.disconnected().detail(), "");
  EXPECT_EQ(parsed.event.sid(), "sid_1");

  parsed = parse(Upstream::of("disconnect", "kicked").set("x-detail", "account suspended"));
  ASSERT_TRUE(parsed.ok) << parsed.error;
  EXPECT_EQ(parsed.event.disconnected().reason(), "kicked");
  EXPECT_EQ(parsed.event.disconnected().code(), 4501u);
  EXPECT_EQ(parsed.event.disconnected().detail(), "account suspended");
  EXPECT_REFUSED(Upstream::of("disconnect", "kicked").set("x-detail", "bad\x01text"), "x-detail");

  parsed = parse(Upstream::of("disconnect", "client namespace disconnect"));
  ASSERT_TRUE(parsed.ok);
  EXPECT_EQ(parsed.event.disconnected().reason(), "client namespace disconnect");
  EXPECT_EQ(parsed.event.disconnected().code(), 0u);  // not in the close-code table

  EXPECT_REFUSED(Upstream::of("disconnect", ""), "disconnect reason");
  EXPECT_REFUSED(Upstream::of("disconnect", "bad\x01reason"), "disconnect reason");
  EXPECT_REFUSED(Upstream::of("disconnect", std::string(257, 'r')), "disconnect reason");
}

TEST(ParseUpstream, EventWithoutAck) {
  const Parsed parsed = parse(Upstream::of("event", R"([1,"a",{"b":true}])").set("x-event", "comment.add"));
  ASSERT_TRUE(parsed.ok) << parsed.error;
  EXPECT_EQ(parsed.op, UpstreamOp::event);
  ASSERT_EQ(parsed.event.kind_case(), v1::ClientEvent::kEvent);
  EXPECT_EQ(parsed.event.event().name(), "comment.add");
  EXPECT_EQ(parsed.event.event().args_json(), R"([1,"a",{"b":true}])");
  EXPECT_EQ(parsed.event.event().attachments_size(), 0);
  EXPECT_FALSE(parsed.event.event().has_ack());
}

TEST(ParseUpstream, EventWithoutArgumentsGetsAnEmptyArray) {
  const Parsed parsed = parse(Upstream::of("event", "").set("x-event", "ping!"));
  ASSERT_TRUE(parsed.ok) << parsed.error;
  EXPECT_EQ(parsed.event.event().args_json(), "[]");
}

TEST(ParseUpstream, EventWithAckReference) {
  const Parsed parsed =
      parse(Upstream::of("event", "[]").set("x-event", "save").set("x-ack-id", "18446744073709551615"));
  ASSERT_TRUE(parsed.ok) << parsed.error;
  ASSERT_TRUE(parsed.event.event().has_ack());
  const v1::AckReference& ack = parsed.event.event().ack();
  EXPECT_EQ(ack.sid(), "sid_1");
  EXPECT_EQ(ack.namespace_(), "/docs");
  EXPECT_EQ(ack.ack_id(), UINT64_MAX);
  EXPECT_EQ(ack.node(), "gw-a");
}

std::string arguments_with(std::string_view json, const std::vector<std::string>& binaries) {
  std::string out;
  StringSink sink{out};
  msgpack::packer<StringSink> packer(sink);
  packer.pack_array(static_cast<uint32_t>(1 + binaries.size()));
  packer.pack_str(static_cast<uint32_t>(json.size()));
  packer.pack_str_body(json.data(), static_cast<uint32_t>(json.size()));
  for (const std::string& binary : binaries) {
    packer.pack_bin(static_cast<uint32_t>(binary.size()));
    packer.pack_bin_body(binary.data(), static_cast<uint32_t>(binary.size()));
  }
  return out;
}

constexpr std::string_view kTwoPlaceholders =
    R"([{"_placeholder":true,"num":0},"x",{"_placeholder":true,"num":1}])";

TEST(ParseUpstream, EventWithAttachments) {
  const std::string zeros("\0\0\xff", 3);
  const Parsed parsed = parse(Upstream::of("event", arguments_with(kTwoPlaceholders, {zeros, ""}))
                                  .set("x-event", "upload")
                                  .set("x-attachments", "2"));
  ASSERT_TRUE(parsed.ok) << parsed.error;
  EXPECT_EQ(parsed.event.event().args_json(), kTwoPlaceholders);
  ASSERT_EQ(parsed.event.event().attachments_size(), 2);
  EXPECT_EQ(parsed.event.event().attachments(0), zeros);
  EXPECT_EQ(parsed.event.event().attachments(1), "");
}

TEST(ParseUpstream, ZeroAttachmentsMeansPlainJson) {
  const Parsed parsed = parse(Upstream::of("event", "[1]").set("x-event", "e").set("x-attachments", "0"));
  ASSERT_TRUE(parsed.ok) << parsed.error;
  EXPECT_EQ(parsed.event.event().args_json(), "[1]");
}

TEST(ParseUpstream, EventRefusals) {
  EXPECT_REFUSED(Upstream::of("event", "[]"), "x-event: missing");
  EXPECT_REFUSED(Upstream::of("event", "[]").set("x-event", ""), "x-event");
  EXPECT_REFUSED(Upstream::of("event", "[]").set("x-event", "disconnect"), "x-event: is reserved");
  EXPECT_REFUSED(Upstream::of("event", "[1,").set("x-event", "e"), "args_json");
  EXPECT_REFUSED(Upstream::of("event", R"({"a":1})").set("x-event", "e"), "args_json");
  EXPECT_REFUSED(Upstream::of("event", "[\"\xff\"]").set("x-event", "e"), "args_json");  // not UTF-8
  // A placeholder without its attachment.
  EXPECT_REFUSED(Upstream::of("event", R"([{"_placeholder":true,"num":0}])").set("x-event", "e"), "args_json");
  for (const char* bad : {"abc", "-1", "+1", " 1", "1 ", "18446744073709551616", ""}) {
    EXPECT_REFUSED(Upstream::of("event", "[]").set("x-event", "e").set("x-ack-id", bad), "x-ack-id");
  }
}

TEST(ParseUpstream, AttachmentRefusals) {
  auto event = [](std::string value, std::string_view count) {
    return Upstream::of("event", std::move(value)).set("x-event", "e").set("x-attachments", count);
  };
  const std::string one = arguments_with(R"([{"_placeholder":true,"num":0}])", {"b"});
  EXPECT_REFUSED(event(one, "11"), "x-attachments");
  EXPECT_REFUSED(event(one, "1x"), "x-attachments");
  EXPECT_REFUSED(event(one, "-1"), "x-attachments");
  EXPECT_REFUSED(event(one, "2"), "arguments");  // count differs from the array
  EXPECT_REFUSED(event(arguments_with("[]", {"a", "b"}), "1"), "arguments");
  EXPECT_REFUSED(event(R"([{"_placeholder":true,"num":0}])", "1"), "arguments");  // JSON, not MessagePack
  EXPECT_REFUSED(event(one + "\x00"s, "1"), "arguments");                         // trailing byte
  EXPECT_REFUSED(event(one.substr(0, one.size() - 1), "1"), "arguments");         // truncated

  // Eleven binaries are over the limit even when the header agrees... which it cannot (max 10).
  std::vector<std::string> eleven(11, "b");
  EXPECT_REFUSED(event(arguments_with("[]", eleven), "10"), "arguments");
  // A huge array header is refused by the unpack limit, not allocated.
  EXPECT_REFUSED(event("\xdd\xff\xff\xff\xff"s, "1"), "arguments");
  // A str header claiming 4 GiB over a short record.
  EXPECT_REFUSED(event("\x92\xdb\xff\xff\xff\xff"s, "1"), "arguments");

  std::string text_attachment;
  {
    StringSink sink{text_attachment};
    msgpack::packer<StringSink> packer(sink);
    packer.pack(std::vector<std::string>{R"([{"_placeholder":true,"num":0}])", "not binary"});
  }
  EXPECT_REFUSED(event(text_attachment, "1"), "not binary");
  std::string binary_json;
  {
    StringSink sink{binary_json};
    msgpack::packer<StringSink> packer(sink);
    packer.pack_array(2);
    packer.pack_bin(2);
    packer.pack_bin_body("[]", 2);
    packer.pack_bin(1);
    packer.pack_bin_body("b", 1);
  }
  EXPECT_REFUSED(event(binary_json, "1"), "not a string");
  // With attachments the JSON text must be there to refer to them.
  EXPECT_REFUSED(event(arguments_with("", {"b"}), "1"), "args_json");
}

TEST(ParseUpstream, MaxAttachmentsIsAccepted) {
  std::string json = "[";
  for (int i = 0; i < 10; ++i) {
    json += (i ? "," : "") + R"({"_placeholder":true,"num":)"s + std::to_string(i) + "}";
  }
  json += "]";
  const Parsed parsed = parse(Upstream::of("event", arguments_with(json, std::vector<std::string>(10, "z")))
                                  .set("x-event", "e")
                                  .set("x-attachments", "10"));
  ASSERT_TRUE(parsed.ok) << parsed.error;
  EXPECT_EQ(parsed.event.event().attachments_size(), 10);
}

TEST(ParseUpstream, AckIsTheAnswerToAServerAck) {
  const std::string answer = arguments_with(R"(["ok",{"_placeholder":true,"num":0}])", {"bin"});
  const Parsed parsed = parse(Upstream::of("ack", answer)
                                  .set("x-ack-id", "42")
                                  .set("x-attachments", "1"));
  ASSERT_TRUE(parsed.ok) << parsed.error;
  EXPECT_EQ(parsed.op, UpstreamOp::ack);
  ASSERT_EQ(parsed.event.kind_case(), v1::ClientEvent::kEvent);
  EXPECT_EQ(parsed.event.event().name(), "");
  EXPECT_EQ(parsed.event.event().ack().ack_id(), 42u);
  EXPECT_EQ(parsed.event.event().ack().sid(), "sid_1");
  EXPECT_EQ(parsed.event.event().args_json(), R"(["ok",{"_placeholder":true,"num":0}])");
  ASSERT_EQ(parsed.event.event().attachments_size(), 1);
  EXPECT_EQ(parsed.event.event().attachments(0), "bin");

  const Parsed plain = parse(Upstream::of("ack", "").set("x-ack-id", "0"));
  ASSERT_TRUE(plain.ok) << plain.error;
  EXPECT_EQ(plain.event.event().args_json(), "[]");
  EXPECT_EQ(plain.event.event().ack().ack_id(), 0u);

  EXPECT_REFUSED(Upstream::of("ack", "[]"), "x-ack-id: missing");
  EXPECT_REFUSED(Upstream::of("ack", "[]").set("x-ack-id", "0x10"), "x-ack-id");
}

TEST(ParseUpstream, CommonHeaderRefusals) {
  EXPECT_REFUSED(Upstream::of("disconnect", "client_close").remove("x-op"), "x-op: missing");
  EXPECT_REFUSED(Upstream::of("emit", "x"), "x-op: not an upstream op");
  EXPECT_REFUSED(Upstream::of("", "x"), "x-op");
  EXPECT_REFUSED(Upstream::of("disconnect", "client_close").remove("x-sid"), "x-sid: missing");
  EXPECT_REFUSED(Upstream::of("disconnect", "client_close").set("x-sid", ""), "x-sid");
  EXPECT_REFUSED(Upstream::of("disconnect", "client_close").set("x-sid", "a,b"), "x-sid");
  EXPECT_REFUSED(Upstream::of("disconnect", "client_close").set("x-sid", std::string(65, 'a')), "x-sid");
  EXPECT_REFUSED(Upstream::of("disconnect", "client_close").remove("x-ns"), "x-ns: missing");
  EXPECT_REFUSED(Upstream::of("disconnect", "client_close").set("x-ns", "docs"), "x-ns");
  EXPECT_REFUSED(Upstream::of("disconnect", "client_close").set("x-ns", "/a,b"), "x-ns");
  EXPECT_REFUSED(Upstream::of("disconnect", "client_close").remove("x-node"), "x-node: missing");
  EXPECT_REFUSED(Upstream::of("disconnect", "client_close").set("x-node", ""), "x-node");
  EXPECT_REFUSED(Upstream::of("disconnect", "client_close").set("x-uid", "a\tb"), "x-uid");
  EXPECT_REFUSED(Upstream::of("disconnect", "client_close").set("x-trace-id", "a b"), "x-trace-id");
  for (const char* bad : {"", "12.5", "-1", "253402300800000", "abc"}) {
    EXPECT_REFUSED(Upstream::of("disconnect", "client_close").set("x-ts-gateway-in", bad), "x-ts-gateway-in");
  }
  EXPECT_REFUSED(Upstream::of("disconnect", "client_close").set("x-ts-", "1"), "hop name");

  Upstream crowded = Upstream::of("disconnect", "client_close");
  for (int i = 0; i < 30; ++i) crowded.headers.emplace_back("x-pad", "1");
  EXPECT_REFUSED(crowded, "headers");
}

TEST(ParseUpstream, OptionalHeadersAndDuplicates) {
  Upstream record = Upstream::of("disconnect", "client_close").remove("x-trace-id").remove("x-ts-gateway-in");
  record.set("x-uid", "");                 // empty: no user
  record.headers.emplace_back("x-sid", "sid_2");  // the last one counts
  record.headers.emplace_back("x-something-new", "ignored");
  record.headers.emplace_back("x-ts-api", "5");
  const Parsed parsed = parse(record);
  ASSERT_TRUE(parsed.ok) << parsed.error;
  EXPECT_EQ(parsed.event.sid(), "sid_2");
  EXPECT_EQ(parsed.event.uid(), "");
  EXPECT_EQ(parsed.event.metadata().trace_id(), "");
  ASSERT_EQ(parsed.event.metadata().hops_size(), 1);
  EXPECT_EQ(parsed.event.metadata().hops(0).hop(), "api");
  EXPECT_EQ(parsed.event.metadata().hops(0).time().nanos(), 5000000);
}

TEST(ParseUpstream, ReusedOutputIsClearedFirst) {
  std::vector<kafka::Header> headers;
  Upstream connect = Upstream::of("connect", good_connect());
  for (const auto& [name, value] : connect.headers) headers.push_back({name, value});
  UpstreamOp op;
  v1::ClientEvent out;
  std::string error;
  ASSERT_TRUE(parse_upstream(headers, connect.value, op, out, error)) << error;
  out.set_event_id("stale");

  Upstream disconnect = Upstream::of("disconnect", "shutdown").remove("x-uid");
  headers.clear();
  for (const auto& [name, value] : disconnect.headers) headers.push_back({name, value});
  ASSERT_TRUE(parse_upstream(headers, disconnect.value, op, out, error)) << error;
  EXPECT_EQ(op, UpstreamOp::disconnect);
  EXPECT_EQ(out.kind_case(), v1::ClientEvent::kDisconnected);
  EXPECT_EQ(out.event_id(), "");
  EXPECT_EQ(out.uid(), "");
  EXPECT_EQ(out.metadata().hops_size(), 1);
}

TEST(UpstreamEventId, IsPartitionAndOffset) {
  EXPECT_EQ(upstream_event_id(3, 12345), "3-12345");
  EXPECT_EQ(upstream_event_id(0, 0), "0-0");
}

// ---------------------------------------------------------------------------------------------
// Through librdkafka's in-process mock cluster: the records as Producer sends them and Consumer
// reads them back.

std::unique_ptr<kafka::Consumer> consumer_for(const kafka::MockCluster& cluster, const std::string& topic) {
  kafka::ConsumerConfig config;
  config.brokers = cluster.bootstrap_servers();
  config.group_id = "records-test-" + topic;
  config.topics = {topic};
  config.manual_assignment = true;
  config.auto_offset_reset = "earliest";
  config.extra = {{"log_level", "2"}};
  std::string error;
  auto consumer = kafka::Consumer::create(config, error);
  EXPECT_TRUE(consumer) << error;
  return consumer;
}

TEST(RecordsThroughKafka, DownstreamAndUpstreamSurviveTheBroker) {
  std::string error;
  auto cluster = kafka::MockCluster::create(1, error);
  ASSERT_TRUE(cluster) << error;
  ASSERT_EQ(cluster->create_topic(cluster::kDownstreamTopic, 4), kafka::kNoError);
  ASSERT_EQ(cluster->create_topic(cluster::kUpstreamTopic, 2), kafka::kNoError);
  kafka::ProducerConfig producer_config;
  producer_config.brokers = cluster->bootstrap_servers();
  producer_config.extra = {{"log_level", "2"}};
  auto producer = kafka::Producer::create(producer_config, error);
  ASSERT_TRUE(producer) << error;

  const std::vector<std::string_view> attachments = {"\x00\x01"sv};
  const DownstreamRecord emit = make_emit_record({R"(51-["f",{"_placeholder":true,"num":0}])", 1}, attachments,
                                                 "/", EmitTarget::room("r"), {}, false,
                                                 on_node("gw-3", partition_for_worker(7, 4)));
  const auto emit_headers = emit.headers.view();
  ASSERT_EQ(producer->send_to(emit.topic, emit.partition, "", emit.value, emit_headers),
            kafka::Producer::SendResult::queued);
  Upstream upstream = Upstream::of("event", arguments_with(kTwoPlaceholders, {"a", "b"}))
                          .set("x-event", "e")
                          .set("x-attachments", "2");
  std::vector<kafka::Header> upstream_headers;
  for (const auto& [name, value] : upstream.headers) upstream_headers.push_back({name, value});
  ASSERT_EQ(producer->send(cluster::kUpstreamTopic, "sid_1", upstream.value, upstream_headers),
            kafka::Producer::SendResult::queued);
  ASSERT_TRUE(producer->flush(10000));

  auto downstream = consumer_for(*cluster, std::string(cluster::kDownstreamTopic));
  ASSERT_TRUE(downstream);
  kafka::Message message;
  ASSERT_TRUE(downstream->poll(10000, message));
  EXPECT_EQ(message.partition(), 3);
  EXPECT_EQ(message.value(), emit.value);
  EXPECT_EQ(list_of(kafka::OwnedHeaders::copy_of(message.headers())), list_of(emit.headers));

  auto upstream_consumer = consumer_for(*cluster, std::string(cluster::kUpstreamTopic));
  ASSERT_TRUE(upstream_consumer);
  ASSERT_TRUE(upstream_consumer->poll(10000, message));
  UpstreamOp op;
  v1::ClientEvent event;
  ASSERT_TRUE(parse_upstream(message, op, event, error)) << error;
  EXPECT_EQ(op, UpstreamOp::event);
  EXPECT_EQ(event.event_id(), upstream_event_id(message.partition(), message.offset()));
  EXPECT_EQ(event.event_id(), std::to_string(message.partition()) + "-0");
  EXPECT_EQ(event.event().attachments_size(), 2);
  EXPECT_EQ(event.metadata().node(), "gw-a");

  EXPECT_FALSE(parse_upstream(kafka::Message(), op, event, error));
  EXPECT_EQ(error, "record: no message");
}

}  // namespace
}  // namespace wsgw::api
