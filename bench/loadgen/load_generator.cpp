#include "bench/loadgen/load_generator.h"

#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <type_traits>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "bench/loadgen/client_driver.h"
#include "bench/loadgen/client_protocol.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

namespace wsgw::loadgen {

using driver::Clock;
using driver::error_code;
using driver::Phase;
using driver::tcp;
namespace asio = boost::asio;

namespace driver {

const char* phase_name(Phase p) {
  switch (p) {
    case Phase::not_started: return "not_started";
    case Phase::tcp_connect: return "tcp_connect";
    case Phase::tls_handshake: return "tls_handshake";
    case Phase::upgrade: return "upgrade";
    case Phase::eio_open: return "eio_open";
    case Phase::sio_connect: return "sio_connect";
    case Phase::established: return "established";
    case Phase::closing: return "closing";
    case Phase::done: return "done";
  }
  return "unknown";
}

std::string error_kind(const error_code& ec) {
  namespace e = asio::error;
  if (ec == e::eof) return "eof";
  if (ec == e::connection_refused) return "refused";
  if (ec == e::connection_reset) return "reset";
  if (ec == e::timed_out) return "timed_out";
  if (ec == e::broken_pipe) return "broken_pipe";
  if (ec == e::address_in_use) return "address_in_use";
  if (ec == e::no_descriptors) return "too_many_open_files";
  if (ec == e::no_buffer_space) return "no_buffer_space";
  if (ec == e::network_unreachable || ec == e::host_unreachable) return "unreachable";
  if (ec.category() == asio::error::get_ssl_category()) return "tls_error";
  if (ec == asio::ssl::error::stream_truncated) return "tls_truncated";
  return "errno_" + std::to_string(ec.value());
}

}  // namespace driver

namespace {

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

std::string upgrade_failure_kind(const UpgradeResult& r) {
  switch (r.status) {
    case UpgradeStatus::bad_status: return "upgrade_http_" + std::to_string(r.http_status);
    case UpgradeStatus::bad_accept: return "upgrade_bad_accept";
    case UpgradeStatus::bad_headers: return "upgrade_bad_headers";
    case UpgradeStatus::malformed: return "upgrade_malformed_response";
    case UpgradeStatus::too_large: return "upgrade_response_too_large";
    default: return "upgrade_unknown";
  }
}

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\t': out.append("\\t"); break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out.append(buf);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

void append_counts(std::string& out, const std::map<std::string, uint64_t>& m) {
  out.push_back('{');
  bool first = true;
  for (const auto& [k, v] : m) {
    if (!first) out.append(", ");
    first = false;
    append_json_string(out, k);
    out.append(": ").append(std::to_string(v));
  }
  out.push_back('}');
}

double percentile(std::vector<float> sorted, double q) {
  if (sorted.empty()) return 0;
  size_t idx = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size()))) ;
  idx = idx == 0 ? 0 : idx - 1;
  return sorted[std::min(idx, sorted.size() - 1)];
}

// This process's VmRSS (0 when /proc is unreadable): shows what the clients cost.
uint64_t own_rss_bytes() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;
  }
  return 0;
}

// Lets one process hold as many sockets as the hard limit allows.
void raise_open_file_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

}  // namespace

