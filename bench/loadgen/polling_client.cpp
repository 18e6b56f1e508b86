// The long-polling client of wsgw-loadgen (--polling-share): Engine.IO v4 over HTTP/1.1, as a
// browser without WebSocket speaks it. Two keep-alive connections per client, like browsers
// use: one carries the long GETs (the server's packets), the other the POSTs (the client's
// packets, batched while a POST is in flight). The client never upgrades. Packets are handled
// exactly like a WebSocket client's text messages, and reported to the same Driver calls.
#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>

#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "bench/loadgen/client_driver.h"
#include "bench/loadgen/client_protocol.h"
#include "bench/loadgen/polling_protocol.h"

namespace wsgw::loadgen::driver {

namespace {

enum class Role : uint8_t { get, post };

const char* role_name(Role r) { return r == Role::get ? "poll_get" : "poll_post"; }

template <class Stream>
class PollingClient;

// One HTTP/1.1 keep-alive connection of a polling client: one request at a time. The server
// may close it between requests (its keep-alive timeout); the next request then opens a new
// one, and a request that met such a close before any answer is resent once.
template <class Stream>
class HttpConnection {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, SslStream>;

  HttpConnection(PollingClient<Stream>& owner, Role role);

  // Sends a whole request; the response comes to the owner's on_response(). Only when !busy().
  // Opens the connection first when there is none (which discards the previous response's
  // body: read it before calling this).
  void send(std::string request);
  bool busy() const { return busy_; }
  // No more callbacks; the socket closes.
  void close();

 private:
  struct NoBuffer {};
  // A socket and what its pending operations use. The handlers hold it, so a closed link
  // outlives its cancelled operations; a handler whose link is no longer current does nothing.
  struct Link {
    explicit Link(Driver& d) : stream(make_stream(d)) {}
    Stream stream;
    std::string out_inflight;
    [[no_unique_address]] std::conditional_t<kTls, std::array<char, 1024>, NoBuffer> read_buf{};
  };
  using LinkPtr = std::shared_ptr<Link>;

  static Stream make_stream(Driver& d) {
    if constexpr (kTls) return Stream(d.io, d.ssl_ctx);
    else return Stream(d.io);
  }
  static tcp::socket& socket(Link& l) {
    if constexpr (kTls) return l.stream.next_layer();
    else return l.stream;
  }

  Driver& driver();
  void connect();
  void drop_link();
  void on_connected(const LinkPtr& link, const error_code& ec);
  void on_link_up();
  void read_some(const LinkPtr& link);
  void on_readable(const LinkPtr& link, const error_code& ec);
  bool on_bytes(const LinkPtr& link, std::string_view bytes);
  bool deliver(const LinkPtr& link, const HttpResponseReader::Result& r);
  void on_transport_error(const LinkPtr& link, const error_code& ec);
  void write_request();
  void on_written(const LinkPtr& link, const error_code& ec);
  void fail(const std::string& kind);

  PollingClient<Stream>& owner_;
  Role role_;
  LinkPtr link_;                 // null: no connection
  bool up_ = false;              // connected (and TLS done): requests may be written
  bool busy_ = false;            // a request waits for its response
  bool reused_ = false;          // the current connection has answered a request already
  bool retried_ = false;         // the current request was resent once already
  bool ever_connected_ = false;
  bool writing_ = false;
  bool unwritten_ = false;       // the current request still has to be written
  uint64_t response_bytes_ = 0;  // received since the current request was sent
  std::string request_;          // the current request (kept for one resend)
  HttpResponseReader reader_;
};

template <class Stream>
class PollingClient final : public ClientBase {
 public:
  explicit PollingClient(Driver& owner)
      : owner_(owner), get_(*this, Role::get), post_(*this, Role::post), sio_(owner.opts.nsp) {
    polling = true;
  }

  void start(const tcp::endpoint& target, const std::optional<asio::ip::address>& source) override {
    started_at = Clock::now();
    phase = Phase::tcp_connect;
    target_ = target;
    source_ = source;
    get_.send(make_polling_get(owner_.url.host_header, owner_.url.polling_target));
  }

  // The Engine.IO close packet in a POST (what engine.io-client sends on close()); the server
  // acknowledges the POST and ends the held GET with a noop.
  void begin_close() override {
    if (phase != Phase::established) return abort();
    phase = Phase::closing;
    append_payload_packet(post_pending_, "1");
    close_queued_ = true;
    flush_posts();
  }

  void abort() override {
    if (phase == Phase::done) return;
    phase = Phase::done;
    get_.close();
    post_.close();
  }

