#include "bench/loadgen/options.h"

#include <charconv>
#include <optional>

#include "common/config/option_set.h"

namespace wsgw::loadgen {

bool parse_target_url(std::string_view url, TargetUrl& out, std::string& error) {
  TargetUrl t;
  if (url.starts_with("ws://")) {
    url.remove_prefix(5);
  } else if (url.starts_with("wss://")) {
    t.tls = true;
    url.remove_prefix(6);
  } else {
    error = "the URL must start with ws:// or wss://";
    return false;
  }
  size_t slash = url.find_first_of("/?");
  std::string_view authority = url.substr(0, slash);
  std::string_view rest = slash == std::string_view::npos ? std::string_view{} : url.substr(slash);
  if (authority.empty() || authority.find('@') != std::string_view::npos) {
    error = "the URL needs a host (and no user info)";
    return false;
  }
  if (authority.front() == '[') {
    error = "IPv6 hosts are not supported (the benchmarks bind 127.0.0.x source addresses)";
    return false;
  }
  size_t colon = authority.rfind(':');
  t.port = t.tls ? 443 : 80;
  if (colon != std::string_view::npos) {
    std::string_view port_text = authority.substr(colon + 1);
    unsigned port = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || ec != std::errc{} || ptr != port_text.data() + port_text.size() ||
        port == 0 || port > 65535) {
      error = "bad port in the URL";
      return false;
    }
    t.port = static_cast<uint16_t>(port);
    authority = authority.substr(0, colon);
  }
  if (authority.empty()) {
    error = "the URL needs a host";
    return false;
  }
  t.host.assign(authority);
  t.host_header = t.host + ":" + std::to_string(t.port);
  std::string_view path = rest.substr(0, rest.find('?'));
  std::string_view query =
      rest.find('?') == std::string_view::npos ? std::string_view{} : rest.substr(rest.find('?') + 1);
  t.request_target.assign(path.empty() ? std::string_view("/socket.io/") : path);
  t.request_target.append("?EIO=4&transport=websocket");
  if (!query.empty()) t.request_target.append("&").append(query);
  for (char c : t.request_target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F) {
      error = "the URL path may not contain spaces or control characters";
      return false;
    }
  }
  out = std::move(t);
  return true;
}

OptionsResult parse_options(int argc, const char* const* argv, LoadgenOptions& o, TargetUrl& url_out) {
  OptionsResult result;
  config::OptionSet opts("wsgw-loadgen",
                         "Opens many idle Socket.IO v5 clients (Engine.IO v4 over WebSocket, ws:// "
                         "or wss:// without certificate checks) from one thread, holds them while "
                         "answering pings, and reports what happened");
  opts.add("url", "server URL: ws://HOST:PORT/PATH or wss://...", o.url);
  opts.add("connections", "clients to open", o.connections);
  opts.add("rate", "new connections started per second", o.rate);
  opts.add("max-inflight", "handshakes in progress at once (throttles above --rate)", o.max_inflight);
  opts.add("source-addrs", "local addresses to bind, used round-robin (e.g. 127.0.0.2,127.0.0.3)",
           o.source_addrs);
  opts.add_duration_ms("hold", "how long to keep the connections idle (SIGINT/SIGTERM ends it early)",
                       o.hold_ms);
  opts.add_duration_ms("connect-timeout",
                       "per connection: from TCP connect to the Socket.IO CONNECT reply", o.connect_timeout_ms);
  opts.add_duration_ms("close-timeout", "after the hold: how long to wait for close replies",
                       o.close_timeout_ms);
  opts.add("namespace", "Socket.IO namespace to join", o.nsp);
  opts.add_bytes("max-message", "largest server message accepted", o.max_message_bytes);
  opts.add("json", "write the final report (JSON) to this file", o.json_path);
  opts.add("ready-file", "write the connect-phase report (JSON) here when that phase ends",
           o.ready_file);
  opts.add("label", "name of this process in logs and reports", o.label);
  opts.add_duration_ms("progress", "progress line period on stderr (0 = none)", o.progress_ms);
  opts.add("track-event",
           "events counted as deliveries and timed by their \"ts\" field (µs since the epoch; "
           "empty = none)",
           o.track_event);
  opts.add("receipt-event",
           "answer every tracked event with this event, args {\"ts\":<its ts>} (empty = no answer)",
           o.receipt_event);
  opts.add("status-file", "during the hold: write the delivery count here (JSON) whenever it changes",
           o.status_file);
  auto no_env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  auto r = opts.parse(argc, argv, no_env);
  if (r.help) {
    result.help = true;
    result.text = opts.help_text();
    return result;
  }
  result.ok = r.ok;
  if (!r.ok) {
    result.text = r.error;
    return result;
  }
  auto fail = [&result](std::string why) {
    result.ok = false;
    result.text = std::move(why);
    return result;
  };
  if (o.connections == 0) return fail("--connections must be positive");
  if (!(o.rate > 0)) return fail("--rate must be positive");
  if (o.max_inflight == 0) return fail("--max-inflight must be positive");
  if (o.connect_timeout_ms == 0) return fail("--connect-timeout must be positive");
  if (o.nsp.empty() || o.nsp.front() != '/') return fail("--namespace must start with '/'");
  if (o.max_message_bytes == 0) return fail("--max-message must be positive");
  // Event names go into JSON text as they are: keep them to characters that need no escaping.
  for (const std::string* name : {&o.track_event, &o.receipt_event}) {
    for (char c : *name) {
      if (static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '\\' || c == 0x7F)
        return fail("event names may not contain quotes, backslashes or control characters");
    }
  }
  if (!o.receipt_event.empty() && o.track_event.empty())
    return fail("--receipt-event needs --track-event");
  std::string error;
  if (!parse_target_url(o.url, url_out, error)) return fail("--url: " + error);
  return result;
}

}  // namespace wsgw::loadgen