std::string to_json(const LoadReport& r, const LoadgenOptions& o) {
  std::string out;
  out.reserve(2048);
  out.append("{\n  \"label\": ");
  append_json_string(out, o.label);
  out.append(",\n  \"phase\": ");
  append_json_string(out, r.phase);
  out.append(",\n  \"url\": ");
  append_json_string(out, o.url);
  out.append(",\n  \"namespace\": ");
  append_json_string(out, o.nsp);
  out.append(",\n  \"source_addrs\": [");
  for (size_t i = 0; i < o.source_addrs.size(); ++i) {
    if (i) out.append(", ");
    append_json_string(out, o.source_addrs[i]);
  }
  out.append("],\n  \"target_connections\": ").append(std::to_string(o.connections));
  out.append(",\n  \"rate_requested_per_s\": ").append(json_number(o.rate));
  out.append(",\n  \"started\": ").append(std::to_string(r.started));
  out.append(",\n  \"established\": ").append(std::to_string(r.established));
  out.append(",\n  \"failed\": ").append(std::to_string(r.failed));
  out.append(",\n  \"failures\": ");
  append_counts(out, r.failures);
  out.append(",\n  \"interrupted\": ").append(r.interrupted ? "true" : "false");
  out.append(",\n  \"connect_phase_s\": ").append(json_number(r.connect_phase_s));
  out.append(",\n  \"connect_rate_per_s\": ").append(json_number(r.connect_rate_per_s));
  std::vector<float> sorted = r.handshake_ms;
  std::sort(sorted.begin(), sorted.end());
  out.append(",\n  \"handshake_ms\": {\"p50\": ").append(json_number(percentile(sorted, 0.50)));
  out.append(", \"p90\": ").append(json_number(percentile(sorted, 0.90)));
  out.append(", \"p99\": ").append(json_number(percentile(sorted, 0.99)));
  out.append(", \"max\": ").append(json_number(sorted.empty() ? 0 : sorted.back()));
  out.append("},\n  \"server_ping_interval_ms\": ").append(std::to_string(r.server_ping_interval_ms));
  out.append(",\n  \"server_ping_timeout_ms\": ").append(std::to_string(r.server_ping_timeout_ms));
  out.append(",\n  \"hold_s\": ").append(json_number(r.hold_s));
  out.append(",\n  \"alive_at_end_of_hold\": ").append(std::to_string(r.established - r.dropped));
  out.append(",\n  \"dropped_during_hold\": ").append(std::to_string(r.dropped));
  out.append(",\n  \"drops\": ");
  append_counts(out, r.drops);
  out.append(",\n  \"pings_answered\": ").append(std::to_string(r.pings_answered));
  out.append(",\n  \"events_received\": ").append(std::to_string(r.events_received));
  out.append(",\n  \"track_event\": ");
  append_json_string(out, o.track_event);
  out.append(",\n  \"receipt_event\": ");
  append_json_string(out, o.receipt_event);
  out.append(",\n  \"deliveries\": ").append(std::to_string(r.deliveries));
  out.append(",\n  \"deliveries_untimed\": ").append(std::to_string(r.deliveries_untimed));
  out.append(",\n  \"clock_skew\": ").append(std::to_string(r.clock_skew));
  out.append(",\n  \"receipts_sent\": ").append(std::to_string(r.receipts_sent));
  out.append(",\n  \"first_delivery_us\": ").append(std::to_string(r.first_delivery_us));
  out.append(",\n  \"last_delivery_us\": ").append(std::to_string(r.last_delivery_us));
  out.append(",\n  \"min_sent_us\": ").append(std::to_string(r.min_sent_us));
  out.append(",\n  \"max_sent_us\": ").append(std::to_string(r.max_sent_us));
  out.append(",\n  \"latency_us\": ").append(r.latency_us.to_json());
  out.append(",\n  \"paused_clients\": ").append(std::to_string(r.paused_clients));
  out.append(",\n  \"paused_deliveries\": ").append(std::to_string(r.paused_deliveries));
  out.append(",\n  \"paused_outcomes\": ");
  append_counts(out, r.paused_outcomes);
  out.append(",\n  \"churn_pool\": ").append(std::to_string(r.churn_pool));
  out.append(",\n  \"churn_disconnects\": ").append(std::to_string(r.churn_disconnects));
  out.append(",\n  \"churn_closed_cleanly\": ").append(std::to_string(r.churn_closed_cleanly));
  out.append(",\n  \"churn_close_timeouts\": ").append(std::to_string(r.churn_close_timeouts));
  out.append(",\n  \"reconnects\": ").append(std::to_string(r.reconnects));
  out.append(",\n  \"reconnect_failures\": ");
  append_counts(out, r.reconnect_failures);
  out.append(",\n  \"reconnects_interrupted\": ").append(std::to_string(r.reconnects_interrupted));
  out.append(",\n  \"churn_skipped\": ").append(std::to_string(r.churn_skipped));
  out.append(",\n  \"churn_deliveries\": ").append(std::to_string(r.churn_deliveries));
  std::vector<float> rsorted = r.reconnect_handshake_ms;
  std::sort(rsorted.begin(), rsorted.end());
  out.append(",\n  \"reconnect_handshake_ms\": {\"p50\": ").append(json_number(percentile(rsorted, 0.50)));
  out.append(", \"p99\": ").append(json_number(percentile(rsorted, 0.99)));
  out.append(", \"max\": ").append(json_number(rsorted.empty() ? 0 : rsorted.back()));
  out.append("}");
  out.append(",\n  \"polling_share\": ").append(json_number(o.polling_share));
  out.append(",\n  \"polling_clients\": ").append(std::to_string(r.polling_clients));
  out.append(",\n  \"polling_established\": ").append(std::to_string(r.polling_established));
  out.append(",\n  \"polling_deliveries\": ").append(std::to_string(r.polling_deliveries));
  out.append(",\n  \"polling_gets\": ").append(std::to_string(r.polling_gets));
  out.append(",\n  \"polling_posts\": ").append(std::to_string(r.polling_posts));
  out.append(",\n  \"polling_request_retries\": ").append(std::to_string(r.polling_request_retries));
  out.append(",\n  \"polling_connections_reopened\": ")
      .append(std::to_string(r.polling_connections_reopened));
  out.append(",\n  \"client_rss_bytes\": ").append(std::to_string(r.client_rss_bytes));
  out.append(",\n  \"closed_cleanly\": ").append(std::to_string(r.closed_cleanly));
  out.append(",\n  \"close_timeouts\": ").append(std::to_string(r.close_timeouts));
  out.append("\n}\n");
  return out;
}

