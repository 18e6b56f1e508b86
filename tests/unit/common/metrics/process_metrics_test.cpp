#include "common/metrics/process_metrics.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/metrics/registry.h"

namespace wsgw::metrics {
namespace {

// The value of the unlabelled sample `name` in `exposition`, or NaN if absent.
double sample_value(const std::string& exposition, const std::string& name) {
  const std::string prefix = "\n" + name + " ";
  const auto at = exposition.find(prefix);
  if (at == std::string::npos) return std::nan("");
  return std::strtod(exposition.c_str() + at + prefix.size(), nullptr);
}

TEST(ProcessMetrics, PresentWithTypes) {
  Registry registry;
  register_process_metrics(registry);
  const std::string out = registry.render();
  EXPECT_NE(out.find("# TYPE process_resident_memory_bytes gauge\n"), std::string::npos);
  EXPECT_NE(out.find("# TYPE process_virtual_memory_bytes gauge\n"), std::string::npos);
  EXPECT_NE(out.find("# TYPE process_open_fds gauge\n"), std::string::npos);
  EXPECT_NE(out.find("# TYPE process_cpu_seconds_total counter\n"), std::string::npos);
  EXPECT_NE(out.find("# TYPE process_start_time_seconds gauge\n"), std::string::npos);
}

TEST(ProcessMetrics, ValuesArePlausible) {
  Registry registry;
  register_process_metrics(registry);
  const std::string out = registry.render();
  const double rss = sample_value(out, "process_resident_memory_bytes");
  const double vsize = sample_value(out, "process_virtual_memory_bytes");
  EXPECT_GT(rss, 100 * 1024);
  EXPECT_GE(vsize, rss);
  EXPECT_GE(sample_value(out, "process_cpu_seconds_total"), 0);
  EXPECT_GE(sample_value(out, "process_open_fds"), 1);

  const double now = std::chrono::duration<double>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
  const double start = sample_value(out, "process_start_time_seconds");
  EXPECT_LE(start, now + 2);  // btime is whole seconds
  EXPECT_GT(start, now - 3600);
}

TEST(ProcessMetrics, OpenFdsFollowsOpenAndClose) {
  Registry registry;
  register_process_metrics(registry);
  const double before = sample_value(registry.render(), "process_open_fds");
  const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(sample_value(registry.render(), "process_open_fds"), before + 1);
  ::close(fd);
  EXPECT_EQ(sample_value(registry.render(), "process_open_fds"), before);
}

TEST(ProcessMetrics, RegisteringTwiceIsHarmless) {
  Registry registry;
  register_process_metrics(registry);
  EXPECT_NO_THROW(register_process_metrics(registry));
}

TEST(ProcStatParser, ParsesFieldsAfterTrickyCommandName) {
  // comm contains spaces and ") (" ; nice (field 19) is negative.
  const std::string text =
      "1234 (a b) (c) R 1 1234 1234 0 -1 4194304 100 0 0 0 "
      "17 23 0 0 20 -5 1 0 92128 3133440 412 18446744073709551615 0 0\n";
  const auto stat = parse_proc_stat(text);
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->user_ticks, 17u);
  EXPECT_EQ(stat->system_ticks, 23u);
  EXPECT_EQ(stat->start_ticks, 92128u);
  EXPECT_EQ(stat->virtual_bytes, 3133440u);
  EXPECT_EQ(stat->resident_pages, 412u);
}

TEST(ProcStatParser, RejectsMalformed) {
  EXPECT_FALSE(parse_proc_stat("").has_value());
  EXPECT_FALSE(parse_proc_stat("1234 no parenthesis R 1 2 3").has_value());
  EXPECT_FALSE(parse_proc_stat("1234 (x) R 1 1234 1234 0 -1 4194304 100 0 0 0 17").has_value());
  EXPECT_FALSE(parse_proc_stat("1234 (x) R 1 1234 1234 0 -1 4194304 100 0 0 0 "
                               "17 x 0 0 20 0 1 0 92128 3133440 412")
                   .has_value());
  EXPECT_FALSE(parse_proc_stat("1234 (x) R 1 1234 1234 0 -1 4194304 100 0 0 0 "
                               "17 23 0 0 20 0 1 0 92128 3133440 -412")
                   .has_value());
}

}  // namespace
}  // namespace wsgw::metrics
