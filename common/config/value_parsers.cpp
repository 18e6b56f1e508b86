#include "common/config/value_parsers.h"

#include <array>
#include <charconv>
#include <limits>

namespace wsgw::config {
namespace {

constexpr std::uint64_t kU64Max = std::numeric_limits<std::uint64_t>::max();

bool is_digit(char c) { return c >= '0' && c <= '9'; }

char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (to_lower(a[i]) != to_lower(b[i])) return false;
  }
  return true;
}

// Reads the leading run of decimal digits into `value`; false on no digits or overflow.
bool take_digits(std::string_view& text, std::uint64_t& value) {
  std::size_t n = 0;
  while (n < text.size() && is_digit(text[n])) ++n;
  if (n == 0) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + n, value);
  if (ec != std::errc{} || end != text.data() + n) return false;
  text.remove_prefix(n);
  return true;
}

bool checked_mul_add(std::uint64_t value, std::uint64_t factor, std::uint64_t& total) {
  if (factor != 0 && value > kU64Max / factor) return false;
  const std::uint64_t product = value * factor;
  if (product > kU64Max - total) return false;
  total += product;
  return true;
}

bool is_host_name_char(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' || c == '-' ||
         c == '_';
}

// Inside brackets: hex digits, ':' and '.' (embedded IPv4), plus '%zone' with an
// interface name.
bool is_bracketed_host_char(char c) { return is_host_name_char(c) || c == ':' || c == '%'; }

}  // namespace

bool parse_host_port(std::string_view text, HostPort& out, std::string& err) {
  std::string_view host;
  std::string_view rest;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) {
      err = "missing ']' after IPv6 address";
      return false;
    }
    host = text.substr(1, close - 1);
    rest = text.substr(close + 1);
    if (host.empty() || host.find(':') == std::string_view::npos) {
      err = "brackets must hold an IPv6 address";
      return false;
    }
    for (char c : host) {
      if (!is_bracketed_host_char(c)) {
        err = "invalid character in IPv6 address";
        return false;
      }
    }
    if (rest.empty() || rest.front() != ':') {
      err = "expected ':PORT' after ']'";
      return false;
    }
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      err = "expected HOST:PORT (':PORT' for all interfaces)";
      return false;
    }
    host = text.substr(0, colon);
    rest = text.substr(colon);
    if (host.find(':') != std::string_view::npos) {
      err = "IPv6 addresses need brackets, as in [::1]:443";
      return false;
    }
    for (char c : host) {
      if (!is_host_name_char(c)) {
        err = "invalid character in host";
        return false;
      }
    }
  }
  rest.remove_prefix(1);  // the ':'
  std::uint64_t port = 0;
  if (rest.empty() || rest.size() > 5 || !take_digits(rest, port) || !rest.empty()) {
    err = "port must be a decimal number 0-65535";
    return false;
  }
  if (port > 65535) {
    err = "port must be a decimal number 0-65535";
    return false;
  }
  out.host.assign(host);
  out.port = static_cast<std::uint16_t>(port);
  return true;
}

std::string format_host_port(const HostPort& address) {
  std::string text;
  if (address.host.find(':') != std::string::npos) {
    text = "[" + address.host + "]";
  } else {
    text = address.host;
  }
  return text + ":" + std::to_string(address.port);
}

namespace {

struct Unit {
  std::string_view suffix;
  std::uint64_t factor;
};

// Longest suffixes first where one is a prefix of another ("ms" before "m").
constexpr std::array<Unit, 5> kDurationUnits{{
    {"ms", 1},
    {"s", 1000},
    {"m", 60 * 1000},
    {"h", 60 * 60 * 1000},
    {"d", 24 * 60 * 60 * 1000},
}};

}  // namespace

