#include "api/service/glob.h"

#include <string>

#include <gtest/gtest.h>

namespace wsgw::api {
namespace {

TEST(GlobMatch, Literal) {
  EXPECT_TRUE(glob_match("/", "/"));
  EXPECT_TRUE(glob_match("", ""));
  EXPECT_FALSE(glob_match("/", "/docs"));
  EXPECT_FALSE(glob_match("/docs", "/"));
  EXPECT_FALSE(glob_match("", "a"));
  EXPECT_TRUE(glob_match("a?b", "a?b"));  // only '*' is special
  EXPECT_FALSE(glob_match("a?b", "axb"));
}

TEST(GlobMatch, Star) {
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("*", "anything at all"));
  EXPECT_TRUE(glob_match("comment.*", "comment."));
  EXPECT_TRUE(glob_match("comment.*", "comment.created"));
  EXPECT_FALSE(glob_match("comment.*", "comments.created"));
  EXPECT_TRUE(glob_match("/docs*", "/docs"));
  EXPECT_TRUE(glob_match("/docs*", "/docs/123"));
  EXPECT_TRUE(glob_match("*.created", "doc.created"));
  EXPECT_FALSE(glob_match("*.created", "doc.created.x"));
  EXPECT_TRUE(glob_match("a*b*c", "aXXbYYc"));
  EXPECT_TRUE(glob_match("a*b*c", "abc"));
  EXPECT_FALSE(glob_match("a*b*c", "acb"));
  EXPECT_TRUE(glob_match("a**b", "ab"));
  EXPECT_TRUE(glob_match("*a*", "bab"));
  EXPECT_TRUE(glob_match("a*a", "aaa"));  // the star must back off to let the tail match
  EXPECT_FALSE(glob_match("a*a", "a"));
}

TEST(GlobMatch, HostilePatternStaysFast) {
  // Exponential in naive backtracking matchers; here a few million steps at most.
  const std::string pattern = std::string(32, 'a') + "*" + std::string(32, 'a') + "*b";
  const std::string text(4096, 'a');
  EXPECT_FALSE(glob_match(pattern, text));
  std::string many_stars;
  for (int i = 0; i < 100; ++i) many_stars += "*a";
  EXPECT_FALSE(glob_match(many_stars + "b", text));
}

}  // namespace
}  // namespace wsgw::api
