#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "gateway/engineio/codec.h"

namespace wsgw::eio {
namespace {

using namespace std::string_literals;

const std::string kEuro = "\xE2\x82\xAC";      // U+20AC: 3 bytes, 1 UTF-16 unit
const std::string kGrin = "\xF0\x9F\x98\x80";  // U+1F600: 4 bytes, 2 UTF-16 units (a pair)
const std::string kZhong = "\xE4\xB8\xAD";     // U+4E2D
const std::string kWen = "\xE6\x96\x87";       // U+6587
const std::string kReplacement = "\xEF\xBF\xBD";

Packet text(PacketType type, std::string data) { return Packet{type, false, std::move(data)}; }
Packet msg(std::string data) { return text(PacketType::message, std::move(data)); }
Packet binary(std::string data) { return Packet{PacketType::message, true, std::move(data)}; }

struct Decoded {
  PayloadError error;
  std::vector<Packet> packets;
};

Decoded decode(Version v, std::string_view body, bool is_binary = false, PayloadLimits limits = {}) {
  Decoded d;
  d.packets.push_back(msg("stale"));  // decode_payload must overwrite whatever was there
  d.error = decode_payload(v, body, is_binary, d.packets, limits);
  return d;
}

PayloadError decode_error(Version v, std::string_view body, bool is_binary = false) {
  Decoded d = decode(v, body, is_binary);
  EXPECT_TRUE(d.error == PayloadError::none || d.packets.empty()) << "partial output on error";
  return d.error;
}

// ---------------------------------------------------------------------------------------------
// v4

TEST(PayloadV4, DecodesReadmeExamples) {
  Decoded d = decode(Version::v4, "4hello\x1e" "2\x1e" "4world");
  ASSERT_EQ(d.error, PayloadError::none);
  EXPECT_EQ(d.packets, (std::vector<Packet>{msg("hello"), text(PacketType::ping, ""), msg("world")}));

  d = decode(Version::v4, "4hello\x1e" "bAQIDBA==");
  ASSERT_EQ(d.error, PayloadError::none);
  EXPECT_EQ(d.packets, (std::vector<Packet>{msg("hello"), binary("\x01\x02\x03\x04")}));
}

TEST(PayloadV4, EncodesParserChangelogExamples) {
  for (bool supports_binary : {false, true}) {
    std::vector<Packet> packets{msg("hello"), msg(kEuro + kEuro + kEuro)};
    EncodedPayload e = encode_payload(Version::v4, packets, supports_binary);
    EXPECT_EQ(e.body, "4hello\x1e" "4" + kEuro + kEuro + kEuro);
    EXPECT_FALSE(e.is_binary);

    packets = {msg("hello"), binary("\x01\x02\x03")};
    e = encode_payload(Version::v4, packets, supports_binary);
    EXPECT_EQ(e.body, "4hello\x1e" "bAQID");
    EXPECT_FALSE(e.is_binary);  // v4 never uses a binary body
  }
}

TEST(PayloadV4, SinglePacketHasNoSeparator) {
  const std::vector<Packet> packets{text(PacketType::noop, "")};
  EXPECT_EQ(encode_payload(Version::v4, packets, true).body, "6");
  Decoded d = decode(Version::v4, "6");
  ASSERT_EQ(d.error, PayloadError::none);
  EXPECT_EQ(d.packets, packets);
}

TEST(PayloadV4, EveryPacketTypeRoundTrips) {
  std::vector<Packet> packets;
  for (int t = 0; t <= 6; ++t) packets.push_back(text(static_cast<PacketType>(t), "d" + std::to_string(t)));
  packets.push_back(binary(""));
  packets.push_back(binary("\x00\xff\x1e"s));
  EncodedPayload e = encode_payload(Version::v4, packets, false);
  Decoded d = decode(Version::v4, e.body, e.is_binary);
  ASSERT_EQ(d.error, PayloadError::none);
  EXPECT_EQ(d.packets, packets);
}

TEST(PayloadV4, RejectsMalformedBodies) {
  EXPECT_EQ(decode_error(Version::v4, ""), PayloadError::empty);
  EXPECT_EQ(decode_error(Version::v4, "\x1e"), PayloadError::bad_format);
  EXPECT_EQ(decode_error(Version::v4, "4a\x1e"), PayloadError::bad_format);      // trailing separator
  EXPECT_EQ(decode_error(Version::v4, "\x1e" "4a"), PayloadError::bad_format);   // leading separator
  EXPECT_EQ(decode_error(Version::v4, "4a\x1e\x1e" "4b"), PayloadError::bad_format);
  EXPECT_EQ(decode_error(Version::v4, "7"), PayloadError::bad_type);
  EXPECT_EQ(decode_error(Version::v4, "4a\x1ex"), PayloadError::bad_type);
  EXPECT_EQ(decode_error(Version::v4, "6:4hello"), PayloadError::none);  // a noop with data ":4hello"
  EXPECT_EQ(decode_error(Version::v4, "bAQ"), PayloadError::bad_base64);
  EXPECT_EQ(decode_error(Version::v4, "b!!!!"), PayloadError::bad_base64);
  EXPECT_EQ(decode_error(Version::v4, "4ok\x1e" "bAQIDBA"), PayloadError::bad_base64);
  EXPECT_EQ(decode_error(Version::v4, "4\xff"), PayloadError::bad_utf8);
  EXPECT_EQ(decode_error(Version::v4, "4\xc0\xaf"), PayloadError::bad_utf8);          // overlong '/'
  EXPECT_EQ(decode_error(Version::v4, "4\xed\xa0\x80"), PayloadError::bad_utf8);      // surrogate
  EXPECT_EQ(decode_error(Version::v4, "4\xe2\x82"), PayloadError::bad_utf8);          // truncated
  EXPECT_EQ(decode_error(Version::v4, "4\xf4\x90\x80\x80"), PayloadError::bad_utf8);  // > U+10FFFF
  EXPECT_EQ(decode_error(Version::v4, "4hello", /*is_binary=*/true), PayloadError::bad_format);
}

TEST(PayloadV4, EncoderCannotBeMadeToInjectPackets) {
  // Data holding a separator would otherwise become a second packet (here: a close).
  const std::vector<Packet> packets{msg("a\x1e" "1")};
  EncodedPayload e = encode_payload(Version::v4, packets, false);
  EXPECT_EQ(e.body, "4a" + kReplacement + "1");
  Decoded d = decode(Version::v4, e.body);
  ASSERT_EQ(d.error, PayloadError::none);
  EXPECT_EQ(d.packets, (std::vector<Packet>{msg("a" + kReplacement + "1")}));
}

TEST(PayloadV4, EncoderReplacesInvalidUtf8) {
  const std::vector<Packet> packets{msg("x\xff" "y\xe2\x82")};
  EncodedPayload e = encode_payload(Version::v4, packets, false);
  EXPECT_EQ(e.body, "4x" + kReplacement + "y" + kReplacement + kReplacement);
  EXPECT_EQ(decode_error(Version::v4, e.body), PayloadError::none);
}

// ---------------------------------------------------------------------------------------------
// v3 text

TEST(PayloadV3Text, MatchesParserChangelogExample) {
  const std::vector<Packet> packets{msg("hello"), msg(kEuro + kEuro + kEuro)};
  const std::string body = "6:4hello4:4" + kEuro + kEuro + kEuro;
  for (bool supports_binary : {false, true}) {  // no binary packet: text either way
    EncodedPayload e = encode_payload(Version::v3, packets, supports_binary);
    EXPECT_EQ(e.body, body);
    EXPECT_FALSE(e.is_binary);
  }
  Decoded d = decode(Version::v3, body);
  ASSERT_EQ(d.error, PayloadError::none);
  EXPECT_EQ(d.packets, packets);
}

TEST(PayloadV3Text, BinaryAsBase64WithTypeDigit) {
  const std::vector<Packet> packets{msg("hello"), binary("\x01\x02\x03\x04")};
  const std::string body = "6:4hello10:b4AQIDBA==";
  EncodedPayload e = encode_payload(Version::v3, packets, /*client_supports_binary=*/false);
  EXPECT_EQ(e.body, body);
  EXPECT_FALSE(e.is_binary);
  Decoded d = decode(Version::v3, body);
  ASSERT_EQ(d.error, PayloadError::none);
  EXPECT_EQ(d.packets, packets);
  EXPECT_EQ(encode_payload(Version::v3, std::vector<Packet>{binary("")}, false).body, "2:b4");
}

TEST(PayloadV3Text, LengthCountsUtf16CodeUnits) {
  struct Case {
    std::string data;
    size_t units;
  };
  const Case cases[] = {
      {"", 0},
      {"hello", 5},
      {kEuro, 1},
      {kZhong + kWen, 2},
      {kGrin, 2},
      {kGrin + kGrin, 4},
      {"a" + kGrin + kZhong + "b" + kEuro, 6},
      {"\x7f\xc2\x80\xdf\xbf\xef\xbf\xbf\xf4\x8f\xbf\xbf", 6},  // U+7F U+80 U+7FF U+FFFF U+10FFFF
  };
  for (const Case& c : cases) {
    const std::vector<Packet> packets{msg(c.data)};
    const std::string expected = std::to_string(1 + c.units) + ":4" + c.data;
    EXPECT_EQ(encode_payload(Version::v3, packets, false).body, expected) << c.units;
    Decoded d = decode(Version::v3, expected);
    ASSERT_EQ(d.error, PayloadError::none) << expected;
    EXPECT_EQ(d.packets, packets);
  }
}

TEST(PayloadV3Text, LengthMustNotSplitASurrogatePair) {
  EXPECT_EQ(decode_error(Version::v3, "3:4" + kGrin), PayloadError::none);
  EXPECT_EQ(decode_error(Version::v3, "2:4" + kGrin), PayloadError::bad_length);  // half an emoji
  EXPECT_EQ(decode_error(Version::v3, "2:4" + kGrin + "1:6"), PayloadError::bad_length);
  // Byte counts are wrong for v3 text: the emoji is 4 bytes but 2 units.
  EXPECT_EQ(decode_error(Version::v3, "5:4" + kGrin), PayloadError::bad_length);
  EXPECT_EQ(decode_error(Version::v3, "4:4" + kEuro), PayloadError::bad_length);
}

TEST(PayloadV3Text, LengthDelimitsDataThatLooksLikeFraming) {
  Decoded d = decode(Version::v3, "6:41:2:33:4:5");
  ASSERT_EQ(d.error, PayloadError::none);
  EXPECT_EQ(d.packets, (std::vector<Packet>{msg("1:2:3"), msg(":5")}));
  // Separators and control bytes are ordinary data in v3.
  const std::vector<Packet> packets{msg("a\x1e" "b\0c"s), text(PacketType::close, "")};
  EncodedPayload e = encode_payload(Version::v3, packets, false);
  EXPECT_EQ(e.body, "6:4a\x1e" "b\0c1:1"s);
  d = decode(Version::v3, e.body);
  ASSERT_EQ(d.error, PayloadError::none);
  EXPECT_EQ(d.packets, packets);
}

TEST(PayloadV3Text, EmptyRecordsAreNoOps) {
  Decoded d = decode(Version::v3, "0:");
  EXPECT_EQ(d.error, PayloadError::none);
  EXPECT_TRUE(d.packets.empty());
  d = decode(Version::v3, "0:6:4hello0:");
  ASSERT_EQ(d.error, PayloadError::none);
  EXPECT_EQ(d.packets, (std::vector<Packet>{msg("hello")}));
  EXPECT_EQ(encode_payload(Version::v3, std::vector<Packet>{}, false).body, "0:");
  EXPECT_EQ(encode_payload(Version::v4, std::vector<Packet>{}, false).body, "");
}

TEST(PayloadV3Text, AcceptsLeadingZerosInLengths) {
  Decoded d = decode(Version::v3, "006:4hello");
  ASSERT_EQ(d.error, PayloadError::none);
  EXPECT_EQ(d.packets, (std::vector<Packet>{msg("hello")}));
}

TEST(PayloadV3Text, RejectsMalformedBodies) {
  EXPECT_EQ(decode_error(Version::v3, ""), PayloadError::empty);
  EXPECT_EQ(decode_error(Version::v3, "6"), PayloadError::bad_format);  // no ':'
  EXPECT_EQ(decode_error(Version::v3, "6:4hello6"), PayloadError::bad_format);
  EXPECT_EQ(decode_error(Version::v3, ":4hello"), PayloadError::bad_length);
  EXPECT_EQ(decode_error(Version::v3, "x:4"), PayloadError::bad_length);
  EXPECT_EQ(decode_error(Version::v3, "-1:4"), PayloadError::bad_length);
  EXPECT_EQ(decode_error(Version::v3, " 6:4hello"), PayloadError::bad_length);
  EXPECT_EQ(decode_error(Version::v3, "0x6:4hello"), PayloadError::bad_length);
  EXPECT_EQ(decode_error(Version::v3, "4hello"), PayloadError::bad_length);  // a v4 body
  EXPECT_EQ(decode_error(Version::v3, "6:4hi"), PayloadError::bad_length);   // past the end
  EXPECT_EQ(decode_error(Version::v3, "6:4hello1:"), PayloadError::bad_length);
  EXPECT_EQ(decode_error(Version::v3, "6:4hellox"), PayloadError::bad_length);
  EXPECT_EQ(decode_error(Version::v3, "9999999999:4"), PayloadError::bad_length);
  EXPECT_EQ(decode_error(Version::v3, "12345678901:4"), PayloadError::bad_length);  // 11 digits
  EXPECT_EQ(decode_error(Version::v3, std::string(5000, '9') + ":4"), PayloadError::bad_length);
  EXPECT_EQ(decode_error(Version::v3, "1:7"), PayloadError::bad_type);
  EXPECT_EQ(decode_error(Version::v3, "1:x"), PayloadError::bad_type);
  EXPECT_EQ(decode_error(Version::v3, "1:b"), PayloadError::bad_type);
  EXPECT_EQ(decode_error(Version::v3, "6:b2AQID"), PayloadError::bad_type);   // binary ping
  EXPECT_EQ(decode_error(Version::v3, "9:bAQIDBA=="), PayloadError::bad_type);  // v4-style base64
  EXPECT_EQ(decode_error(Version::v3, "5:b4AQI"), PayloadError::bad_base64);
  EXPECT_EQ(decode_error(Version::v3, "6:b4AQ=A"), PayloadError::bad_base64);
  EXPECT_EQ(decode_error(Version::v3, "2:4\xff"), PayloadError::bad_utf8);
  EXPECT_EQ(decode_error(Version::v3, "4:4\xed\xa0\x80"), PayloadError::bad_utf8);
  EXPECT_EQ(decode_error(Version::v3, "6:4hello\x80"), PayloadError::bad_utf8);
}

// ---------------------------------------------------------------------------------------------
// v3 binary (XHR2)

TEST(PayloadV3Binary, MatchesParserChangelogExample) {
  const std::vector<Packet> packets{msg("hello"), binary("\x01\x02\x03")};
  const std::string body = "\x00\x06\xff" "4hello" "\x01\x04\xff\x04\x01\x02\x03"s;
  EncodedPayload e = encode_payload(Version::v3, packets, /*client_supports_binary=*/true);
  EXPECT_EQ(e.body, body);
  EXPECT_TRUE(e.is_binary);
  Decoded d = decode(Version::v3, body, /*is_binary=*/true);
  ASSERT_EQ(d.error, PayloadError::none);
  EXPECT_EQ(d.packets, packets);
}

TEST(PayloadV3Binary, StringLengthsCountUtf8Bytes) {
  const std::vector<Packet> packets{msg(kEuro + kGrin), binary("")};
  const std::string body = "\x00\x08\xff" "4"s + kEuro + kGrin + "\x01\x01\xff\x04"s;
  EncodedPayload e = encode_payload(Version::v3, packets, true);
  EXPECT_EQ(e.body, body);
  Decoded d = decode(Version::v3, body, true);
  ASSERT_EQ(d.error, PayloadError::none);
  EXPECT_EQ(d.packets, packets);
}

TEST(PayloadV3Binary, MultiDigitLengths) {
  const std::string big(1234, '\xab');
  const std::vector<Packet> packets{binary(big), msg(std::string(99, 'x'))};
  EncodedPayload e = encode_payload(Version::v3, packets, true);
  ASSERT_TRUE(e.is_binary);
  EXPECT_EQ(e.body.substr(0, 6), "\x01\x01\x02\x03\x05\xff"s);  // 1235 = 1 type byte + 1234
  EXPECT_EQ(e.body.substr(6 + 1235, 5), "\x00\x01\x00\x00\xff"s);    // 100 = '4' + 99
  Decoded d = decode(Version::v3, e.body, true);
  ASSERT_EQ(d.error, PayloadError::none);
  EXPECT_EQ(d.packets, packets);
}

TEST(PayloadV3Binary, EveryPacketTypeRoundTrips) {
  std::vector<Packet> packets;
  for (int t = 0; t <= 6; ++t) packets.push_back(text(static_cast<PacketType>(t), t % 2 ? "" : "x"));
  packets.push_back(binary("\x00\xff"s));
  EncodedPayload e = encode_payload(Version::v3, packets, true);
  ASSERT_TRUE(e.is_binary);
  Decoded d = decode(Version::v3, e.body, true);
  ASSERT_EQ(d.error, PayloadError::none);
  EXPECT_EQ(d.packets, packets);
}

TEST(PayloadV3Binary, AcceptsBase64StringRecords) {
  // A string record may itself be a base64 binary packet, as in the text format.
  Decoded d = decode(Version::v3, "\x00\x06\xff" "b4AQI="s, true);
  ASSERT_EQ(d.error, PayloadError::none);
  EXPECT_EQ(d.packets, (std::vector<Packet>{binary("\x01\x02")}));
}

TEST(PayloadV3Binary, RejectsMalformedBodies) {
  EXPECT_EQ(decode_error(Version::v3, "", true), PayloadError::empty);
  EXPECT_EQ(decode_error(Version::v3, "\x02\x01\xff" "4"s, true), PayloadError::bad_format);
  EXPECT_EQ(decode_error(Version::v3, "0\x01\xff" "4"s, true), PayloadError::bad_format);  // ASCII '0'
  EXPECT_EQ(decode_error(Version::v3, "\x00\x06"s, true), PayloadError::bad_format);   // no 0xFF
  EXPECT_EQ(decode_error(Version::v3, "\x00"s, true), PayloadError::bad_format);
  EXPECT_EQ(decode_error(Version::v3, "\x00\xff"s, true), PayloadError::bad_length);   // no digits
  EXPECT_EQ(decode_error(Version::v3, "\x00\x0a\xff" "4hello...."s, true), PayloadError::bad_length);
  EXPECT_EQ(decode_error(Version::v3, "\x00\x07\xff" "4hello"s, true), PayloadError::bad_length);
  EXPECT_EQ(decode_error(Version::v3, "\x01\x09\x09\x09\x09\x09\x09\x09\x09\x09\x09\xff\x04"s, true),
            PayloadError::bad_length);  // 10 digits: past the end
  EXPECT_EQ(decode_error(Version::v3, "\x01" + std::string(11, '\x01') + "\xff\x04", true),
            PayloadError::bad_length);  // 11 digits
  EXPECT_EQ(decode_error(Version::v3, "\x00\x00\xff"s, true), PayloadError::bad_format);  // empty string
  EXPECT_EQ(decode_error(Version::v3, "\x01\x00\xff"s, true), PayloadError::bad_format);  // no type byte
  EXPECT_EQ(decode_error(Version::v3, "\x01\x02\xff\x02\x01"s, true), PayloadError::bad_type);
  EXPECT_EQ(decode_error(Version::v3, "\x01\x02\xff" "4x"s, true), PayloadError::bad_type);
  EXPECT_EQ(decode_error(Version::v3, "\x00\x01\xff" "9"s, true), PayloadError::bad_type);
  EXPECT_EQ(decode_error(Version::v3, "\x00\x02\xff" "4\xff"s, true), PayloadError::bad_utf8);
  EXPECT_EQ(decode_error(Version::v3, "\x00\x06\xff" "4hello\x03"s, true), PayloadError::bad_format);
  // A text body is not a binary body.
  EXPECT_EQ(decode_error(Version::v3, "6:4hello", true), PayloadError::bad_format);
}

TEST(PayloadV3Binary, OnlyWhenClientSupportsItAndABinaryPacketExists) {
  const std::vector<Packet> with_binary{msg("a"), binary("b")};
  const std::vector<Packet> text_only{msg("a")};
  EXPECT_TRUE(encode_payload(Version::v3, with_binary, true).is_binary);
  EXPECT_FALSE(encode_payload(Version::v3, with_binary, false).is_binary);  // b64=1
  EXPECT_FALSE(encode_payload(Version::v3, text_only, true).is_binary);
  EXPECT_EQ(encode_payload(Version::v3, text_only, true).body, "2:4a");
}

TEST(PayloadV3, EncoderReplacesInvalidUtf8) {
  const std::vector<Packet> packets{msg("\xff" "a")};
  EXPECT_EQ(encode_payload(Version::v3, packets, false).body, "3:4" + kReplacement + "a");
  const std::vector<Packet> mixed{msg("\xff"), binary("")};
  EncodedPayload e = encode_payload(Version::v3, mixed, true);
  EXPECT_EQ(e.body, "\x00\x04\xff" "4"s + kReplacement + "\x01\x01\xff\x04"s);
  EXPECT_EQ(decode_error(Version::v3, e.body, true), PayloadError::none);
}

// ---------------------------------------------------------------------------------------------
// Limits

TEST(PayloadLimits, MaxPacketsAppliesToEveryFormat) {
  const std::vector<Packet> three{msg("1"), binary("2"), msg("3")};
  struct Format {
    Version version;
    bool supports_binary;
  };
  for (Format f : {Format{Version::v4, false}, Format{Version::v3, false}, Format{Version::v3, true}}) {
    EncodedPayload e = encode_payload(f.version, three, f.supports_binary);
    EXPECT_EQ(decode(f.version, e.body, e.is_binary, PayloadLimits{3}).error, PayloadError::none);
    Decoded d = decode(f.version, e.body, e.is_binary, PayloadLimits{2});
    EXPECT_EQ(d.error, PayloadError::too_many_packets);
    EXPECT_TRUE(d.packets.empty());
  }
}

TEST(PayloadLimits, DefaultLimitIs4096) {
  std::string v4_body = "6";
  std::string v3_body = "1:6";
  for (int i = 1; i < 4096; ++i) {
    v4_body += "\x1e" "6";
    v3_body += "1:6";
  }
  EXPECT_EQ(decode(Version::v4, v4_body).error, PayloadError::none);
  EXPECT_EQ(decode(Version::v3, v3_body).error, PayloadError::none);
  EXPECT_EQ(decode(Version::v4, v4_body + "\x1e" "6").error, PayloadError::too_many_packets);
  EXPECT_EQ(decode(Version::v3, v3_body + "1:6").error, PayloadError::too_many_packets);
}

TEST(PayloadLimits, EmptyRecordsDoNotCountButCannotHang) {
  std::string body;
  for (int i = 0; i < 100000; ++i) body += "0:";
  Decoded d = decode(Version::v3, body + "1:6", false, PayloadLimits{1});
  EXPECT_EQ(d.error, PayloadError::none);
  EXPECT_EQ(d.packets.size(), 1u);
}

// ---------------------------------------------------------------------------------------------
// Round trips over generated packets

std::string random_utf8(std::mt19937& rng, size_t code_points, bool allow_record_separator) {
  std::string s;
  std::uniform_int_distribution<int> kind(0, 9);
  for (size_t i = 0; i < code_points; ++i) {
    uint32_t cp;
    switch (kind(rng)) {
      case 0: cp = std::uniform_int_distribution<uint32_t>(0, 0x1f)(rng); break;
      case 1: cp = std::uniform_int_distribution<uint32_t>(0x80, 0x7ff)(rng); break;
      case 2: cp = std::uniform_int_distribution<uint32_t>(0x800, 0xd7ff)(rng); break;
      case 3: cp = std::uniform_int_distribution<uint32_t>(0xe000, 0xffff)(rng); break;
      case 4: cp = std::uniform_int_distribution<uint32_t>(0x10000, 0x10ffff)(rng); break;
      default: cp = std::uniform_int_distribution<uint32_t>(0x20, 0x7e)(rng); break;
    }
    if (cp == 0x1e && !allow_record_separator) cp = '.';
    if (cp < 0x80) {
      s.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      s.push_back(static_cast<char>(0xc0 | cp >> 6));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      s.push_back(static_cast<char>(0xe0 | cp >> 12));
      s.push_back(static_cast<char>(0x80 | (cp >> 6 & 0x3f)));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      s.push_back(static_cast<char>(0xf0 | cp >> 18));
      s.push_back(static_cast<char>(0x80 | (cp >> 12 & 0x3f)));
      s.push_back(static_cast<char>(0x80 | (cp >> 6 & 0x3f)));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
  }
  return s;
}

TEST(PayloadRoundTrip, RandomPacketsSurviveEveryFormat) {
  std::mt19937 rng(20240601);
  struct Format {
    Version version;
    bool supports_binary;
  };
  for (Format f : {Format{Version::v4, false}, Format{Version::v4, true}, Format{Version::v3, false},
                   Format{Version::v3, true}}) {
    for (int round = 0; round < 300; ++round) {
      std::vector<Packet> packets(std::uniform_int_distribution<size_t>(1, 8)(rng));
      for (Packet& p : packets) {
        const size_t size = std::uniform_int_distribution<size_t>(0, 40)(rng);
        if (std::uniform_int_distribution<int>(0, 3)(rng) == 0) {
          p = binary(std::string(size, '\0'));
          for (char& c : p.data) c = static_cast<char>(rng());
        } else {
          p = text(static_cast<PacketType>(rng() % 7),
                   random_utf8(rng, size, f.version == Version::v3));
        }
      }
      EncodedPayload e = encode_payload(f.version, packets, f.supports_binary);
      Decoded d = decode(f.version, e.body, e.is_binary);
      ASSERT_EQ(d.error, PayloadError::none) << to_string(d.error);
      ASSERT_EQ(d.packets, packets);
    }
  }
}

TEST(PayloadError, Names) {
  EXPECT_EQ(to_string(PayloadError::none), "none");
  EXPECT_EQ(to_string(PayloadError::empty), "empty");
  EXPECT_EQ(to_string(PayloadError::bad_format), "bad_format");
  EXPECT_EQ(to_string(PayloadError::bad_length), "bad_length");
  EXPECT_EQ(to_string(PayloadError::bad_utf8), "bad_utf8");
  EXPECT_EQ(to_string(PayloadError::bad_base64), "bad_base64");
  EXPECT_EQ(to_string(PayloadError::bad_type), "bad_type");
  EXPECT_EQ(to_string(PayloadError::too_many_packets), "too_many_packets");
}

}  // namespace
}  // namespace wsgw::eio
