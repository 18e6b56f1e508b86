// libFuzzer target for the config module: the value parsers (with round-trip checks),
// YAML documents, and command lines (arguments separated by '\n').

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/config/option_set.h"
#include "common/config/value_parsers.h"

namespace {

using namespace wsgw::config;

bool plain_ascii(const std::string& text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

void check(bool condition) {
  if (!condition) std::abort();
}

void fuzz_value_parsers(std::string_view text) {
  std::uint64_t ms = 0;
  if (parse_duration_ms(text, ms)) {
    std::uint64_t back = 0;
    check(parse_duration_ms(format_duration_ms(ms), back) && back == ms);
  }
  std::uint64_t bytes = 0;
  if (parse_bytes(text, bytes)) {
    std::uint64_t back = 0;
    check(parse_bytes(format_bytes(bytes), back) && back == bytes);
  }
  HostPort address;
  std::string err;
  if (parse_host_port(text, address, err)) {
    HostPort back;
    check(parse_host_port(format_host_port(address), back, err) && back == address);
  }
  bool flag = false;
  parse_bool(text, flag);
}

struct Config {
  std::string listen = "0.0.0.0:3000";
  std::int64_t threads = 0;
  std::uint16_t workers = 1;
  bool conformance = false;
  std::vector<std::string> origins;
  std::string auth = "none";
  std::uint32_t ping_ms = 25000;
  std::uint64_t max_payload = 1000000;
  double ratio = 0.5;
  HostPort metrics;
  std::string secret;
};

void register_options(OptionSet& opts, Config& cfg) {
  opts.add("listen", "", cfg.listen);
  opts.add("threads", "", cfg.threads);
  opts.add("workers", "", cfg.workers);
  opts.add("conformance", "", cfg.conformance);
  opts.add("cors-origins", "", cfg.origins);
  opts.add_choice("auth", "", cfg.auth, {"none", "jwt"});
  opts.add_duration_ms("ping-interval", "", cfg.ping_ms);
  opts.add_bytes("max-payload", "", cfg.max_payload);
  opts.add("ratio", "", cfg.ratio);
  opts.add("metrics", "", cfg.metrics);
  opts.add_secret("jwt-secret", "", cfg.secret);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  fuzz_value_parsers(text);

  {
    Config cfg;
    OptionSet opts("fuzz", "");
    register_options(opts, cfg);
    if (opts.apply_yaml(text, "fuzz").ok) {
      // Whatever was accepted must dump to YAML that loads back (secrets aside).
      Config again;
      OptionSet reload("fuzz", "");
      register_options(reload, again);
      check(reload.apply_yaml(opts.dump_effective(), "dump").ok);
      check(again.threads == cfg.threads && again.workers == cfg.workers &&
            again.conformance == cfg.conformance && again.auth == cfg.auth && again.ping_ms == cfg.ping_ms &&
            again.max_payload == cfg.max_payload && again.ratio == cfg.ratio && again.metrics == cfg.metrics);
      // yaml-cpp's emitter replaces invalid UTF-8 and drops some control characters, so
      // free-form strings are compared only when they are plain ASCII.
      if (plain_ascii(cfg.listen)) check(again.listen == cfg.listen);
      if (std::all_of(cfg.origins.begin(), cfg.origins.end(), plain_ascii)) check(again.origins == cfg.origins);
    }
  }

  {
    // A command line, one argument per line. "config" is skipped so the fuzzer cannot
    // name files such as /dev/stdin and block.
    if (text.find("onfig") != std::string_view::npos || text.find("ONFIG") != std::string_view::npos) return 0;
    std::vector<std::string> args{"fuzz"};
    std::string_view rest = text;
    while (!rest.empty() && args.size() < 64) {
      const auto newline = rest.find('\n');
      args.emplace_back(rest.substr(0, newline));
      if (newline == std::string_view::npos) break;
      rest.remove_prefix(newline + 1);
    }
    std::vector<const char*> argv;
    for (const auto& arg : args) argv.push_back(arg.c_str());
    Config cfg;
    OptionSet opts("fuzz", "");
    register_options(opts, cfg);
    const ParseResult r = opts.parse(static_cast<int>(argv.size()), argv.data(),
                                     [](const std::string&) -> std::optional<std::string> { return std::nullopt; });
    check(r.ok || !r.error.empty());
    (void)opts.help_text();
  }
  return 0;
}
