#include "common/codec/utf8.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace wsgw::codec {
namespace {

using namespace std::string_literals;

// Straight from the definition (decode, then check range), to compare the fast
// validator against.
bool reference_is_valid_utf8(const std::string& text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length;
    std::uint32_t code_point;
    if (lead < 0x80) {
      length = 1, code_point = lead;
    } else if ((lead & 0xE0) == 0xC0) {
      length = 2, code_point = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3, code_point = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4, code_point = lead & 0x07;
    } else {
      return false;
    }
    if (text.size() - i < length) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto c = static_cast<unsigned char>(text[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      code_point = (code_point << 6) | (c & 0x3F);
    }
    constexpr std::uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code_point < kMinForLength[length]) return false;
    if (code_point > 0x10FFFF) return false;
    if (code_point >= 0xD800 && code_point <= 0xDFFF) return false;
    i += length;
  }
  return true;
}

TEST(Utf8, AcceptsValidText) {
  for (const std::string& text : std::vector<std::string>{
           "", "plain ascii", "\0embedded nul"s, "\x7f",
           "\xc3\xa9",                  // U+00E9
           "\xc2\x80", "\xdf\xbf",      // 2-byte bounds
           "\xe0\xa0\x80",              // U+0800
           "\xe2\x82\xac",              // U+20AC
           "\xed\x9f\xbf",              // U+D7FF, just below the surrogates
           "\xee\x80\x80",              // U+E000, just above
           "\xef\xbf\xbf",              // U+FFFF
           "\xf0\x90\x80\x80",          // U+10000
           "\xf0\x9d\x84\x9e",          // U+1D11E
           "\xf4\x8f\xbf\xbf",          // U+10FFFF
           "caf\xc3\xa9 \xe2\x82\xac 12345678 \xf0\x9f\x98\x80 end",
       }) {
    EXPECT_TRUE(is_valid_utf8(text)) << testing::PrintToString(text);
  }
}

TEST(Utf8, RejectsInvalidText) {
  for (const std::string& text : std::vector<std::string>{
           "\x80", "\xbf", "a\x80z",                     // stray continuation bytes
           "\xc0\x80", "\xc1\xbf",                       // overlong 2-byte
           "\xe0\x80\x80", "\xe0\x9f\xbf",               // overlong 3-byte
           "\xed\xa0\x80", "\xed\xbf\xbf",               // surrogates
           "\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf",       // overlong 4-byte
           "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",       // above U+10FFFF
           "\xf8\x88\x80\x80\x80", "\xfe", "\xff",
           "\xc3", "\xe2\x82", "\xf0\x9d\x84",           // truncated
           "\xc3\x41", "\xe2\x28\xa1", "\xe2\x82\x28", "\xf0\x9d\x28\x9e", "\xf0\x9d\x84\x28",
       }) {
    EXPECT_FALSE(is_valid_utf8(text)) << testing::PrintToString(text);
  }
}

TEST(Utf8, ErrorsAreFoundAtEveryOffsetAroundTheAsciiFastPath) {
  for (std::size_t prefix = 0; prefix < 20; ++prefix) {
    for (std::size_t suffix = 0; suffix < 20; ++suffix) {
      const std::string ascii_before(prefix, 'a'), ascii_after(suffix, 'b');
      EXPECT_TRUE(is_valid_utf8(ascii_before + "\xe2\x82\xac" + ascii_after));
      EXPECT_FALSE(is_valid_utf8(ascii_before + "\xe2\x82" + ascii_after));
      EXPECT_FALSE(is_valid_utf8(ascii_before + "\x80" + ascii_after));
    }
  }
}

TEST(Utf8, MatchesReferenceOnAllSequencesUpToThreeBytes) {
  std::string text;
  for (int a = 0; a < 256; ++a) {
    text.assign(1, static_cast<char>(a));
    ASSERT_EQ(is_valid_utf8(text), reference_is_valid_utf8(text)) << a;
    for (int b = 0; b < 256; ++b) {
      text.assign({static_cast<char>(a), static_cast<char>(b)});
      ASSERT_EQ(is_valid_utf8(text), reference_is_valid_utf8(text)) << a << "," << b;
      if (a < 0xE0 || a > 0xF4) continue;  // three bytes only matter after 3/4-byte leads
      for (int c = 0; c < 256; ++c) {
        text.assign({static_cast<char>(a), static_cast<char>(b), static_cast<char>(c)});
        ASSERT_EQ(is_valid_utf8(text), reference_is_valid_utf8(text)) << a << "," << b << "," << c;
      }
    }
  }
}

TEST(Utf8, MatchesReferenceOnFourByteSequences) {
  const int tails[] = {0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0xbf, 0xc0, 0xff};
  std::string text;
  for (int a = 0xF0; a < 0x100; ++a) {
    for (int b = 0; b < 256; ++b) {
      for (int c : tails) {
        for (int d : tails) {
          text.assign({static_cast<char>(a), static_cast<char>(b), static_cast<char>(c),
                       static_cast<char>(d)});
          ASSERT_EQ(is_valid_utf8(text), reference_is_valid_utf8(text))
              << a << "," << b << "," << c << "," << d;
        }
      }
    }
  }
}

}  // namespace
}  // namespace wsgw::codec
