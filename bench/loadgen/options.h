#pragma once
// wsgw-loadgen's command line, and the target URL it names.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wsgw::loadgen {

// ws://HOST:PORT/PATH or wss://... as the load generator needs it.
struct TargetUrl {
  bool tls = false;
  std::string host;          // as written (IPv4 literal or a name resolved once at start)
  uint16_t port = 0;
  std::string host_header;   // "host:port" for the Host header
  std::string request_target;  // path plus "?EIO=4&transport=websocket" (and the URL's own query)
  std::string polling_target;  // path plus "?EIO=4&transport=polling" (and the URL's own query)
};

// Accepts ws:// and wss:// URLs with an explicit or default port (80/443) and a path
// ("/socket.io/" when absent). Fails with `error` set on anything else.
bool parse_target_url(std::string_view url, TargetUrl& out, std::string& error);

struct LoadgenOptions {
  std::string url = "ws://127.0.0.1:3000/socket.io/";
  uint32_t connections = 1000;
  double rate = 1000;                // new connections started per second
  uint32_t max_inflight = 1000;      // handshakes in progress at once
  std::vector<std::string> source_addrs;  // local addresses to bind, round-robin (empty = any)
  uint64_t hold_ms = 10000;          // keep the connections open (SIGINT/SIGTERM ends it early)
  uint64_t connect_timeout_ms = 15000;  // per connection: TCP connect to Socket.IO CONNECT ack
  uint64_t close_timeout_ms = 3000;     // after the hold: wait for the servers' close replies
  std::string nsp = "/";
  uint64_t max_message_bytes = 1000000;
  std::string json_path;             // final report
  std::string ready_file;            // written (atomically) when the connect phase ends
  std::string label;                 // names this process in logs and the report
  uint64_t progress_ms = 1000;       // progress line period on stderr (0 = none)
  // Delivery timing (bench/run.py): events named track_event are counted as deliveries and,
  // when their first argument has "ts" (µs since the Unix epoch), timed.
  std::string track_event = "message";
  std::string receipt_event;         // when set: answer every tracked event with this event
  bool receipt_ack = false;          // answer tracked events that ask for an ack with a Socket.IO ACK
  std::string status_file;           // during the hold: deliveries so far, rewritten as they change
  // Slow consumers (bench/run.py scenario 6): this share of the clients, spread evenly over the
  // launch order, stops reading when the hold begins, so the server's queue towards them fills.
  double pause_reading_share = 0;
  uint64_t paused_rcvbuf = 0;        // SO_RCVBUF of those clients (0 = the system's default)
  // Churn (scenario 4): this share of the clients, spread evenly, closes and reconnects (as a new
  // client) every churn_period_ms during the hold.
  double churn_share = 0;
  uint64_t churn_period_ms = 1000;
  std::string sids_file;             // the Socket.IO sids of the clients, one a line, at the hold
  // Long-polling (bench/run.py --polling-share): this share of the clients, spread evenly over the
  // launch order, speaks Engine.IO HTTP long-polling (http:// or https:// to the same host, path
  // and query as --url) and stays on it, without upgrading. Their churn reconnections poll too.
  double polling_share = 0;
};

// The largest polling response body a client accepts: a GET may batch several messages.
inline uint64_t max_polling_body_bytes(const LoadgenOptions& o) { return o.max_message_bytes * 8; }

// Whether the client launched as number `index` (0-based) belongs to a share of the clients
// spread evenly over the launch order: exactly floor(n * share) of the first n are chosen.
bool selected_by_share(uint64_t index, double share);

struct OptionsResult {
  bool ok = true;
  bool help = false;
  std::string text;  // the error, or the help text
};

// Parses argv (environment variables are ignored: the load generator is driven by scripts
// that pass everything explicitly). Validates ranges and the URL.
OptionsResult parse_options(int argc, const char* const* argv, LoadgenOptions& out,
                            TargetUrl& url_out);

}  // namespace wsgw::loadgen
