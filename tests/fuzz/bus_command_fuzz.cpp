// libFuzzer target: the node bus command reader (gateway/cluster/bus_command.h) on arbitrary
// PUBLISH payloads: never crashes, and its verdicts are self-consistent.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "gateway/cluster/bus_command.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using wsgw::cluster::BusCommand;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const BusCommand c = wsgw::cluster::parse_bus_command(text);
  if (c.ok() != c.error.empty()) std::abort();
  if (c.ok() && size > wsgw::cluster::kMaxBusCommandBytes) std::abort();
  if (c.ok() && c.kind == BusCommand::Kind::log_level && c.level.empty()) std::abort();
  const auto command = c.command_label();
  if (command != "log-level" && command != "drain" && command != "unknown") std::abort();
  const auto result = c.result_label();
  if (result != "ok" && result != "malformed" && result != "unknown") std::abort();
  return 0;
}