// ---------------------------------------------------------------------------------------

namespace driver {

namespace {

template <class Stream>
class Client final : public ClientBase {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, SslStream>;

  explicit Client(Driver& owner)
      : owner_(owner), stream_(make_stream(owner)), reader_(owner.opts.max_message_bytes),
        sio_(owner.opts.nsp) {}

  void start(const tcp::endpoint& target, const std::optional<asio::ip::address>& source) override {
    started_at = Clock::now();
    phase = Phase::tcp_connect;
    auto& sock = socket();
    std::string failure;
    if (!open_client_socket(sock, source, pause_candidate ? owner_.opts.paused_rcvbuf : 0, failure))
      return lose(failure);
    error_code ec;
    if constexpr (!kTls) sock.non_blocking(true, ec);  // on_readable() reads until would_block
    sock.async_connect(target, [this](const error_code& e) { on_connected(e); });
  }

  void begin_close() override {
    if (phase != Phase::established) return abort();
    phase = Phase::closing;
    std::string frame;
    append_client_close(frame, 1000, mask_key());
    queue_write(frame);
  }

  void abort() override {
    if (phase == Phase::done) return;
    phase = Phase::done;
    error_code ignored;
    socket().close(ignored);
  }

  void pause_reading() override { paused = true; }

  // The slow consumer reads again (without sending anything) until the server's close frame,
  // EOF or a reset shows how the server ended it; the driver's close deadline bounds the wait.
  void resume_to_see_the_end() override {
    if (phase != Phase::established) return abort();
    phase = Phase::closing;
    if (!read_armed_) read_some();
  }

  const std::string& socket_sid() const override { return sio_.socket_sid(); }

 private:
  static Stream make_stream(Driver& owner) {
    if constexpr (kTls) return Stream(owner.io, owner.ssl_ctx);
    else return Stream(owner.io);
  }

  tcp::socket& socket() {
    if constexpr (kTls) return stream_.next_layer();
    else return stream_;
  }

  uint32_t mask_key() { return static_cast<uint32_t>(owner_.rng()); }

  // The client is gone: a failure before it was established, a drop after.
  void lose(const std::string& kind) {
    if (phase == Phase::done) return;
    Phase at = phase;
    abort();
    const bool clean = kind == "eof" || kind == "ws_close";
    if (paused) {
      owner_.on_paused_end(kind == "ws_close" ? "ws_close_" + std::to_string(close_code_) : kind);
    }
    if (churn_closing) return owner_.on_churn_closed(clean);
    if (at == Phase::closing) return owner_.on_close_finished(clean);
    if (reconnect && at < Phase::established) return owner_.on_reconnect_failed(kind);
    owner_.on_lost(*this, at, kind);
  }

  void on_connected(const error_code& ec) {
    if (phase != Phase::tcp_connect) return;
    if (ec) return lose("tcp_connect_" + error_kind(ec));
    if constexpr (kTls) {
      phase = Phase::tls_handshake;
      stream_.async_handshake(asio::ssl::stream_base::client,
                              [this](const error_code& e) { on_tls_handshake(e); });
    } else {
      send_upgrade();
    }
  }

  void on_tls_handshake(const error_code& ec) {
    if (phase != Phase::tls_handshake) return;
    if (ec) return lose("tls_handshake_" + error_kind(ec));
    send_upgrade();
  }

  void send_upgrade() {
    phase = Phase::upgrade;
    std::string key = make_websocket_key();
    expected_accept_ = websocket_accept_for(key);
    queue_write(make_upgrade_request(owner_.url.host_header, owner_.url.request_target, key));
    read_some();
  }

  // TLS: the stream reads into the client's own small buffer (OpenSSL may hold decrypted bytes
  // the socket no longer shows). Plain: wait until the socket is readable, then read it dry into
  // the driver's one shared buffer, so a burst of messages costs one read() rather than one per KiB.
  void read_some() {
    read_armed_ = true;
    if constexpr (kTls) {
      stream_.async_read_some(asio::buffer(read_buf_),
                              [this](const error_code& ec, size_t n) { on_read(ec, n); });
    } else {
      stream_.async_wait(tcp::socket::wait_read, [this](const error_code& ec) { on_readable(ec); });
    }
  }

