#include "common/metrics/registry.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace wsgw::metrics {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(MetricsRender, ContentTypeIsTextFormat004) {
  EXPECT_EQ(kContentType, "text/plain; version=0.0.4; charset=utf-8");
}

TEST(MetricsRender, EmptyRegistryRendersNothing) {
  Registry registry;
  EXPECT_EQ(registry.render(), "");
}

TEST(MetricsRender, UnlabelledCounterIsZeroBeforeFirstUse) {
  Registry registry;
  registry.counter("requests_total", "Requests handled.");
  EXPECT_EQ(registry.render(),
            "# HELP requests_total Requests handled.\n"
            "# TYPE requests_total counter\n"
            "requests_total 0\n");
}

TEST(MetricsRender, UnlabelledCounter) {
  Registry registry;
  Counter& requests = registry.counter("requests_total", "Requests handled.").with({});
  requests.inc();
  requests.inc(41);
  EXPECT_EQ(requests.value(), 42u);
  EXPECT_EQ(registry.render(),
            "# HELP requests_total Requests handled.\n"
            "# TYPE requests_total counter\n"
            "requests_total 42\n");
}

TEST(MetricsRender, CounterKeepsFullUint64Precision) {
  Registry registry;
  Counter& bytes = registry.counter("bytes_total", "Bytes.").with({});
  bytes.inc(18446744073709551615ull);
  EXPECT_EQ(registry.render(),
            "# HELP bytes_total Bytes.\n"
            "# TYPE bytes_total counter\n"
            "bytes_total 18446744073709551615\n");
}

TEST(MetricsRender, LabelledCounterSortedByLabelValues) {
  Registry registry;
  auto& closes = registry.counter("ws_closes_total", "Closed connections.", {"code", "reason"});
  closes.with({"4000", "slow"}).inc(2);
  closes.with(std::vector<std::string>{"1000", "normal"}).inc();
  closes.with({"4000", "slow"}).inc();
  EXPECT_EQ(registry.render(),
            "# HELP ws_closes_total Closed connections.\n"
            "# TYPE ws_closes_total counter\n"
            "ws_closes_total{code=\"1000\",reason=\"normal\"} 1\n"
            "ws_closes_total{code=\"4000\",reason=\"slow\"} 3\n");
}

TEST(MetricsRender, LabelledFamilyWithoutChildrenIsOmitted) {
  Registry registry;
  registry.counter("never_used_total", "Unused.", {"kind"});
  registry.gauge("never_set", "Unused.", {"kind"});
  EXPECT_EQ(registry.render(), "");
}

TEST(MetricsRender, UnlabelledGauge) {
  Registry registry;
  Gauge& open = registry.gauge("connections_open", "Open connections.").with({});
  open.set(2.5);
  open.inc();
  open.dec(0.25);
  EXPECT_DOUBLE_EQ(open.value(), 3.25);
  EXPECT_EQ(registry.render(),
            "# HELP connections_open Open connections.\n"
            "# TYPE connections_open gauge\n"
            "connections_open 3.25\n");
}

TEST(MetricsRender, LabelledGaugeSpecialValues) {
  Registry registry;
  auto& temperature = registry.gauge("temperature", "Temp.", {"probe"});
  temperature.with({"a"}).set(-7);
  temperature.with({"b"}).set(kInf);
  temperature.with({"c"}).set(-kInf);
  temperature.with({"d"}).set(std::nan(""));
  temperature.with({"e"}).set(1e300);
  EXPECT_EQ(registry.render(),
            "# HELP temperature Temp.\n"
            "# TYPE temperature gauge\n"
            "temperature{probe=\"a\"} -7\n"
            "temperature{probe=\"b\"} +Inf\n"
            "temperature{probe=\"c\"} -Inf\n"
            "temperature{probe=\"d\"} NaN\n"
            "temperature{probe=\"e\"} 1e+300\n");
}

TEST(MetricsRender, UnlabelledHistogramIsCumulativeAndBoundIsInclusive) {
  Registry registry;
  Histogram& latency =
      registry.histogram("latency_seconds", "Latency.", {}, {0.25, 0.5, 1, 10}).with({});
  for (double v : {0.25, 0.375, 1.0, 5.0, 100.0}) latency.observe(v);
  EXPECT_EQ(registry.render(),
            "# HELP latency_seconds Latency.\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{le=\"0.25\"} 1\n"
            "latency_seconds_bucket{le=\"0.5\"} 2\n"
            "latency_seconds_bucket{le=\"1\"} 3\n"
            "latency_seconds_bucket{le=\"10\"} 4\n"
            "latency_seconds_bucket{le=\"+Inf\"} 5\n"
            "latency_seconds_sum 106.625\n"
            "latency_seconds_count 5\n");
}

