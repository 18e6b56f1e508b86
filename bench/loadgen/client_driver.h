#pragma once
// Internals of wsgw-loadgen shared by its transports: the Driver that runs every client on one
// io_context, and the interface a client offers it. The WebSocket client lives in
// load_generator.cpp, the long-polling client in polling_client.cpp; both report to the Driver
// through the same calls, so deliveries, latency, receipts and failures are counted alike.
#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>

#include "bench/loadgen/client_protocol.h"
#include "bench/loadgen/load_generator.h"
#include "bench/loadgen/options.h"

namespace wsgw::loadgen::driver {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;
using SslStream = asio::ssl::stream<tcp::socket>;

// Where a client is; the names appear in failure kinds ("timeout_upgrade"). A polling client
// goes tcp_connect -> (tls_handshake) -> eio_open (the handshake GET) -> sio_connect -> established.
enum class Phase : uint8_t {
  not_started,
  tcp_connect,
  tls_handshake,
  upgrade,
  eio_open,
  sio_connect,
  established,
  closing,
  done,
};

const char* phase_name(Phase p);

// A short, bounded vocabulary for socket errors, so failure kinds stay few.
std::string error_kind(const error_code& ec);

// One client connection. Owned by the Driver for the whole run (never freed early), so handlers
// may capture `this`.
class ClientBase {
 public:
  virtual ~ClientBase() = default;
  virtual void start(const tcp::endpoint& target, const std::optional<asio::ip::address>& source) = 0;
  virtual void begin_close() = 0;  // after the hold: WebSocket close handshake / polling close packet
  virtual void abort() = 0;        // close the socket(s) now, report nothing more
  virtual void pause_reading() = 0;         // a slow consumer from now on
  virtual void resume_to_see_the_end() = 0; // after the hold: read again until the server ends it
  virtual const std::string& socket_sid() const = 0;

  Phase phase = Phase::not_started;
  Clock::time_point started_at;
  Clock::time_point closing_since;
  bool polling = false;          // chosen by --polling-share: HTTP long-polling, not WebSocket
  bool pause_candidate = false;  // chosen by --pause-reading-share
  bool paused = false;
  bool churn_member = false;     // in a churn slot (the original client or a reconnection)
  bool churn_closing = false;    // closed by the churn: its end is not a drop
  bool reconnect = false;        // started by the churn during the hold
};

// Everything one run needs; lives on LoadGenerator::run()'s stack.
struct Driver {
  enum class RunPhase : uint8_t { connecting, holding, closing, finished };

  Driver(const LoadgenOptions& o, const TargetUrl& u, LoadReport& r)
      : opts(o), url(u), report(r), ssl_ctx(asio::ssl::context::tls_client) {}

  int run();

  // Called by clients.
  void on_established(ClientBase& c, const SocketIoClient& sio);
  void on_lost(ClientBase& c, Phase at, const std::string& kind);
  void on_close_finished(bool clean);
  void on_delivery(const EventView& ev, const ClientBase& c);
  void on_reconnect_failed(const std::string& kind);
  void on_churn_closed(bool clean);
  void on_paused_end(const std::string& outcome);
  void write_status();

  ClientBase& start_client(bool is_reconnect, bool polling);
  void churn_tick();

  void arm_signals();
  void launch_tick();
  void sweep_tick();
  void maybe_end_connect_phase();
  void begin_hold();
  void begin_closing();
  void finish();
  void write_file_atomically(const std::string& path, const std::string& text);
  void print_progress(const char* what);
  // How clients answer tracked events (--receipt-ack / --receipt-event).
  ReceiptPolicy receipt_policy() const { return {opts.nsp, opts.receipt_event, opts.receipt_ack}; }

  const LoadgenOptions& opts;
  const TargetUrl& url;
  LoadReport& report;
  asio::io_context io{1};
  asio::ssl::context ssl_ctx;
  tcp::endpoint target;
  std::vector<asio::ip::address> sources;
  std::vector<std::unique_ptr<ClientBase>> clients;
  std::mt19937 rng{std::random_device{}()};

  RunPhase run_phase = RunPhase::connecting;
  uint64_t inflight = 0;
  uint64_t closing_pending = 0;
  Clock::time_point t_start;
  Clock::time_point t_last_established;
  Clock::time_point t_hold_start;
  Clock::time_point t_last_progress;
  uint64_t status_written_deliveries = UINT64_MAX;
  std::array<char, 64 * 1024> shared_read_buf{};  // plain clients read into it one at a time
  asio::steady_timer launch_timer{io};
  asio::steady_timer sweep_timer{io};
  asio::steady_timer phase_timer{io};  // hold, then close deadline
  asio::steady_timer churn_timer{io};
  std::vector<size_t> churn_slots;     // per churning slot: its current client's index in clients
  asio::signal_set signals{io, SIGINT, SIGTERM};
};

// Opens `sock` for a client connection: IPv4, bound to `source` when given (the port chosen at
// connect()), TCP_NODELAY, SO_RCVBUF when `rcvbuf` > 0. On failure returns false with
// `failure_kind` set ("socket_open_...", "bind_...").
bool open_client_socket(tcp::socket& sock, const std::optional<asio::ip::address>& source,
                        uint64_t rcvbuf, std::string& failure_kind);

// A long-polling client (polling_client.cpp), over TLS when `tls`.
std::unique_ptr<ClientBase> make_polling_client(Driver& owner, bool tls);

}  // namespace wsgw::loadgen::driver
