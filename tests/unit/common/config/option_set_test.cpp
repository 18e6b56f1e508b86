#include "common/config/option_set.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace wsgw::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Every supported field type, with non-trivial defaults.
struct Config {
  std::string listen = "0.0.0.0:3000";
  std::int64_t threads = 0;
  std::uint32_t workers = 4;
  int backlog = -1;
  bool conformance = false;
  bool tls = true;
  std::vector<std::string> cors_origins{"https://a.example"};
  std::string auth = "none";
  std::uint64_t ping_interval_ms = 25000;
  std::uint32_t drain_timeout_ms = 500;
  std::uint64_t max_payload = 1000000;
  double sample_ratio = 0.25;
  HostPort metrics{"127.0.0.1", 9100};
  std::string jwt_secret;
  std::string redis_password = "hunter2";
};

struct Fixture {
  Config cfg;
  OptionSet opts{"ws-gateway", "Socket.IO-compatible WebSocket gateway"};
  std::map<std::string, std::string> env;

  Fixture() {
    opts.add("listen", "HOST:PORT for plain HTTP/WebSocket", cfg.listen);
    opts.add("threads", "I/O threads (0 = one per core)", cfg.threads);
    opts.add("workers", "worker count", cfg.workers);
    opts.add("backlog", "listen backlog (-1 = system default)", cfg.backlog);
    opts.add("conformance", "run the conformance mode", cfg.conformance);
    opts.add("tls", "serve TLS", cfg.tls);
    opts.add("cors-origins", "comma-separated list", cfg.cors_origins);
    opts.add_choice("auth", "none|jwt", cfg.auth, {"none", "jwt"});
    opts.add_duration_ms("ping-interval", "server ping period", cfg.ping_interval_ms);
    opts.add_duration_ms("drain-timeout", "drain period", cfg.drain_timeout_ms);
    opts.add_bytes("max-payload", "largest accepted message", cfg.max_payload);
    opts.add("sample-ratio", "trace sampling ratio", cfg.sample_ratio);
    opts.add("metrics", "Prometheus endpoint", cfg.metrics);
    opts.add_secret("jwt-secret", "HS256 key", cfg.jwt_secret);
    opts.add("redis-password", "Redis AUTH password", cfg.redis_password).secret();
  }

  ParseResult parse(std::vector<std::string> args) {
    std::vector<const char*> argv{"ws-gateway"};
    for (const auto& arg : args) argv.push_back(arg.c_str());
    return opts.parse(static_cast<int>(argv.size()), argv.data(), [this](const std::string& name) {
      auto it = env.find(name);
      return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
    });
  }
};

