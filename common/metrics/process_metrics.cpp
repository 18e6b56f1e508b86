#include "common/metrics/process_metrics.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <fstream>
#include <string>

#include "common/metrics/registry.h"

namespace wsgw::metrics {
namespace {

// /proc/self/stat is a few hundred bytes; a fixed buffer keeps the scrape allocation-free
// and bounded.
std::optional<ProcStat> read_proc_self_stat() {
  const int fd = ::open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::array<char, 4096> buffer;
  std::size_t length = 0;
  while (length < buffer.size()) {
    const ssize_t n = ::read(fd, buffer.data() + length, buffer.size() - length);
    if (n <= 0) break;
    length += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return parse_proc_stat(std::string_view(buffer.data(), length));
}

double clock_ticks_per_second() {
  const long ticks = ::sysconf(_SC_CLK_TCK);
  return ticks > 0 ? static_cast<double>(ticks) : 100.0;
}

// Seconds since the epoch at boot, from the "btime" line of /proc/stat.
std::optional<double> boot_time_seconds() {
  std::ifstream stat_file("/proc/stat");
  std::string line;
  while (std::getline(stat_file, line)) {
    if (line.starts_with("btime ")) {
      std::uint64_t seconds = 0;
      const auto [ptr, ec] = std::from_chars(line.data() + 6, line.data() + line.size(), seconds);
      if (ec == std::errc()) return static_cast<double>(seconds);
      return std::nullopt;
    }
  }
  return std::nullopt;
}

double open_fd_count() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return std::nan("");
  // The directory stream itself holds an fd; leave it out of the count.
  const std::string own_fd = std::to_string(::dirfd(dir));
  double count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string_view name = entry->d_name;
    if (name != "." && name != ".." && name != own_fd) ++count;
  }
  ::closedir(dir);
  return count;
}

template <class Field>
double stat_value(Field field) {
  const auto stat = read_proc_self_stat();
  return stat ? field(*stat) : std::nan("");
}

}  // namespace

std::optional<ProcStat> parse_proc_stat(std::string_view text) noexcept {
  const auto close_paren = text.rfind(')');
  if (close_paren == std::string_view::npos) return std::nullopt;
  // Fields after ")" start with field 3 (state); we need fields 14, 15, 22, 23, 24.
  std::string_view rest = text.substr(close_paren + 1);
  std::array<std::uint64_t, 25> numbers{};  // indexed by field number
  for (int field = 3; field <= 24; ++field) {
    const auto start = rest.find_first_not_of(' ');
    if (start == std::string_view::npos) return std::nullopt;
    rest.remove_prefix(start);
    const auto end = std::min(rest.find_first_of(" \n"), rest.size());
    const std::string_view token = rest.substr(0, end);
    rest.remove_prefix(end);
    // Skip fields we do not use (state is a letter, nice and priority may be negative).
    if (field != 14 && field != 15 && field < 22) continue;
    const auto [ptr, ec] =
        std::from_chars(token.data(), token.data() + token.size(), numbers[field]);
    if (ec != std::errc() || ptr != token.data() + token.size()) return std::nullopt;
  }
  ProcStat stat;
  stat.user_ticks = numbers[14];
  stat.system_ticks = numbers[15];
  stat.start_ticks = numbers[22];
  stat.virtual_bytes = numbers[23];
  stat.resident_pages = numbers[24];
  return stat;
}

void register_process_metrics(Registry& registry) {
  const double ticks_per_second = clock_ticks_per_second();
  const double page_size = static_cast<double>(::sysconf(_SC_PAGESIZE));

  // The start time never changes: compute it once.
  double start_time = std::nan("");
  const auto boot_time = boot_time_seconds();
  if (const auto stat = read_proc_self_stat(); stat && boot_time) {
    start_time = *boot_time + static_cast<double>(stat->start_ticks) / ticks_per_second;
  }

  registry.gauge_callback("process_resident_memory_bytes", "Resident memory size in bytes.",
                          [page_size] {
                            return stat_value([&](const ProcStat& s) {
                              return static_cast<double>(s.resident_pages) * page_size;
                            });
                          });
  registry.gauge_callback("process_virtual_memory_bytes", "Virtual memory size in bytes.", [] {
    return stat_value([](const ProcStat& s) { return static_cast<double>(s.virtual_bytes); });
  });
  registry.gauge_callback("process_open_fds", "Number of open file descriptors.", open_fd_count);
  registry.counter_callback(
      "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
      [ticks_per_second] {
        return stat_value([&](const ProcStat& s) {
          return static_cast<double>(s.user_ticks + s.system_ticks) / ticks_per_second;
        });
      });
  registry.gauge_callback("process_start_time_seconds",
                          "Start time of the process since unix epoch in seconds.",
                          [start_time] { return start_time; });
}

}  // namespace wsgw::metrics