TEST(MetricsRender, HistogramBoundaryValues) {
  Registry registry;
  Histogram& h = registry.histogram("h", "H.", {}, {-1, 0, 1}).with({});
  h.observe(-1);                                   // == first bound
  h.observe(std::nextafter(-1.0, 0.0));            // just above it: next bucket
  h.observe(0);                                    // == second bound
  h.observe(-0.0);                                 // -0 == 0
  h.observe(std::nextafter(1.0, 2.0));             // just above the last bound: +Inf
  h.observe(-kInf);                                // below everything: first bucket
  h.observe(kInf);                                 // +Inf bucket
  EXPECT_EQ(h.bucket_count(0), 2u);
  EXPECT_EQ(h.bucket_count(1), 3u);
  EXPECT_EQ(h.bucket_count(2), 0u);
  EXPECT_EQ(h.bucket_count(3), 2u);
}

TEST(MetricsRender, HistogramNaNCountsOnlyInInfBucket) {
  Registry registry;
  Histogram& h = registry.histogram("h", "H.", {}, {1}).with({});
  h.observe(std::nan(""));
  EXPECT_EQ(registry.render(),
            "# HELP h H.\n"
            "# TYPE h histogram\n"
            "h_bucket{le=\"1\"} 0\n"
            "h_bucket{le=\"+Inf\"} 1\n"
            "h_sum NaN\n"
            "h_count 1\n");
}

TEST(MetricsRender, LabelledHistogramPutsLeLast) {
  Registry registry;
  auto& sizes = registry.histogram("frame_bytes", "Frame sizes.", {"dir"}, {0.005, 1024});
  sizes.with({"in"}).observe(0.5);
  sizes.with({"in"}).observe(2048);
  EXPECT_EQ(registry.render(),
            "# HELP frame_bytes Frame sizes.\n"
            "# TYPE frame_bytes histogram\n"
            "frame_bytes_bucket{dir=\"in\",le=\"0.005\"} 0\n"
            "frame_bytes_bucket{dir=\"in\",le=\"1024\"} 1\n"
            "frame_bytes_bucket{dir=\"in\",le=\"+Inf\"} 2\n"
            "frame_bytes_sum{dir=\"in\"} 2048.5\n"
            "frame_bytes_count{dir=\"in\"} 2\n");
}

TEST(MetricsRender, HistogramWithoutBoundsAndTrailingInfBound) {
  Registry registry;
  registry.histogram("only_inf", "No bounds.", {}, {}).with({}).observe(3);
  registry.histogram("explicit_inf", "Trailing +Inf.", {}, {1, kInf}).with({}).observe(3);
  EXPECT_EQ(registry.render(),
            "# HELP explicit_inf Trailing +Inf.\n"
            "# TYPE explicit_inf histogram\n"
            "explicit_inf_bucket{le=\"1\"} 0\n"
            "explicit_inf_bucket{le=\"+Inf\"} 1\n"
            "explicit_inf_sum 3\n"
            "explicit_inf_count 1\n"
            "# HELP only_inf No bounds.\n"
            "# TYPE only_inf histogram\n"
            "only_inf_bucket{le=\"+Inf\"} 1\n"
            "only_inf_sum 3\n"
            "only_inf_count 1\n");
}

TEST(MetricsRender, EscapesHelpAndLabelValues) {
  Registry registry;
  auto& family = registry.counter("escaped_total", "back\\slash\nnew line \"quotes\" kept", {"v"});
  family.with({"q\"uote back\\slash new\nline"}).inc();
  EXPECT_EQ(registry.render(),
            "# HELP escaped_total back\\\\slash\\nnew line \"quotes\" kept\n"
            "# TYPE escaped_total counter\n"
            "escaped_total{v=\"q\\\"uote back\\\\slash new\\nline\"} 1\n");
}

