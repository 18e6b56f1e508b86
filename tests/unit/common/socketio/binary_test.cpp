#include <gtest/gtest.h>

#include <string>

#include "common/socketio/binary.h"

namespace wsgw::sio {
namespace {

using Status = BinaryAssembler::Status;

Packet header(std::string_view text, uint32_t max_attachments = 10) {
  Packet p;
  EXPECT_EQ(decode(ProtocolVersion::v5, text, p, max_attachments), DecodeError::none) << text;
  return p;
}

TEST(SocketIoPlaceholders, ValidReferences) {
  EXPECT_TRUE(placeholders_valid(R"(["baz",{"_placeholder":true,"num":0}])", 1));
  EXPECT_TRUE(placeholders_valid(
      R"(["baz",{"_placeholder":true,"num":0},{"a":[{"_placeholder":true,"num":1}]}])", 2));
  EXPECT_TRUE(placeholders_valid(R"({"num":1,"_placeholder":true})", 2));  // member order free
  EXPECT_TRUE(placeholders_valid(R"(["no placeholders at all",1,{"x":null}])", 0));
  EXPECT_TRUE(placeholders_valid(R"(["x",{"_placeholder":false,"num":99}])", 1));  // not one
  EXPECT_TRUE(placeholders_valid(R"(["x",{"_placeholder":"true","num":99}])", 1));
  EXPECT_TRUE(placeholders_valid(R"(["x",{"_pl\u0061ceholder":true,"num":0}])", 1));
  // Unused attachments are not an error (the reference does not check either).
  EXPECT_TRUE(placeholders_valid(R"(["x",{"_placeholder":true,"num":0}])", 3));
  // Inside a placeholder nothing is looked at: the whole object becomes a buffer.
  EXPECT_TRUE(placeholders_valid(
      R"(["x",{"_placeholder":true,"num":0,"y":{"_placeholder":true,"num":9}}])", 1));
  // The last duplicate member wins, as with JSON.parse.
  EXPECT_TRUE(placeholders_valid(R"(["x",{"_placeholder":true,"num":7,"num":0}])", 1));
  EXPECT_TRUE(placeholders_valid(R"(["x",{"_placeholder":true,"num":0,"_placeholder":false}])", 0));
}

TEST(SocketIoPlaceholders, InvalidReferences) {
  EXPECT_FALSE(placeholders_valid(R"(["baz",{"_placeholder":true,"num":1}])", 1));
  EXPECT_FALSE(placeholders_valid(R"(["baz",{"_placeholder":true,"num":0}])", 0));
  EXPECT_FALSE(placeholders_valid(R"(["baz",{"_placeholder":true,"num":-1}])", 1));
  EXPECT_FALSE(placeholders_valid(R"(["baz",{"_placeholder":true,"num":0.5}])", 1));
  EXPECT_FALSE(placeholders_valid(R"(["baz",{"_placeholder":true,"num":"0"}])", 1));
  EXPECT_FALSE(placeholders_valid(R"(["baz",{"_placeholder":true}])", 1));
  EXPECT_FALSE(placeholders_valid(R"(["baz",{"_placeholder":true,"num":99999999999999999999}])", 1));
  EXPECT_FALSE(placeholders_valid(R"(["baz",{"_placeholder":true,"num":[0]}])", 1));
  EXPECT_FALSE(placeholders_valid(R"(["x",{"_placeholder":true,"num":0,"num":7}])", 1));
  EXPECT_FALSE(placeholders_valid(
      R"(["x",[[{"deep":{"_placeholder":true,"num":4}}]],{"_placeholder":true,"num":0}])", 2));
  EXPECT_FALSE(placeholders_valid(R"({"_placeholder":true,"num":2})", 2));  // at the root
  EXPECT_FALSE(placeholders_valid("not json", 1));
  EXPECT_FALSE(placeholders_valid("", 1));
  EXPECT_FALSE(placeholders_valid(std::string(100000, '['), 1));
}

TEST(SocketIoBinaryAssembler, CollectsAttachmentsInOrder) {
  BinaryAssembler a(1024);
  EXPECT_FALSE(a.active());
  ASSERT_TRUE(a.start(header(
      R"(52-/admin,7["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])")));
  EXPECT_TRUE(a.active());
  EXPECT_EQ(a.add(std::string_view("\x01\x02", 2)), Status::need_more);
  EXPECT_TRUE(a.active());
  EXPECT_EQ(a.add(std::string_view("\x03\x00\x04", 3)), Status::complete);
  EXPECT_FALSE(a.active());
  EXPECT_EQ(a.packet().type, PacketType::binary_event);
  EXPECT_EQ(a.packet().nsp, "/admin");
  EXPECT_EQ(a.packet().id, 7u);
  ASSERT_EQ(a.attachments().size(), 2u);
  EXPECT_EQ(a.attachments()[0], std::string("\x01\x02", 2));
  EXPECT_EQ(a.attachments()[1], std::string("\x03\x00\x04", 3));
  // A finished assembler takes the next packet.
  ASSERT_TRUE(a.start(header(R"(61-3[{"_placeholder":true,"num":0}])")));
  EXPECT_EQ(a.add(""), Status::complete);  // an empty buffer is a valid attachment
  EXPECT_EQ(a.packet().type, PacketType::binary_ack);
  ASSERT_EQ(a.attachments().size(), 1u);
  EXPECT_TRUE(a.attachments()[0].empty());
}

TEST(SocketIoBinaryAssembler, RefusesBadHeaders) {
  BinaryAssembler a(1024);
  EXPECT_FALSE(a.start(header(R"(2["x"])")));                     // not binary
  EXPECT_FALSE(a.start(header(R"(50-["x"])")));                   // nothing to wait for
  EXPECT_FALSE(a.start(header(R"(51-["x",{"_placeholder":true,"num":1}])")));  // out of range
  EXPECT_FALSE(a.active());
  ASSERT_TRUE(a.start(header(R"(51-["x",{"_placeholder":true,"num":0}])")));
  EXPECT_FALSE(a.start(header(R"(51-["y",{"_placeholder":true,"num":0}])")));  // busy
  EXPECT_TRUE(a.active());
}

TEST(SocketIoBinaryAssembler, ByteBudget) {
  BinaryAssembler a(10);
  ASSERT_TRUE(a.start(header(
      R"(53-["x",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1},{"_placeholder":true,"num":2}])")));
  EXPECT_EQ(a.add(std::string(4, 'a')), Status::need_more);
  EXPECT_EQ(a.add(std::string(6, 'b')), Status::need_more);  // exactly at the budget
  EXPECT_EQ(a.add("c"), Status::error);
  EXPECT_FALSE(a.active());
  EXPECT_TRUE(a.attachments().empty());

  ASSERT_TRUE(a.start(header(R"(51-["x",{"_placeholder":true,"num":0}])")));
  EXPECT_EQ(a.add(std::string(11, 'z')), Status::error);
  EXPECT_FALSE(a.active());
}

TEST(SocketIoBinaryAssembler, AddWhenInactiveIsAnError) {
  BinaryAssembler a(10);
  EXPECT_EQ(a.add("x"), Status::error);
  ASSERT_TRUE(a.start(header(R"(51-["x",{"_placeholder":true,"num":0}])")));
  EXPECT_EQ(a.add("x"), Status::complete);
  EXPECT_EQ(a.add("x"), Status::error);  // one more than announced
}

TEST(SocketIoBinaryAssembler, ResetAbandonsThePacket) {
  BinaryAssembler a(10);
  ASSERT_TRUE(a.start(header(
      R"(52-["x",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])")));
  EXPECT_EQ(a.add("x"), Status::need_more);
  a.reset();
  EXPECT_FALSE(a.active());
  EXPECT_TRUE(a.attachments().empty());
  EXPECT_EQ(a.packet(), Packet{});
  EXPECT_EQ(a.add("x"), Status::error);
}

}  // namespace
}  // namespace wsgw::sio
