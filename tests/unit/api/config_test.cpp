#include "api/app/api_config.h"

#include <optional>
#include <string>

#include <gtest/gtest.h>

namespace wsgw::api {
namespace {

config::ParseResult parse(ApiConfig& cfg, std::initializer_list<const char*> args) {
  config::OptionSet opts("ws-api", "test");
  declare_options(opts, cfg);
  std::vector<const char*> argv{"ws-api"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto no_env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  return opts.parse(static_cast<int>(argv.size()), argv.data(), no_env);
}

TEST(ApiConfig, DefaultsAreValid) {
  ApiConfig cfg;
  ASSERT_TRUE(parse(cfg, {}).ok);
  std::string error;
  EXPECT_TRUE(validate(cfg, error)) << error;
  EXPECT_EQ(cfg.grpc_listen, "127.0.0.1:50051");
  EXPECT_TRUE(cfg.metrics_listen.empty());
}

TEST(ApiConfig, FlagsFillTheStruct) {
  ApiConfig cfg;
  auto r = parse(cfg, {"--grpc-listen", "[::1]:6000", "--redis", "redis://r:6379/0",
                       "--kafka-brokers", "k1:9092, k2:9092", "--metrics-listen", ":9100",
                       "--log-level", "debug", "--max-payload", "2MiB", "--shutdown-grace", "3s"});
  ASSERT_TRUE(r.ok) << r.error;
  std::string error;
  EXPECT_TRUE(validate(cfg, error)) << error;
  EXPECT_EQ(cfg.grpc_listen, "[::1]:6000");
  EXPECT_EQ(cfg.redis, "redis://r:6379/0");
  EXPECT_EQ(cfg.kafka_brokers, (std::vector<std::string>{"k1:9092", "k2:9092"}));
  EXPECT_EQ(cfg.metrics_listen, ":9100");
  EXPECT_EQ(cfg.log_level, "debug");
  EXPECT_EQ(cfg.max_payload, 2u << 20);
  EXPECT_EQ(cfg.shutdown_grace_ms, 3000u);
}

TEST(ApiConfig, BadValuesAreRefused) {
  ApiConfig cfg;
  EXPECT_FALSE(parse(cfg, {"--log-level", "loud"}).ok);
  std::string error;
  for (auto mutate : std::initializer_list<void (*)(ApiConfig&)>{
           [](ApiConfig& c) { c.grpc_listen = ""; },
           [](ApiConfig& c) { c.grpc_listen = "localhost"; },
           [](ApiConfig& c) { c.metrics_listen = "1.2.3.4:99999"; },
           [](ApiConfig& c) { c.redis = "http://r:6379"; },
           [](ApiConfig& c) { c.max_payload = 0; },
           [](ApiConfig& c) { c.max_payload = 65ull << 20; },
       }) {
    ApiConfig c;
    mutate(c);
    EXPECT_FALSE(validate(c, error));
    EXPECT_FALSE(error.empty());
  }
}

TEST(ApiConfig, GrpcAddress) {
  EXPECT_EQ(grpc_address("127.0.0.1:50051"), "127.0.0.1:50051");
  EXPECT_EQ(grpc_address("[::1]:1"), "[::1]:1");
  EXPECT_EQ(grpc_address(":7000"), "[::]:7000");
  EXPECT_EQ(grpc_address("localhost:0"), "localhost:0");
}

}  // namespace
}  // namespace wsgw::api
