#pragma once
// Drives N Socket.IO clients (WebSocket, or a share of them on HTTP long-polling) from one
// io_context on one thread: starts them at a given rate, times each handshake, holds the
// established ones idle (answering pings), closes them, and reports. Coarse timeouts: one
// sweep timer for every client, no timer per client.
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "bench/loadgen/latency_histogram.h"
#include "bench/loadgen/options.h"

namespace wsgw::loadgen {

// What the run saw; serialised by to_json().
struct LoadReport {
  std::string phase = "connecting";  // connecting | holding | done
  uint64_t started = 0;
  uint64_t established = 0;
  uint64_t failed = 0;
  std::map<std::string, uint64_t> failures;  // kind -> count, before a client was established
  double connect_phase_s = 0;                // first start to the last client settled
  double connect_rate_per_s = 0;             // established / (first start .. last established)
  std::vector<float> handshake_ms;           // TCP connect start to Socket.IO CONNECT reply
  uint64_t server_ping_interval_ms = 0;      // as announced in the first open packet
  uint64_t server_ping_timeout_ms = 0;
  double hold_s = 0;                         // how long the hold actually lasted
  uint64_t dropped = 0;                      // established clients lost before the close
  std::map<std::string, uint64_t> drops;     // kind -> count
  uint64_t pings_answered = 0;
  uint64_t events_received = 0;
  uint64_t closed_cleanly = 0;   // close handshake completed (or server closed after our close)
  uint64_t close_timeouts = 0;   // no close reply within --close-timeout
  // Delivery timing (--track-event): latency = receive time - the event's "ts", both wall
  // clock µs since the epoch (same machine: the same clock on both ends).
  uint64_t deliveries = 0;          // tracked events received
  uint64_t deliveries_untimed = 0;  // ... of which without a usable "ts"
  uint64_t clock_skew = 0;          // ... with a "ts" in the future (counted as 0 µs)
  uint64_t receipts_sent = 0;       // --receipt-event answers queued
  uint64_t first_delivery_us = 0;   // receive times (µs since the epoch) of the first and last
  uint64_t last_delivery_us = 0;
  uint64_t min_sent_us = 0;         // smallest and largest "ts" seen
  uint64_t max_sent_us = 0;
  LatencyHistogram latency_us;
  // Slow consumers (--pause-reading-share): clients that stopped reading at the hold.
  uint64_t paused_clients = 0;
  uint64_t paused_deliveries = 0;  // tracked events they read anyway (before the pause, or at the end)
  // How each ended, seen when they read again after the hold: "ws_close_<code>" (the server's
  // close frame), "eof", "reset", ... or "still_open" (the server kept them).
  std::map<std::string, uint64_t> paused_outcomes;
  // Churn (--churn-share): clients that close and reconnect as new clients during the hold.
  uint64_t churn_pool = 0;             // clients taking part (each its own slot)
  uint64_t churn_disconnects = 0;      // closes started by the churn
  uint64_t churn_closed_cleanly = 0;   // ... that got the server's close reply (or EOF)
  uint64_t churn_close_timeouts = 0;
  uint64_t reconnects = 0;             // reconnections established
  std::map<std::string, uint64_t> reconnect_failures;  // kind -> count
  uint64_t reconnects_interrupted = 0; // still connecting when the hold ended
  uint64_t churn_skipped = 0;          // a slot's reconnect was still in progress at its turn
  uint64_t churn_deliveries = 0;       // tracked events received by churning clients
  std::vector<float> reconnect_handshake_ms;
  // Long-polling (--polling-share): clients on Engine.IO HTTP long-polling instead of WebSocket.
  // Their failures and drops are in failures/drops like the others' (kinds "poll_get_...",
  // "poll_post_..." for their HTTP requests).
  uint64_t polling_clients = 0;       // of the --connections clients (reconnections not counted)
  uint64_t polling_established = 0;
  uint64_t polling_deliveries = 0;    // tracked events they received (also in deliveries)
  uint64_t polling_gets = 0;          // GET responses (the handshake and each long poll)
  uint64_t polling_posts = 0;         // POST responses (CONNECT, pongs, receipts, close)
  uint64_t polling_request_retries = 0;     // a request resent once on a fresh connection: the
                                            // server had closed the idle keep-alive one
  uint64_t polling_connections_reopened = 0;  // new connections after the server closed one
  bool interrupted = false;      // a signal cut the connect phase short
  uint64_t client_rss_bytes = 0; // the load generator's own VmRSS when the hold began
};

std::string to_json(const LoadReport& report, const LoadgenOptions& options);

class LoadGenerator {
 public:
  LoadGenerator(LoadgenOptions options, TargetUrl url);
  ~LoadGenerator();
  LoadGenerator(const LoadGenerator&) = delete;
  LoadGenerator& operator=(const LoadGenerator&) = delete;

  // Runs to the end; returns the process exit code: 0 when every client connected and
  // stayed connected for the whole hold, 1 otherwise, 2 on a setup error.
  int run();

  const LoadReport& report() const { return report_; }

 private:
  LoadgenOptions options_;
  TargetUrl url_;
  LoadReport report_;
};

}  // namespace wsgw::loadgen
