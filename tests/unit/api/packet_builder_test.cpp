#include "api/service/packet_builder.h"

#include <gtest/gtest.h>

#include "api/service/validate.h"
#include "common/socketio/packet.h"
#include "wsgw/v1/api.pb.h"

namespace wsgw::api {
namespace {

TEST(ArrayElements, StripsBracketsAndSpace) {
  EXPECT_EQ(array_elements(R"([1,"a"])"), R"(1,"a")");
  EXPECT_EQ(array_elements(" [ 1 , \"a\" ]\n"), R"(1 , "a")");
  EXPECT_EQ(array_elements("[]"), "");
  EXPECT_EQ(array_elements("[ \t]"), "");
  EXPECT_EQ(array_elements(""), "");
  EXPECT_EQ(array_elements("[[1],[2]]"), "[1],[2]");
  // Not an array (validate() refuses these): nothing, rather than a broken packet.
  EXPECT_EQ(array_elements("{}"), "");
  EXPECT_EQ(array_elements("["), "");
}

TEST(BuildEmitPacket, RoomInCustomNamespace) {
  v1::EmitRequest r;
  r.set_room("doc-1");
  r.set_namespace_("/custom");
  r.set_event("evt");
  r.set_args_json(R"([1,"a"])");
  ASSERT_TRUE(validate(r, Limits{}).ok());
  const SocketIoPacket p = build_emit_packet(r);
  EXPECT_EQ(p.text, R"(2/custom,["evt",1,"a"])");
  EXPECT_EQ(p.engineio_text(), R"(42/custom,["evt",1,"a"])");
  EXPECT_EQ(p.attachments, 0u);
}

TEST(BuildEmitPacket, DefaultNamespaceIsOmitted) {
  v1::EmitRequest r;
  r.mutable_everyone();
  r.set_event("tick");
  EXPECT_EQ(build_emit_packet(r).engineio_text(), R"(42["tick"])");  // no args
  r.set_namespace_("/");
  r.set_args_json("[ ]");
  EXPECT_EQ(build_emit_packet(r).engineio_text(), R"(42["tick"])");
  r.set_args_json(R"( [ {"a" : [1, 2]} , null ] )");
  EXPECT_EQ(build_emit_packet(r).text, R"(2["tick",{"a" : [1, 2]} , null])");
}

TEST(BuildEmitPacket, EventNameIsJsonEscaped) {
  v1::EmitRequest r;
  r.set_sid("abc");
  r.set_event("say \"hi\"\\now");
  r.set_args_json("[1]");
  EXPECT_EQ(build_emit_packet(r).text, R"(2["say \"hi\"\\now",1])");
}

TEST(BuildEmitPacket, BinaryAttachmentsMakeABinaryEvent) {
  v1::EmitRequest r;
  r.set_uid("u1");
  r.set_event("file");
  r.set_args_json(R"(["name.png",{"_placeholder":true,"num":0},{"thumb":{"_placeholder":true,"num":1}}])");
  r.add_attachments(std::string("\x89PNG", 4));
  r.add_attachments(std::string("\x00\x01", 2));
  ASSERT_TRUE(validate(r, Limits{}).ok());
  const SocketIoPacket p = build_emit_packet(r);
  EXPECT_EQ(p.attachments, 2u);
  EXPECT_EQ(p.engineio_text(),
            R"(452-["file","name.png",{"_placeholder":true,"num":0},{"thumb":{"_placeholder":true,"num":1}}])");

  r.set_namespace_("/up");
  EXPECT_EQ(build_emit_packet(r).text.substr(0, 8), "52-/up,[");
}

TEST(BuildEmitPacket, RoundTripsThroughTheGatewayDecoder) {
  v1::EmitRequest r;
  r.set_room("r");
  r.set_namespace_("/ns");
  r.set_event("ünïcode");
  r.set_args_json(R"([{"_placeholder":true,"num":0},"x"])");
  r.add_attachments("bin");
  ASSERT_TRUE(validate(r, Limits{}).ok());
  const SocketIoPacket built = build_emit_packet(r);
  for (auto version : {sio::ProtocolVersion::v4, sio::ProtocolVersion::v5}) {
    sio::Packet decoded;
    ASSERT_EQ(sio::decode(version, built.text, decoded), sio::DecodeError::none);
    EXPECT_EQ(decoded.type, sio::PacketType::binary_event);
    EXPECT_EQ(decoded.nsp, "/ns");
    EXPECT_EQ(decoded.attachments, 1u);
    EXPECT_FALSE(decoded.id.has_value());
    sio::EventView view;
    std::string storage;
    ASSERT_TRUE(sio::scan_event(decoded.data, view, storage));
    EXPECT_EQ(view.name, "ünïcode");
    EXPECT_EQ(view.args, R"({"_placeholder":true,"num":0},"x")");
  }
}

TEST(BuildEmitPacket, WithAckCarriesTheAckId) {
  v1::EmitWithAckRequest r;
  r.set_sid("abc");
  r.set_namespace_("/chat");
  r.set_event("confirm");
  r.set_args_json(R"(["sure?"])");
  EXPECT_EQ(build_emit_packet(r, 17).engineio_text(), R"(42/chat,17["confirm","sure?"])");
  r.clear_namespace_();
  EXPECT_EQ(build_emit_packet(r, 0).text, R"(20["confirm","sure?"])");
}

TEST(BuildAckPacket, TextAndBinary) {
  v1::AnswerAckRequest r;
  r.mutable_ack()->set_sid("abc");
  r.mutable_ack()->set_namespace_("/docs");
  r.mutable_ack()->set_ack_id(12);
  r.set_args_json(R"([null,{"saved":true}])");
  SocketIoPacket p = build_ack_packet(r);
  EXPECT_EQ(p.engineio_text(), R"(43/docs,12[null,{"saved":true}])");

  r.mutable_ack()->clear_namespace_();
  r.clear_args_json();  // answer with no arguments
  EXPECT_EQ(build_ack_packet(r).text, "312[]");

  r.set_args_json(R"([{"_placeholder":true,"num":0}])");
  r.add_attachments("x");
  p = build_ack_packet(r);
  EXPECT_EQ(p.engineio_text(), R"(461-12[{"_placeholder":true,"num":0}])");
  EXPECT_EQ(p.attachments, 1u);
}

TEST(BuildDisconnectNotice, ReasonIsTheOnlyArgument) {
  EXPECT_EQ(build_disconnect_notice("/docs", "kicked", "too many \"tabs\"").engineio_text(),
            R"(42/docs,["kicked","too many \"tabs\""])");
  EXPECT_EQ(build_disconnect_notice("", "bye", "").text, R"(2["bye",""])");
}

}  // namespace
}  // namespace wsgw::api