bool parse_duration_ms(std::string_view text, std::uint64_t& out_ms) {
  std::uint64_t value = 0;
  std::string_view rest = text;
  if (!take_digits(rest, value)) return false;
  if (rest.empty()) {
    out_ms = value;  // a bare number is milliseconds
    return true;
  }
  std::uint64_t total = 0;
  for (;;) {
    const Unit* unit = nullptr;
    for (const Unit& candidate : kDurationUnits) {
      if (rest.starts_with(candidate.suffix)) {
        unit = &candidate;
        break;
      }
    }
    if (unit == nullptr) return false;
    rest.remove_prefix(unit->suffix.size());
    if (!checked_mul_add(value, unit->factor, total)) return false;
    if (rest.empty()) break;
    if (!take_digits(rest, value) || rest.empty()) return false;  // "1m30" has no unit
  }
  out_ms = total;
  return true;
}

std::string format_duration_ms(std::uint64_t ms) {
  if (ms == 0) return "0ms";
  for (auto it = kDurationUnits.rbegin(); it != kDurationUnits.rend(); ++it) {
    if (ms % it->factor == 0) return std::to_string(ms / it->factor) + std::string(it->suffix);
  }
  return std::to_string(ms) + "ms";  // unreachable: the factor 1 always divides
}

namespace {

constexpr std::uint64_t kKi = 1024;
constexpr std::array<Unit, 13> kByteUnits{{
    {"b", 1},
    {"k", kKi},
    {"m", kKi * kKi},
    {"g", kKi * kKi * kKi},
    {"t", kKi * kKi * kKi * kKi},
    {"kb", 1000},
    {"mb", 1000 * 1000},
    {"gb", 1000 * 1000 * 1000},
    {"tb", 1000ULL * 1000 * 1000 * 1000},
    {"kib", kKi},
    {"mib", kKi * kKi},
    {"gib", kKi * kKi * kKi},
    {"tib", kKi * kKi * kKi * kKi},
}};

}  // namespace

bool parse_bytes(std::string_view text, std::uint64_t& out_bytes) {
  std::uint64_t value = 0;
  std::string_view rest = text;
  if (!take_digits(rest, value)) return false;
  std::uint64_t factor = 1;
  if (!rest.empty()) {
    const Unit* unit = nullptr;
    for (const Unit& candidate : kByteUnits) {
      if (iequals(rest, candidate.suffix)) unit = &candidate;
    }
    if (unit == nullptr) return false;
    factor = unit->factor;
  }
  std::uint64_t total = 0;
  if (!checked_mul_add(value, factor, total)) return false;
  out_bytes = total;
  return true;
}

std::string format_bytes(std::uint64_t bytes) {
  // The largest unit that divides exactly gives the smallest number: 10^12 is "1TB",
  // not "976562500KiB".
  static constexpr std::array<Unit, 8> kSpellings{{
      {"KiB", kKi},
      {"MiB", kKi * kKi},
      {"GiB", kKi * kKi * kKi},
      {"TiB", kKi * kKi * kKi * kKi},
      {"KB", 1000},
      {"MB", 1000 * 1000},
      {"GB", 1000 * 1000 * 1000},
      {"TB", 1000ULL * 1000 * 1000 * 1000},
  }};
  const Unit* best = nullptr;
  for (const Unit& unit : kSpellings) {
    if (bytes != 0 && bytes % unit.factor == 0 && (best == nullptr || unit.factor > best->factor)) {
      best = &unit;
    }
  }
  if (best == nullptr) return std::to_string(bytes);
  return std::to_string(bytes / best->factor) + std::string(best->suffix);
}

bool parse_bool(std::string_view text, bool& out) {
  for (std::string_view yes : {"true", "yes", "on", "1"}) {
    if (iequals(text, yes)) {
      out = true;
      return true;
    }
  }
  for (std::string_view no : {"false", "no", "off", "0"}) {
    if (iequals(text, no)) {
      out = false;
      return true;
    }
  }
  return false;
}

}  // namespace wsgw::config
