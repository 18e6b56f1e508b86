#include <gtest/gtest.h>

#include <string>

#include "common/socketio/packet.h"

namespace wsgw::sio {
namespace {

struct Scanned {
  bool ok;
  std::string name;
  std::string args;
  bool numeric;
  bool zero_copy;  // name points into the input
};

Scanned scan(std::string_view json) {
  EventView ev;
  std::string storage;
  const bool ok = scan_event(json, ev, storage);
  const bool inside = ev.name.data() >= json.data() &&
                      ev.name.data() + ev.name.size() <= json.data() + json.size();
  return {ok, std::string(ev.name), std::string(ev.args), ev.numeric_name, inside};
}

TEST(SocketIoScanEvent, NameAndArgs) {
  Scanned s = scan(R"(["message",1,"2",{"3":[true]}])");
  ASSERT_TRUE(s.ok);
  EXPECT_EQ(s.name, "message");
  EXPECT_EQ(s.args, R"(1,"2",{"3":[true]})");
  EXPECT_TRUE(s.zero_copy);
  EXPECT_FALSE(s.numeric);

  s = scan(R"(["x"])");
  ASSERT_TRUE(s.ok);
  EXPECT_EQ(s.name, "x");
  EXPECT_EQ(s.args, "");

  s = scan(R"([""])");
  ASSERT_TRUE(s.ok);
  EXPECT_EQ(s.name, "");

  s = scan(R"(["a",["]"],"]"])");
  ASSERT_TRUE(s.ok);
  EXPECT_EQ(s.args, R"(["]"],"]")");

  s = scan(R"(["a",{"_placeholder":true,"num":0}])");
  ASSERT_TRUE(s.ok);
  EXPECT_EQ(s.args, R"({"_placeholder":true,"num":0})");
}

TEST(SocketIoScanEvent, WhitespaceIsTrimmed) {
  Scanned s = scan(" \n[ \"hello\" ,\t1 , 2 \r\n] \n");
  ASSERT_TRUE(s.ok);
  EXPECT_EQ(s.name, "hello");
  EXPECT_EQ(s.args, "1 , 2");

  s = scan(R"([ "x" ] )");
  ASSERT_TRUE(s.ok);
  EXPECT_EQ(s.name, "x");
  EXPECT_EQ(s.args, "");
}

TEST(SocketIoScanEvent, EscapedNamesAreDecoded) {
  Scanned s = scan(R"(["a\"b\\c\/d\n\t\b\f\r",1])");
  ASSERT_TRUE(s.ok);
  EXPECT_EQ(s.name, "a\"b\\c/d\n\t\b\f\r");
  EXPECT_FALSE(s.zero_copy);
  EXPECT_EQ(s.args, "1");

  s = scan(R"(["caf\u00e9 \u65e5 \ud83d\ude00"])");
  ASSERT_TRUE(s.ok);
  EXPECT_EQ(s.name, "café 日 😀");

  s = scan(R"(["\u0000"])");
  ASSERT_TRUE(s.ok);
  EXPECT_EQ(s.name, std::string(1, '\0'));

  // Lone surrogates (valid for JSON.parse) become U+FFFD, keeping the name valid UTF-8.
  s = scan(R"(["a\ud83db","\ude00"])");
  ASSERT_TRUE(s.ok);
  EXPECT_EQ(s.name, "a\xEF\xBF\xBD" "b");
  s = scan(R"(["\ude00\ud83d"])");
  ASSERT_TRUE(s.ok);
  EXPECT_EQ(s.name, "\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(SocketIoScanEvent, RawUnicodeIsZeroCopy) {
  Scanned s = scan(R"(["日本語 😀",{"k":"v"}])");
  ASSERT_TRUE(s.ok);
  EXPECT_EQ(s.name, "日本語 😀");
  EXPECT_TRUE(s.zero_copy);
  EXPECT_EQ(s.args, R"({"k":"v"})");
}

TEST(SocketIoScanEvent, NumericNames) {
  Scanned s = scan("[42,\"x\"]");
  ASSERT_TRUE(s.ok);
  EXPECT_TRUE(s.numeric);
  EXPECT_EQ(s.name, "42");
  EXPECT_EQ(s.args, "\"x\"");

  s = scan("[-1.5e3]");
  ASSERT_TRUE(s.ok);
  EXPECT_EQ(s.name, "-1.5e3");
  EXPECT_EQ(s.args, "");
}

TEST(SocketIoScanEvent, RefusesWhatIsNotAnEventArray) {
  for (std::string_view bad :
       {"", " ", "[", "[]", "{}", "\"x\"", "[\"x\"", "[\"x", "[\"x\\\"]", "[\"x\",]", "[\"x\" 1]",
        "[\"x\"]]x", "[null]", "[true,1]", "[{\"a\":1}]", "[[\"x\"]]", "[\"\\q\"]", "[\"\\u12\"]",
        "[\"\\u12G4\"]", "[\"x\\"}) {
    EXPECT_FALSE(scan(bad).ok) << bad;
  }
}

TEST(SocketIoScanEvent, AgreesWithDecodeForEveryValidEvent) {
  for (std::string_view text : {R"(2["a"])", R"(2/x,5 [ "b" , [ ] ] )", R"(51-["c",{"_placeholder":true,"num":0}])",
                                R"(2[7,8])", R"(2["\u0041",1])"}) {
    Packet p;
    ASSERT_EQ(decode(ProtocolVersion::v5, text, p), DecodeError::none) << text;
    EXPECT_TRUE(scan(p.data).ok) << text;
  }
  EXPECT_EQ(scan(R"( [ "b" , [ ] ] )").args, "[ ]");
  EXPECT_EQ(scan(R"(["\u0041",1])").name, "A");
}

}  // namespace
}  // namespace wsgw::sio
