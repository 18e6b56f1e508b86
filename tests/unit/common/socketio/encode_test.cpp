#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/socketio/packet.h"

namespace wsgw::sio {
namespace {

using PT = PacketType;
constexpr auto v4 = ProtocolVersion::v4;
constexpr auto v5 = ProtocolVersion::v5;

TEST(SocketIoEncode, PacketFields) {
  EXPECT_EQ(encode(Packet{.type = PT::connect}), "0");
  EXPECT_EQ(encode(Packet{.type = PT::connect, .nsp = "/admin"}), "0/admin,");
  EXPECT_EQ(encode(Packet{.type = PT::connect, .nsp = ""}), "0");  // empty means main namespace
  EXPECT_EQ(encode(Packet{.type = PT::event, .nsp = "/", .id = 12, .data = R"(["foo"])"}),
            R"(212["foo"])");
  EXPECT_EQ(encode(Packet{.type = PT::ack, .nsp = "/admin", .id = 13, .data = R"(["bar"])"}),
            R"(3/admin,13["bar"])");
  EXPECT_EQ(encode(Packet{.type = PT::binary_event,
                          .nsp = "/admin",
                          .attachments = 2,
                          .data = R"(["baz",{"_placeholder":true,"num":0}])"}),
            R"(52-/admin,["baz",{"_placeholder":true,"num":0}])");
  EXPECT_EQ(encode(Packet{.type = PT::binary_ack, .id = 15, .attachments = 0, .data = "[]"}),
            "60-15[]");
  // Attachments are written for binary types only.
  EXPECT_EQ(encode(Packet{.type = PT::event, .attachments = 3, .data = R"(["x"])"}), R"(2["x"])");
  EXPECT_EQ(encode(Packet{.type = PT::event, .id = UINT64_MAX, .data = R"(["x"])"}),
            R"(218446744073709551615["x"])");
  // v4 CONNECT query goes back into the namespace.
  EXPECT_EQ(encode(Packet{.type = PT::connect, .nsp = "/chat", .query = "token=abc"}),
            "0/chat?token=abc,");
  EXPECT_EQ(encode(Packet{.type = PT::connect, .nsp = "/", .query = "a=b"}), "0/?a=b,");
}

// decode then encode gives back every example of the protocol Readme, byte for byte.
TEST(SocketIoEncode, ReadmeExamplesRoundTrip) {
  const std::vector<std::string> examples = {
      "0",
      R"(0{"sid":"wZX3oN0bSVIhsaknAAAI"})",
      "0/admin,",
      R"(0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"})",
      R"(4{"message":"Not authorized"})",
      R"(2["foo"])",
      R"(2/admin,["bar"])",
      R"(51-["baz",{"_placeholder":true,"num":0}])",
      R"(52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])",
      R"(212["foo"])",
      "312[]",
      R"(2/admin,13["foo"])",
      R"(3/admin,13["bar"])",
      R"(51-14["foo",{"_placeholder":true,"num":0}])",
      R"(314["bar"])",
      R"(215["foo"])",
      R"(61-15["bar",{"_placeholder":true,"num":0}])",
      "1",
      "1/admin,",
      R"(2["hey","Jude"])",
      R"(2["hello"])",
      R"(0/admin,{"sid":"-G5j-67EZFp-q59rADQM"})",
      R"(2/admin,1["tellme"])",
      R"(61-/admin,1[{"_placeholder":true,"num":0}])",
  };
  for (const auto& text : examples) {
    Packet p;
    ASSERT_EQ(decode(v5, text, p), DecodeError::none) << text;
    EXPECT_EQ(encode(p), text);
  }
  for (const std::string text : {"0/chat?token=abc,", "0", "0/chat,", R"(4/chat,"Invalid namespace")",
                                 R"(2/chat,5["a",1])"}) {
    Packet p;
    ASSERT_EQ(decode(v4, text, p), DecodeError::none) << text;
    EXPECT_EQ(encode(p), text);
  }
}

TEST(SocketIoEncode, NonCanonicalInputDecodesToEqualPacketAfterReencode) {
  for (const std::string text : {"1/admin", R"(2007["x"])", R"(503-["x"])", " 2", "0/chat?,"}) {
    Packet first, second;
    const auto v = text == "0/chat?," ? v4 : v5;
    if (decode(v, text, first) != DecodeError::none) continue;  // " 2" is simply invalid
    ASSERT_EQ(decode(v, encode(first), second), DecodeError::none) << text;
    EXPECT_EQ(first, second) << text;
  }
}

