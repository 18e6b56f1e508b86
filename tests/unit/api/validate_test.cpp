#include "api/service/validate.h"

#include <string>

#include <gtest/gtest.h>

#include "wsgw/v1/api.pb.h"

namespace wsgw::api {
namespace {

using grpc::StatusCode;

// The status is INVALID_ARGUMENT and its message starts with the field at fault.
::testing::AssertionResult is_invalid(const grpc::Status& s, std::string_view field_prefix) {
  if (s.error_code() != StatusCode::INVALID_ARGUMENT) {
    return ::testing::AssertionFailure() << "code " << s.error_code() << ": " << s.error_message();
  }
  if (s.error_message().rfind(field_prefix, 0) != 0) {
    return ::testing::AssertionFailure() << "message \"" << s.error_message()
                                         << "\" does not start with " << field_prefix;
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult is_valid(const grpc::Status& s) {
  if (s.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "code " << s.error_code() << ": " << s.error_message();
}

#define EXPECT_INVALID(status, field_prefix) EXPECT_TRUE(is_invalid((status), (field_prefix)))
#define EXPECT_VALID(status) EXPECT_TRUE(is_valid(status))

v1::EmitRequest good_emit() {
  v1::EmitRequest r;
  r.set_room("doc:42");
  r.set_namespace_("/docs");
  r.set_event("update");
  r.set_args_json(R"([1,"a",{"b":[true,null]}])");
  return r;
}

const Limits kLimits{};

TEST(ValidateEmit, AcceptsEveryTargetKind) {
  v1::EmitRequest r = good_emit();
  EXPECT_VALID(validate(r, kLimits));
  r.set_sid("AbC-_09xyzQ");
  EXPECT_VALID(validate(r, kLimits));
  r.set_uid("user@example.com");
  EXPECT_VALID(validate(r, kLimits));
  r.mutable_everyone();
  EXPECT_VALID(validate(r, kLimits));
}

TEST(ValidateEmit, TargetMustBeSet) {
  v1::EmitRequest r = good_emit();
  r.clear_target();
  EXPECT_INVALID(validate(r, kLimits), "target:");
}

TEST(ValidateEmit, TargetValuesAreChecked) {
  v1::EmitRequest r = good_emit();
  r.set_sid("");
  EXPECT_INVALID(validate(r, kLimits), "sid:");
  r.set_sid("has space");
  EXPECT_INVALID(validate(r, kLimits), "sid:");
  r.set_sid(std::string(65, 'a'));
  EXPECT_INVALID(validate(r, kLimits), "sid:");
  r.set_sid(std::string(64, 'a'));
  EXPECT_VALID(validate(r, kLimits));
  r.set_room("");
  EXPECT_INVALID(validate(r, kLimits), "room:");
  r.set_room("tab\there");
  EXPECT_INVALID(validate(r, kLimits), "room:");
  r.set_room(std::string(257, 'r'));
  EXPECT_INVALID(validate(r, kLimits), "room:");
  r.set_room(std::string(256, 'r'));
  EXPECT_VALID(validate(r, kLimits));
  r.set_room("комната 🚀");  // non-ASCII UTF-8 is fine
  EXPECT_VALID(validate(r, kLimits));
  r.set_uid("");
  EXPECT_INVALID(validate(r, kLimits), "uid:");
}

TEST(ValidateEmit, InvalidUtf8NameIsRefused) {
  v1::EmitRequest r = good_emit();
  // Bypass protobuf's own UTF-8 checks (they only run when parsing) by setting bytes directly.
  r.set_room(std::string("\xC3\x28", 2));
  EXPECT_INVALID(validate(r, kLimits), "room:");
}

TEST(ValidateEmit, Namespace) {
  v1::EmitRequest r = good_emit();
  r.set_namespace_("");  // the default, "/"
  EXPECT_VALID(validate(r, kLimits));
  r.set_namespace_("/");
  EXPECT_VALID(validate(r, kLimits));
  for (const char* bad : {"docs", "/a,b", "/a?x=1", "/new\nline"}) {
    r.set_namespace_(bad);
    EXPECT_INVALID(validate(r, kLimits), "namespace:");
  }
  r.set_namespace_("/" + std::string(256, 'n'));
  EXPECT_INVALID(validate(r, kLimits), "namespace:");
}

TEST(ValidateEmit, EventName) {
  v1::EmitRequest r = good_emit();
  r.set_event("");
  EXPECT_INVALID(validate(r, kLimits), "event:");
  for (const char* reserved : {"connect", "connect_error", "disconnect", "disconnecting",
                               "newListener", "removeListener"}) {
    r.set_event(reserved);
    EXPECT_INVALID(validate(r, kLimits), "event:");
  }
  r.set_event("Connect");  // reserved names are case-sensitive, as in socket.io
  EXPECT_VALID(validate(r, kLimits));
  r.set_event(std::string(257, 'e'));
  EXPECT_INVALID(validate(r, kLimits), "event:");
}

TEST(ValidateEmit, ArgsJsonMustBeAnArray) {
  v1::EmitRequest r = good_emit();
  for (const char* ok : {"", "[]", " [ ] ", "[1]", "[\"a\",{\"b\":[1,2]}]", "\n[null]\t"}) {
    r.set_args_json(ok);
    EXPECT_VALID(validate(r, kLimits)) << ok;
  }
  for (const char* bad : {"{}", "1", "\"a\"", "null", "[1,]", "[1", "[1] [2]", "[NaN]",
                          "['a']", "[1]//", "   "}) {
    r.set_args_json(bad);
    EXPECT_INVALID(validate(r, kLimits), "args_json:");
  }
}

TEST(ValidateEmit, ArgsJsonDepthIsBounded) {
  v1::EmitRequest r = good_emit();
  r.set_args_json(std::string(256, '[') + std::string(256, ']'));
  EXPECT_VALID(validate(r, kLimits));
  r.set_args_json(std::string(257, '[') + std::string(257, ']'));
  EXPECT_INVALID(validate(r, kLimits), "args_json:");
}

TEST(ValidateEmit, PlaceholdersMustReferToAttachments) {
  v1::EmitRequest r = good_emit();
  r.set_args_json(R"([{"_placeholder":true,"num":0},{"x":{"_placeholder":true,"num":1}}])");
  EXPECT_INVALID(validate(r, kLimits), "args_json:");  // no attachments at all
  r.add_attachments("\x01\x02");
  EXPECT_INVALID(validate(r, kLimits), "args_json:");  // num 1 is out of range
  r.add_attachments("");
  EXPECT_VALID(validate(r, kLimits));
  r.set_args_json(R"([{"_placeholder":true,"num":-1}])");
  EXPECT_INVALID(validate(r, kLimits), "args_json:");
  r.set_args_json(R"([{"_placeholder":true,"num":"0"}])");
  EXPECT_INVALID(validate(r, kLimits), "args_json:");
  r.set_args_json("");  // attachments that nothing can refer to
  EXPECT_INVALID(validate(r, kLimits), "args_json:");
}

TEST(ValidateEmit, AttachmentCountIsBounded) {
  v1::EmitRequest r = good_emit();
  r.set_args_json(R"([{"_placeholder":true,"num":0}])");
  for (std::size_t i = 0; i < kMaxAttachments; ++i) r.add_attachments("x");
  EXPECT_VALID(validate(r, kLimits));
  r.add_attachments("x");
  EXPECT_INVALID(validate(r, kLimits), "attachments:");
}

TEST(ValidateEmit, PayloadSizeCountsJsonAndAttachments) {
  Limits limits;
  limits.max_payload_bytes = 100;
  v1::EmitRequest r = good_emit();
  r.set_args_json(R"([{"_placeholder":true,"num":0}])");
  const std::size_t room_left = limits.max_payload_bytes - r.args_json().size();
  r.add_attachments(std::string(room_left, 'b'));
  EXPECT_VALID(validate(r, limits));
  r.set_attachments(0, std::string(room_left + 1, 'b'));
  EXPECT_INVALID(validate(r, limits), "args_json:");
}

TEST(ValidateEmit, ExceptSids) {
  v1::EmitRequest r = good_emit();
  r.add_except_sids("abc");
  r.add_except_sids("bad sid");
  EXPECT_INVALID(validate(r, kLimits), "except_sids[1]:");
  r.set_except_sids(1, "def");
  EXPECT_VALID(validate(r, kLimits));
  while (static_cast<std::size_t>(r.except_sids_size()) <= kMaxExceptSids) r.add_except_sids("s");
  EXPECT_INVALID(validate(r, kLimits), "except_sids:");
}

TEST(ValidateEmit, TraceId) {
  v1::EmitRequest r = good_emit();
  r.set_trace_id("4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_VALID(validate(r, kLimits));
  r.set_trace_id("has space");
  EXPECT_INVALID(validate(r, kLimits), "trace_id:");
  r.set_trace_id(std::string(129, 'a'));
  EXPECT_INVALID(validate(r, kLimits), "trace_id:");
}

TEST(ValidateEmitWithAck, Timeout) {
  v1::EmitWithAckRequest r;
  r.set_sid("abc");
  r.set_event("ask");
  EXPECT_VALID(validate(r, kLimits));  // unset: the default
  r.mutable_timeout()->set_seconds(300);
  EXPECT_VALID(validate(r, kLimits));
  r.mutable_timeout()->set_nanos(1);
  EXPECT_INVALID(validate(r, kLimits), "timeout:");
  r.mutable_timeout()->set_seconds(0);
  r.mutable_timeout()->set_nanos(1000000);
  EXPECT_VALID(validate(r, kLimits));
  r.mutable_timeout()->set_nanos(0);
  EXPECT_INVALID(validate(r, kLimits), "timeout:");
  r.mutable_timeout()->set_seconds(-1);
  EXPECT_INVALID(validate(r, kLimits), "timeout:");
  r.mutable_timeout()->set_seconds(1);
  r.mutable_timeout()->set_nanos(-5);  // mixed signs: not a normalised Duration
  EXPECT_INVALID(validate(r, kLimits), "timeout:");
  r.mutable_timeout()->set_nanos(1'000'000'000);
  EXPECT_INVALID(validate(r, kLimits), "timeout:");
}

TEST(ValidateEmitWithAck, NeedsSidAndEvent) {
  v1::EmitWithAckRequest r;
  r.set_event("ask");
  EXPECT_INVALID(validate(r, kLimits), "sid:");
  r.set_sid("abc");
  r.set_event("disconnect");
  EXPECT_INVALID(validate(r, kLimits), "event:");
}

TEST(ValidateRooms, JoinAndLeave) {
  v1::JoinRoomRequest join;
  join.add_rooms("a");
  EXPECT_INVALID(validate(join), "target:");
  join.set_uid("u1");
  EXPECT_VALID(validate(join));
  join.set_sid("not a sid");
  EXPECT_INVALID(validate(join), "sid:");
  join.set_sid("abc");
  join.add_rooms("");
  EXPECT_INVALID(validate(join), "rooms[1]:");
  join.clear_rooms();
  EXPECT_INVALID(validate(join), "rooms:");
  for (std::size_t i = 0; i <= kMaxRoomsPerRequest; ++i) join.add_rooms("r");
  EXPECT_INVALID(validate(join), "rooms:");

  v1::LeaveRoomRequest leave;
  leave.set_sid("abc");
  leave.add_rooms("a");
  leave.set_namespace_("nope");
  EXPECT_INVALID(validate(leave), "namespace:");
  leave.set_namespace_("/x");
  EXPECT_VALID(validate(leave));
}

TEST(ValidateDisconnect, ReasonAndNotifyEvent) {
  v1::DisconnectSocketRequest r;
  r.set_sid("abc");
  EXPECT_VALID(validate(r));
  r.set_reason("account suspended");
  r.set_notify_event("kicked");
  EXPECT_VALID(validate(r));
  r.set_notify_event("disconnect");
  EXPECT_INVALID(validate(r), "notify_event:");
  r.set_notify_event("");
  r.set_reason(std::string(257, 'x'));
  EXPECT_INVALID(validate(r), "reason:");
  r.set_reason("line\nbreak");
  EXPECT_INVALID(validate(r), "reason:");

  v1::DisconnectUserRequest u;
  EXPECT_INVALID(validate(u), "uid:");
  u.set_uid("u1");
  u.set_close_connection(true);
  EXPECT_VALID(validate(u));
}

TEST(ValidatePresence, Paging) {
  v1::ListRoomSocketsRequest r;
  EXPECT_INVALID(validate(r), "room:");
  r.set_room("lobby");
  EXPECT_VALID(validate(r));
  r.set_page_size(-1);
  EXPECT_INVALID(validate(r), "page_size:");
  r.set_page_size(5000);  // coerced down by the server, not an error
  EXPECT_VALID(validate(r));
  r.set_page_token(std::string(1025, 't'));
  EXPECT_INVALID(validate(r), "page_token:");

  v1::ListRoomUsersRequest users;
  users.set_room("lobby");
  users.set_page_token("abc\x01");
  EXPECT_INVALID(validate(users), "page_token:");
}

TEST(ValidatePresence, UserSocketsAndCounts) {
  v1::ListUserSocketsRequest r;
  r.set_uid("u1");
  EXPECT_VALID(validate(r));
  r.set_all_namespaces(true);
  EXPECT_VALID(validate(r));
  r.set_namespace_("/docs");
  EXPECT_INVALID(validate(r), "namespace:");
  r.clear_namespace_();
  r.set_limit(-3);
  EXPECT_INVALID(validate(r), "limit:");

  v1::CountRoomsRequest c;
  EXPECT_INVALID(validate(c), "rooms:");
  c.add_rooms("a");
  c.add_rooms("b");
  EXPECT_VALID(validate(c));
}

TEST(ValidateSubscribe, GroupPatternsKinds) {
  v1::SubscribeRequest r;
  EXPECT_VALID(validate(r));  // everything, own group
  r.set_group("comments-service.v2_blue");
  r.add_namespaces("/docs*");
  r.add_namespaces("*");
  r.add_events("comment.*");
  r.add_kinds(v1::CLIENT_EVENT_KIND_EVENT);
  r.set_subscriber("comments-7f9c d");
  EXPECT_VALID(validate(r));

  r.set_group("has space");
  EXPECT_INVALID(validate(r), "group:");
  r.set_group(std::string(129, 'g'));
  EXPECT_INVALID(validate(r), "group:");
  r.set_group("g");

  r.add_namespaces("docs");  // could never match a namespace
  EXPECT_INVALID(validate(r), "namespaces[2]:");
  r.mutable_namespaces()->RemoveLast();
  r.add_events("");
  EXPECT_INVALID(validate(r), "events[1]:");
  r.mutable_events()->RemoveLast();
  while (static_cast<std::size_t>(r.events_size()) <= kMaxSubscribePatterns) r.add_events("e");
  EXPECT_INVALID(validate(r), "events:");
  r.clear_events();

  r.add_kinds(v1::CLIENT_EVENT_KIND_UNSPECIFIED);
  EXPECT_INVALID(validate(r), "kinds[1]:");
  r.set_kinds(1, static_cast<v1::ClientEventKind>(42));  // an unknown value off the wire
  EXPECT_INVALID(validate(r), "kinds[1]:");
  r.mutable_kinds()->RemoveLast();

  r.set_subscriber("tab\t");
  EXPECT_INVALID(validate(r), "subscriber:");
}

TEST(ValidateAnswerAck, NeedsReference) {
  v1::AnswerAckRequest r;
  r.set_args_json("[\"ok\"]");
  EXPECT_INVALID(validate(r, kLimits), "ack:");
  r.mutable_ack()->set_sid("abc");
  r.mutable_ack()->set_ack_id(7);
  EXPECT_VALID(validate(r, kLimits));
  r.mutable_ack()->set_namespace_("bad");
  EXPECT_INVALID(validate(r, kLimits), "ack.namespace:");
  r.mutable_ack()->set_namespace_("/");
  r.set_args_json("{\"not\":\"an array\"}");
  EXPECT_INVALID(validate(r, kLimits), "args_json:");
}

TEST(CheckFunctions, EffectiveNamespace) {
  EXPECT_EQ(effective_namespace(""), "/");
  EXPECT_EQ(effective_namespace("/x"), "/x");
  EXPECT_TRUE(check_namespace("/").empty());
  EXPECT_FALSE(check_namespace("").empty());
}

}  // namespace
}  // namespace wsgw::api
