#include "common/codec/base64.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace wsgw::codec {
namespace {

using namespace std::string_literals;

// RFC 4648 section 10.
const std::vector<std::pair<std::string, std::string>> kRfc4648Vectors = {
    {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
};

std::string strip_padding(std::string s) {
  while (!s.empty() && s.back() == '=') s.pop_back();
  return s;
}

TEST(Base64, EncodesRfc4648Vectors) {
  for (const auto& [plain, encoded] : kRfc4648Vectors) {
    EXPECT_EQ(base64_encode(plain), encoded) << plain;
  }
}

TEST(Base64, EncodeAppendKeepsWhatIsAlreadyThere) {
  std::string out;
  for (const auto& [plain, encoded] : kRfc4648Vectors) {
    out = "b4";
    base64_encode_append(out, plain);
    EXPECT_EQ(out, "b4" + encoded) << plain;
  }
  base64_encode_append(out, "foo");
  EXPECT_EQ(out, "b4Zm9vYmFyZm9v");  // two appends: the second starts after the first
}

TEST(Base64, DecodesRfc4648Vectors) {
  for (const auto& [plain, encoded] : kRfc4648Vectors) {
    std::string out = "garbage";
    ASSERT_TRUE(base64_decode(encoded, out)) << encoded;
    EXPECT_EQ(out, plain);
  }
}

TEST(Base64Url, EncodesRfc4648VectorsWithoutPadding) {
  for (const auto& [plain, encoded] : kRfc4648Vectors) {
    EXPECT_EQ(base64url_encode(plain), strip_padding(encoded)) << plain;
  }
}

TEST(Base64Url, DecodesVectorsWithAndWithoutPadding) {
  for (const auto& [plain, encoded] : kRfc4648Vectors) {
    std::string out = "garbage";
    ASSERT_TRUE(base64url_decode(strip_padding(encoded), out)) << encoded;
    EXPECT_EQ(out, plain);
    out = "garbage";
    ASSERT_TRUE(base64url_decode(encoded, out)) << encoded;
    EXPECT_EQ(out, plain);
  }
}

TEST(Base64, AlphabetsDifferOnlyInLastTwoSymbols) {
  const std::string bytes = "\xfb\xff\xbf"s;  // 111110 111111 111110 111111
  EXPECT_EQ(base64_encode(bytes), "+/+/");
  EXPECT_EQ(base64url_encode(bytes), "-_-_");
  std::string out;
  EXPECT_TRUE(base64_decode("+/+/", out));
  EXPECT_EQ(out, bytes);
  EXPECT_TRUE(base64url_decode("-_-_", out));
  EXPECT_EQ(out, bytes);
  EXPECT_FALSE(base64_decode("-_-_", out));
  EXPECT_FALSE(base64url_decode("+/+/", out));
}

TEST(Base64, EveryByteValueRoundTrips) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  std::string out;
  ASSERT_TRUE(base64_decode(base64_encode(all), out));
  EXPECT_EQ(out, all);
  ASSERT_TRUE(base64url_decode(base64url_encode(all), out));
  EXPECT_EQ(out, all);
}

TEST(Base64, RandomBytesRoundTripAndSizesAreExact) {
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> byte(0, 255);
  std::string out;
  for (std::size_t length = 0; length < 400; ++length) {
    std::string bytes(length, '\0');
    for (auto& c : bytes) c = static_cast<char>(byte(rng));

    const std::string standard = base64_encode(bytes);
    EXPECT_EQ(standard.size(), base64_encoded_size(length));
    EXPECT_EQ(standard.size() % 4, 0u);
    ASSERT_TRUE(base64_decode(standard, out)) << length;
    EXPECT_EQ(out, bytes);

    const std::string url = base64url_encode(bytes);
    EXPECT_EQ(url.size(), base64url_encoded_size(length));
    EXPECT_EQ(url.find('='), std::string::npos);
    ASSERT_TRUE(base64url_decode(url, out)) << length;
    EXPECT_EQ(out, bytes);
  }
}

TEST(Base64, UrlEncodingIsStandardWithSubstitutionsAndNoPadding) {
  std::mt19937 rng(99);
  std::uniform_int_distribution<int> byte(0, 255);
  for (std::size_t length = 0; length < 64; ++length) {
    std::string bytes(length, '\0');
    for (auto& c : bytes) c = static_cast<char>(byte(rng));
    std::string expected = strip_padding(base64_encode(bytes));
    for (auto& c : expected) {
      if (c == '+') c = '-';
      if (c == '/') c = '_';
    }
    EXPECT_EQ(base64url_encode(bytes), expected);
  }
}

TEST(Base64, DecodeOverwritesAndReusesOutput) {
  std::string out(100, 'x');
  ASSERT_TRUE(base64_decode("Zm9v", out));
  EXPECT_EQ(out, "foo");
  ASSERT_TRUE(base64_decode("", out));
  EXPECT_TRUE(out.empty());
}

TEST(Base64, StrictDecoderRejectsMalformedInput) {
  const std::vector<std::string> bad = {
      "Z",          "Zg",        "Zg=",       "Zm9",        // length not a multiple of 4
      "Zg===",      "Z===",      "====",      "=",          // too much padding
      "Zg==Zg==",   "Zm=v",      "=Zm9",                    // padding not at the end
      "Zh==",       "Zm9=",                                 // non-zero leftover bits
      "Zm9v\n",     " Zm9",      "Zm9v Zm9v", "Zm\r\n9v",   // whitespace
      "Zm-v",       "Zm_v",      "Zm.v",      "Zm9v\xff",   // foreign symbols
      "Zm\0v"s,
  };
  for (const auto& text : bad) {
    std::string out = "previous";
    EXPECT_FALSE(base64_decode(text, out)) << "'" << text << "'";
    EXPECT_TRUE(out.empty()) << "'" << text << "'";
  }
}

TEST(Base64Url, DecoderRejectsMalformedInput) {
  const std::vector<std::string> bad = {
      "Z",      "Zm9vZ",   "Zg=",    "Zm9vZg=",  // impossible length / incomplete padding
      "Zg===",  "====",    "=",      "Z===",     // too much padding
      "Zm=v",   "Zg==Zg",                        // padding in the middle
      "Zh",     "Zm9",     "Zh==",               // non-zero leftover bits
      "Zm+v",   "Zm/v",    "Zm9v\n", " Zm9v",    // standard alphabet, whitespace
      "Zm9v\x80", "Zm\0v"s,
  };
  for (const auto& text : bad) {
    std::string out = "previous";
    EXPECT_FALSE(base64url_decode(text, out)) << "'" << text << "'";
    EXPECT_TRUE(out.empty()) << "'" << text << "'";
  }
}

TEST(Base64, AcceptedTextIsAlwaysCanonical) {
  // Exhaustive over two-symbol tails: exactly one of every 16 (last symbol's low 4 bits
  // zero) decodes, so no two texts decode to the same byte.
  const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  int accepted = 0;
  std::string out;
  for (char a : alphabet) {
    for (char b : alphabet) {
      const std::string text = std::string{a, b} + "==";
      if (base64_decode(text, out)) {
        ++accepted;
        EXPECT_EQ(base64_encode(out), text);
      }
    }
  }
  EXPECT_EQ(accepted, 256);
}

}  // namespace
}  // namespace wsgw::codec