TEST(MetricsRender, InvalidUtf8InLabelValueIsReplaced) {
  Registry registry;
  auto& family = registry.counter("ns_total", "Namespaces.", {"ns"});
  Counter& bad = family.with({"a\xff" "b"});
  EXPECT_EQ(&family.with({"a\xfe" "b"}), &bad);  // same rendered series, same child
  family.with({"caf\xc3\xa9"}).inc();              // valid UTF-8 is kept as is
  family.with({"\xed\xa0\x80"}).inc();             // a surrogate: three bad bytes
  family.with({"\xe2\x82"}).inc();                 // truncated sequence: two bad bytes
  bad.inc(2);
  EXPECT_EQ(registry.render(),
            "# HELP ns_total Namespaces.\n"
            "# TYPE ns_total counter\n"
            "ns_total{ns=\"a\xef\xbf\xbd" "b\"} 2\n"
            "ns_total{ns=\"caf\xc3\xa9\"} 1\n"
            "ns_total{ns=\"\xef\xbf\xbd\xef\xbf\xbd\"} 1\n"
            "ns_total{ns=\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"} 1\n");
}

TEST(MetricsRender, FamiliesSortedByName) {
  Registry registry;
  registry.gauge("b_metric", "B.");
  registry.counter("a_metric", "A.");
  const std::string out = registry.render();
  EXPECT_LT(out.find("a_metric"), out.find("b_metric"));
}

TEST(MetricsRender, EverySampleLineHasTheTextFormatShape) {
  Registry registry;
  registry.counter("c_total", "C.", {"a", "b"}).with({"x y", "\"\\\n"}).inc();
  registry.gauge("g", "G.").with({}).set(-0.125);
  registry.histogram("h", "H.", {"k"}, exponential_buckets(0.001, 10, 4)).with({"v"}).observe(0.5);
  register_process_metrics(registry);
  const std::regex sample_line(
      R"re([a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*",?)*\})? )re"
      R"re(([-+]?[0-9.]+(e[-+][0-9]+)?|[-+]Inf|NaN))re");
  const std::regex comment_line(R"(# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*)");
  std::istringstream lines(registry.render());
  std::string line;
  int samples = 0;
  while (std::getline(lines, line)) {
    if (line.starts_with("#")) {
      EXPECT_TRUE(std::regex_match(line, comment_line)) << line;
    } else {
      EXPECT_TRUE(std::regex_match(line, sample_line)) << line;
      ++samples;
    }
  }
  EXPECT_EQ(samples, 1 + 1 + (4 + 1 + 2) + 5);
}

TEST(MetricsFormat, Values) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(-0.0), "0");
  EXPECT_EQ(format_value(3), "3");
  EXPECT_EQ(format_value(-7), "-7");
  EXPECT_EQ(format_value(1e15), "1000000000000000");
  EXPECT_EQ(format_value(9007199254740991.0), "9007199254740991");
  EXPECT_EQ(format_value(0.25), "0.25");
  EXPECT_EQ(format_value(0.1), "0.1");
  EXPECT_EQ(format_value(1e-7), "1e-07");
  EXPECT_EQ(format_value(1e300), "1e+300");
  EXPECT_EQ(format_value(kInf), "+Inf");
  EXPECT_EQ(format_value(-kInf), "-Inf");
  EXPECT_EQ(format_value(std::nan("")), "NaN");
}

TEST(MetricsFormat, FiniteValuesRoundTrip) {
  for (double v : {0.1, 1.0 / 3, -2.5e-300, 123456.789, 9007199254740993.0, 1.7976931348623157e308,
                   4.9e-324, 0.005}) {
    const std::string text = format_value(v);
    EXPECT_EQ(std::strtod(text.c_str(), nullptr), v) << text;
  }
}

TEST(MetricsBuckets, Layouts) {
  EXPECT_EQ(exponential_buckets(1, 2, 4), (std::vector<double>{1, 2, 4, 8}));
  EXPECT_EQ(linear_buckets(0.5, 0.5, 3), (std::vector<double>{0.5, 1, 1.5}));
  EXPECT_EQ(linear_buckets(-1, 1, 3), (std::vector<double>{-1, 0, 1}));
  EXPECT_THROW(exponential_buckets(0, 2, 3), std::invalid_argument);
  EXPECT_THROW(exponential_buckets(1, 1, 3), std::invalid_argument);
  EXPECT_THROW(exponential_buckets(1, 2, 0), std::invalid_argument);
  EXPECT_THROW(linear_buckets(0, 0, 3), std::invalid_argument);
  EXPECT_THROW(linear_buckets(0, 1, -1), std::invalid_argument);
}

