// wsgw-loadgen: opens many idle Socket.IO clients against a server and reports (bench/README.md).
#include <csignal>
#include <cstdio>
#include <fstream>

#include "bench/loadgen/load_generator.h"
#include "bench/loadgen/options.h"

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  wsgw::loadgen::LoadgenOptions options;
  wsgw::loadgen::TargetUrl url;
  auto parsed = wsgw::loadgen::parse_options(argc, argv, options, url);
  if (parsed.help) {
    std::fputs(parsed.text.c_str(), stdout);
    return 0;
  }
  if (!parsed.ok) {
    std::fprintf(stderr, "wsgw-loadgen: %s\n(see wsgw-loadgen --help)\n", parsed.text.c_str());
    return 2;
  }
  wsgw::loadgen::LoadGenerator generator(options, url);
  const int rc = generator.run();
  // The run is over: a late SIGINT/SIGTERM (a driver stopping us) must not lose the report.
  std::signal(SIGINT, SIG_IGN);
  std::signal(SIGTERM, SIG_IGN);
  const auto& r = generator.report();
  const std::string json = wsgw::loadgen::to_json(r, options);
  if (options.json_path.empty()) {
    std::fputs(json.c_str(), stdout);
  } else {
    std::ofstream f(options.json_path, std::ios::trunc);
    f << json;
    if (!f.good()) {
      std::fprintf(stderr, "wsgw-loadgen: cannot write %s\n", options.json_path.c_str());
      return 2;
    }
  }
  std::fprintf(stderr,
               "[loadgen%s%s] done: established %llu/%u failed %llu dropped %llu rate %.0f/s "
               "pings %llu closed cleanly %llu\n",
               options.label.empty() ? "" : " ", options.label.c_str(),
               static_cast<unsigned long long>(r.established), options.connections,
               static_cast<unsigned long long>(r.failed), static_cast<unsigned long long>(r.dropped),
               r.connect_rate_per_s, static_cast<unsigned long long>(r.pings_answered),
               static_cast<unsigned long long>(r.closed_cleanly));
  return rc;
}
