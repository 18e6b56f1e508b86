#pragma once

// Reading the process_* metrics from /proc (Linux). register_process_metrics() in
// registry.h is the public entry point; the parser is exposed for tests.

#include <cstdint>
#include <optional>
#include <string_view>

namespace wsgw::metrics {

// The fields of /proc/<pid>/stat that the process_* metrics need, in kernel units.
struct ProcStat {
  std::uint64_t user_ticks = 0;     // field 14, utime
  std::uint64_t system_ticks = 0;   // field 15, stime
  std::uint64_t start_ticks = 0;    // field 22, starttime (clock ticks after boot)
  std::uint64_t virtual_bytes = 0;  // field 23, vsize
  std::uint64_t resident_pages = 0; // field 24, rss
};

// Parses the text of /proc/<pid>/stat. The command name (field 2) may itself contain
// spaces and ')', so fields are counted from the last ')'. nullopt if malformed.
std::optional<ProcStat> parse_proc_stat(std::string_view text) noexcept;

}  // namespace wsgw::metrics
