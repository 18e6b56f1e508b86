#include <gtest/gtest.h>

#include <string>

#include "gateway/websocket/frame.h"
#include "gateway/websocket/handshake.h"

namespace wsgw::ws {
namespace {

// An independent, slow definition of UTF-8 validity: decode the code point, then reject
// overlong forms, surrogates and anything past U+10FFFF.
bool reference_valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<uint8_t>(s[i]);
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      len = 1, cp = c;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMinForLength[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

std::string bytes(std::initializer_list<int> values) {
  std::string s;
  for (int v : values) s.push_back(static_cast<char>(v));
  return s;
}

TEST(Utf8, AcceptsBoundaryCodePoints) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8(std::string("a\0b", 3)));      // NUL is a valid character
  EXPECT_TRUE(is_valid_utf8(bytes({0x7F})));               // U+007F
  EXPECT_TRUE(is_valid_utf8(bytes({0xC2, 0x80})));         // U+0080
  EXPECT_TRUE(is_valid_utf8(bytes({0xDF, 0xBF})));         // U+07FF
  EXPECT_TRUE(is_valid_utf8(bytes({0xE0, 0xA0, 0x80})));   // U+0800
  EXPECT_TRUE(is_valid_utf8(bytes({0xED, 0x9F, 0xBF})));   // U+D7FF, last before surrogates
  EXPECT_TRUE(is_valid_utf8(bytes({0xEE, 0x80, 0x80})));   // U+E000, first after
  EXPECT_TRUE(is_valid_utf8(bytes({0xEF, 0xBF, 0xBF})));   // U+FFFF
  EXPECT_TRUE(is_valid_utf8(bytes({0xF0, 0x90, 0x80, 0x80})));  // U+10000
  EXPECT_TRUE(is_valid_utf8(bytes({0xF4, 0x8F, 0xBF, 0xBF})));  // U+10FFFF
  EXPECT_TRUE(is_valid_utf8("\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5"));  // Greek "kosme"
}

TEST(Utf8, RejectsOverlongSurrogatesAndOutOfRange) {
  EXPECT_FALSE(is_valid_utf8(bytes({0xC0, 0x80})));              // overlong NUL
  EXPECT_FALSE(is_valid_utf8(bytes({0xC1, 0xBF})));              // overlong U+007F
  EXPECT_FALSE(is_valid_utf8(bytes({0xE0, 0x80, 0x80})));        // overlong
  EXPECT_FALSE(is_valid_utf8(bytes({0xE0, 0x9F, 0xBF})));        // overlong U+07FF
  EXPECT_FALSE(is_valid_utf8(bytes({0xF0, 0x80, 0x80, 0x80})));  // overlong
  EXPECT_FALSE(is_valid_utf8(bytes({0xF0, 0x8F, 0xBF, 0xBF})));  // overlong U+FFFF
  EXPECT_FALSE(is_valid_utf8(bytes({0xED, 0xA0, 0x80})));        // U+D800
  EXPECT_FALSE(is_valid_utf8(bytes({0xED, 0xBF, 0xBF})));        // U+DFFF
  EXPECT_FALSE(is_valid_utf8(bytes({0xED, 0xA0, 0xBD, 0xED, 0xB2, 0xA9})));  // CESU-8 pair
  EXPECT_FALSE(is_valid_utf8(bytes({0xF4, 0x90, 0x80, 0x80})));  // U+110000
  EXPECT_FALSE(is_valid_utf8(bytes({0xF5, 0x80, 0x80, 0x80})));
  EXPECT_FALSE(is_valid_utf8(bytes({0xFE})));
  EXPECT_FALSE(is_valid_utf8(bytes({0xFF})));
  EXPECT_FALSE(is_valid_utf8(bytes({0x80})));                    // lone continuation
  EXPECT_FALSE(is_valid_utf8(bytes({0xC3})));                    // truncated at the end
  EXPECT_FALSE(is_valid_utf8(bytes({0xE2, 0x82})));
  EXPECT_FALSE(is_valid_utf8(bytes({0xF0, 0x9F, 0x98})));
  EXPECT_FALSE(is_valid_utf8(bytes({0xE2, 0x28, 0xA1})));        // bad continuation
  EXPECT_FALSE(is_valid_utf8(bytes({0xF0, 0x9F, 0x98, 0x28})));
}

TEST(Utf8, FastPathFindsABadByteAnywhere) {
  // The ASCII fast path reads 8 bytes at a time; a bad byte must be found at every offset.
  for (size_t length = 1; length <= 40; ++length) {
    for (size_t bad = 0; bad < length; ++bad) {
      std::string s(length, 'x');
      s[bad] = static_cast<char>(0xFF);
      EXPECT_FALSE(is_valid_utf8(s)) << length << "/" << bad;
      s[bad] = 'y';
      EXPECT_TRUE(is_valid_utf8(s));
    }
    // A multi-byte character at the very end, after ASCII.
    EXPECT_TRUE(is_valid_utf8(std::string(length, 'a') + "\xE2\x82\xAC"));
    EXPECT_FALSE(is_valid_utf8(std::string(length, 'a') + "\xE2\x82"));
  }
}

TEST(Utf8, AgreesWithTheReferenceOnAllShortSequences) {
  std::string s;
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      s = bytes({a, b});
      ASSERT_EQ(is_valid_utf8(s), reference_valid_utf8(s)) << a << " " << b;
    }
  }
  for (int a = 0xE0; a <= 0xEF; ++a) {
    for (int b = 0; b < 256; ++b) {
      for (int c = 0; c < 256; ++c) {
        s = bytes({a, b, c});
        ASSERT_EQ(is_valid_utf8(s), reference_valid_utf8(s)) << a << " " << b << " " << c;
      }
    }
  }
  const int interesting[] = {0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF};
  for (int a = 0xF0; a <= 0xFF; ++a) {
    for (int b : interesting) {
      for (int c : interesting) {
        for (int d : interesting) {
          s = bytes({a, b, c, d});
          ASSERT_EQ(is_valid_utf8(s), reference_valid_utf8(s)) << a << " " << b << " " << c << " " << d;
        }
      }
    }
  }
}

TEST(Handshake, AcceptKeyMatchesRfcExample) {
  // RFC 6455 section 1.3.
  EXPECT_EQ(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_EQ(accept_key("x3JJHMbDL1EzLkh9GBhXDw=="), "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");  // MDN example
}

TEST(Handshake, ClientKeyValidation) {
  EXPECT_TRUE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZQ=="));
  EXPECT_TRUE(is_valid_client_key("AAAAAAAAAAAAAAAAAAAAAA=="));
  EXPECT_TRUE(is_valid_client_key("/////////////////////w=="));
  EXPECT_FALSE(is_valid_client_key(""));
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZQ"));      // no padding
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZQ=="
                                   "AA"));                           // too long
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZQ=A"));    // padding misplaced
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZ==="));
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25j-Q=="));    // base64url character
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZR=="));    // non-zero leftover bits
  EXPECT_FALSE(is_valid_client_key(" dGhlIHNhbXBsZSBub25jZQ="));
  EXPECT_FALSE(is_valid_client_key(std::string_view("dGhlIHNhbXBsZSBub25jZQ==\0", 25)));
}

}  // namespace
}  // namespace wsgw::ws