  // A paused client leaves its socket unread, so the server's queue towards it fills.
  bool stop_reading_here() {
    if (!paused || phase != Phase::established) return false;
    read_armed_ = false;
    return true;
  }

  void on_read(const error_code& ec, size_t n) {
    read_armed_ = false;
    if (phase == Phase::done) return;
    if (ec) return lose_on_read_error(ec);
    if (!on_bytes(std::string_view(read_buf_.data(), n))) return;
    if (stop_reading_here()) return;
    read_some();
  }

  void on_readable(const error_code& ec) {
    read_armed_ = false;
    if (phase == Phase::done) return;
    if (ec) return lose_on_read_error(ec);
    if (stop_reading_here()) return;
    auto& buf = owner_.shared_read_buf;
    for (;;) {
      error_code rec;
      const size_t n = socket().read_some(asio::buffer(buf), rec);
      if (rec == asio::error::would_block || rec == asio::error::try_again) break;
      if (rec) return lose_on_read_error(rec);
      if (!on_bytes(std::string_view(buf.data(), n))) return;
      if (n < buf.size()) break;  // most likely drained; the next wait says for sure
    }
    read_some();
  }

  void lose_on_read_error(const error_code& ec) {
    lose(phase == Phase::established || phase == Phase::closing
             ? error_kind(ec)
             : std::string(phase_name(phase)) + "_" + error_kind(ec));
  }

  // Feeds received bytes through the upgrade check and the frame reader; false when the
  // client is gone.
  bool on_bytes(std::string_view bytes) {
    if (phase == Phase::upgrade) {
      http_buf_.append(bytes);
      UpgradeResult r = check_upgrade_response(http_buf_, expected_accept_);
      if (r.status == UpgradeStatus::need_more) return true;
      if (r.status != UpgradeStatus::ok) {
        lose(upgrade_failure_kind(r));
        return false;
      }
      reader_.append(std::string_view(http_buf_).substr(r.header_bytes));
      std::string().swap(http_buf_);
      std::string().swap(expected_accept_);
      phase = Phase::eio_open;
    } else {
      reader_.append(bytes);
    }
    return drain_messages();
  }

  // Handles every complete message; false when the client is gone.
  bool drain_messages() {
    for (;;) {
      auto m = reader_.next();
      if (m.status == ServerFrameReader::Status::need_more) return true;
      if (m.status == ServerFrameReader::Status::error) {
        lose(std::string("ws_") + to_string(reader_.error()));
        return false;
      }
      switch (m.opcode) {
        case WsOpcode::ping: {
          std::string frame;
          append_client_frame(frame, WsOpcode::pong, m.payload, mask_key());
          queue_write(frame);
          break;
        }
        case WsOpcode::close:
          if (m.payload.size() >= 2) {
            close_code_ = static_cast<uint16_t>((static_cast<unsigned char>(m.payload[0]) << 8) |
                                                static_cast<unsigned char>(m.payload[1]));
          }
          if (phase != Phase::closing) {
            std::string frame;
            append_client_close(frame, 1000, mask_key());
            queue_write(frame);  // best effort: the socket closes right after
          }
          lose("ws_close");
          return false;
        case WsOpcode::text:
          if (!on_text(m.payload)) return false;
          break;
        default:  // binary attachments and pongs carry nothing we wait for
          break;
      }
      if (phase == Phase::done) return false;
    }
  }

  bool on_text(std::string_view text) {
    std::string reply;
    auto ev = sio_.on_text_message(text, reply);
    if (!reply.empty() && phase != Phase::closing) {
      std::string frame;
      append_client_frame(frame, WsOpcode::text, reply, mask_key());
      queue_write(frame);
    }
    using E = SocketIoClient::Event;
    switch (ev) {
      case E::opened:
        if (phase == Phase::eio_open) phase = Phase::sio_connect;
        return true;
      case E::connected:
        phase = Phase::established;
        owner_.on_established(*this, sio_);
        return true;
      case E::ping:
        ++owner_.report.pings_answered;
        return true;
      case E::event:
        ++owner_.report.events_received;
        if (!owner_.opts.track_event.empty()) on_event(text);
        return true;
      case E::none:
        return true;
      case E::connect_error:
        lose("sio_connect_error");
        return false;
      case E::server_disconnect:
        lose(phase == Phase::closing ? "ws_close" : "server_disconnect");
        return false;
      case E::protocol_error:
        if (phase == Phase::closing) return true;  // late traffic while closing is harmless
        lose("protocol_error_" + std::string(phase_name(phase)));
        return false;
    }
    return true;
  }

