// Pure unit tests (no server): reply values, integer parsing, record decoding, key schema.
#include <gtest/gtest.h>

#include "common/redis/keys.h"
#include "common/redis/node_registry.h"
#include "common/redis/reply.h"
#include "common/redis/script.h"
#include "common/redis/session_registry.h"

namespace wsgw::redis {
namespace {

TEST(Reply, DefaultIsNilAndAccessorsAreSafe) {
  Reply r;
  EXPECT_TRUE(r.is_nil());
  EXPECT_EQ(r.integer(), 0);
  EXPECT_TRUE(r.str().empty());
  EXPECT_TRUE(r.elements().empty());
  EXPECT_FALSE(r.to_integer().has_value());
  EXPECT_EQ(r.debug_string(), "(nil)");
}

TEST(Reply, KindsAndLocalErrors) {
  EXPECT_TRUE(Reply::make_status("OK").is_ok());
  EXPECT_FALSE(Reply::make_string("OK").is_ok());
  EXPECT_TRUE(Reply::make_error(std::string(kErrorDisconnected) + ": x").is_local_error());
  EXPECT_FALSE(Reply::make_error("ERR wrong type").is_local_error());
  EXPECT_TRUE(Reply::make_error("NOSCRIPT No matching script").is_noscript_error());
  EXPECT_FALSE(Reply::make_string("NOSCRIPT").is_noscript_error());
  Reply a = Reply::make_array({Reply::make_integer(1), Reply::make_string("x"), Reply()});
  EXPECT_EQ(a.debug_string(), "[(integer) 1, \"x\", (nil)]");
  EXPECT_EQ(a, Reply::make_array({Reply::make_integer(1), Reply::make_string("x"), Reply()}));
  EXPECT_NE(a, Reply::make_array({}));
}

TEST(Reply, ToInteger) {
  EXPECT_EQ(Reply::make_integer(-7).to_integer(), -7);
  EXPECT_EQ(Reply::make_string("1700000000123").to_integer(), 1700000000123);
  EXPECT_EQ(Reply::make_string("-42").to_integer(), -42);
  EXPECT_EQ(Reply::make_string("1.5e3").to_integer(), 1500);  // score in exponent form
  EXPECT_FALSE(Reply::make_string("1.5").to_integer().has_value());
  EXPECT_FALSE(Reply::make_string("").to_integer().has_value());
  EXPECT_FALSE(Reply::make_string("12x").to_integer().has_value());
  EXPECT_FALSE(Reply::make_string(" 12").to_integer().has_value());
  EXPECT_FALSE(Reply::make_string("inf").to_integer().has_value());
  EXPECT_FALSE(Reply::make_string("nan").to_integer().has_value());
  EXPECT_FALSE(Reply::make_string("1e300").to_integer().has_value());
  EXPECT_FALSE(Reply::make_string("99999999999999999999").to_integer().has_value());
  EXPECT_FALSE(Reply::make_status("12").to_integer().has_value());  // only bulk strings
}

TEST(Script, Sha1MatchesRedisConvention) {
  // SCRIPT LOAD "return 1" answers this digest (SHA1 of the source, lowercase hex).
  EXPECT_EQ(Script("return 1").sha1(), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
  EXPECT_EQ(Script("").sha1(), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

TEST(KeySchema, VariablePartLastAndRoomsQualified) {
  KeySchema k("p:");
  EXPECT_EQ(k.session("abc"), "p:sess:abc");
  EXPECT_EQ(k.session_rooms("abc"), "p:sess-rooms:abc");
  EXPECT_EQ(k.room_sessions("/chat", "lobby"), "p:room-sids:5:/chat:lobby");
  EXPECT_EQ(k.room_nodes("/", "r"), "p:room-nodes:1:/:r");
  EXPECT_EQ(k.worker_id(1023), "p:worker-id:1023");
  // Namespace and room are free text; the length prefix keeps these apart.
  EXPECT_NE(k.room_sessions("/a", "b:c"), k.room_sessions("/a:b", "c"));
  // A sid that looks like another key's suffix still cannot collide.
  EXPECT_NE(k.session("x:rooms"), k.session_rooms("x"));
}

Reply record_reply(std::vector<std::string> rooms) {
  std::vector<Reply> room_replies;
  for (auto& r : rooms) room_replies.push_back(Reply::make_string(r));
  return Reply::make_array({Reply::make_string("sid1"), Reply::make_string("node-a"),
                            Reply::make_string("u1"), Reply::make_string("/"),
                            Reply::make_string("1000"), Reply::make_string("2000"),
                            Reply::make_array(std::move(room_replies))});
}

TEST(SessionRecordDecode, GoodRecord) {
  SessionRecord r;
  ASSERT_TRUE(decode_session_record(record_reply({"b", "a"}), r));
  EXPECT_EQ(r.sid, "sid1");
  EXPECT_EQ(r.node, "node-a");
  EXPECT_EQ(r.uid, "u1");
  EXPECT_EQ(r.nsp, "/");
  EXPECT_EQ(r.connected_at_ms, 1000);
  EXPECT_EQ(r.last_seen_ms, 2000);
  EXPECT_EQ(r.rooms, (std::vector<std::string>{"a", "b"}));  // sorted
}

TEST(SessionRecordDecode, MalformedLeavesRecordUntouched) {
  SessionRecord r;
  r.sid = "keep";
  EXPECT_FALSE(decode_session_record(Reply(), r));
  EXPECT_FALSE(decode_session_record(Reply::make_array({}), r));
  EXPECT_FALSE(decode_session_record(Reply::make_error("ERR"), r));
  Reply bad_time = record_reply({});
  bad_time.elements()[4] = Reply::make_string("soon");
  EXPECT_FALSE(decode_session_record(bad_time, r));
  Reply bad_rooms = record_reply({});
  bad_rooms.elements()[6] = Reply::make_integer(3);
  EXPECT_FALSE(decode_session_record(bad_rooms, r));
  Reply nested = record_reply({});
  nested.elements()[6] = Reply::make_array({Reply::make_array({})});
  EXPECT_FALSE(decode_session_record(nested, r));
  Reply int_sid = record_reply({});
  int_sid.elements()[0] = Reply::make_integer(1);
  EXPECT_FALSE(decode_session_record(int_sid, r));
  EXPECT_EQ(r.sid, "keep");
}

TEST(DecodeLists, StringAndRecordLists) {
  std::vector<std::string> out{"old"};
  EXPECT_TRUE(detail::decode_string_list(Reply(), out));
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(detail::decode_string_list(
      Reply::make_array({Reply::make_string("a"), Reply::make_string("b")}), out));
  EXPECT_EQ(out, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(detail::decode_string_list(Reply::make_array({Reply::make_integer(1)}), out));
  EXPECT_FALSE(detail::decode_string_list(Reply::make_integer(1), out));
  std::vector<SessionRecord> records;
  EXPECT_TRUE(detail::decode_record_list(Reply::make_array({record_reply({"x"})}), records));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].rooms, std::vector<std::string>{"x"});
  EXPECT_FALSE(detail::decode_record_list(Reply::make_array({record_reply({}), Reply()}), records));
  EXPECT_EQ(records.size(), 1u);  // untouched on failure
}

TEST(Command, Arguments) {
  Command c{"SET", "k"};
  c.arg(int64_t{-5}).arg(std::string("v")).arg(uint64_t{7});
  EXPECT_EQ(c.args(), (std::vector<std::string>{"SET", "k", "-5", "v", "7"}));
}

}  // namespace
}  // namespace wsgw::redis
