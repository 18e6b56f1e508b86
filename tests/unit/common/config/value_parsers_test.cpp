#include "common/config/value_parsers.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace wsgw::config {
namespace {

HostPort host_port_ok(std::string_view text) {
  HostPort out;
  std::string err;
  EXPECT_TRUE(parse_host_port(text, out, err)) << text << ": " << err;
  return out;
}

std::string host_port_error(std::string_view text) {
  HostPort out{"unchanged", 7};
  std::string err;
  EXPECT_FALSE(parse_host_port(text, out, err)) << text;
  EXPECT_EQ(out, (HostPort{"unchanged", 7})) << "output written on failure: " << text;
  return err;
}

TEST(HostPort, AcceptsTheUsualForms) {
  EXPECT_EQ(host_port_ok("127.0.0.1:3000"), (HostPort{"127.0.0.1", 3000}));
  EXPECT_EQ(host_port_ok("localhost:80"), (HostPort{"localhost", 80}));
  EXPECT_EQ(host_port_ok("[::1]:443"), (HostPort{"::1", 443}));
  EXPECT_EQ(host_port_ok("[fe80::1%eth0]:80"), (HostPort{"fe80::1%eth0", 80}));
  EXPECT_EQ(host_port_ok("[::ffff:10.0.0.1]:1"), (HostPort{"::ffff:10.0.0.1", 1}));
  EXPECT_EQ(host_port_ok(":8080"), (HostPort{"", 8080}));  // all interfaces
  EXPECT_EQ(host_port_ok("gw-0.wsgw.svc:65535"), (HostPort{"gw-0.wsgw.svc", 65535}));
  EXPECT_EQ(host_port_ok("127.0.0.1:0"), (HostPort{"127.0.0.1", 0}));  // ephemeral
}

TEST(HostPort, RejectsMalformedInput) {
  EXPECT_NE(host_port_error("localhost").find("HOST:PORT"), std::string::npos);
  EXPECT_NE(host_port_error("::1:80").find("brackets"), std::string::npos);
  EXPECT_NE(host_port_error("host:65536").find("0-65535"), std::string::npos);
  for (std::string_view bad : {"", ":", "host:", "host:http", "host:80x", "host:-1", "host: 80",
                               "host:123456", "host:99999999999999999999999", "[::1]", "[::1]80",
                               "[::1]:", "[::1", "[]:80", "[1.2.3.4]:80", "[::1]x:80", "ho st:80",
                               "host/path:80", "[::1/64]:80"}) {
    host_port_error(bad);
  }
}

TEST(HostPort, FormatRoundTrips) {
  for (std::string_view text : {"127.0.0.1:3000", "[::1]:443", ":8080", "localhost:0"}) {
    EXPECT_EQ(format_host_port(host_port_ok(text)), text);
  }
}

TEST(Duration, AcceptsNumbersUnitsAndCompounds) {
  const std::pair<std::string_view, std::uint64_t> cases[] = {
      {"0", 0},          {"25000", 25000},      {"300ms", 300},          {"25s", 25000},
      {"2m", 120000},    {"1h", 3600000},       {"1d", 86400000},        {"1m30s", 90000},
      {"1h0m5s", 3605000}, {"0s", 0},           {"18446744073709551615", UINT64_MAX},
      {"18446744073709551615ms", UINT64_MAX}, {"213503982334d", 213503982334ULL * 86400000},
  };
  for (const auto& [text, want] : cases) {
    std::uint64_t got = 1;
    EXPECT_TRUE(parse_duration_ms(text, got)) << text;
    EXPECT_EQ(got, want) << text;
  }
}

TEST(Duration, RejectsBadSyntaxAndOverflow) {
  for (std::string_view bad : {"", "s", "ms", "-1s", "+1s", "1.5s", "1 s", " 1s", "1s ", "1S", "1M",
                               "1x", "1m30", "1ms5", "25sec", "18446744073709551616",
                               "213503982335d", "18446744073709551615ms1ms", "99999999999999999999s"}) {
    std::uint64_t got = 42;
    EXPECT_FALSE(parse_duration_ms(bad, got)) << bad;
    EXPECT_EQ(got, 42U) << bad;
  }
}

TEST(Duration, FormatsWithTheLargestExactUnit) {
  EXPECT_EQ(format_duration_ms(0), "0ms");
  EXPECT_EQ(format_duration_ms(300), "300ms");
  EXPECT_EQ(format_duration_ms(25000), "25s");
  EXPECT_EQ(format_duration_ms(90000), "90s");
  EXPECT_EQ(format_duration_ms(120000), "2m");
  EXPECT_EQ(format_duration_ms(7200000), "2h");
  EXPECT_EQ(format_duration_ms(86400000), "1d");
  std::uint64_t back = 0;
  ASSERT_TRUE(parse_duration_ms(format_duration_ms(UINT64_MAX), back));
  EXPECT_EQ(back, UINT64_MAX);
}

TEST(Bytes, AcceptsSiBinaryAndShorthandSuffixes) {
  const std::pair<std::string_view, std::uint64_t> cases[] = {
      {"0", 0},
      {"1000000", 1000000},
      {"1B", 1},
      {"1KB", 1000},
      {"1kb", 1000},
      {"1MB", 1000000},
      {"1GB", 1000000000},
      {"1TB", 1000000000000},
      {"64KiB", 65536},
      {"1MiB", 1048576},
      {"1mib", 1048576},
      {"1GiB", 1ULL << 30},
      {"1TiB", 1ULL << 40},
      {"1k", 1024},
      {"1K", 1024},
      {"1m", 1048576},
      {"2g", 2ULL << 30},
      {"16777215t", 16777215ULL << 40},
      {"18446744073709551615", UINT64_MAX},
  };
  for (const auto& [text, want] : cases) {
    std::uint64_t got = 1;
    EXPECT_TRUE(parse_bytes(text, got)) << text;
    EXPECT_EQ(got, want) << text;
  }
}

TEST(Bytes, RejectsBadSyntaxAndOverflow) {
  for (std::string_view bad : {"", "K", "-1", "+1", "1.5MB", "1 MB", "1MBs", "1kibi", "1x", "1PB",
                               "16777216t", "18446744073709551616", "18446744073709551615b1",
                               "20000000TB", "99999999999999999999999"}) {
    std::uint64_t got = 42;
    EXPECT_FALSE(parse_bytes(bad, got)) << bad;
    EXPECT_EQ(got, 42U) << bad;
  }
}

TEST(Bytes, FormatsExactlyAndRoundTrips) {
  EXPECT_EQ(format_bytes(0), "0");
  EXPECT_EQ(format_bytes(1023), "1023");
  EXPECT_EQ(format_bytes(1000), "1KB");
  EXPECT_EQ(format_bytes(65536), "64KiB");
  EXPECT_EQ(format_bytes(1000000), "1MB");
  EXPECT_EQ(format_bytes(1048576), "1MiB");
  EXPECT_EQ(format_bytes(1000000000000), "1TB");  // not 976562500KiB
  for (std::uint64_t value : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{1024000},
                              std::uint64_t{3} << 40, UINT64_MAX}) {
    std::uint64_t back = 0;
    ASSERT_TRUE(parse_bytes(format_bytes(value), back)) << value;
    EXPECT_EQ(back, value);
  }
}

TEST(Bool, AcceptsCommonSpellingsOnly) {
  for (std::string_view yes : {"true", "TRUE", "True", "yes", "on", "1"}) {
    bool got = false;
    EXPECT_TRUE(parse_bool(yes, got) && got) << yes;
  }
  for (std::string_view no : {"false", "No", "off", "0"}) {
    bool got = true;
    EXPECT_TRUE(parse_bool(no, got) && !got) << no;
  }
  for (std::string_view bad : {"", "2", "tru", "yess", " true", "y"}) {
    bool got = true;
    EXPECT_FALSE(parse_bool(bad, got)) << bad;
  }
}

}  // namespace
}  // namespace wsgw::config
