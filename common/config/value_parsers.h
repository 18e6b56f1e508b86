#pragma once

// Parsers for the value formats that configuration options use: listen addresses,
// durations and byte sizes. All are strict (no surrounding whitespace, no signs),
// never throw, and write their output only on success.

#include <cstdint>
#include <string>
#include <string_view>

namespace wsgw::config {

// A listen/connect address. An empty host means "all interfaces": the listener picks
// the wildcard address (0.0.0.0, or :: for dual stack). Port 0 asks the kernel for an
// ephemeral port, which tests rely on.
struct HostPort {
  std::string host;  // IPv6 literals are stored without brackets: "::1"
  std::uint16_t port = 0;

  friend bool operator==(const HostPort&, const HostPort&) = default;
};

// Accepts "127.0.0.1:3000", "localhost:80", "[::1]:443", "[fe80::1%eth0]:80" and
// ":8080" (all interfaces). Rejects a missing or non-decimal port, ports above 65535,
// unbracketed IPv6 literals and stray characters; `err` then says why.
bool parse_host_port(std::string_view text, HostPort& out, std::string& err);

// The inverse of parse_host_port: brackets a host that contains ':'.
std::string format_host_port(const HostPort& address);

// Durations in milliseconds: a bare integer is milliseconds ("25000"); otherwise one or
// more <integer><unit> terms that are summed ("300ms", "25s", "2m", "1h", "1d", "1m30s").
// Units are lowercase only, so "M" can never be mistaken for months. No fractions
// ("1.5s" -> write "1500ms"). Fails on anything else, including uint64 overflow.
bool parse_duration_ms(std::string_view text, std::uint64_t& out_ms);

// The shortest exact spelling: 25000 -> "25s", 90000 -> "90s", 300 -> "300ms", 0 -> "0ms".
std::string format_duration_ms(std::uint64_t ms);

// Byte sizes: an integer with an optional case-insensitive suffix.
//   (none), B             x1
//   KB, MB, GB, TB        powers of 1000   (SI, as disk vendors and the IEC define them)
//   KiB, MiB, GiB, TiB    powers of 1024   (IEC)
//   K, M, G, T            powers of 1024   (the shorthand of Java -Xmx, nginx, etc.)
// "1MB" = 1000000, "1MiB" = "1m" = 1048576. Fails on anything else, including overflow.
bool parse_bytes(std::string_view text, std::uint64_t& out_bytes);

// An exact, re-parseable spelling with the largest unit that divides exactly.
// 65536 -> "64KiB", 1000000 -> "1MB", 1000 -> "1KB", 1023 -> "1023".
std::string format_bytes(std::uint64_t bytes);

// Booleans as people write them in flags, environment variables and YAML:
// true/false, yes/no, on/off, 1/0 (case-insensitive).
bool parse_bool(std::string_view text, bool& out);

}  // namespace wsgw::config
