#include "bench/loadgen/options.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace wsgw::loadgen {
namespace {

TEST(TargetUrl, PlainAndTlsWithDefaults) {
  TargetUrl t;
  std::string err;
  ASSERT_TRUE(parse_target_url("ws://127.0.0.1:3000/socket.io/", t, err)) << err;
  EXPECT_FALSE(t.tls);
  EXPECT_EQ(t.host, "127.0.0.1");
  EXPECT_EQ(t.port, 3000);
  EXPECT_EQ(t.host_header, "127.0.0.1:3000");
  EXPECT_EQ(t.request_target, "/socket.io/?EIO=4&transport=websocket");

  ASSERT_TRUE(parse_target_url("wss://localhost", t, err)) << err;
  EXPECT_TRUE(t.tls);
  EXPECT_EQ(t.port, 443);
  EXPECT_EQ(t.request_target, "/socket.io/?EIO=4&transport=websocket");

  ASSERT_TRUE(parse_target_url("ws://h:80/custom/path/?token=abc", t, err)) << err;
  EXPECT_EQ(t.request_target, "/custom/path/?EIO=4&transport=websocket&token=abc");
  EXPECT_EQ(t.polling_target, "/custom/path/?EIO=4&transport=polling&token=abc");

  ASSERT_TRUE(parse_target_url("ws://127.0.0.1:3000/socket.io/", t, err)) << err;
  EXPECT_EQ(t.polling_target, "/socket.io/?EIO=4&transport=polling");
}

TEST(TargetUrl, RejectsWhatItCannotUse) {
  TargetUrl t;
  std::string err;
  for (const char* bad : {"http://127.0.0.1:3000/", "ws://", "ws://:3000/", "ws://h:0/", "ws://h:70000/",
                          "ws://h:12x/", "ws://[::1]:3000/", "ws://user@h/", "ws://h/a b"}) {
    EXPECT_FALSE(parse_target_url(bad, t, err)) << bad;
    EXPECT_FALSE(err.empty()) << bad;
  }
}

OptionsResult parse(std::vector<const char*> args, LoadgenOptions& o, TargetUrl& t) {
  args.insert(args.begin(), "wsgw-loadgen");
  return parse_options(static_cast<int>(args.size()), args.data(), o, t);
}

TEST(LoadgenOptions, ParsesTheDocumentedExample) {
  LoadgenOptions o;
  TargetUrl t;
  auto r = parse({"--url", "ws://127.0.0.1:3000/socket.io/", "--connections", "5000", "--rate", "2000",
                  "--source-addrs", "127.0.0.2,127.0.0.3", "--hold", "20s", "--json", "out.json"},
                 o, t);
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_EQ(o.connections, 5000u);
  EXPECT_DOUBLE_EQ(o.rate, 2000);
  EXPECT_EQ(o.source_addrs, (std::vector<std::string>{"127.0.0.2", "127.0.0.3"}));
  EXPECT_EQ(o.hold_ms, 20000u);
  EXPECT_EQ(o.json_path, "out.json");
  EXPECT_EQ(t.port, 3000);
}

TEST(LoadgenOptions, DeliveryTimingOptions) {
  LoadgenOptions o;
  TargetUrl t;
  EXPECT_EQ(o.track_event, "message");
  EXPECT_TRUE(o.receipt_event.empty());
  auto r = parse({"--receipt-event", "receipt", "--status-file", "s.json", "--track-event", "news"}, o, t);
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_EQ(o.receipt_event, "receipt");
  EXPECT_EQ(o.track_event, "news");
  EXPECT_EQ(o.status_file, "s.json");
  for (std::vector<const char*> bad : std::vector<std::vector<const char*>>{
           {"--receipt-event", "a\"b"}, {"--track-event", "x\\y"}, {"--receipt-event", "r", "--track-event", ""}}) {
    LoadgenOptions fresh;
    EXPECT_FALSE(parse(bad, fresh, t).ok) << bad[1];
  }
}

TEST(LoadgenOptions, HelpAndErrors) {
  LoadgenOptions o;
  TargetUrl t;
  auto h = parse({"--help"}, o, t);
  EXPECT_TRUE(h.help);
  EXPECT_NE(h.text.find("--source-addrs"), std::string::npos);
  for (std::vector<const char*> bad : std::vector<std::vector<const char*>>{
           {"--connections", "0"}, {"--rate", "0"}, {"--rate", "-5"}, {"--url", "http://x/"},
           {"--namespace", "custom"}, {"--hold", "soon"}, {"--no-such-flag", "1"}, {"--max-inflight", "0"}}) {
    LoadgenOptions fresh;
    auto r = parse(bad, fresh, t);
    EXPECT_FALSE(r.ok) << bad[0];
    EXPECT_FALSE(r.text.empty());
  }
}

TEST(LoadgenOptions, SlowConsumerAndChurnOptions) {
  LoadgenOptions o;
  TargetUrl t;
  auto r = parse({"--pause-reading-share", "0.1", "--paused-rcvbuf", "8KiB", "--sids-file", "s.txt"}, o, t);
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_DOUBLE_EQ(o.pause_reading_share, 0.1);
  EXPECT_EQ(o.paused_rcvbuf, 8192u);
  EXPECT_EQ(o.sids_file, "s.txt");
  LoadgenOptions c;
  r = parse({"--churn-share", "0.05", "--churn-period", "500ms"}, c, t);
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_DOUBLE_EQ(c.churn_share, 0.05);
  EXPECT_EQ(c.churn_period_ms, 500u);
  for (std::vector<const char*> bad : std::vector<std::vector<const char*>>{
           {"--pause-reading-share", "1.5"}, {"--pause-reading-share", "-0.1"}, {"--churn-share", "2"},
           {"--churn-period", "0"}, {"--paused-rcvbuf", "1GiB"},
           {"--churn-share", "0.1", "--pause-reading-share", "0.1"}}) {
    LoadgenOptions fresh;
    EXPECT_FALSE(parse(bad, fresh, t).ok) << bad[0] << " " << bad[1];
  }
}

TEST(LoadgenOptions, PollingShare) {
  LoadgenOptions o;
  TargetUrl t;
  EXPECT_DOUBLE_EQ(o.polling_share, 0);
  auto r = parse({"--polling-share", "0.1", "--churn-share", "0.05", "--max-message", "1000"}, o, t);
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_DOUBLE_EQ(o.polling_share, 0.1);
  EXPECT_EQ(max_polling_body_bytes(o), 8000u);
  for (const char* bad : {"-0.1", "1.5", "nan"}) {
    LoadgenOptions o2;
    EXPECT_FALSE(parse({"--polling-share", bad}, o2, t).ok) << bad;
  }
  // Slow consumers leave a WebSocket unread: not a polling scenario.
  LoadgenOptions o3;
  r = parse({"--polling-share", "0.5", "--pause-reading-share", "0.1"}, o3, t);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.text.find("polling"), std::string::npos);
}

TEST(SelectedByShare, PicksExactlyTheShareSpreadEvenly) {
  for (double share : {0.0, 0.05, 0.1, 0.25, 1.0 / 3, 0.5, 0.999, 1.0}) {
    for (uint64_t n : {1u, 7u, 10u, 100u, 1000u, 12345u}) {
      uint64_t chosen = 0;
      uint64_t longest_gap = 0, gap = 0;
      for (uint64_t i = 0; i < n; ++i) {
        if (selected_by_share(i, share)) {
          ++chosen;
          gap = 0;
        } else {
          longest_gap = std::max(longest_gap, ++gap);
        }
      }
      EXPECT_EQ(chosen, static_cast<uint64_t>(std::floor(static_cast<double>(n) * share + 1e-9)))
          << share << " of " << n;
      // Evenly spread: never more than ceil(1/share) unchosen in a row.
      if (share > 0 && chosen > 0) {
        EXPECT_LE(longest_gap, static_cast<uint64_t>(std::ceil(1 / share))) << share << " of " << n;
      }
    }
  }
  EXPECT_FALSE(selected_by_share(0, -1));
  EXPECT_TRUE(selected_by_share(5, 2));
}

}  // namespace
}  // namespace wsgw::loadgen