TEST(SocketIoEncode, Event) {
  EXPECT_EQ(encode_event("/", "foo", ""), R"(2["foo"])");
  EXPECT_EQ(encode_event("", "foo", ""), R"(2["foo"])");
  EXPECT_EQ(encode_event("/", "hey", R"("Jude")"), R"(2["hey","Jude"])");
  EXPECT_EQ(encode_event("/admin", "bar", ""), R"(2/admin,["bar"])");
  EXPECT_EQ(encode_event("/", "foo", "", 12), R"(212["foo"])");
  EXPECT_EQ(encode_event("/admin", "foo", "", 13), R"(2/admin,13["foo"])");
  EXPECT_EQ(encode_event("/", "baz", R"({"_placeholder":true,"num":0})", std::nullopt, 1),
            R"(51-["baz",{"_placeholder":true,"num":0}])");
  EXPECT_EQ(encode_event("/admin", "baz", R"({"_placeholder":true,"num":0})", 14, 1),
            R"(51-/admin,14["baz",{"_placeholder":true,"num":0}])");
  EXPECT_EQ(encode_event("/", "message-back", R"(1,"2",{"3":[true]})"),
            R"(2["message-back",1,"2",{"3":[true]}])");
  // The name is JSON-escaped; what comes out decodes back to the same name.
  const std::string tricky = "q\"b\\s/\n\t\x01 é😀";
  const std::string encoded = encode_event("/", tricky, "1");
  EXPECT_EQ(encoded, "2[\"q\\\"b\\\\s/\\n\\t\\u0001 é😀\",1]");
  Packet p;
  ASSERT_EQ(decode(v5, encoded, p), DecodeError::none);
  EventView ev;
  std::string storage;
  ASSERT_TRUE(scan_event(p.data, ev, storage));
  EXPECT_EQ(ev.name, tricky);
  EXPECT_EQ(ev.args, "1");
}

TEST(SocketIoEncode, Ack) {
  EXPECT_EQ(encode_ack("/", 12, ""), "312[]");
  EXPECT_EQ(encode_ack("/", 14, R"("bar")"), R"(314["bar"])");
  EXPECT_EQ(encode_ack("/admin", 13, R"("bar")"), R"(3/admin,13["bar"])");
  EXPECT_EQ(encode_ack("/", 15, R"("bar",{"_placeholder":true,"num":0})", 1),
            R"(61-15["bar",{"_placeholder":true,"num":0}])");
  EXPECT_EQ(encode_ack("/admin", 1, R"({"_placeholder":true,"num":0})", 1),
            R"(61-/admin,1[{"_placeholder":true,"num":0}])");
}

TEST(SocketIoEncode, ConnectOk) {
  EXPECT_EQ(encode_connect_ok(v5, "/", "wZX3oN0bSVIhsaknAAAI"), R"(0{"sid":"wZX3oN0bSVIhsaknAAAI"})");
  EXPECT_EQ(encode_connect_ok(v5, "/custom", "oSO0OpakMV_3jnilAAAA"),
            R"(0/custom,{"sid":"oSO0OpakMV_3jnilAAAA"})");
  EXPECT_EQ(encode_connect_ok(v4, "/", "ignored"), "0");
  EXPECT_EQ(encode_connect_ok(v4, "/custom", "ignored"), "0/custom,");
  EXPECT_EQ(encode_connect_ok(v5, "/", "a\"b"), R"(0{"sid":"a\"b"})");
}

TEST(SocketIoEncode, ConnectError) {
  EXPECT_EQ(encode_connect_error(v5, "/", "Not authorized"), R"(4{"message":"Not authorized"})");
  EXPECT_EQ(encode_connect_error(v5, "/nsp", "Invalid namespace"),
            R"(4/nsp,{"message":"Invalid namespace"})");
  EXPECT_EQ(encode_connect_error(v5, "/nsp", "unauthorized", R"({"reason":"expired"})"),
            R"(4/nsp,{"message":"unauthorized","data":{"reason":"expired"}})");
  EXPECT_EQ(encode_connect_error(v5, "/", "say \"no\""), R"(4{"message":"say \"no\""})");
  EXPECT_EQ(encode_connect_error(v4, "/", "Not authorized"), R"(4"Not authorized")");
  EXPECT_EQ(encode_connect_error(v4, "/nsp", "Invalid namespace"), R"(4/nsp,"Invalid namespace")");
  EXPECT_EQ(encode_connect_error(v4, "/nsp", "unauthorized", R"({"reason":"expired"})"),
            R"(4/nsp,{"reason":"expired"})");
  // What we send, a client parser accepts.
  Packet p;
  EXPECT_EQ(decode(v5, encode_connect_error(v5, "/x", "m", R"([1])"), p), DecodeError::none);
  EXPECT_EQ(decode(v4, encode_connect_error(v4, "/x", "m"), p), DecodeError::none);
}

TEST(SocketIoEncode, Disconnect) {
  EXPECT_EQ(encode_disconnect("/"), "1");
  EXPECT_EQ(encode_disconnect(""), "1");
  EXPECT_EQ(encode_disconnect("/admin"), "1/admin,");
}

}  // namespace
}  // namespace wsgw::sio
