#include <gtest/gtest.h>

#include <string>

#include "common/socketio/json.h"

namespace wsgw::sio {
namespace {

std::string escaped(std::string_view s) {
  std::string out = "prefix:";
  json_escape_append(out, s);
  return out.substr(7);
}

TEST(SocketIoJson, EscapeLikeJsonStringify) {
  EXPECT_EQ(escaped("plain text"), "plain text");
  EXPECT_EQ(escaped(""), "");
  EXPECT_EQ(escaped("a\"b\\c"), "a\\\"b\\\\c");
  EXPECT_EQ(escaped("\b\f\n\r\t"), "\\b\\f\\n\\r\\t");
  EXPECT_EQ(escaped(std::string_view("\x00\x01\x1f", 3)), "\\u0000\\u0001\\u001f");
  EXPECT_EQ(escaped("/ \x7f"), "/ \x7f");  // JSON.stringify leaves '/' and DEL alone
  EXPECT_EQ(escaped("é日😀"), "é日😀");    // valid UTF-8 passes through
}

TEST(SocketIoJson, EscapeReplacesInvalidUtf8) {
  EXPECT_EQ(escaped("a\xFF" "b"), "a\\ufffdb");
  EXPECT_EQ(escaped("\xC3"), "\\ufffd");               // truncated sequence
  EXPECT_EQ(escaped("\xC0\xAF"), "\\ufffd\\ufffd");    // overlong
  EXPECT_EQ(escaped("\xED\xA0\x80"), "\\ufffd\\ufffd\\ufffd");  // UTF-8 encoded surrogate
  EXPECT_EQ(escaped("\xF4\x90\x80\x80"), "\\ufffd\\ufffd\\ufffd\\ufffd");  // above U+10FFFF
  // Whatever goes in, a quoted result is valid JSON.
  for (std::string_view s : {"\xFF\xFE", "\"\\\x01", "\xE2\x82", "ok\xF0\x9F\x98\x80"}) {
    const std::string doc = "[\"" + escaped(s) + "\"]";
    EXPECT_TRUE(json_valid(doc)) << doc;
  }
}

TEST(SocketIoJson, Unescape) {
  std::string out;
  ASSERT_TRUE(json_unescape_append(out, R"(a\"\\\/\b\f\n\r\t\u00e9\uD83D\uDE00)"));
  EXPECT_EQ(out, "a\"\\/\b\f\n\r\té😀");
  out.clear();
  ASSERT_TRUE(json_unescape_append(out, R"(\ud800x\udc00)"));
  EXPECT_EQ(out, "\xEF\xBF\xBDx\xEF\xBF\xBD");
  for (std::string_view bad : {"\\", "\\x", "\\u12", "\\u12g4", "tab\there"}) {
    out.clear();
    EXPECT_FALSE(json_unescape_append(out, bad)) << bad;
  }
}

TEST(SocketIoJson, Valid) {
  for (std::string_view ok : {"0", "-0", "1.5e-3", "\"\"", "null", "true", "[]", "{}",
                              " {\"a\":[1,{\"b\":null}]} ", "\"\\u0000\"", "1e400",
                              "\"\\ud83d\"", "[1E+2,-0.0e-0]", "\"\xF4\x8F\xBF\xBF\""}) {
    EXPECT_TRUE(json_valid(ok)) << ok;
  }
  for (std::string_view bad : {"", " ", "nul", "[1,]", "{\"a\"}", "{\"a\":1,}", "01", "+1", ".5",
                               "1.", "1e", "-", "NaN", "Infinity", "[1] [2]", "\"\\x\"",
                               "\"\xC0\x80\"", "'a'", "[1]//c", "\"\\ud83d\\u\"", "1e400.",
                               "[1e400}"}) {
    EXPECT_FALSE(json_valid(bad)) << bad;
  }
}

}  // namespace
}  // namespace wsgw::sio