TEST(MetricsRegistration, SameDefinitionReturnsSameFamily) {
  Registry registry;
  auto& first = registry.counter("x_total", "X.", {"a"});
  auto& second = registry.counter("x_total", "Other help is ignored.", {"a"});
  EXPECT_EQ(&first, &second);
  auto& h1 = registry.histogram("h", "H.", {}, {1, 2});
  auto& h2 = registry.histogram("h", "H.", {}, {1, 2, kInf});
  EXPECT_EQ(&h1, &h2);
}

TEST(MetricsRegistration, ConflictingDefinitionsThrow) {
  Registry registry;
  registry.counter("x_total", "X.", {"a"});
  EXPECT_THROW(registry.gauge("x_total", "X.", {"a"}), std::invalid_argument);
  EXPECT_THROW(registry.counter("x_total", "X.", {"b"}), std::invalid_argument);
  EXPECT_THROW(registry.counter("x_total", "X."), std::invalid_argument);
  EXPECT_THROW(registry.gauge_callback("x_total", "X.", [] { return 1.0; }),
               std::invalid_argument);
  registry.histogram("h", "H.", {}, {1, 2});
  EXPECT_THROW(registry.histogram("h", "H.", {}, {1, 3}), std::invalid_argument);
  registry.gauge_callback("cb", "CB.", [] { return 1.0; });
  EXPECT_THROW(registry.gauge("cb", "CB."), std::invalid_argument);
  EXPECT_THROW(registry.counter_callback("cb", "CB.", [] { return 1.0; }),
               std::invalid_argument);
}

TEST(MetricsRegistration, NameValidation) {
  for (std::string_view good : {"a", "_a", "a:b", ":a", "http_requests_total", "A1_b2:c3"}) {
    EXPECT_TRUE(is_valid_metric_name(good)) << good;
  }
  for (std::string_view bad : {"", "1a", "a-b", "a b", "a.b", "caf\xc3\xa9", "a{", "a\n"}) {
    EXPECT_FALSE(is_valid_metric_name(bad)) << bad;
  }
  for (std::string_view good : {"a", "_a", "code", "A_1", "_"}) {
    EXPECT_TRUE(is_valid_label_name(good)) << good;
  }
  for (std::string_view bad : {"", "__a", "__", "a:b", "1a", "a-b", "le\""}) {
    EXPECT_FALSE(is_valid_label_name(bad)) << bad;
  }
}

TEST(MetricsRegistration, InvalidDefinitionsThrow) {
  Registry registry;
  EXPECT_THROW(registry.counter("1bad", "X."), std::invalid_argument);
  EXPECT_THROW(registry.gauge("bad-name", "X."), std::invalid_argument);
  EXPECT_THROW(registry.gauge_callback("bad name", "X.", [] { return 1.0; }),
               std::invalid_argument);
  EXPECT_THROW(registry.gauge_callback("empty_fn", "X.", {}), std::invalid_argument);
  EXPECT_THROW(registry.counter("c_total", "X.", {"__reserved"}), std::invalid_argument);
  EXPECT_THROW(registry.counter("c_total", "X.", {"a", "a"}), std::invalid_argument);
  EXPECT_THROW(registry.histogram("h", "H.", {"le"}, {1}), std::invalid_argument);
  EXPECT_THROW(registry.histogram("h", "H.", {}, {2, 1}), std::invalid_argument);
  EXPECT_THROW(registry.histogram("h", "H.", {}, {1, 1}), std::invalid_argument);
  EXPECT_THROW(registry.histogram("h", "H.", {}, {std::nan("")}), std::invalid_argument);
  EXPECT_THROW(registry.histogram("h", "H.", {}, {-kInf, 1}), std::invalid_argument);
  EXPECT_NO_THROW(registry.counter("le_is_fine_here_total", "X.", {"le"}));
  EXPECT_EQ(registry.render(), "");  // nothing invalid was registered
}

TEST(MetricsFamily, ChildReferencesStayValid) {
  Registry registry;
  auto& family = registry.counter("sessions_total", "S.", {"node"});
  Counter& first = family.with({"n0"});
  first.inc(7);
  for (int i = 1; i < 2000; ++i) family.with({std::to_string(i).insert(0, 1, 'n')}).inc();
  EXPECT_EQ(&family.with({"n0"}), &first);
  EXPECT_EQ(&family.with(std::vector<std::string>{"n0"}), &first);
  EXPECT_EQ(first.value(), 7u);
}