  // A tracked event: time it by its "ts" and answer it with a receipt when asked to.
  void on_event(std::string_view text) {
    EventView ev = parse_event_message(text);
    if (!ev.ok || ev.name != owner_.opts.track_event) return;
    owner_.on_delivery(ev, *this);
    if (phase != Phase::established) return;
    if (std::string receipt = receipt_for(owner_.receipt_policy(), ev); !receipt.empty()) {
      std::string frame;
      append_client_frame(frame, WsOpcode::text, receipt, mask_key());
      queue_write(frame);
      ++owner_.report.receipts_sent;
    }
  }

  // One write in flight; later bytes wait in out_pending_ and go out together.
  void queue_write(std::string_view bytes) {
    if (phase == Phase::done) return;
    out_pending_.append(bytes);
    if (!writing_) start_write();
  }

  void start_write() {
    writing_ = true;
    out_inflight_.swap(out_pending_);
    asio::async_write(stream_, asio::buffer(out_inflight_),
                      [this](const error_code& ec, size_t) { on_written(ec); });
  }

  void on_written(const error_code& ec) {
    writing_ = false;
    out_inflight_.clear();
    if (phase == Phase::done) return;
    if (ec) return lose("write_" + error_kind(ec));
    if (!out_pending_.empty()) start_write();
  }

  Driver& owner_;
  Stream stream_;
  ServerFrameReader reader_;
  SocketIoClient sio_;
  std::string expected_accept_;
  std::string http_buf_;
  std::string out_pending_;
  std::string out_inflight_;
  bool writing_ = false;
  bool read_armed_ = false;       // a read or a readiness wait is pending
  uint16_t close_code_ = 0;       // of the server's close frame (0: none or no code)
  struct NoBuffer {};
  [[no_unique_address]] std::conditional_t<kTls, std::array<char, 1024>, NoBuffer> read_buf_{};
};

}  // namespace

bool open_client_socket(tcp::socket& sock, const std::optional<asio::ip::address>& source,
                        uint64_t rcvbuf, std::string& failure_kind) {
  error_code ec;
  sock.open(tcp::v4(), ec);
  if (ec) {
    failure_kind = "socket_open_" + error_kind(ec);
    return false;
  }
  if (source) {
    // Defer the port choice to connect(), so ports are unique per 4-tuple, not per address.
    int one = 1;
    ::setsockopt(sock.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sock.bind(tcp::endpoint(*source, 0), ec);
    if (ec) {
      failure_kind = "bind_" + error_kind(ec);
      return false;
    }
  }
  sock.set_option(tcp::no_delay(true), ec);
  if (rcvbuf > 0) {
    // Before connect(), so the window scale the client announces matches the small buffer.
    sock.set_option(asio::socket_base::receive_buffer_size(static_cast<int>(rcvbuf)), ec);
  }
  return true;
}

void Driver::on_established(ClientBase& c, const SocketIoClient& sio) {
  auto now = Clock::now();
  if (c.reconnect) {
    ++report.reconnects;
    report.reconnect_handshake_ms.push_back(
        static_cast<float>(std::chrono::duration<double, std::milli>(now - c.started_at).count()));
    return;
  }
  ++report.established;
  if (c.polling) ++report.polling_established;
  --inflight;
  t_last_established = now;
  report.handshake_ms.push_back(
      static_cast<float>(std::chrono::duration<double, std::milli>(now - c.started_at).count()));
  if (report.server_ping_interval_ms == 0) {
    report.server_ping_interval_ms = sio.ping_interval_ms();
    report.server_ping_timeout_ms = sio.ping_timeout_ms();
  }
  maybe_end_connect_phase();
}

void Driver::on_lost(ClientBase&, Phase at, const std::string& kind) {
  if (at == Phase::established) {
    ++report.dropped;
    ++report.drops[kind];
    return;
  }
  ++report.failed;
  ++report.failures[kind];
  --inflight;
  maybe_end_connect_phase();
}

void Driver::on_close_finished(bool clean) {
  if (clean) ++report.closed_cleanly;
  if (closing_pending > 0 && --closing_pending == 0 && run_phase == RunPhase::closing) finish();
}

void Driver::on_reconnect_failed(const std::string& kind) { ++report.reconnect_failures[kind]; }

void Driver::on_churn_closed(bool clean) {
  if (clean) ++report.churn_closed_cleanly;
}

void Driver::on_paused_end(const std::string& outcome) { ++report.paused_outcomes[outcome]; }

ClientBase& Driver::start_client(bool is_reconnect, bool polling) {
  if (polling) clients.push_back(make_polling_client(*this, url.tls));
  else if (url.tls) clients.push_back(std::make_unique<Client<SslStream>>(*this));
  else clients.push_back(std::make_unique<Client<tcp::socket>>(*this));
  ClientBase& c = *clients.back();
  const uint64_t index = clients.size() - 1;
  c.reconnect = is_reconnect;
  c.polling = polling;
  if (polling && !is_reconnect) ++report.polling_clients;
  // Slow consumers leave a WebSocket unread; the options keep them apart from polling.
  c.pause_candidate = !is_reconnect && !polling && selected_by_share(index, opts.pause_reading_share);
  std::optional<asio::ip::address> source;
  if (!sources.empty()) source = sources[index % sources.size()];
  c.start(target, source);  // may fail synchronously and call on_lost()
  return c;
}

// Every churn period: each slot whose client is established closes it and starts a new one.
void Driver::churn_tick() {
  if (run_phase != RunPhase::holding) return;
  const auto now = Clock::now();
  for (size_t& slot : churn_slots) {
    ClientBase& old = *clients[slot];
    if (old.phase > Phase::not_started && old.phase < Phase::established) {
      ++report.churn_skipped;  // its reconnection is still on its way
      continue;
    }
    if (old.phase == Phase::established) {
      old.churn_closing = true;
      old.closing_since = now;
      ++report.churn_disconnects;
      old.begin_close();
    }
    // A slot whose client failed or was dropped gets a new one too.
    ClientBase& fresh = start_client(true, old.polling);  // a slot keeps its transport
    fresh.churn_member = true;
    slot = clients.size() - 1;
    if (run_phase != RunPhase::holding) return;
  }
  churn_timer.expires_after(std::chrono::milliseconds(opts.churn_period_ms));
  churn_timer.async_wait([this](const error_code& ec) {
    if (!ec) churn_tick();
  });
}

void Driver::on_delivery(const EventView& ev, const ClientBase& c) {
  if (c.paused) {
    ++report.paused_deliveries;  // not a delivery the driver waits for
    return;
  }
  if (c.churn_member) ++report.churn_deliveries;
  if (c.polling) ++report.polling_deliveries;
  const auto now_us = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                std::chrono::system_clock::now().time_since_epoch())
                                                .count());
  if (report.deliveries == 0) report.first_delivery_us = now_us;
  ++report.deliveries;
  report.last_delivery_us = now_us;
  uint64_t sent_us = 0;
  if (!event_timestamp_us(ev.args, sent_us)) {
    ++report.deliveries_untimed;
    return;
  }
  if (report.min_sent_us == 0 || sent_us < report.min_sent_us) report.min_sent_us = sent_us;
  report.max_sent_us = std::max(report.max_sent_us, sent_us);
  if (sent_us > now_us) ++report.clock_skew;
  report.latency_us.record(sent_us > now_us ? 0 : now_us - sent_us);
}

