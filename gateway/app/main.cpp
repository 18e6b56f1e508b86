// ws-gateway: the Socket.IO-compatible WebSocket gateway daemon.
#include <csignal>
#include <cstdio>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "common/config/option_set.h"
#include "gateway/app/gateway_config.h"
#include "gateway/app/gateway_server.h"

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  wsgw::app::GatewayConfig cfg;
  wsgw::config::OptionSet opts("ws-gateway",
                               "Socket.IO-compatible WebSocket gateway (Engine.IO v3/v4, "
                               "Socket.IO v4/v5, WebSocket and HTTP long-polling)");
  wsgw::app::declare_options(opts, cfg);
  auto r = opts.parse(argc, argv);
  if (r.help) {
    std::fputs(opts.help_text().c_str(), stdout);
    return 0;
  }
  std::string error;
  if (!r.ok || !wsgw::app::validate(cfg, error)) {
    std::fprintf(stderr, "ws-gateway: %s\n(see ws-gateway --help)\n",
                 r.ok ? error.c_str() : r.error.c_str());
    return 2;
  }
  auto logger = spdlog::stderr_color_mt("ws-gateway");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(cfg.log_level));
  spdlog::debug("effective configuration:\n{}", opts.dump_effective());

  wsgw::app::GatewayServer server(cfg);
  if (!server.start(error)) {
    spdlog::critical("{}", error);
    return 1;
  }
  return server.wait();
}
