#include <gtest/gtest.h>

#include <string>

#include "common/socketio/packet.h"

namespace wsgw::sio {
namespace {

using PT = PacketType;
constexpr auto v4 = ProtocolVersion::v4;
constexpr auto v5 = ProtocolVersion::v5;

Packet must_decode(ProtocolVersion v, std::string_view text, uint32_t max_attachments = 10) {
  Packet p;
  const DecodeError err = decode(v, text, p, max_attachments);
  EXPECT_EQ(err, DecodeError::none) << "text: " << text << " error: " << to_string(err);
  return p;
}

DecodeError decode_error(ProtocolVersion v, std::string_view text, uint32_t max_attachments = 10) {
  Packet p;
  return decode(v, text, p, max_attachments);
}

// Every encoded example of the socket.io-protocol Readme (v5), decoded.
TEST(SocketIoDecode, ReadmeConnectExamples) {
  Packet p = must_decode(v5, "0");
  EXPECT_EQ(p.type, PT::connect);
  EXPECT_EQ(p.nsp, "/");
  EXPECT_TRUE(p.data.empty());
  EXPECT_FALSE(p.id.has_value());

  p = must_decode(v5, R"(0{"sid":"wZX3oN0bSVIhsaknAAAI"})");
  EXPECT_EQ(p.nsp, "/");
  EXPECT_EQ(p.data, R"({"sid":"wZX3oN0bSVIhsaknAAAI"})");

  p = must_decode(v5, "0/admin,");
  EXPECT_EQ(p.nsp, "/admin");
  EXPECT_TRUE(p.data.empty());

  p = must_decode(v5, R"(0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"})");
  EXPECT_EQ(p.nsp, "/admin");
  EXPECT_EQ(p.data, R"({"sid":"oSO0OpakMV_3jnilAAAA"})");

  p = must_decode(v5, R"(0/admin,{"token":"123"})");
  EXPECT_EQ(p.data, R"({"token":"123"})");

