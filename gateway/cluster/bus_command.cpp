#include "gateway/cluster/bus_command.h"

#include <array>

namespace wsgw::cluster {
namespace {

constexpr bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Splits off the next word; `rest` keeps what follows it.
std::string_view next_word(std::string_view& rest) {
  size_t i = 0;
  while (i < rest.size() && is_space(rest[i])) ++i;
  size_t j = i;
  while (j < rest.size() && !is_space(rest[j])) ++j;
  const std::string_view word = rest.substr(i, j - i);
  rest.remove_prefix(j);
  return word;
}

constexpr std::array<std::string_view, 5> kLevels = {"trace", "debug", "info", "warn", "error"};

// Printable excerpt of hostile input for an error text.
std::string excerpt(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 32)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  if (s.size() > 32) out += "...";
  return out;
}

}  // namespace

std::string_view BusCommand::command_label() const {
  if (status == Status::unknown) return "unknown";
  return kind == Kind::log_level ? "log-level" : "drain";
}

std::string_view BusCommand::result_label() const {
  switch (status) {
    case Status::ok: return "ok";
    case Status::malformed: return "malformed";
    case Status::unknown: break;
  }
  return "unknown";
}

BusCommand parse_bus_command(std::string_view text) {
  BusCommand c;
  if (text.size() > kMaxBusCommandBytes) {
    c.error = "command longer than " + std::to_string(kMaxBusCommandBytes) + " bytes";
    return c;
  }
  std::string_view rest = text;
  const std::string_view verb = next_word(rest);
  if (verb.empty()) {
    c.error = "empty command";
    return c;
  }
  if (verb == "drain") {
    c.kind = BusCommand::Kind::drain;
    if (!next_word(rest).empty()) {
      c.status = BusCommand::Status::malformed;
      c.error = "drain takes no argument";
      return c;
    }
    c.status = BusCommand::Status::ok;
    return c;
  }
  if (verb == "log-level") {
    c.kind = BusCommand::Kind::log_level;
    const std::string_view level = next_word(rest);
    if (!next_word(rest).empty()) {
      c.status = BusCommand::Status::malformed;
      c.error = "log-level takes one argument";
      return c;
    }
    for (auto known : kLevels) {
      if (level == known) {
        c.level = known;
        c.status = BusCommand::Status::ok;
        return c;
      }
    }
    c.status = BusCommand::Status::malformed;
    c.error = "log-level wants trace|debug|info|warn|error, not '" + excerpt(level) + "'";
    return c;
  }
  c.error = "unknown command '" + excerpt(verb) + "'";
  return c;
}

}  // namespace wsgw::cluster