// A YAML file that deletes itself.
class TempFile {
 public:
  explicit TempFile(const std::string& contents) {
    static int counter = 0;
    path_ = (std::filesystem::temp_directory_path() /
             ("config_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".yaml"))
                .string();
    std::ofstream(path_) << contents;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::vector<std::string> list(std::initializer_list<const char*> items) { return {items.begin(), items.end()}; }

void expect_all_changed(const Config& cfg) {
  EXPECT_EQ(cfg.listen, "127.0.0.1:80");
  EXPECT_EQ(cfg.threads, -3);
  EXPECT_EQ(cfg.workers, 4294967295U);
  EXPECT_EQ(cfg.backlog, 128);
  EXPECT_TRUE(cfg.conformance);
  EXPECT_FALSE(cfg.tls);
  EXPECT_EQ(cfg.cors_origins, list({"https://x.example", "https://y.example"}));
  EXPECT_EQ(cfg.auth, "jwt");
  EXPECT_EQ(cfg.ping_interval_ms, 90000U);
  EXPECT_EQ(cfg.drain_timeout_ms, 300U);
  EXPECT_EQ(cfg.max_payload, 65536U);
  EXPECT_DOUBLE_EQ(cfg.sample_ratio, 0.5);
  EXPECT_EQ(cfg.metrics, (HostPort{"::1", 9200}));
  EXPECT_EQ(cfg.jwt_secret, "s3cret");
  EXPECT_EQ(cfg.redis_password, "pw");
}

TEST(OptionSet, ParseCommandLineTellsTheDaemonWhetherToGoOn) {
  // What both daemons' main() do: --help and errors end the process (0 / 2), else go on.
  const auto run = [](std::vector<const char*> argv, bool valid) {
    Fixture f;
    argv.insert(argv.begin(), "ws-gateway");
    return f.opts.parse_command_line(static_cast<int>(argv.size()), argv.data(), [valid](std::string& error) {
      if (!valid) error = "threads and workers disagree";
      return valid;
    });
  };
  EXPECT_EQ(run({"--threads", "3"}, true), std::nullopt);
  EXPECT_EQ(run({"--help"}, true), std::optional<int>(0));
  EXPECT_EQ(run({"--help", "--no-such-option"}, true), std::optional<int>(0)) << "--help wins";
  EXPECT_EQ(run({"--no-such-option"}, true), std::optional<int>(2));
  EXPECT_EQ(run({"--threads", "3"}, false), std::optional<int>(2)) << "the daemon's own checks";
}

TEST(OptionSet, NoArgumentsKeepsDefaults) {
  Fixture f;
  const ParseResult r = f.parse({});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_FALSE(r.help);
  EXPECT_EQ(f.cfg.listen, "0.0.0.0:3000");
  EXPECT_EQ(f.cfg.ping_interval_ms, 25000U);
  EXPECT_EQ(f.cfg.cors_origins, list({"https://a.example"}));
}

TEST(OptionSet, EveryTypeFromFlags) {
  Fixture f;
  const ParseResult r = f.parse({"--listen", "127.0.0.1:80", "--threads=-3", "--workers", "4294967295",
                                 "--backlog=128", "--conformance", "--tls=false", "--cors-origins",
                                 " https://x.example, ,https://y.example ", "--auth=jwt",
                                 "--ping-interval", "1m30s", "--drain-timeout=300", "--max-payload",
                                 "64KiB", "--sample-ratio=0.5", "--metrics", "[::1]:9200",
                                 "--jwt-secret=s3cret", "--redis_password", "pw"});
  ASSERT_TRUE(r.ok) << r.error;
  expect_all_changed(f.cfg);
}

TEST(OptionSet, EveryTypeFromYaml) {
  Fixture f;
  TempFile file(
      "listen: 127.0.0.1:80\n"
      "threads: -3\n"
      "workers: 4294967295\n"
      "backlog: 128\n"
      "conformance: yes\n"
      "tls: false\n"
      "cors_origins: [https://x.example, https://y.example]\n"
      "auth: jwt\n"
      "ping-interval: 1m30s\n"
      "drain_timeout: 300\n"
      "max-payload: 64KiB\n"
      "sample-ratio: 0.5\n"
      "metrics: '[::1]:9200'\n"
      "jwt_secret: s3cret\n"
      "redis-password: pw\n");
  const ParseResult r = f.parse({"--config", file.path()});
  ASSERT_TRUE(r.ok) << r.error;
  expect_all_changed(f.cfg);
}

TEST(OptionSet, EveryTypeFromEnvironment) {
  Fixture f;
  f.env = {{"WSGW_LISTEN", "127.0.0.1:80"},
           {"WSGW_THREADS", "-3"},
           {"WSGW_WORKERS", "4294967295"},
           {"WSGW_BACKLOG", "128"},
           {"WSGW_CONFORMANCE", "true"},
           {"WSGW_TLS", "0"},
           {"WSGW_CORS_ORIGINS", "https://x.example,https://y.example"},
           {"WSGW_AUTH", "jwt"},
           {"WSGW_PING_INTERVAL", "90s"},
           {"WSGW_DRAIN_TIMEOUT", "300ms"},
           {"WSGW_MAX_PAYLOAD", "64k"},
           {"WSGW_SAMPLE_RATIO", "0.5"},
           {"WSGW_METRICS", "[::1]:9200"},
           {"WSGW_JWT_SECRET", "s3cret"},
           {"WSGW_REDIS_PASSWORD", "pw"}};
  const ParseResult r = f.parse({});
  ASSERT_TRUE(r.ok) << r.error;
  expect_all_changed(f.cfg);
}

TEST(OptionSet, YamlListMayBeACommaSeparatedString) {
  Fixture f;
  ASSERT_TRUE(f.opts.apply_yaml("cors-origins: \"a, b\"\n", "inline").ok);
  EXPECT_EQ(f.cfg.cors_origins, list({"a", "b"}));
  ASSERT_TRUE(f.opts.apply_yaml("cors-origins: []\n", "inline").ok);
  EXPECT_TRUE(f.cfg.cors_origins.empty());
}

TEST(OptionSet, PrecedenceIsDefaultThenEnvThenFileThenFlags) {
  Fixture f;
  TempFile file("threads: 2\nworkers: 20\n");
  f.env = {{"WSGW_THREADS", "1"}, {"WSGW_WORKERS", "10"}, {"WSGW_BACKLOG", "100"}};
  const ParseResult r = f.parse({"--config", file.path(), "--threads", "3"});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(f.cfg.threads, 3);        // flag beats file and env
  EXPECT_EQ(f.cfg.workers, 20U);      // file beats env
  EXPECT_EQ(f.cfg.backlog, 100);      // env beats default
  EXPECT_EQ(f.cfg.listen, "0.0.0.0:3000");
}

TEST(OptionSet, ConfigFileMayComeFromEnvironmentButTheFlagWins) {
  TempFile from_env("threads: 7\n");
  TempFile from_flag("threads: 8\n");
  {
    Fixture f;
    f.env = {{"WSGW_CONFIG", from_env.path()}};
    ASSERT_TRUE(f.parse({}).ok);
    EXPECT_EQ(f.cfg.threads, 7);
  }
  {
    Fixture f;
    f.env = {{"WSGW_CONFIG", from_env.path()}};
    ASSERT_TRUE(f.parse({"--config=" + from_flag.path()}).ok);
    EXPECT_EQ(f.cfg.threads, 8);
  }
}

TEST(OptionSet, EmptyEnvironmentVariableCountsAsUnset) {
  Fixture f;
  f.env = {{"WSGW_THREADS", ""}, {"WSGW_CONFIG", ""}};
  ASSERT_TRUE(f.parse({}).ok);
  EXPECT_EQ(f.cfg.threads, 0);
}

TEST(OptionSet, RepeatedFlagLastWins) {
  Fixture f;
  ASSERT_TRUE(f.parse({"--threads=1", "--threads", "2", "--conformance", "--conformance=off"}).ok);
  EXPECT_EQ(f.cfg.threads, 2);
  EXPECT_FALSE(f.cfg.conformance);
}

TEST(OptionSet, RepeatedOptionCollectsEveryFlagVerbatimAndReplacesLowerSources) {
  auto parse = [](std::vector<std::string> args, std::map<std::string, std::string> env,
                  std::vector<std::string>& items) {
    OptionSet opts("ws-api", "test");
    opts.add_repeated("kafka-option", "librdkafka KEY=VALUE", items).secret();
    std::vector<const char*> argv{"ws-api"};
    for (const auto& arg : args) argv.push_back(arg.c_str());
    return opts.parse(static_cast<int>(argv.size()), argv.data(), [&env](const std::string& name) {
      auto it = env.find(name);
      return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
    });
  };
  std::vector<std::string> items;
  ASSERT_TRUE(parse({"--kafka-option", "ssl.cipher.suites=A,B", "--kafka-option=sasl.username=u"}, {}, items).ok);
  EXPECT_EQ(items, list({"ssl.cipher.suites=A,B", "sasl.username=u"})) << "commas stay inside an item";

  items.clear();
  ASSERT_TRUE(parse({}, {{"WSGW_KAFKA_OPTION", "a=1\nb=2\r\n\n"}}, items).ok);
  EXPECT_EQ(items, list({"a=1", "b=2"})) << "one item per line in the environment";

  items.clear();
  TempFile file("kafka-option:\n  - c=3\n  - d=4\n");
  ASSERT_TRUE(parse({"--config", file.path()}, {{"WSGW_KAFKA_OPTION", "a=1"}}, items).ok);
  EXPECT_EQ(items, list({"c=3", "d=4"})) << "the file replaces the environment";

  items.clear();
  ASSERT_TRUE(parse({"--config", file.path(), "--kafka-option", "e=5"}, {{"WSGW_KAFKA_OPTION", "a=1"}}, items).ok);
  EXPECT_EQ(items, list({"e=5"})) << "the command line replaces both";
}

TEST(OptionSet, NegativeNumberIsAValueNotAFlag) {
  Fixture f;
  ASSERT_TRUE(f.parse({"--threads", "-5"}).ok);
  EXPECT_EQ(f.cfg.threads, -5);
}

TEST(OptionSet, EmptyYamlFileSetsNothing) {
  Fixture f;
  TempFile file("");
  ASSERT_TRUE(f.parse({"--config", file.path()}).ok);
  EXPECT_EQ(f.cfg.listen, "0.0.0.0:3000");
}

TEST(OptionSet, HelpWinsOverEverythingElse) {
  for (const char* flag : {"--help", "-h"}) {
    Fixture f;
    const ParseResult r = f.parse({"--bogus", "stray", flag, "--threads=x"});
    EXPECT_TRUE(r.ok);
    EXPECT_TRUE(r.help);
  }
}

// Expects a failure whose message contains every one of `fragments`.
void expect_error(Fixture& f, std::vector<std::string> args, std::initializer_list<const char*> fragments) {
  const ParseResult r = f.parse(args);
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.help);
  for (const char* fragment : fragments) EXPECT_THAT(r.error, HasSubstr(fragment));
}

TEST(OptionSetErrors, CommandLine) {
  Fixture f;
  expect_error(f, {"--bogus=1"}, {"unknown option --bogus"});
  expect_error(f, {"stray"}, {"unexpected argument \"stray\""});
  expect_error(f, {"-x"}, {"unexpected argument \"-x\""});
  expect_error(f, {"--"}, {"unexpected argument \"--\""});
  expect_error(f, {"--conformance", "false"}, {"\"false\"", "--conformance=false"});
  expect_error(f, {"--threads"}, {"missing value for --threads"});
  expect_error(f, {"--listen", "--threads", "4"}, {"missing value for --listen"});
  expect_error(f, {"--config"}, {"missing value for --config"});
  expect_error(f, {"--config=a", "--config=b"}, {"--config given more than once"});
  expect_error(f, {"--config="}, {"--config needs a file name"});
}

TEST(OptionSetErrors, BadValuesNameTheOptionTheValueAndTheSource) {
  Fixture f;
  expect_error(f, {"--threads=abc"}, {"\"abc\"", "threads", "--threads", "expected an integer"});
  expect_error(f, {"--threads="}, {"\"\"", "threads", "expected an integer"});
  expect_error(f, {"--threads", "1.5"}, {"\"1.5\"", "expected an integer"});
  expect_error(f, {"--threads", "+1"}, {"expected an integer"});
  expect_error(f, {"--threads", "99999999999999999999"}, {"out of range"});
  expect_error(f, {"--workers=4294967296"}, {"\"4294967296\"", "workers", "out of range [0, 4294967295]"});
  expect_error(f, {"--workers=-1"}, {"\"-1\"", "out of range"});
  expect_error(f, {"--backlog=2147483648"}, {"out of range [-2147483648, 2147483647]"});
  expect_error(f, {"--auth=JWT"}, {"\"JWT\"", "auth", "expected one of: none, jwt"});
  expect_error(f, {"--tls=maybe"}, {"\"maybe\"", "tls", "expected true or false"});
  expect_error(f, {"--ping-interval=1.5s"}, {"\"1.5s\"", "ping-interval", "duration"});
  expect_error(f, {"--drain-timeout=50d"}, {"\"50d\"", "drain-timeout", "out of range"});  // > uint32 ms
  expect_error(f, {"--max-payload=1PB"}, {"\"1PB\"", "max-payload", "size"});
  expect_error(f, {"--max-payload=16777216t"}, {"max-payload"});  // overflows uint64
  expect_error(f, {"--sample-ratio=nan"}, {"sample-ratio", "finite"});
  expect_error(f, {"--sample-ratio=1e999"}, {"sample-ratio"});
  expect_error(f, {"--sample-ratio=x"}, {"expected a number"});
  expect_error(f, {"--metrics=::1:80"}, {"\"::1:80\"", "metrics", "brackets"});
}

TEST(OptionSetErrors, EnvironmentValuesNameTheVariable) {
  Fixture f;
  f.env = {{"WSGW_THREADS", "many"}};
  expect_error(f, {}, {"\"many\"", "threads", "environment variable WSGW_THREADS"});
}

TEST(OptionSetErrors, SecretValuesAreNeverEchoed) {
  std::uint64_t pin = 0;
  OptionSet opts("t", "");
  opts.add("pin", "a numeric secret", pin).secret();
  const char* argv[] = {"t", "--pin=12ab34"};
  const ParseResult r = opts.parse(2, argv, nullptr);
  ASSERT_FALSE(r.ok);
  EXPECT_THAT(r.error, HasSubstr("pin"));
  EXPECT_THAT(r.error, HasSubstr("***"));
  EXPECT_THAT(r.error, Not(HasSubstr("12ab34")));
}

TEST(OptionSetErrors, ConfigFile) {
  Fixture f;
  expect_error(f, {"--config", "/nonexistent/wsgw.yaml"}, {"/nonexistent/wsgw.yaml", "No such file"});

  const std::pair<const char*, std::vector<const char*>> cases[] = {
      {"listen: [unclosed\n", {"invalid YAML"}},
      {"a: b\n c: d: e\n", {"invalid YAML"}},
      {"\t- x\n", {"invalid YAML"}},
      {"just a string\n", {"mapping"}},
      {"- listen\n", {"mapping"}},
      {"listen: x\nbogus: 1\n", {"line 2", "unknown option \"bogus\""}},
      {"threads: abc\n", {"line 1", "\"abc\"", "threads", "expected an integer"}},
      {"workers: -1\n", {"workers", "out of range"}},
      {"auth: basic\n", {"\"basic\"", "auth", "expected one of"}},
      {"conformance: maybe\n", {"conformance", "true or false"}},
      {"ping-interval: soon\n", {"ping-interval", "duration"}},
      {"max-payload: lots\n", {"max-payload", "size"}},
      {"metrics: nohost\n", {"metrics", "HOST:PORT"}},
      {"listen:\n", {"listen", "no value"}},
      {"listen: [a, b]\n", {"listen", "not a list"}},
      {"listen: {a: b}\n", {"listen", "not a mapping"}},
      {"cors-origins: [[a]]\n", {"cors-origins", "plain values"}},
      {"threads: 1\nthreads: 2\n", {"line 2", "threads", "more than once"}},
      {"jwt-secret: a\njwt_secret: b\n", {"jwt-secret", "more than once"}},
      {"config: other.yaml\n", {"cannot be set inside a config file"}},
      {"[a]: 1\n", {"keys must be option names"}},
  };
  for (const auto& [yaml, fragments] : cases) {
    TempFile file(yaml);
    const ParseResult r = f.parse({"--config", file.path()});
    EXPECT_FALSE(r.ok) << yaml;
    EXPECT_THAT(r.error, HasSubstr(file.path())) << yaml;
    for (const char* fragment : fragments) EXPECT_THAT(r.error, HasSubstr(fragment)) << yaml;
  }
}

TEST(OptionSetErrors, HostileYamlDoesNotEscapeAsAnException) {
  Fixture f;
  for (const std::string& yaml : {std::string(100000, '['), std::string(100000, '{'), std::string("\x00\xff", 2),
                                  std::string("*unknown_alias\n"), std::string("a: &x [*x]\n")}) {
    ParseResult r;
    EXPECT_NO_THROW(r = f.opts.apply_yaml(yaml, "hostile"));
    EXPECT_FALSE(r.ok);
  }
}

TEST(OptionSetErrors, AliasesCannotMultiplyAScalarWithoutBound) {
  Fixture f;
  std::string yaml = "big: &big " + std::string(64 * 1024, 'x') + "\ncors-origins: [";
  for (int i = 0; i < 100; ++i) yaml += "*big, ";
  yaml += "*big]\n";
  // 'big' is no option, so put the anchor inside a valid option instead.
  yaml.replace(0, 3, "listen");
  const ParseResult r = f.opts.apply_yaml(yaml, "bomb");
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.error, HasSubstr("values add up to more than"));
}

TEST(OptionSetErrors, RegistrationMistakesFailParse) {
  const auto parse_with = [](auto register_options) {
    std::string a;
    std::string b;
    OptionSet opts("t", "");
    register_options(opts, a, b);
    const char* argv[] = {"t"};
    return opts.parse(1, argv, nullptr);
  };
  EXPECT_THAT(parse_with([](OptionSet& o, std::string& a, std::string& b) {
                o.add("name", "", a);
                o.add("name", "", b);
              }).error,
              HasSubstr("registered twice"));
  EXPECT_THAT(parse_with([](OptionSet& o, std::string& a, std::string&) { o.add("Bad_Name", "", a); }).error,
              HasSubstr("invalid option name"));
  EXPECT_THAT(parse_with([](OptionSet& o, std::string& a, std::string&) { o.add("config", "", a); }).error,
              HasSubstr("reserved"));
}

TEST(OptionSet, HelpTextListsEveryOptionWithTypeDefaultAndEnv) {
  Fixture f;
  const std::string help = f.opts.help_text();
  const char* expected[] = {
      "Usage: ws-gateway",
      "Socket.IO-compatible WebSocket gateway",
      "flags > config file > environment > defaults",
      "--config FILE",
      "-h, --help",
      "--listen <string>",
      "HOST:PORT for plain HTTP/WebSocket",
      "default 0.0.0.0:3000, env WSGW_LISTEN",
      "--threads <int>",
      "I/O threads (0 = one per core)",
      "default 0, env WSGW_THREADS",
      "--workers <uint>",
      "default 4, env WSGW_WORKERS",
      "--backlog <int>",
      "default -1,",
      "--conformance[=bool]",
      "default false, env WSGW_CONFORMANCE",
      "--tls[=bool]",
      "default true,",
      "--cors-origins <list>",
      "default https://a.example,",
      "--auth <none|jwt>",
      "default none, env WSGW_AUTH",
      "--ping-interval <duration>",
      "default 25s, env WSGW_PING_INTERVAL",
      "--drain-timeout <duration>",
      "default 500ms,",
      "--max-payload <size>",
      "default 1MB, env WSGW_MAX_PAYLOAD",
      "--sample-ratio <number>",
      "default 0.25,",
      "--metrics <host:port>",
      "default 127.0.0.1:9100,",
      "--jwt-secret <string>",
      "default \"\", env WSGW_JWT_SECRET",
      "--redis-password <string>",
      "default ***, env WSGW_REDIS_PASSWORD",
  };
  for (const char* fragment : expected) EXPECT_THAT(help, HasSubstr(fragment));
  EXPECT_THAT(help, Not(HasSubstr("hunter2")));
}

TEST(OptionSet, HelpShowsRegistrationTimeDefaultsAndAlignsDescriptions) {
  Fixture f;
  ASSERT_TRUE(f.parse({"--threads=9"}).ok);
  const std::string help = f.opts.help_text();
  EXPECT_THAT(help, HasSubstr("default 0, env WSGW_THREADS"));
  // Every description starts in the same column.
  const auto column_of = [&help](const std::string& text) {
    const auto at = help.find(text);
    return at - help.rfind('\n', at);
  };
  EXPECT_EQ(column_of("HOST:PORT for plain"), column_of("I/O threads"));
  EXPECT_EQ(column_of("HOST:PORT for plain"), column_of("default 0, env WSGW_THREADS"));
}

TEST(OptionSet, DumpEffectiveMasksSecretsAndNamesSources) {
  Fixture f;
  f.env = {{"WSGW_JWT_SECRET", "topsecret"}};
  ASSERT_TRUE(f.parse({"--threads=6", "--cors-origins=a,b"}).ok);
  const std::string dump = f.opts.dump_effective();
  EXPECT_THAT(dump, HasSubstr("threads: 6  # from --threads"));
  EXPECT_THAT(dump, HasSubstr("jwt-secret: \"***\"  # from WSGW_JWT_SECRET"));
  EXPECT_THAT(dump, HasSubstr("redis-password: \"***\"\n"));
  EXPECT_THAT(dump, HasSubstr("cors-origins: [a, b]"));
  EXPECT_THAT(dump, HasSubstr("ping-interval: 25s\n"));
  EXPECT_THAT(dump, HasSubstr("max-payload: 1MB\n"));
  EXPECT_THAT(dump, Not(HasSubstr("topsecret")));
  EXPECT_THAT(dump, Not(HasSubstr("hunter2")));
}

TEST(OptionSet, DumpShowsAnEmptySecretAsEmpty) {
  Fixture f;
  EXPECT_THAT(f.opts.dump_effective(), HasSubstr("jwt-secret: \"\"\n"));
}

TEST(OptionSet, DumpIsValidConfigInput) {
  Fixture changed;
  ASSERT_TRUE(changed.parse({"--listen", "127.0.0.1:80", "--threads=-3", "--workers", "4294967295",
                             "--backlog=128", "--conformance", "--tls=false", "--cors-origins",
                             "https://x.example,https://y.example", "--auth=jwt", "--ping-interval=90s",
                             "--drain-timeout=300", "--max-payload=64KiB", "--sample-ratio=0.5",
                             "--metrics=[::1]:9200"})
                  .ok);
  changed.cfg.jwt_secret = "s3cret";  // secrets are masked, so they do not round-trip
  changed.cfg.redis_password = "pw";
  Fixture reloaded;
  reloaded.cfg.jwt_secret = "s3cret";
  reloaded.cfg.redis_password = "pw";
  std::string dump = changed.opts.dump_effective();
  // Drop the masked secrets before feeding the dump back.
  for (const char* key : {"jwt-secret", "redis-password"}) {
    const auto at = dump.find(key);
    ASSERT_NE(at, std::string::npos);
    dump.erase(at, dump.find('\n', at) + 1 - at);
  }
  const ParseResult r = reloaded.opts.apply_yaml(dump, "dump");
  ASSERT_TRUE(r.ok) << r.error << "\n" << dump;
  expect_all_changed(reloaded.cfg);
}

}  // namespace
}  // namespace wsgw::config