void Driver::write_status() {
  if (opts.status_file.empty() || report.deliveries == status_written_deliveries) return;
  status_written_deliveries = report.deliveries;
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "{\"deliveries\": %llu, \"receipts_sent\": %llu, \"last_delivery_us\": %llu, "
                "\"dropped\": %llu, \"reconnects\": %llu, \"churn_deliveries\": %llu}\n",
                static_cast<unsigned long long>(report.deliveries),
                static_cast<unsigned long long>(report.receipts_sent),
                static_cast<unsigned long long>(report.last_delivery_us),
                static_cast<unsigned long long>(report.dropped),
                static_cast<unsigned long long>(report.reconnects),
                static_cast<unsigned long long>(report.churn_deliveries));
  write_file_atomically(opts.status_file, buf);
}

void Driver::launch_tick() {
  if (run_phase != RunPhase::connecting) return;
  const double elapsed = seconds_between(t_start, Clock::now());
  const uint64_t due = std::min<uint64_t>(
      opts.connections, static_cast<uint64_t>(std::floor(opts.rate * elapsed)) + 1);
  while (report.started < due && inflight < opts.max_inflight) {
    ++report.started;
    ++inflight;
    start_client(false, selected_by_share(clients.size(), opts.polling_share));
    if (run_phase != RunPhase::connecting) return;
  }
  if (report.started < opts.connections) {
    launch_timer.expires_after(std::chrono::milliseconds(2));
    launch_timer.async_wait([this](const error_code& ec) {
      if (!ec) launch_tick();
    });
  }
}