  p = must_decode(v5, R"(4{"message":"Not authorized"})");
  EXPECT_EQ(p.type, PT::connect_error);
  EXPECT_EQ(p.data, R"({"message":"Not authorized"})");
}

TEST(SocketIoDecode, ReadmeEventExamples) {
  Packet p = must_decode(v5, R"(2["foo"])");
  EXPECT_EQ(p.type, PT::event);
  EXPECT_EQ(p.nsp, "/");
  EXPECT_EQ(p.data, R"(["foo"])");

  p = must_decode(v5, R"(2/admin,["bar"])");
  EXPECT_EQ(p.nsp, "/admin");
  EXPECT_EQ(p.data, R"(["bar"])");

  p = must_decode(v5, R"(51-["baz",{"_placeholder":true,"num":0}])");
  EXPECT_EQ(p.type, PT::binary_event);
  EXPECT_EQ(p.attachments, 1u);
  EXPECT_EQ(p.data, R"(["baz",{"_placeholder":true,"num":0}])");

  p = must_decode(v5,
                  R"(52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])");
  EXPECT_EQ(p.type, PT::binary_event);
  EXPECT_EQ(p.attachments, 2u);
  EXPECT_EQ(p.nsp, "/admin");
}

TEST(SocketIoDecode, ReadmeAckExamples) {
  Packet p = must_decode(v5, R"(212["foo"])");
  EXPECT_EQ(p.type, PT::event);
  EXPECT_EQ(p.id, 12u);
  EXPECT_EQ(p.data, R"(["foo"])");

  p = must_decode(v5, "312[]");
  EXPECT_EQ(p.type, PT::ack);
  EXPECT_EQ(p.id, 12u);
  EXPECT_EQ(p.data, "[]");

  p = must_decode(v5, R"(2/admin,13["foo"])");
  EXPECT_EQ(p.nsp, "/admin");
  EXPECT_EQ(p.id, 13u);

  p = must_decode(v5, R"(3/admin,13["bar"])");
  EXPECT_EQ(p.type, PT::ack);
  EXPECT_EQ(p.nsp, "/admin");
  EXPECT_EQ(p.id, 13u);
  EXPECT_EQ(p.data, R"(["bar"])");

  p = must_decode(v5, R"(51-14["foo",{"_placeholder":true,"num":0}])");
  EXPECT_EQ(p.type, PT::binary_event);
  EXPECT_EQ(p.attachments, 1u);
  EXPECT_EQ(p.id, 14u);

  p = must_decode(v5, R"(314["bar"])");
  EXPECT_EQ(p.id, 14u);

  p = must_decode(v5, R"(215["foo"])");
  EXPECT_EQ(p.id, 15u);

  p = must_decode(v5, R"(61-15["bar",{"_placeholder":true,"num":0}])");
  EXPECT_EQ(p.type, PT::binary_ack);
  EXPECT_EQ(p.attachments, 1u);
  EXPECT_EQ(p.id, 15u);
}

TEST(SocketIoDecode, ReadmeDisconnectAndSampleSession) {
  Packet p = must_decode(v5, "1");
  EXPECT_EQ(p.type, PT::disconnect);
  EXPECT_EQ(p.nsp, "/");

  p = must_decode(v5, "1/admin,");
  EXPECT_EQ(p.type, PT::disconnect);
  EXPECT_EQ(p.nsp, "/admin");

  // Sample session frames (without the Engine.IO "4").
  p = must_decode(v5, R"(2["hey","Jude"])");
  EXPECT_EQ(p.data, R"(["hey","Jude"])");
  p = must_decode(v5, R"(0/admin,{"sid":"-G5j-67EZFp-q59rADQM"})");
  EXPECT_EQ(p.nsp, "/admin");
  p = must_decode(v5, R"(2/admin,1["tellme"])");
  EXPECT_EQ(p.id, 1u);
  p = must_decode(v5, R"(61-/admin,1[{"_placeholder":true,"num":0}])");
  EXPECT_EQ(p.type, PT::binary_ack);
  EXPECT_EQ(p.nsp, "/admin");
  EXPECT_EQ(p.id, 1u);
  EXPECT_EQ(p.attachments, 1u);
}

// socket.io-client 2.x (protocol v4) frames.
TEST(SocketIoDecode, V4ConnectWithQuery) {
  Packet p = must_decode(v4, "0/chat?token=abc,");
  EXPECT_EQ(p.type, PT::connect);
  EXPECT_EQ(p.nsp, "/chat");
  EXPECT_EQ(p.query, "token=abc");

  p = must_decode(v4, "0/chat?token=abc&x=1");  // no trailing comma: namespace runs to the end
  EXPECT_EQ(p.nsp, "/chat");
  EXPECT_EQ(p.query, "token=abc&x=1");

  p = must_decode(v4, "0/chat,");
  EXPECT_EQ(p.nsp, "/chat");
  EXPECT_TRUE(p.query.empty());

  p = must_decode(v4, "0");
  EXPECT_EQ(p.nsp, "/");

  p = must_decode(v4, "0/?a=b,");
  EXPECT_EQ(p.nsp, "/");
  EXPECT_EQ(p.query, "a=b");

  p = must_decode(v4, "0/a?b?c,");  // the query is everything after the first '?'
  EXPECT_EQ(p.nsp, "/a");
  EXPECT_EQ(p.query, "b?c");
}

TEST(SocketIoDecode, QueryIsOnlySplitForV4Connect) {
  Packet p = must_decode(v5, "0/chat?token=abc,");
  EXPECT_EQ(p.nsp, "/chat?token=abc");
  EXPECT_TRUE(p.query.empty());

  p = must_decode(v4, R"(2/chat?x,["a"])");
  EXPECT_EQ(p.nsp, "/chat?x");
  EXPECT_TRUE(p.query.empty());
}

TEST(SocketIoDecode, V4Frames) {
  Packet p = must_decode(v4, R"(2["hello",{"a":1}])");
  EXPECT_EQ(p.type, PT::event);
  p = must_decode(v4, R"(4"Not authorized")");
  EXPECT_EQ(p.type, PT::connect_error);
  EXPECT_EQ(p.data, R"("Not authorized")");
  p = must_decode(v4, R"(4/chat,"Invalid namespace")");
  EXPECT_EQ(p.nsp, "/chat");
  p = must_decode(v4, R"(51-3["upload",{"_placeholder":true,"num":0}])");
  EXPECT_EQ(p.attachments, 1u);
  EXPECT_EQ(p.id, 3u);
  p = must_decode(v4, "1/chat,");
  EXPECT_EQ(p.type, PT::disconnect);
}

TEST(SocketIoDecode, V4ConnectRefusesPayload) {
  EXPECT_EQ(decode_error(v4, R"(0{"token":"x"})"), DecodeError::bad_payload);
  EXPECT_EQ(decode_error(v4, R"(0/chat,{"token":"x"})"), DecodeError::bad_payload);
  EXPECT_EQ(decode_error(v5, R"(0/chat,{"token":"x"})"), DecodeError::none);
}

TEST(SocketIoDecode, NamespaceEndsAtCommaOrEnd) {
  Packet p = must_decode(v5, "1/admin");
  EXPECT_EQ(p.nsp, "/admin");
  p = must_decode(v5, R"(2/a/b.c-d_é,["x"])");
  EXPECT_EQ(p.nsp, "/a/b.c-d_é");
  // Without a comma the payload is swallowed into the namespace, so the EVENT has none.
  EXPECT_EQ(decode_error(v5, R"(2/admin["x"])"), DecodeError::bad_payload);
}

TEST(SocketIoDecode, BadNamespace) {
  EXPECT_EQ(decode_error(v5, std::string("0/ad\x01min,")), DecodeError::bad_namespace);
  EXPECT_EQ(decode_error(v5, "0/ad\x7Fmin,"), DecodeError::bad_namespace);
  EXPECT_EQ(decode_error(v5, "0/ad\xFFmin,"), DecodeError::bad_namespace);    // invalid UTF-8
  EXPECT_EQ(decode_error(v5, "0/ad\xC0\xAFmin,"), DecodeError::bad_namespace);  // overlong
  const std::string longest = "/" + std::string(kMaxNamespaceLength - 1, 'n');
  EXPECT_EQ(decode_error(v5, "0" + longest + ","), DecodeError::none);
  EXPECT_EQ(decode_error(v5, "0" + longest + "n,"), DecodeError::bad_namespace);
  // A long v4 query is fine: only the name is bounded.
  EXPECT_EQ(decode_error(v4, "0/chat?token=" + std::string(2000, 't') + ","), DecodeError::none);
}

TEST(SocketIoDecode, AckIds) {
  Packet p = must_decode(v5, R"(20["x"])");
  EXPECT_EQ(p.id, 0u);
  p = must_decode(v5, R"(2007["x"])");  // leading zeros are digits like any other
  EXPECT_EQ(p.id, 7u);
  p = must_decode(v5, R"(218446744073709551615["x"])");
  EXPECT_EQ(p.id, UINT64_MAX);
  p = must_decode(v5, R"(2/admin,9007199254740993["x"])");
  EXPECT_EQ(p.id, 9007199254740993u);  // beyond JavaScript's exact range, still exact here

  EXPECT_EQ(decode_error(v5, R"(218446744073709551616["x"])"), DecodeError::bad_id);
  EXPECT_EQ(decode_error(v5, R"(299999999999999999999999999["x"])"), DecodeError::bad_id);
  EXPECT_EQ(decode_error(v5, "3" + std::string(5000, '9') + "[]"), DecodeError::bad_id);

  // An id on a packet type that ignores it still decodes, as with the reference parser.
  p = must_decode(v5, "112");
  EXPECT_EQ(p.type, PT::disconnect);
  EXPECT_EQ(p.id, 12u);
}

TEST(SocketIoDecode, BinaryAttachments) {
  Packet p = must_decode(v5, R"(510-["x"])");
  EXPECT_EQ(p.attachments, 10u);
  p = must_decode(v5, R"(50-["x"])");  // zero attachments: complete at once
  EXPECT_EQ(p.type, PT::binary_event);
  EXPECT_EQ(p.attachments, 0u);
  p = must_decode(v5, R"(503-["x"])");
  EXPECT_EQ(p.attachments, 3u);
  p = must_decode(v5, "61-[]");
  EXPECT_EQ(p.type, PT::binary_ack);

  EXPECT_EQ(decode_error(v5, R"(511-["x"])"), DecodeError::too_many_attachments);
  EXPECT_EQ(decode_error(v5, R"(53-["x"])", 2), DecodeError::too_many_attachments);
  EXPECT_EQ(decode_error(v5, R"(54294967296-["x"])"), DecodeError::too_many_attachments);
  EXPECT_EQ(decode_error(v5, R"(599999999999999999999999999-["x"])", UINT32_MAX),
            DecodeError::too_many_attachments);
  EXPECT_EQ(decode_error(v5, "5" + std::string(10000, '7') + "-[\"x\"]"),
            DecodeError::too_many_attachments);

  EXPECT_EQ(decode_error(v5, R"(53["x"])"), DecodeError::bad_attachments);  // missing dash
  EXPECT_EQ(decode_error(v5, R"(5-["x"])"), DecodeError::bad_attachments);  // no digits
  EXPECT_EQ(decode_error(v5, R"(5a-["x"])"), DecodeError::bad_attachments);
  EXPECT_EQ(decode_error(v5, "5"), DecodeError::bad_attachments);
  EXPECT_EQ(decode_error(v5, "51"), DecodeError::bad_attachments);
  EXPECT_EQ(decode_error(v5, R"(5/admin,1-["x"])"), DecodeError::bad_attachments);
  EXPECT_EQ(decode_error(v5, "51-"), DecodeError::bad_payload);

  // Non-binary types have no attachment count: "1-" reads as id 1 then JSON "-[...]".
  EXPECT_EQ(decode_error(v5, R"(21-["x"])"), DecodeError::bad_json);
}

TEST(SocketIoDecode, InvalidTypeAndEmpty) {
  EXPECT_EQ(decode_error(v5, ""), DecodeError::empty);
  EXPECT_EQ(decode_error(v5, "7"), DecodeError::unknown_type);
  EXPECT_EQ(decode_error(v5, "abc"), DecodeError::unknown_type);
  EXPECT_EQ(decode_error(v5, "/admin,"), DecodeError::unknown_type);
  EXPECT_EQ(decode_error(v5, " 2[\"x\"]"), DecodeError::unknown_type);
  EXPECT_EQ(decode_error(v5, std::string_view("\0", 1)), DecodeError::unknown_type);
  // "4abc" as a Socket.IO packet is a CONNECT_ERROR whose payload is not JSON.
  EXPECT_EQ(decode_error(v5, "4abc"), DecodeError::bad_json);
}

TEST(SocketIoDecode, PayloadShapeRules) {
  // EVENT: non-empty array led by a string or a number.
  EXPECT_EQ(decode_error(v5, "2{}"), DecodeError::bad_payload);
  EXPECT_EQ(decode_error(v5, "2[]"), DecodeError::bad_payload);
  EXPECT_EQ(decode_error(v5, "2"), DecodeError::bad_payload);
  EXPECT_EQ(decode_error(v5, "2/admin,"), DecodeError::bad_payload);
  EXPECT_EQ(decode_error(v5, R"(2"foo")"), DecodeError::bad_payload);
  EXPECT_EQ(decode_error(v5, R"(2[{"a":1}])"), DecodeError::bad_payload);
  EXPECT_EQ(decode_error(v5, "2[null]"), DecodeError::bad_payload);
  EXPECT_EQ(decode_error(v5, "2[true]"), DecodeError::bad_payload);
  EXPECT_EQ(decode_error(v5, R"(2[["x"]])"), DecodeError::bad_payload);
  EXPECT_EQ(decode_error(v5, "2[1]"), DecodeError::none);
  EXPECT_EQ(decode_error(v5, "2[-1.5e3,2]"), DecodeError::none);
  EXPECT_EQ(decode_error(v5, R"(2[""])"), DecodeError::none);
  EXPECT_EQ(decode_error(v5, R"(5[{"a":1}])"), DecodeError::bad_attachments);
  EXPECT_EQ(decode_error(v5, "50-[]"), DecodeError::bad_payload);

  // Reserved event names, also when written with escapes; names that merely look alike pass.
  for (const char* name : {"connect", "connect_error", "disconnect", "disconnecting",
                           "newListener", "removeListener"}) {
    EXPECT_EQ(decode_error(v5, std::string("2[\"") + name + "\"]"), DecodeError::bad_payload)
        << name;
    EXPECT_EQ(decode_error(v4, std::string("2[\"") + name + "\",1]"), DecodeError::bad_payload)
        << name;
    EXPECT_EQ(decode_error(v5, std::string("51-[\"") + name + "\"]"), DecodeError::bad_payload)
        << name;
  }
  EXPECT_EQ(decode_error(v5, R"(2["\u0063onnect"])"), DecodeError::bad_payload);
  EXPECT_EQ(decode_error(v5, R"(2["Connect"])"), DecodeError::none);
  EXPECT_EQ(decode_error(v5, R"(2["connect "])"), DecodeError::none);
  EXPECT_EQ(decode_error(v5, R"(2["x","connect"])"), DecodeError::none);

  // ACK: any array.
  EXPECT_EQ(decode_error(v5, "3[]"), DecodeError::none);
  EXPECT_EQ(decode_error(v5, "31[null,{}]"), DecodeError::none);
  EXPECT_EQ(decode_error(v5, "31{}"), DecodeError::bad_payload);
  EXPECT_EQ(decode_error(v5, R"(31"x")"), DecodeError::bad_payload);
  EXPECT_EQ(decode_error(v5, "31"), DecodeError::bad_payload);

  // CONNECT (v5): absent or object.
  EXPECT_EQ(decode_error(v5, "0[]"), DecodeError::bad_payload);
  EXPECT_EQ(decode_error(v5, R"(0"x")"), DecodeError::bad_payload);
  EXPECT_EQ(decode_error(v5, "0null"), DecodeError::bad_payload);
  EXPECT_EQ(decode_error(v5, "0{}"), DecodeError::none);

  // DISCONNECT: nothing at all.
  EXPECT_EQ(decode_error(v5, "1{}"), DecodeError::bad_payload);
  EXPECT_EQ(decode_error(v5, "1[]"), DecodeError::bad_payload);
  EXPECT_EQ(decode_error(v5, "1/admin,{}"), DecodeError::bad_payload);

  // CONNECT_ERROR: object or string.
  EXPECT_EQ(decode_error(v5, R"(4"x")"), DecodeError::none);
  EXPECT_EQ(decode_error(v5, "4{}"), DecodeError::none);
  EXPECT_EQ(decode_error(v5, "4[]"), DecodeError::bad_payload);
  EXPECT_EQ(decode_error(v5, "41"), DecodeError::bad_payload);  // "1" is an id; no payload
  EXPECT_EQ(decode_error(v5, "4"), DecodeError::bad_payload);
}

TEST(SocketIoDecode, MalformedJson) {
  EXPECT_EQ(decode_error(v5, R"(2abc["x"])"), DecodeError::bad_json);  // not an id, not JSON
  EXPECT_EQ(decode_error(v5, R"(2["x")"), DecodeError::bad_json);
  EXPECT_EQ(decode_error(v5, R"(2["x"]])"), DecodeError::bad_json);
  EXPECT_EQ(decode_error(v5, R"(2["x"]garbage)"), DecodeError::bad_json);
  EXPECT_EQ(decode_error(v5, R"(2["x"]["y"])"), DecodeError::bad_json);
  EXPECT_EQ(decode_error(v5, R"(2["x",])"), DecodeError::bad_json);
  EXPECT_EQ(decode_error(v5, R"(2['x'])"), DecodeError::bad_json);
  EXPECT_EQ(decode_error(v5, R"(2["x",NaN])"), DecodeError::bad_json);
  EXPECT_EQ(decode_error(v5, R"(2["x",Infinity])"), DecodeError::bad_json);
  EXPECT_EQ(decode_error(v5, R"(2["x",-Infinity])"), DecodeError::bad_json);
  EXPECT_EQ(decode_error(v5, R"(2["x",01])"), DecodeError::bad_json);
  EXPECT_EQ(decode_error(v5, R"(2["x",1.])"), DecodeError::bad_json);
  EXPECT_EQ(decode_error(v5, R"(2["x",undefined])"), DecodeError::bad_json);
  EXPECT_EQ(decode_error(v5, R"(2["x" /*c*/])"), DecodeError::bad_json);
  EXPECT_EQ(decode_error(v5, "2[\"x\ty\"]"), DecodeError::bad_json);  // raw control char
  EXPECT_EQ(decode_error(v5, "2[\"x\xFF\"]"), DecodeError::bad_json);  // invalid UTF-8
  EXPECT_EQ(decode_error(v5, "2[\"\xED\xA0\x80\"]"), DecodeError::bad_json);  // UTF-8 surrogate
  EXPECT_EQ(decode_error(v5, std::string_view("2[\"x\"]\0junk", 11)), DecodeError::bad_json);
  EXPECT_EQ(decode_error(v5, std::string_view("2[\"x\0\"]", 7)), DecodeError::bad_json);
  EXPECT_EQ(decode_error(v5, R"(0{"a":1,})"), DecodeError::bad_json);
  EXPECT_EQ(decode_error(v5, R"(0{a:1})"), DecodeError::bad_json);
}

TEST(SocketIoDecode, JsonThatJavaScriptAccepts) {
  // Whitespace around the value, full Unicode, escapes of every kind.
  Packet p = must_decode(v5, "2 [\"x\" , 1 ]\n");
  EXPECT_EQ(p.data, " [\"x\" , 1 ]\n");  // kept exactly as received
  must_decode(v5, R"(2["日本語","emoji 😀","\u00e9\ud83d\ude00\n\"\\\/"])");
  // Lone surrogate escapes come from JSON.stringify of a string cut mid-emoji.
  must_decode(v5, R"(2["x","\ud83d"])");
  must_decode(v5, R"(2["x","\ude00 \ud800\ud800\udc00"])");
  must_decode(v5, R"(2["\ud83d",1])");
  // Numbers beyond the double range (JSON.parse gives Infinity; RapidJSON alone refuses them).
  must_decode(v5, R"(2["x",1e400,-1e400,1.5e999])");
  must_decode(v5, "2[\"x\"," + std::string(400, '9') + "]");
  must_decode(v5, "2[" + std::string(400, '9') + "]");
  // ... but that leniency keeps invalid text invalid.
  EXPECT_EQ(decode_error(v5, R"(2["x",1e400.5])"), DecodeError::bad_json);
  EXPECT_EQ(decode_error(v5, R"(2["x",1e400e5])"), DecodeError::bad_json);
  EXPECT_EQ(decode_error(v5, R"(2["x",1.5.3,1e400])"), DecodeError::bad_json);
  EXPECT_EQ(decode_error(v5, R"(2["x",1e400,01])"), DecodeError::bad_json);
  EXPECT_EQ(decode_error(v5, R"(2["x",1e400-00])"), DecodeError::bad_json);
  EXPECT_EQ(decode_error(v5, R"(2["x","\ud83d",1e4-00])"), DecodeError::bad_json);
  EXPECT_EQ(decode_error(v5, R"(2["x",1e400,1-2])"), DecodeError::bad_json);
  EXPECT_EQ(decode_error(v5, R"(2["x",1e400,1.5-2])"), DecodeError::bad_json);
  EXPECT_EQ(decode_error(v5, R"(2["x","\ud83d",NaN])"), DecodeError::bad_json);
  EXPECT_EQ(decode_error(v5, R"(2["x","\ud83d\uZZZZ"])"), DecodeError::bad_json);
  EXPECT_EQ(decode_error(v5, R"(2["\ud83d","x"]])"), DecodeError::bad_json);
  // Reserved names stay reserved after the rewrite.
  EXPECT_EQ(decode_error(v5, R"(2["connect",1e400])"), DecodeError::bad_payload);
}