  // Never chosen: the options keep --pause-reading-share and --polling-share apart.
  void pause_reading() override {}
  void resume_to_see_the_end() override { begin_close(); }

  const std::string& socket_sid() const override { return sio_.socket_sid(); }

  // From the connections.
  Driver& driver() { return owner_; }
  const tcp::endpoint& target() const { return target_; }
  const std::optional<asio::ip::address>& source() const { return source_; }
  bool gone() const { return phase == Phase::done; }

  void on_stage(Role r, Phase reached) {
    // Only the first GET's connection marks the client's phases (timeouts name them).
    if (r == Role::get && phase < reached && phase < Phase::eio_open) phase = reached;
  }

  // False when the client is gone.
  bool on_response(Role r, const HttpResponseReader::Result& res) {
    return r == Role::get ? on_get_response(res) : on_post_response(res);
  }

  void on_connection_failed(Role r, const std::string& kind) {
    // While closing, the server ending a connection is how the close may end, too.
    const bool clean = phase == Phase::closing && kind == std::string(role_name(r)) + "_eof";
    lose(kind, clean);
  }

 private:
  bool on_get_response(const HttpResponseReader::Result& res) {
    ++owner_.report.polling_gets;
    if (res.http_status != 200) {
      // While closing, a GET refused because the session has ended just waits for the POST.
      if (phase == Phase::closing) return true;
      lose(std::string("poll_get_http_") + std::to_string(res.http_status));
      return false;
    }
    std::vector<std::string_view> packets;
    if (!split_polling_payload(res.body, packets)) {
      if (phase == Phase::closing) return true;
      lose("poll_bad_payload");
      return false;
    }
    for (std::string_view packet : packets) {
      if (packet.front() == 'b') continue;  // binary (base64) packets carry nothing we wait for
      if (!on_packet(packet)) return false;
    }
    // The next long poll; while closing there is none (the POSTed close ends the session).
    if (phase == Phase::sio_connect || phase == Phase::established) {
      get_.send(make_polling_get(owner_.url.host_header, session_target_));
    } else if (phase == Phase::eio_open) {
      lose("protocol_error_eio_open");  // a handshake response without the open packet
      return false;
    }
    return !gone();
  }

  bool on_post_response(const HttpResponseReader::Result& res) {
    ++owner_.report.polling_posts;
    if (res.http_status != 200) {
      lose(std::string("poll_post_http_") + std::to_string(res.http_status), false);
      return false;
    }
    if (phase == Phase::closing && close_sent_) {
      lose("poll_close_acknowledged", true);
      return false;
    }
    flush_posts();
    return !gone();
  }

  // One Engine.IO packet, exactly as a WebSocket client handles a text message. False when the
  // client is gone.
  bool on_packet(std::string_view text) {
    std::string reply;
    auto ev = sio_.on_text_message(text, reply);
    using E = SocketIoClient::Event;
    switch (ev) {
      case E::opened:
        if (phase == Phase::eio_open) phase = Phase::sio_connect;
        session_target_ = polling_session_target(owner_.url.polling_target, sio_.engine_sid());
        break;
      case E::connected:
        phase = Phase::established;
        owner_.on_established(*this, sio_);
        break;
      case E::ping:
        ++owner_.report.pings_answered;
        break;
      case E::event:
        ++owner_.report.events_received;
        if (!owner_.opts.track_event.empty()) on_event(text);
        break;
      case E::none:
        break;
      case E::connect_error:
        lose("sio_connect_error");
        return false;
      case E::server_disconnect:
        lose(phase == Phase::closing ? "poll_close" : "server_disconnect", phase == Phase::closing);
        return false;
      case E::protocol_error:
        if (phase == Phase::closing) return true;  // late traffic while closing is harmless
        lose("protocol_error_" + std::string(phase_name(phase)));
        return false;
    }
    if (gone()) return false;
    if (!reply.empty() && phase != Phase::closing) queue_post(reply);
    return !gone();
  }

  // A tracked event: time it by its "ts" and answer it with a receipt when asked to.
  void on_event(std::string_view text) {
    EventView ev = parse_event_message(text);
    if (!ev.ok || ev.name != owner_.opts.track_event) return;
    owner_.on_delivery(ev, *this);
    if (phase != Phase::established) return;
    if (std::string receipt = receipt_for(owner_.receipt_policy(), ev); !receipt.empty()) {
      queue_post(std::move(receipt));
      ++owner_.report.receipts_sent;
    }
  }