void Driver::sweep_tick() {
  const auto now = Clock::now();
  if (run_phase == RunPhase::connecting) {
    const auto timeout = std::chrono::milliseconds(opts.connect_timeout_ms);
    for (size_t i = 0; i < report.started; ++i) {
      auto& c = *clients[i];
      if (c.phase > Phase::not_started && c.phase < Phase::established && now - c.started_at > timeout) {
        Phase at = c.phase;
        c.abort();
        on_lost(c, at, std::string("timeout_") + phase_name(at));
        if (run_phase != RunPhase::connecting) break;
      }
    }
    if (opts.progress_ms > 0 && now - t_last_progress >= std::chrono::milliseconds(opts.progress_ms)) {
      t_last_progress = now;
      print_progress("connecting");
    }
  }
  if (run_phase == RunPhase::holding) {
    write_status();
    // Churn: reconnections and churn closes get the same deadlines as the connect phase and
    // the final close. Reconnections are appended after the first opts.connections clients.
    const auto connect_timeout = std::chrono::milliseconds(opts.connect_timeout_ms);
    const auto close_timeout = std::chrono::milliseconds(opts.close_timeout_ms);
    for (size_t i = opts.churn_share > 0 ? 0 : clients.size(); i < clients.size(); ++i) {
      auto& c = *clients[i];
      if (!c.churn_member) continue;
      if (c.reconnect && c.phase > Phase::not_started && c.phase < Phase::established &&
          now - c.started_at > connect_timeout) {
        Phase at = c.phase;
        c.abort();
        on_reconnect_failed(std::string("timeout_") + phase_name(at));
      } else if (c.churn_closing && c.phase == Phase::closing && now - c.closing_since > close_timeout) {
        c.abort();
        ++report.churn_close_timeouts;
      }
    }
  }
  if (run_phase == RunPhase::finished) return;
  sweep_timer.expires_after(std::chrono::milliseconds(100));
  sweep_timer.async_wait([this](const error_code& ec) {
    if (!ec) sweep_tick();
  });
}

void Driver::maybe_end_connect_phase() {
  if (run_phase != RunPhase::connecting) return;
  if (report.established + report.failed < opts.connections) return;
  launch_timer.cancel();
  const auto now = Clock::now();
  report.connect_phase_s = seconds_between(t_start, now);
  const double span = seconds_between(t_start, t_last_established);
  report.connect_rate_per_s = span > 0 ? static_cast<double>(report.established) / span : 0;
  begin_hold();
}

void Driver::begin_hold() {
  run_phase = RunPhase::holding;
  t_hold_start = Clock::now();
  report.phase = "holding";
  report.client_rss_bytes = own_rss_bytes();
  for (auto& c : clients) {
    if (c->phase != Phase::established) continue;
    if (c->pause_candidate) {
      c->pause_reading();
      ++report.paused_clients;
    }
  }
  if (!opts.sids_file.empty()) {
    std::string sids;
    for (auto& c : clients) {
      if (c->phase == Phase::established) sids.append(c->socket_sid()).push_back('\n');
    }
    write_file_atomically(opts.sids_file, sids);
  }
  if (opts.churn_share > 0) {
    for (size_t i = 0; i < clients.size(); ++i) {
      if (clients[i]->phase == Phase::established && selected_by_share(i, opts.churn_share)) {
        clients[i]->churn_member = true;
        churn_slots.push_back(i);
      }
    }
    report.churn_pool = churn_slots.size();
    churn_timer.expires_after(std::chrono::milliseconds(opts.churn_period_ms));
    churn_timer.async_wait([this](const error_code& ec) {
      if (!ec) churn_tick();
    });
  }
  print_progress("connected; holding");
  if (!opts.ready_file.empty()) write_file_atomically(opts.ready_file, to_json(report, opts));
  phase_timer.expires_after(std::chrono::milliseconds(opts.hold_ms));
  phase_timer.async_wait([this](const error_code& ec) {
    if (!ec) begin_closing();
  });
}

void Driver::begin_closing() {
  if (run_phase != RunPhase::holding) return;
  run_phase = RunPhase::closing;
  report.hold_s = seconds_between(t_hold_start, Clock::now());
  phase_timer.cancel();
  churn_timer.cancel();
  for (auto& c : clients) {
    if (c->reconnect && c->phase > Phase::not_started && c->phase < Phase::established) {
      c->abort();
      ++report.reconnects_interrupted;
    }
    if (c->phase == Phase::established) ++closing_pending;
  }
  if (closing_pending == 0) return finish();
  for (auto& c : clients) {
    if (c->phase == Phase::established) {
      if (c->paused) c->resume_to_see_the_end();
      else c->begin_close();
    }
    if (run_phase != RunPhase::closing) return;
  }
  phase_timer.expires_after(std::chrono::milliseconds(opts.close_timeout_ms));
  phase_timer.async_wait([this](const error_code& ec) {
    if (!ec) {
      report.close_timeouts = closing_pending;
      finish();
    }
  });
}