TEST(MetricsFamily, WrongLabelCountAssertsInDebug) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Registry registry;
  auto& family = registry.counter("c_total", "C.", {"a", "b"});
  EXPECT_DEBUG_DEATH(family.with({"only_one"}), "wrong number of label values");
  EXPECT_DEBUG_DEATH(family.with({"1", "2", "3"}), "wrong number of label values");
}

#ifdef NDEBUG
TEST(MetricsFamily, WrongLabelCountPadsOrTruncatesInRelease) {
  Registry registry;
  auto& family = registry.counter("c_total", "C.", {"a", "b"});
  EXPECT_EQ(&family.with({"x"}), &family.with({"x", ""}));
  EXPECT_EQ(&family.with({"x", "y", "z"}), &family.with({"x", "y"}));
}
#endif

TEST(MetricsConcurrency, IncrementsFromManyThreadsSum) {
  Registry registry;
  auto& counters = registry.counter("ops_total", "Ops.", {"kind"});
  auto& gauges = registry.gauge("level", "Level.");
  auto& histograms = registry.histogram("obs", "Obs.", {}, {0.5});
  constexpr int kThreads = 4;
  constexpr int kIterations = 100000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      // Children are resolved concurrently too: all threads must get the same ones.
      Counter& shared = counters.with({"shared"});
      Gauge& level = gauges.with({});
      Histogram& observed = histograms.with({});
      for (int i = 0; i < kIterations; ++i) {
        shared.inc();
        level.inc(2);
        level.dec();
        observed.observe(i % 2 == 0 ? 0.25 : 1.0);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(counters.with({"shared"}).value(), std::uint64_t{kThreads} * kIterations);
  EXPECT_DOUBLE_EQ(gauges.with({}).value(), double{kThreads} * kIterations);
  Histogram& observed = histograms.with({});
  EXPECT_EQ(observed.bucket_count(0), std::uint64_t{kThreads} * kIterations / 2);
  EXPECT_EQ(observed.bucket_count(1), std::uint64_t{kThreads} * kIterations / 2);
  EXPECT_DOUBLE_EQ(observed.sum(), kThreads * (kIterations / 2) * 1.25);
}

TEST(MetricsConcurrency, RenderWhileUpdatingAndCreatingChildren) {
  Registry registry;
  auto& family = registry.counter("busy_total", "Busy.", {"id"});
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop.load(); ++i) family.with({std::to_string(i % 500)}).inc();
  });
  for (int i = 0; i < 200; ++i) {
    const std::string out = registry.render();
    if (!out.empty()) {
      EXPECT_TRUE(out.starts_with("# HELP busy_total Busy.\n"));
    }
  }
  stop = true;
  writer.join();
}

TEST(MetricsCallbacks, ValueComputedAtScrapeTime) {
  Registry registry;
  double queue_depth = 3;
  registry.gauge_callback("queue_depth", "Queue depth.", [&] { return queue_depth; });
  EXPECT_EQ(registry.render(),
            "# HELP queue_depth Queue depth.\n"
            "# TYPE queue_depth gauge\n"
            "queue_depth 3\n");
  queue_depth = 0.5;
  EXPECT_EQ(registry.render(),
            "# HELP queue_depth Queue depth.\n"
            "# TYPE queue_depth gauge\n"
            "queue_depth 0.5\n");
}

TEST(MetricsCallbacks, ReRegistrationReplacesFunction) {
  Registry registry;
  registry.gauge_callback("g", "G.", [] { return 1.0; });
  registry.gauge_callback("g", "G.", [] { return 2.0; });
  EXPECT_EQ(registry.render(), "# HELP g G.\n# TYPE g gauge\ng 2\n");
}

TEST(MetricsCallbacks, CounterCallbackAndThrowingCallback) {
  Registry registry;
  registry.counter_callback("cpu_seconds_total", "CPU.", [] { return 1.5; });
  registry.gauge_callback("broken", "Broken.",
                          []() -> double { throw std::runtime_error("boom"); });
  EXPECT_EQ(registry.render(),
            "# HELP broken Broken.\n"
            "# TYPE broken gauge\n"
            "broken NaN\n"
            "# HELP cpu_seconds_total CPU.\n"
            "# TYPE cpu_seconds_total counter\n"
            "cpu_seconds_total 1.5\n");
}

}  // namespace
}  // namespace wsgw::metrics
