// ws-gateway: the Socket.IO-compatible WebSocket gateway daemon.
#include <csignal>
#include <string>

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
  if (auto exit_code = opts.parse_command_line(
          argc, argv, [&](std::string& error) { return wsgw::app::validate(cfg, error); })) {
    return *exit_code;
  }
  auto logger = spdlog::stderr_color_mt("ws-gateway");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(cfg.log_level));
  spdlog::debug("effective configuration:\n{}", opts.dump_effective());

  wsgw::app::GatewayServer server(cfg);
  std::string error;
  if (!server.start(error)) {
    spdlog::critical("{}", error);
    return 1;
  }
  return server.wait();
}