void Driver::finish() {
  if (run_phase == RunPhase::finished) return;
  run_phase = RunPhase::finished;
  report.phase = "done";
  for (auto& c : clients) {
    if (c->paused && c->phase != Phase::done) ++report.paused_outcomes["still_open"];
    c->abort();
  }
  churn_timer.cancel();
  launch_timer.cancel();
  sweep_timer.cancel();
  phase_timer.cancel();
  error_code ignored;
  signals.cancel(ignored);
  io.stop();
}

void Driver::write_file_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << text;
    if (!f.good()) {
      std::fprintf(stderr, "wsgw-loadgen: cannot write %s\n", tmp.c_str());
      return;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::fprintf(stderr, "wsgw-loadgen: cannot rename %s to %s\n", tmp.c_str(), path.c_str());
  }
}

void Driver::print_progress(const char* what) {
  if (opts.progress_ms == 0) return;
  std::fprintf(stderr, "[loadgen%s%s] %.1fs %s: started %llu established %llu failed %llu inflight %llu\n",
               opts.label.empty() ? "" : " ", opts.label.c_str(), seconds_between(t_start, Clock::now()),
               what, static_cast<unsigned long long>(report.started),
               static_cast<unsigned long long>(report.established),
               static_cast<unsigned long long>(report.failed), static_cast<unsigned long long>(inflight));
}

void Driver::arm_signals() {
  // First signal: end the current phase gracefully; a second one cuts the close short.
  signals.async_wait([this](const error_code& e, int) {
    if (e || run_phase == RunPhase::finished) return;
    if (run_phase == RunPhase::connecting) {
      // Stop launching; whatever is half-way counts as interrupted.
      report.interrupted = true;
      launch_timer.cancel();
      for (size_t i = 0; i < report.started; ++i) {
        auto& c = *clients[i];
        if (c.phase > Phase::not_started && c.phase < Phase::established) {
          c.abort();
          ++report.failed;
          ++report.failures["interrupted"];
          --inflight;
        }
      }
      report.connect_phase_s = seconds_between(t_start, Clock::now());
      begin_hold();
      begin_closing();
    } else if (run_phase == RunPhase::holding) {
      begin_closing();
    } else {
      finish();
    }
    if (run_phase != RunPhase::finished) arm_signals();
  });
}


int Driver::run() {
  raise_open_file_limit();
  error_code ec;
  tcp::resolver resolver(io);
  auto results = resolver.resolve(tcp::v4(), url.host, std::to_string(url.port), ec);
  if (ec || results.empty()) {
    std::fprintf(stderr, "wsgw-loadgen: cannot resolve %s: %s\n", url.host.c_str(), ec.message().c_str());
    return 2;
  }
  target = results.begin()->endpoint();
  for (const auto& s : opts.source_addrs) {
    auto addr = asio::ip::make_address(s, ec);
    if (ec || !addr.is_v4()) {
      std::fprintf(stderr, "wsgw-loadgen: bad source address '%s' (IPv4 expected)\n", s.c_str());
      return 2;
    }
    sources.push_back(addr);
  }
  if (url.tls) {
    ssl_ctx.set_verify_mode(asio::ssl::verify_none);
    // Idle clients should not keep TLS record buffers either.
    SSL_CTX_set_mode(ssl_ctx.native_handle(), SSL_MODE_RELEASE_BUFFERS);
  }
  clients.reserve(opts.connections);  // clients themselves are made when they start

  arm_signals();

  t_start = Clock::now();
  t_last_progress = t_start;
  t_last_established = t_start;
  launch_tick();
  sweep_tick();
  io.run();
  if (run_phase != RunPhase::finished) finish();
  return 0;
}

}  // namespace driver

LoadGenerator::LoadGenerator(LoadgenOptions options, TargetUrl url)
    : options_(std::move(options)), url_(std::move(url)) {}

LoadGenerator::~LoadGenerator() = default;

int LoadGenerator::run() {
  int setup_rc = 0;
  {
    driver::Driver driver(options_, url_, report_);
    setup_rc = driver.run();
  }
  if (setup_rc != 0) return setup_rc;
  const bool complete = report_.established == options_.connections && report_.dropped == 0 &&
                        !report_.interrupted;
  return complete ? 0 : 1;
}

}  // namespace wsgw::loadgen