TEST(SocketIoDecode, NestingDepthIsBounded) {
  const auto nested = [](std::size_t depth) {
    return "2[\"x\"," + std::string(depth - 1, '[') + std::string(depth - 1, ']') + "]";
  };
  EXPECT_EQ(decode_error(v5, nested(kMaxJsonDepth)), DecodeError::none);
  EXPECT_EQ(decode_error(v5, nested(kMaxJsonDepth + 1)), DecodeError::bad_json);
  // Deep and unterminated: refused without recursion.
  EXPECT_EQ(decode_error(v5, "2" + std::string(1000000, '[')), DecodeError::bad_json);
  EXPECT_EQ(decode_error(v5, "0" + std::string(500000, '{')), DecodeError::bad_json);
}

TEST(SocketIoDecode, ErrorNames) {
  EXPECT_EQ(to_string(DecodeError::none), "none");
  EXPECT_EQ(to_string(DecodeError::too_many_attachments), "too_many_attachments");
  EXPECT_EQ(to_string(DecodeError::bad_payload), "bad_payload");
}

TEST(SocketIoDecode, OutputIsResetBetweenCalls) {
  Packet p;
  ASSERT_EQ(decode(v4, R"(52-/a?q,7["x"])", p), DecodeError::none);
  ASSERT_EQ(decode(v5, "1", p), DecodeError::none);
  Packet expected;
  expected.type = PT::disconnect;
  EXPECT_EQ(p, expected);
}

}  // namespace
}  // namespace wsgw::sio
