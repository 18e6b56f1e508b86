#include <gtest/gtest.h>

#include <string>

#include "gateway/engineio/codec.h"

namespace wsgw::eio {
namespace {

using namespace std::string_literals;

const PacketType kAllTypes[] = {PacketType::open,    PacketType::close,   PacketType::ping,
                                PacketType::pong,    PacketType::message, PacketType::upgrade,
                                PacketType::noop};

Packet text(PacketType type, std::string data) { return Packet{type, false, std::move(data)}; }
Packet binary(std::string data) { return Packet{PacketType::message, true, std::move(data)}; }

TEST(TextPacket, DecodesProtocolExamples) {
  Packet p;
  ASSERT_TRUE(decode_text_packet("4hello", p));
  EXPECT_EQ(p, text(PacketType::message, "hello"));
  ASSERT_TRUE(decode_text_packet("2probe", p));
  EXPECT_EQ(p, text(PacketType::ping, "probe"));
  ASSERT_TRUE(decode_text_packet("3probe", p));
  EXPECT_EQ(p, text(PacketType::pong, "probe"));
  ASSERT_TRUE(decode_text_packet("5", p));
  EXPECT_EQ(p, text(PacketType::upgrade, ""));
  ASSERT_TRUE(decode_text_packet("4HelloWorld", p));
  EXPECT_EQ(p.data, "HelloWorld");
}

TEST(TextPacket, EveryTypeRoundTrips) {
  for (PacketType type : kAllTypes) {
    for (std::string data : {""s, "x"s, "payload with spaces"s, "\x1e\0\xff"s}) {
      const std::string wire = encode_text_packet(type, data);
      ASSERT_EQ(wire.size(), 1 + data.size());
      EXPECT_EQ(wire[0], '0' + static_cast<int>(type));
      Packet p;
      ASSERT_TRUE(decode_text_packet(wire, p)) << to_string(type);
      EXPECT_EQ(p, text(type, data));
    }
  }
}

TEST(TextPacket, EncodesTypeDigitThenData) {
  EXPECT_EQ(encode_text_packet(PacketType::open, "{}"), "0{}");
  EXPECT_EQ(encode_text_packet(PacketType::close, ""), "1");
  EXPECT_EQ(encode_text_packet(PacketType::ping, ""), "2");
  EXPECT_EQ(encode_text_packet(PacketType::pong, "probe"), "3probe");
  EXPECT_EQ(encode_text_packet(PacketType::message, "hi"), "4hi");
  EXPECT_EQ(encode_text_packet(PacketType::upgrade, ""), "5");
  EXPECT_EQ(encode_text_packet(PacketType::noop, ""), "6");
}

TEST(TextPacket, RejectsEmptyAndUnknownTypes) {
  Packet p;
  EXPECT_FALSE(decode_text_packet("", p));
  EXPECT_FALSE(decode_text_packet("7", p));
  EXPECT_FALSE(decode_text_packet("9hello", p));
  EXPECT_FALSE(decode_text_packet("/", p));
  EXPECT_FALSE(decode_text_packet("x", p));
  EXPECT_FALSE(decode_text_packet(" 4hello", p));
  EXPECT_FALSE(decode_text_packet("\0"s + "4", p));
  // Base64 binary is only understood by decode_text_frame.
  EXPECT_FALSE(decode_text_packet("bAQIDBA==", p));
}

TEST(TextPacket, OverwritesPreviousBinaryFlag) {
  Packet p = binary("old");
  ASSERT_TRUE(decode_text_packet("4new", p));
  EXPECT_EQ(p, text(PacketType::message, "new"));
}

TEST(TextFrame, AcceptsBase64BinaryPerVersion) {
  Packet p;
  ASSERT_TRUE(decode_text_frame(Version::v4, "bAQIDBA==", p));
  EXPECT_EQ(p, binary("\x01\x02\x03\x04"));
  ASSERT_TRUE(decode_text_frame(Version::v3, "b4AQIDBA==", p));
  EXPECT_EQ(p, binary("\x01\x02\x03\x04"));
  ASSERT_TRUE(decode_text_frame(Version::v4, "b", p));
  EXPECT_EQ(p, binary(""));
  ASSERT_TRUE(decode_text_frame(Version::v3, "b4", p));
  EXPECT_EQ(p, binary(""));
  ASSERT_TRUE(decode_text_frame(Version::v3, "4hello", p));
  EXPECT_EQ(p, text(PacketType::message, "hello"));
}

TEST(TextFrame, RejectsMalformedBase64) {
  Packet p;
  EXPECT_FALSE(decode_text_frame(Version::v3, "bAQIDBA==", p));  // v3 needs the type digit
  EXPECT_FALSE(decode_text_frame(Version::v3, "b", p));
  EXPECT_FALSE(decode_text_frame(Version::v3, "b2AQID", p));  // binary ping: not a message
  EXPECT_FALSE(decode_text_frame(Version::v4, "b4AQIDBA==", p));
  EXPECT_FALSE(decode_text_frame(Version::v4, "bAQIDBA", p));   // unpadded
  EXPECT_FALSE(decode_text_frame(Version::v4, "bAQIDBB==", p));  // non-zero leftover bits
  EXPECT_FALSE(decode_text_frame(Version::v4, "bAQ==AAAA", p));  // padding in the middle
  EXPECT_FALSE(decode_text_frame(Version::v4, "bAQ=A", p));
  EXPECT_FALSE(decode_text_frame(Version::v4, "bAQ-_", p));  // base64url alphabet
  EXPECT_FALSE(decode_text_frame(Version::v4, "bAR==", p));  // non-zero leftover bits
  EXPECT_FALSE(decode_text_frame(Version::v4, "bAQ==AQ==", p));
  EXPECT_FALSE(decode_text_frame(Version::v4, "b====", p));
  EXPECT_FALSE(decode_text_frame(Version::v4, "", p));
}

TEST(TextFrame, Base64EncodingRoundTrips) {
  EXPECT_EQ(encode_base64_packet(Version::v4, "\x01\x02\x03\x04"), "bAQIDBA==");
  EXPECT_EQ(encode_base64_packet(Version::v3, "\x01\x02\x03\x04"), "b4AQIDBA==");
  EXPECT_EQ(encode_base64_packet(Version::v4, ""), "b");
  EXPECT_EQ(encode_base64_packet(Version::v3, "foobar"), "b4Zm9vYmFy");
  std::string all_bytes;
  for (int i = 0; i < 256; ++i) all_bytes.push_back(static_cast<char>(i));
  for (Version v : {Version::v3, Version::v4}) {
    for (size_t len = 0; len <= all_bytes.size(); len += 37) {
      const std::string data = all_bytes.substr(all_bytes.size() - len);
      Packet p;
      ASSERT_TRUE(decode_text_frame(v, encode_base64_packet(v, data), p)) << len;
      EXPECT_EQ(p, binary(data));
    }
  }
}

TEST(BinaryFrame, V4IsTheRawBytes) {
  Packet p;
  ASSERT_TRUE(decode_binary_frame(Version::v4, "\x01\x02\x03"s, p));
  EXPECT_EQ(p, binary("\x01\x02\x03"));
  ASSERT_TRUE(decode_binary_frame(Version::v4, "\x04\x05"s, p));  // no type byte in v4
  EXPECT_EQ(p, binary("\x04\x05"));
  ASSERT_TRUE(decode_binary_frame(Version::v4, "", p));
  EXPECT_EQ(p, binary(""));
  EXPECT_EQ(encode_binary_frame(Version::v4, "\x01\x02\x03"), "\x01\x02\x03");
}

TEST(BinaryFrame, V3StartsWithTypeByte) {
  // The protocol README's example: 4|0|1|2|3|4|5 is a message holding bytes 0..5.
  Packet p;
  ASSERT_TRUE(decode_binary_frame(Version::v3, "\x04\x00\x01\x02\x03\x04\x05"s, p));
  EXPECT_EQ(p, binary("\x00\x01\x02\x03\x04\x05"s));
  ASSERT_TRUE(decode_binary_frame(Version::v3, "\x04"s, p));
  EXPECT_EQ(p, binary(""));
  EXPECT_EQ(encode_binary_frame(Version::v3, "\x00\x01\x02"s), "\x04\x00\x01\x02"s);
  EXPECT_EQ(encode_binary_frame(Version::v3, ""), "\x04");
}

TEST(BinaryFrame, V3RejectsMissingOrNonMessageType) {
  Packet p;
  EXPECT_FALSE(decode_binary_frame(Version::v3, "", p));
  EXPECT_FALSE(decode_binary_frame(Version::v3, "\x02probe", p));
  EXPECT_FALSE(decode_binary_frame(Version::v3, "4hello", p));  // ASCII '4' is not byte 4
  EXPECT_FALSE(decode_binary_frame(Version::v3, "\x00\x01"s, p));
}

TEST(BinaryFrame, RoundTripsBothVersions) {
  const std::string data = "\x00\xff\x1e\x04 binary"s;
  for (Version v : {Version::v3, Version::v4}) {
    Packet p;
    ASSERT_TRUE(decode_binary_frame(v, encode_binary_frame(v, data), p));
    EXPECT_EQ(p, binary(data));
  }
}

TEST(PacketType, Names) {
  EXPECT_EQ(to_string(PacketType::open), "open");
  EXPECT_EQ(to_string(PacketType::close), "close");
  EXPECT_EQ(to_string(PacketType::ping), "ping");
  EXPECT_EQ(to_string(PacketType::pong), "pong");
  EXPECT_EQ(to_string(PacketType::message), "message");
  EXPECT_EQ(to_string(PacketType::upgrade), "upgrade");
  EXPECT_EQ(to_string(PacketType::noop), "noop");
}

TEST(OpenPacket, MatchesTheHandshakeShape) {
  EXPECT_EQ(encode_open_packet_json("lv_VI97HAXpY6yYWAAAC", true, 25000, 20000, 1000000),
            R"({"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,)"
            R"("pingTimeout":20000,"maxPayload":1000000})");
  EXPECT_EQ(encode_open_packet_json("abc", false, 0, 1, 0),
            R"({"sid":"abc","upgrades":[],"pingInterval":0,"pingTimeout":1,"maxPayload":0})");
}

TEST(OpenPacket, ExtremeNumbers) {
  EXPECT_EQ(encode_open_packet_json("s", true, UINT32_MAX, UINT32_MAX, UINT64_MAX),
            R"({"sid":"s","upgrades":["websocket"],"pingInterval":4294967295,)"
            R"("pingTimeout":4294967295,"maxPayload":18446744073709551615})");
}

TEST(OpenPacket, EscapesTheSid) {
  EXPECT_EQ(encode_open_packet_json("a\"b\\c\n\x01", false, 1, 2, 3),
            R"({"sid":"a\"b\\c\u000a\u0001","upgrades":[],"pingInterval":1,"pingTimeout":2,"maxPayload":3})");
}

}  // namespace
}  // namespace wsgw::eio
