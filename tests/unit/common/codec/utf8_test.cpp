#include "common/codec/utf8.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
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

// Validity as the sanitizers see it: one utf8_sequence_length step after another.
bool valid_by_sequence_walk(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = utf8_sequence_length(text, i);
    if (length == 0) return false;
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
           "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5",  // Greek "kosme"
       }) {
    EXPECT_TRUE(is_valid_utf8(text)) << testing::PrintToString(text);
  }
}

TEST(Utf8, RejectsInvalidText) {
  for (const std::string& text : std::vector<std::string>{
           "\x80", "\xbf", "a\x80z",                     // stray continuation bytes
           "\xc0\x80", "\xc1\xbf", "\xc0\xaf",           // overlong 2-byte
           "\xe0\x80\x80", "\xe0\x9f\xbf",               // overlong 3-byte
           "\xed\xa0\x80", "\xed\xbf\xbf",               // surrogates
           "\xed\xa0\xbd\xed\xb2\xa9",                   // CESU-8 surrogate pair
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
  // The fast path takes 16 and 8 bytes at a time: every position in and across those
  // blocks, and every tail length, must still be looked at.
  for (std::size_t prefix = 0; prefix < 40; ++prefix) {
    for (std::size_t suffix = 0; suffix < 40; ++suffix) {
      const std::string ascii_before(prefix, 'a'), ascii_after(suffix, 'b');
      EXPECT_TRUE(is_valid_utf8(ascii_before + ascii_after));
      EXPECT_TRUE(is_valid_utf8(ascii_before + "\xe2\x82\xac" + ascii_after));
      EXPECT_FALSE(is_valid_utf8(ascii_before + "\xe2\x82" + ascii_after));
      EXPECT_FALSE(is_valid_utf8(ascii_before + "\x80" + ascii_after));
      EXPECT_FALSE(is_valid_utf8(ascii_before + "\xff" + ascii_after));
    }
  }
}

TEST(Utf8, ErrorsAreFoundAfterRunsOfMultiByteCharacters) {
  // After a non-ASCII run the validator goes back to the ASCII fast path.
  for (std::size_t run = 1; run < 6; ++run) {
    std::string characters;
    for (std::size_t k = 0; k < run; ++k) characters += "\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80";
    for (std::size_t ascii = 0; ascii < 24; ++ascii) {
      const std::string text = characters + std::string(ascii, 'x');
      EXPECT_TRUE(is_valid_utf8(text + "\xc3\xa9" + characters));
      EXPECT_FALSE(is_valid_utf8(text + "\xc3" + characters));
      EXPECT_FALSE(is_valid_utf8(text + "\xed\xa0\x80"));
      EXPECT_FALSE(is_valid_utf8(characters + "\xa9" + text));  // stray continuation byte
    }
  }
}

TEST(Utf8, MatchesReferenceOnRandomMixedText) {
  // Pieces a real text is made of, plus single random bytes to break it.
  const std::vector<std::string> pieces = {"\xc3\xa9",         "\xe6\x97\xa5", "\xf0\x9f\x98\x80",
                                           "\xf4\x8f\xbf\xbf", "\xed\x9f\xbf", "\"", "{"};
  std::mt19937 rng(20240611);
  std::uniform_int_distribution<int> pick(0, 9), byte(0, 255), ascii_run(0, 40);
  for (int round = 0; round < 5000; ++round) {
    std::string text;
    const int piece_count = pick(rng) * 2;
    for (int k = 0; k < piece_count; ++k) {
      const int choice = pick(rng);
      if (choice < 4) {
        text.append(static_cast<std::size_t>(ascii_run(rng)), 'a');
      } else if (choice < 9) {
        text += pieces[static_cast<std::size_t>(byte(rng)) % pieces.size()];
      } else if (round % 2 == 0) {  // half the rounds stay valid
        text += static_cast<char>(byte(rng));
      }
    }
    const bool expected = reference_is_valid_utf8(text);
    ASSERT_EQ(is_valid_utf8(text), expected) << testing::PrintToString(text);
    ASSERT_EQ(valid_by_sequence_walk(text), expected) << testing::PrintToString(text);
  }
}

TEST(Utf8SequenceLength, MeasuresEachWellFormedSequence) {
  const std::string text = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z";
  EXPECT_EQ(utf8_sequence_length(text, 0), 1u);
  EXPECT_EQ(utf8_sequence_length(text, 1), 2u);
  EXPECT_EQ(utf8_sequence_length(text, 3), 3u);
  EXPECT_EQ(utf8_sequence_length(text, 6), 4u);
  EXPECT_EQ(utf8_sequence_length(text, 10), 1u);
  EXPECT_EQ(utf8_sequence_length("\0"s, 0), 1u);
}

TEST(Utf8SequenceLength, IsZeroWhereNoWellFormedSequenceStarts) {
  const std::string text = "a\xc3\xa9\xe2\x82\xac";
  EXPECT_EQ(utf8_sequence_length(text, 2), 0u);  // inside a character
  EXPECT_EQ(utf8_sequence_length(text, 5), 0u);
  EXPECT_EQ(utf8_sequence_length(text, 6), 0u);  // past the end
  EXPECT_EQ(utf8_sequence_length("", 0), 0u);
  // The end of the view cuts the sequence, whatever lies beyond it in memory.
  EXPECT_EQ(utf8_sequence_length(std::string_view(text).substr(0, 5), 3), 0u);
  for (const std::string& bad : std::vector<std::string>{
           "\xc0\xaf", "\xe0\x9f\xbf", "\xed\xa0\x80", "\xf0\x8f\xbf\xbf", "\xf4\x90\x80\x80",
           "\xf5\x80\x80\x80", "\xff", "\xe2\x28\xa1", "\xf0\x9f\x98\x28"}) {
    EXPECT_EQ(utf8_sequence_length(bad, 0), 0u) << testing::PrintToString(bad);
  }
}

TEST(Utf8, MatchesReferenceOnAllSequencesUpToThreeBytes) {
  std::string text;
  for (int a = 0; a < 256; ++a) {
    text.assign(1, static_cast<char>(a));
    ASSERT_EQ(is_valid_utf8(text), reference_is_valid_utf8(text)) << a;
    ASSERT_EQ(valid_by_sequence_walk(text), reference_is_valid_utf8(text)) << a;
    for (int b = 0; b < 256; ++b) {
      text.assign({static_cast<char>(a), static_cast<char>(b)});
      ASSERT_EQ(is_valid_utf8(text), reference_is_valid_utf8(text)) << a << "," << b;
      ASSERT_EQ(valid_by_sequence_walk(text), reference_is_valid_utf8(text)) << a << "," << b;
      if (a < 0xE0 || a > 0xF4) continue;  // three bytes only matter after 3/4-byte leads
      for (int c = 0; c < 256; ++c) {
        text.assign({static_cast<char>(a), static_cast<char>(b), static_cast<char>(c)});
        ASSERT_EQ(is_valid_utf8(text), reference_is_valid_utf8(text)) << a << "," << b << "," << c;
        ASSERT_EQ(valid_by_sequence_walk(text), reference_is_valid_utf8(text))
            << a << "," << b << "," << c;
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
          ASSERT_EQ(valid_by_sequence_walk(text), reference_is_valid_utf8(text))
              << a << "," << b << "," << c << "," << d;
        }
      }
    }
  }
}

}  // namespace
}  // namespace wsgw::codec
