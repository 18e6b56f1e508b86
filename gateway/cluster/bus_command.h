#pragma once
// The Redis pub/sub node bus (docs/cluster.md, "Node bus"): operators and tools PUBLISH a text
// command to "wsgw:bus" (every gateway) or "wsgw:bus:<node-name>" (one gateway). This is the
// pure reader of those commands; it never throws and bounds what it looks at, because anyone
// who can PUBLISH on the Redis can send anything.
//
// Grammar (ASCII, case-sensitive, words separated by spaces or tabs, surrounding white space
// ignored, at most kMaxBusCommandBytes):
//   log-level <trace|debug|info|warn|error>
//   drain
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace wsgw::cluster {

inline constexpr std::string_view kBusChannel = "wsgw:bus";         // every node
inline constexpr std::string_view kBusNodeChannelPrefix = "wsgw:bus:";  // + node name
inline constexpr size_t kMaxBusCommandBytes = 256;

inline std::string bus_node_channel(std::string_view node) {
  return std::string(kBusNodeChannelPrefix) + std::string(node);
}

struct BusCommand {
  enum class Kind : uint8_t { log_level, drain };
  // How the text was judged; also the `result` label of wsgw_bus_commands_total.
  enum class Status : uint8_t {
    ok,
    unknown,    // empty, too long, or a verb we do not know
    malformed,  // a known verb with wrong arguments
  };
  Status status = Status::unknown;
  Kind kind = Kind::drain;
  std::string_view level;  // log_level: one of trace, debug, info, warn, error (static storage)
  std::string error;       // why, when status != ok

  bool ok() const { return status == Status::ok; }
  // Bounded label values for metrics: "log-level", "drain" or "unknown".
  std::string_view command_label() const;
  std::string_view result_label() const;
};

BusCommand parse_bus_command(std::string_view text);

}  // namespace wsgw::cluster
