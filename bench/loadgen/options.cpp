#include "bench/loadgen/options.h"

#include <charconv>
#include <cmath>
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
  t.polling_target = t.request_target;
  t.request_target.append("?EIO=4&transport=websocket");
  t.polling_target.append("?EIO=4&transport=polling");
  if (!query.empty()) {
    t.request_target.append("&").append(query);
    t.polling_target.append("&").append(query);
  }
  for (char c : t.request_target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F) {
      error = "the URL path may not contain spaces or control characters";
      return false;
    }
  }
  out = std::move(t);
  return true;
}

bool selected_by_share(uint64_t index, double share) {
  if (!(share > 0)) return false;
  if (share >= 1) return true;
  const auto before = static_cast<uint64_t>(std::floor(static_cast<double>(index) * share));
  const auto through = static_cast<uint64_t>(std::floor(static_cast<double>(index + 1) * share));
  return through > before;
}

OptionsResult parse_options(int argc, const char* const* argv, LoadgenOptions& o, TargetUrl& url_out) {
  OptionsResult result;
  config::OptionSet opts("wsgw-loadgen",
                         "Opens many idle Socket.IO v5 clients (Engine.IO v4 over WebSocket, ws:// "
                         "or wss:// without certificate checks, or a share of them over HTTP "
                         "long-polling) from one thread, holds them while "
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
  opts.add_bytes("max-message",
                 "largest server message accepted (a polling response body: up to 8 times this)",
                 o.max_message_bytes);
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
  opts.add("receipt-ack",
           "answer every tracked event that asks for an ack (42<id>[...]) with a Socket.IO ACK "
           "43<id>[] (a broadcast with acks); counted as receipts",
           o.receipt_ack);
  opts.add("status-file", "during the hold: write the delivery count here (JSON) whenever it changes",
           o.status_file);
  opts.add("pause-reading-share",
           "share of the clients (0..1, spread evenly) that stop reading when the hold begins "
           "(slow consumers); they read again only to see how the server ended them",
           o.pause_reading_share);
  opts.add_bytes("paused-rcvbuf", "SO_RCVBUF of the clients that stop reading (0 = system default)",
                 o.paused_rcvbuf);
  opts.add("churn-share",
           "share of the clients (0..1, spread evenly) that close and reconnect every --churn-period "
           "during the hold",
           o.churn_share);
  opts.add_duration_ms("churn-period", "how often the churning clients reconnect", o.churn_period_ms);
  opts.add("polling-share",
           "share of the clients (0..1, spread evenly) that use Engine.IO HTTP long-polling (http:// or "
           "https:// to the --url's host and path) instead of WebSocket, and never upgrade",
           o.polling_share);
  opts.add("sids-file", "when the hold begins, write the clients' Socket.IO sids here, one a line",
           o.sids_file);
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
  if ((!o.receipt_event.empty() || o.receipt_ack) && o.track_event.empty())
    return fail("--receipt-event and --receipt-ack need --track-event");
  if (!(o.pause_reading_share >= 0 && o.pause_reading_share <= 1))
    return fail("--pause-reading-share must be in 0..1");
  if (!(o.churn_share >= 0 && o.churn_share <= 1)) return fail("--churn-share must be in 0..1");
  if (o.churn_period_ms == 0) return fail("--churn-period must be positive");
  if (!(o.polling_share >= 0 && o.polling_share <= 1)) return fail("--polling-share must be in 0..1");
  // A slow consumer is a client that leaves its socket unread; a polling client would simply
  // stop asking, which is another scenario.
  if (o.polling_share > 0 && o.pause_reading_share > 0)
    return fail("--polling-share and --pause-reading-share cannot be combined");
  if (o.max_message_bytes > (uint64_t{1} << 40)) return fail("--max-message must be at most 1 TiB");
  if (o.paused_rcvbuf > (64u << 20)) return fail("--paused-rcvbuf must be at most 64 MiB");
  // A client that stopped reading cannot take part in a close-and-reconnect cycle.
  if (o.pause_reading_share > 0 && o.churn_share > 0)
    return fail("--pause-reading-share and --churn-share cannot be combined");
  std::string error;
  if (!parse_target_url(o.url, url_out, error)) return fail("--url: " + error);
  return result;
}

}  // namespace wsgw::loadgen