  // Packets wait while a POST is in flight and then go out together, as engine.io-client does.
  void queue_post(std::string_view packet) {
    if (gone()) return;
    append_payload_packet(post_pending_, packet);
    // Bounded: a server that stops answering POSTs cannot make the backlog grow for ever.
    if (post_pending_.size() > owner_.opts.max_message_bytes) return lose("poll_post_backlog");
    flush_posts();
  }

  void flush_posts() {
    if (gone() || post_.busy() || post_pending_.empty()) return;
    if (close_queued_) close_sent_ = true;  // the close packet is always the last one queued
    std::string request = make_polling_post(owner_.url.host_header, session_target_, post_pending_);
    post_pending_.clear();
    post_.send(std::move(request));
  }

  // The client is gone: a failure before it was established, a drop after, or the end of its
  // close.
  void lose(const std::string& kind, bool clean = false) {
    if (phase == Phase::done) return;
    const Phase at = phase;
    abort();
    if (churn_closing) return owner_.on_churn_closed(clean);
    if (at == Phase::closing) return owner_.on_close_finished(clean);
    if (reconnect && at < Phase::established) return owner_.on_reconnect_failed(kind);
    owner_.on_lost(*this, at, kind);
  }

  Driver& owner_;
  HttpConnection<Stream> get_;
  HttpConnection<Stream> post_;
  SocketIoClient sio_;
  tcp::endpoint target_;
  std::optional<asio::ip::address> source_;
  std::string session_target_;  // polling_target + "&sid=..."
  std::string post_pending_;    // packets for the next POST, joined by the record separator
  bool close_queued_ = false;
  bool close_sent_ = false;
};

// ---------------------------------------------------------------------------------------

template <class Stream>
HttpConnection<Stream>::HttpConnection(PollingClient<Stream>& owner, Role role)
    : owner_(owner), role_(role), reader_(max_polling_body_bytes(owner.driver().opts)) {}

template <class Stream>
Driver& HttpConnection<Stream>::driver() {
  return owner_.driver();
}

template <class Stream>
void HttpConnection<Stream>::send(std::string request) {
  busy_ = true;
  retried_ = false;
  response_bytes_ = 0;
  request_ = std::move(request);
  unwritten_ = true;
  if (!link_) return connect();
  if (up_) write_request();  // else on_link_up() writes it
}

template <class Stream>
void HttpConnection<Stream>::close() {
  drop_link();
  busy_ = false;
  unwritten_ = false;
}

template <class Stream>
void HttpConnection<Stream>::drop_link() {
  if (link_) {
    error_code ignored;
    socket(*link_).close(ignored);
    link_.reset();
  }
  up_ = false;
  writing_ = false;
}

template <class Stream>
void HttpConnection<Stream>::connect() {
  drop_link();
  unwritten_ = busy_;  // a request being resent goes out again on the new connection
  if (ever_connected_) ++driver().report.polling_connections_reopened;
  reader_ = HttpResponseReader(max_polling_body_bytes(driver().opts));
  reused_ = false;
  link_ = std::make_shared<Link>(driver());
  auto& sock = socket(*link_);
  std::string failure;
  if (!open_client_socket(sock, owner_.source(), 0, failure))
    return fail(std::string(role_name(role_)) + "_" + failure);
  error_code ec;
  if constexpr (!kTls) sock.non_blocking(true, ec);  // on_readable() reads until would_block
  sock.async_connect(owner_.target(),
                     [this, link = link_](const error_code& e) { on_connected(link, e); });
}

template <class Stream>
void HttpConnection<Stream>::on_connected(const LinkPtr& link, const error_code& ec) {
  if (link != link_) return;
  if (ec) return fail(std::string(role_name(role_)) + "_tcp_connect_" + error_kind(ec));
  if constexpr (kTls) {
    owner_.on_stage(role_, Phase::tls_handshake);
    link->stream.async_handshake(asio::ssl::stream_base::client, [this, link](const error_code& e) {
      if (link != link_) return;
      if (e) return fail(std::string(role_name(role_)) + "_tls_handshake_" + error_kind(e));
      on_link_up();
    });
  } else {
    on_link_up();
  }
}

template <class Stream>
void HttpConnection<Stream>::on_link_up() {
  up_ = true;
  ever_connected_ = true;
  owner_.on_stage(role_, Phase::eio_open);
  read_some(link_);
  if (unwritten_) write_request();
}

template <class Stream>
void HttpConnection<Stream>::write_request() {
  // One write in flight. A response can in principle be handled before the completion of its
  // request's write: the next request then waits for that completion (on_written).
  if (writing_ || !unwritten_) return;
  writing_ = true;
  unwritten_ = false;
  link_->out_inflight = request_;
  asio::async_write(link_->stream, asio::buffer(link_->out_inflight),
                    [this, link = link_](const error_code& ec, size_t) { on_written(link, ec); });
}

template <class Stream>
void HttpConnection<Stream>::on_written(const LinkPtr& link, const error_code& ec) {
  if (link != link_) return;
  writing_ = false;
  std::string().swap(link->out_inflight);
  if (ec) return on_transport_error(link, ec);
  if (unwritten_) write_request();
}

// TLS: the stream reads into the link's own small buffer. Plain: wait until the socket is
// readable, then read it dry into the driver's shared buffer (as the WebSocket clients do).
template <class Stream>
void HttpConnection<Stream>::read_some(const LinkPtr& link) {
  if constexpr (kTls) {
    link->stream.async_read_some(asio::buffer(link->read_buf),
                                 [this, link](const error_code& ec, size_t n) {
                                   if (link != link_) return;
                                   if (ec) return on_transport_error(link, ec);
                                   if (on_bytes(link, std::string_view(link->read_buf.data(), n)))
                                     read_some(link);
                                 });
  } else {
    link->stream.async_wait(tcp::socket::wait_read,
                            [this, link](const error_code& ec) { on_readable(link, ec); });
  }
}

template <class Stream>
void HttpConnection<Stream>::on_readable(const LinkPtr& link, const error_code& ec) {
  if (link != link_) return;
  if (ec) return on_transport_error(link, ec);
  auto& buf = driver().shared_read_buf;
  for (;;) {
    error_code rec;
    const size_t n = socket(*link).read_some(asio::buffer(buf), rec);
    if (rec == asio::error::would_block || rec == asio::error::try_again) break;
    if (rec) return on_transport_error(link, rec);
    if (!on_bytes(link, std::string_view(buf.data(), n))) return;
    if (n < buf.size()) break;  // most likely drained; the next wait says for sure
  }
  read_some(link);
}

// False when this link is no longer read (closed, replaced, or the client is gone).
template <class Stream>
bool HttpConnection<Stream>::on_bytes(const LinkPtr& link, std::string_view bytes) {
  response_bytes_ += bytes.size();
  reader_.append(bytes);
  for (;;) {
    auto r = reader_.next();
    if (r.status == HttpResponseReader::Status::need_more) return true;
    if (r.status == HttpResponseReader::Status::error) {
      fail(std::string(role_name(role_)) + "_" + to_string(reader_.error()));
      return false;
    }
    if (!deliver(link, r)) return false;
  }
}

template <class Stream>
bool HttpConnection<Stream>::deliver(const LinkPtr& link, const HttpResponseReader::Result& r) {
  if (!busy_) {
    fail(std::string(role_name(role_)) + "_unsolicited_response");
    return false;
  }
  busy_ = false;
  reused_ = true;
  // A server that closes after this response: the next request opens a new connection.
  if (!r.keep_alive) drop_link();
  if (!owner_.on_response(role_, r)) return false;
  return link == link_;
}

template <class Stream>
void HttpConnection<Stream>::on_transport_error(const LinkPtr& link, const error_code& ec) {
  if (ec == asio::error::eof) {
    // A response that runs to the end of the connection ends here.
    auto r = reader_.finish();
    if (r.status == HttpResponseReader::Status::response) {
      if (!deliver(link, r) || link != link_) return;
    }
  }
  if (!busy_ && reader_.idle()) {
    // The server closed an idle keep-alive connection: the next request opens a new one.
    drop_link();
    return;
  }
  if (busy_ && reused_ && response_bytes_ == 0 && !retried_) {
    // The server closed the idle connection just as the request went out, so it never saw it
    // (Node closes at its keep-alive timeout + 1 s: a request sent then meets a reset).
    ++driver().report.polling_request_retries;
    retried_ = true;
    connect();
    return;
  }
  fail(std::string(role_name(role_)) + "_" + error_kind(ec));
}

template <class Stream>
void HttpConnection<Stream>::fail(const std::string& kind) {
  drop_link();
  busy_ = false;
  unwritten_ = false;
  owner_.on_connection_failed(role_, kind);
}

}  // namespace

std::unique_ptr<ClientBase> make_polling_client(Driver& owner, bool tls) {
  if (tls) return std::make_unique<PollingClient<SslStream>>(owner);
  return std::make_unique<PollingClient<tcp::socket>>(owner);
}

}  // namespace wsgw::loadgen::driver
