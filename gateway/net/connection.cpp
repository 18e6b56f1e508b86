#include "gateway/net/connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>

#include <boost/asio/post.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <openssl/err.h>
#include <spdlog/spdlog.h>

#include "common/socketio/json.h"
#include "common/socketio/packet.h"
#include "gateway/net/server_context.h"
#include "gateway/net/worker.h"
#include "gateway/session/gateway_metrics.h"
#include "gateway/session/socketio_session.h"
#include "gateway/websocket/handshake.h"

namespace wsgw::net {

namespace http = boost::beast::http;
using session::Disconnect;

struct Connection::HttpState {
  std::string inbuf;
  std::optional<http::request_parser<http::string_body>> parser;
  std::optional<Request> request;  // the request being handled
  std::string out;                 // serialized response being written
  size_t out_off = 0;
  bool close_after = false;
  bool keep_alive = true;
  std::string origin;  // of the held GET, for its CORS headers
};

struct Connection::Migrant {
  int fd = -1;
  tcp protocol = tcp::v4();
  SSL* ssl = nullptr;
  ListenerKind kind = ListenerKind::client;
  std::unique_ptr<HttpState> http;
};

namespace {
constexpr uint32_t kLingerMs = 2000;
// A closing WebSocket connection gets this long to write what its session left and the close
// frame; then the socket is closed regardless (a peer that stopped reading).
constexpr uint32_t kClosingWriteTimeoutMs = 5000;
constexpr int kMaxReadsPerWakeup = 4;
constexpr int kMaxIov = 64;
constexpr size_t kMaxDirectBytes = 64 * 1024;  // unsent pongs and probe replies

ServerContext& ctx_of(Worker& w) { return w.server(); }

// Ack ids of /admin/broadcast?ack=1 (any thread may serve the admin listener).
uint64_t next_admin_ack_id() {
  static std::atomic<uint64_t> next{0};
  return next.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

// ---------------------------------------------------------------------------------------------
// Lifecycle

void Connection::start(Worker& w, tcp::socket sock, bool tls, ListenerKind kind) {
  boost::system::error_code ec;
  sock.non_blocking(true, ec);
  sock.set_option(tcp::no_delay(true), ec);
  if (const int sndbuf = ctx_of(w).http.socket_send_buffer; sndbuf > 0) {
    // Bounds the kernel's share of a slow reader: autotuning would let each socket's send
    // buffer grow to tcp_wmem's maximum (4 MiB by default) before our own queue limit
    // (--max-queue-bytes) even sees the backlog.
    sock.set_option(boost::asio::socket_base::send_buffer_size(sndbuf), ec);
  }
  auto c = std::make_shared<Connection>(w, std::move(sock), kind);
  if (tls) {
    c->ssl_ = SSL_new(ctx_of(w).tls);
    if (!c->ssl_ || SSL_set_fd(c->ssl_, c->sock_.native_handle()) != 1) {
      c->close_socket();
      return;
    }
    SSL_set_accept_state(c->ssl_);
    c->phase_ = Phase::tls_handshake;
    w.timers().schedule(*c, w.now_ms() + ctx_of(w).http.tls_handshake_timeout_ms);
    c->tls_handshake();
    return;
  }
  c->enter_http();
}

Connection::Connection(Worker& w, tcp::socket sock, ListenerKind kind)
    : worker_(w), sock_(std::move(sock)), kind_(kind) {}

Connection::~Connection() {
  if (ssl_) SSL_free(ssl_);
}

void Connection::enter_http() {
  phase_ = Phase::http;
  if (!http_) http_ = std::make_unique<HttpState>();
  worker_.timers().schedule(*this, worker_.now_ms() + ctx_of(worker_).http.request_timeout_ms);
  http_parse();
  if (phase_ == Phase::http) wait_readable();
}

void Connection::on_timer(uint64_t) {
  switch (phase_) {
    case Phase::closing:
      close_socket();
      return;
    case Phase::tls_handshake:
    case Phase::http:
      if (!held_) teardown(Disconnect::transport_error);
      return;
    default:
      return;
  }
}

void Connection::teardown(Disconnect why) {
  if (phase_ == Phase::closed) return;
  if (held_) std::exchange(held_, nullptr)->poll_link_lost(*this);
  if (session_) {
    auto* s = std::exchange(session_, nullptr);
    s->ws_link_lost(*this, why);
  }
  close_socket();
}

void Connection::close_socket() {
  phase_ = Phase::closed;
  worker_.timers().cancel(*this);
  boost::system::error_code ec;
  sock_.close(ec);  // cancels pending waits; their handlers release the last references
  http_.reset();
  detached_.reset();
  reader_.reset();
  std::string().swap(partial_);
}

// ---------------------------------------------------------------------------------------------
// I/O primitives

Connection::Io Connection::read_some(char* buf, size_t cap, size_t& n) {
  n = 0;
  if (ssl_) {
    int r = SSL_read_ex(ssl_, buf, cap, &n);
    if (r == 1) return Io::ok;
    switch (SSL_get_error(ssl_, 0)) {
      case SSL_ERROR_WANT_READ: return Io::want_read;
      case SSL_ERROR_WANT_WRITE: return Io::want_write;
      case SSL_ERROR_ZERO_RETURN: return Io::eof;
      default: ERR_clear_error(); return Io::error;
    }
  }
  ssize_t r = ::recv(sock_.native_handle(), buf, cap, 0);
  if (r > 0) {
    n = static_cast<size_t>(r);
    return Io::ok;
  }
  if (r == 0) return Io::eof;
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return Io::want_read;
  return Io::error;
}

Connection::Io Connection::write_some(const iovec* iov, int count, size_t& n) {
  n = 0;
  if (ssl_) {
    // Coalesce small frames into one TLS record. A retried SSL_write must present the same
    // bytes: they are still at the front of the queue, so take exactly as many again.
    auto scratch = worker_.write_scratch();
    size_t limit = tls_retry_len_ ? tls_retry_len_ : scratch.size();
    size_t len = 0;
    for (int i = 0; i < count && len < limit; ++i) {
      size_t take = std::min(iov[i].iov_len, limit - len);
      std::memcpy(scratch.data() + len, iov[i].iov_base, take);
      len += take;
    }
    int r = SSL_write_ex(ssl_, scratch.data(), len, &n);
    if (r == 1) {
      tls_retry_len_ = 0;
      return Io::ok;
    }
    switch (SSL_get_error(ssl_, 0)) {
      case SSL_ERROR_WANT_WRITE: tls_retry_len_ = static_cast<uint32_t>(len); return Io::want_write;
      case SSL_ERROR_WANT_READ: tls_retry_len_ = static_cast<uint32_t>(len); return Io::want_read;
      default: ERR_clear_error(); return Io::error;
    }
  }
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(iov);
  msg.msg_iovlen = static_cast<size_t>(count);
  ssize_t r = ::sendmsg(sock_.native_handle(), &msg, MSG_NOSIGNAL);
  if (r >= 0) {
    n = static_cast<size_t>(r);
    return Io::ok;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return Io::want_write;
  return Io::error;
}

void Connection::wait_readable() {
  if (read_waiting_ || phase_ == Phase::closed) return;
  read_waiting_ = true;
  sock_.async_wait(tcp::socket::wait_read,
                   [self = shared_from_this()](const boost::system::error_code& ec) {
                     self->read_waiting_ = false;
                     if (!ec) self->on_readable();
                   });
}

void Connection::wait_writable() {
  if (write_waiting_ || phase_ == Phase::closed) return;
  write_waiting_ = true;
  sock_.async_wait(tcp::socket::wait_write,
                   [self = shared_from_this()](const boost::system::error_code& ec) {
                     self->write_waiting_ = false;
                     if (!ec) self->on_writable();
                   });
}

void Connection::on_writable() {
  if (read_wants_write_) {
    read_wants_write_ = false;
    on_readable();
  }
  switch (phase_) {
    case Phase::tls_handshake: tls_handshake(); break;
    case Phase::http: flush_http(); break;
    case Phase::websocket:
    case Phase::closing: flush_ws(); break;
    case Phase::closed: break;
  }
}

void Connection::on_readable() {
  if (phase_ == Phase::tls_handshake) return tls_handshake();
  auto buf = worker_.read_buffer();
  auto* m = worker_.metrics();
  for (int i = 0; i < kMaxReadsPerWakeup; ++i) {
    if (phase_ == Phase::closed) return;
    size_t n = 0;
    Io st = read_some(buf.data(), buf.size(), n);
    if (st == Io::want_read) return wait_readable();
    if (st == Io::want_write) {
      read_wants_write_ = true;
      return wait_writable();
    }
    if (st != Io::ok) {
      if (phase_ == Phase::closing) return close_socket();
      return teardown(st == Io::eof ? Disconnect::transport_error : Disconnect::transport_error);
    }
    if (m) m->bytes_in.inc(n);
    switch (phase_) {
      case Phase::http: http_input(buf.data(), n); break;
      case Phase::websocket: ws_input(buf.data(), n); break;
      case Phase::closing: break;  // draining what the peer still sends until its FIN
      default: return;
    }
  }
  // Still more to read (OpenSSL may hold decrypted bytes the fd no longer signals): go on
  // after others had their turn.
  if (phase_ != Phase::closed)
    boost::asio::post(worker_.io(), [self = shared_from_this()] { self->on_readable(); });
}

void Connection::tls_handshake() {
  int r = SSL_do_handshake(ssl_);
  if (r == 1) return enter_http();
  switch (SSL_get_error(ssl_, r)) {
    case SSL_ERROR_WANT_READ: return wait_readable();
    case SSL_ERROR_WANT_WRITE: return wait_writable();
    default:
      ERR_clear_error();
      if (auto* m = worker_.metrics()) m->tls_handshake_failures.inc();
      return close_socket();
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP phase

void Connection::http_input(const char* data, size_t n) {
  auto& ctx = ctx_of(worker_);
  // Bound what an HTTP client can make us buffer: headers plus one maximal body.
  if (http_->inbuf.size() + n > ctx.http.max_header_bytes + ctx.session_cfg.max_payload + 1024) {
    return teardown(Disconnect::message_too_big);
  }
  http_->inbuf.append(data, n);
  if (!held_ && http_->out.empty()) http_parse();
}

void Connection::http_parse() {
  if (in_http_parse_) return;  // the loop below goes on once the nested response is out
  in_http_parse_ = true;
  struct Reset {
    bool& flag;
    ~Reset() { flag = false; }
  } reset{in_http_parse_};
  auto& ctx = ctx_of(worker_);
  while (phase_ == Phase::http && !held_ && http_->out.empty() && !http_->inbuf.empty()) {
    if (!http_->parser) {
      http_->parser.emplace();
      http_->parser->header_limit(static_cast<std::uint32_t>(ctx.http.max_header_bytes));
      http_->parser->body_limit(ctx.session_cfg.max_payload);
      http_->parser->eager(true);
    }
    boost::beast::error_code ec;
    size_t used = http_->parser->put(boost::asio::buffer(http_->inbuf), ec);
    http_->inbuf.erase(0, used);
    if (ec == http::error::need_more) return;
    if (ec == http::error::body_limit) {
      // An over-long POST: the session it belongs to ends (maxPayload), the request gets 413.
      auto [path, query] = split_target(http_->parser->get().target());
      EngineQuery q;
      EngineError err;
      if (parse_engine_query(query, q, err) && q.sid_valid) close_session(q.sid, Disconnect::message_too_big);
      http_->parser.reset();
      http_->inbuf.clear();
      http_->keep_alive = false;
      return respond_engine_error(413, EngineError::bad_request, "Payload too large");
    }
    if (ec) {
      http_->parser.reset();
      http_->inbuf.clear();
      http_->keep_alive = false;
      const unsigned status = ec == http::error::header_limit ? 431 : 400;
      return respond_engine_error(status, EngineError::bad_request);
    }
    if (!http_->parser->is_done()) return;
    http_->request.emplace(http_->parser->release());
    http_->parser.reset();
    handle_request();
  }
}

void Connection::close_session(uint64_t sid, Disconnect why) {
  if (auto* s = worker_.find_session(sid)) return s->close(why);
  auto owner = ctx_of(worker_).directory.find(sid);
  if (!owner) return;
  auto& w = *ctx_of(worker_).workers.at(*owner);
  boost::asio::post(w.io(), [&w, sid, why] {
    if (auto* s = w.find_session(sid)) s->close(why);
  });
}

void Connection::handle_request() {
  auto& ctx = ctx_of(worker_);
  auto& req = *http_->request;
  http_->keep_alive = req.keep_alive();
  http_->origin = std::string(req[http::field::origin]);
  auto [path, query] = split_target(req.target());

  auto is_path = [](std::string_view path, std::string_view base) {
    if (base.empty()) return false;
    if (path == base) return true;
    return base.back() == '/' && path == base.substr(0, base.size() - 1);
  };
  if (kind_ == ListenerKind::admin || ctx.http.serve_admin) {
    if (path == "/healthz" || path == "/readyz" || path == "/metrics" ||
        path == "/admin/log-level" || path == "/admin/broadcast")
      return handle_admin(path, query);
  }
  if (kind_ == ListenerKind::client) {
    if (is_path(path, ctx.http.socketio_path)) return handle_engine(false, query);
    if (is_path(path, ctx.http.engineio_path)) return handle_engine(true, query);
  }
  HttpResponse r;
  r.status = 404;
  r.headers.emplace_back("Content-Type", "text/plain");
  r.body = "not found\n";
  r.keep_alive = http_->keep_alive;
  respond(std::move(r));
}

void Connection::handle_admin(std::string_view path, std::string_view query) {
  auto& ctx = ctx_of(worker_);
  HttpResponse r;
  r.keep_alive = http_->keep_alive;
  r.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
  if (path == "/healthz") {
    r.body = "ok\n";
  } else if (path == "/readyz") {
    const bool draining = ctx.draining.load(std::memory_order_relaxed);
    r.status = draining ? 503 : 200;
    r.body = draining ? "draining\n" : "ready\n";
  } else if (path == "/metrics") {
    r.headers.clear();
    r.headers.emplace_back("Content-Type", std::string(metrics::kContentType));
    r.body = ctx.registry ? ctx.registry->render() : std::string();
  } else if (!admin_allowed()) {
    r.status = 403;
    r.body = "admin endpoints are served on --metrics-listen or to loopback clients only\n";
  } else if (path == "/admin/broadcast") {
    return admin_broadcast(query);
  } else {  // /admin/log-level?level=debug (POST/PUT changes it, GET reads it)
    auto method = http_->request->method();
    if (method == http::verb::post || method == http::verb::put) {
      auto level = query_param(query, "level");
      auto parsed = level ? spdlog::level::from_str(*level) : spdlog::level::off;
      if (!level || (parsed == spdlog::level::off && *level != "off")) {
        r.status = 400;
        r.body = "level must be one of trace, debug, info, warn, error, critical, off\n";
        return respond(std::move(r));
      }
      spdlog::set_level(parsed);
      spdlog::info("log level set to {}", *level);
    }
    auto sv = spdlog::level::to_string_view(spdlog::get_level());
    r.body = std::string(sv.data(), sv.size()) + "\n";
  }
  respond(std::move(r));
}

bool Connection::admin_allowed() const {
  // Write endpoints must not be reachable by browsers on a public listener.
  if (kind_ == ListenerKind::admin) return true;
  boost::system::error_code ec;
  auto peer = sock_.remote_endpoint(ec);
  return !ec && peer.address().is_loopback();
}

void Connection::admin_broadcast(std::string_view query) {
  // POST /admin/broadcast?event=E[&nsp=/][&room=R|&user=U|&sid=S][&volatile=1], body = JSON array of the
  // event's arguments. Encoded once here, then queued by every worker for its local targets.
  // An operator and benchmark tool for single-node use; the cluster pushes through ws-api.
  auto& ctx = ctx_of(worker_);
  HttpResponse r;
  r.keep_alive = http_->keep_alive;
  r.headers.emplace_back("Content-Type", "application/json");
  auto event = query_param(query, "event");
  std::string_view body = http_->request->body();
  while (!body.empty() && std::isspace(static_cast<unsigned char>(body.front()))) body.remove_prefix(1);
  while (!body.empty() && std::isspace(static_cast<unsigned char>(body.back()))) body.remove_suffix(1);
  if (body.empty()) body = "[]";
  if (http_->request->method() != http::verb::post || !event || event->empty() ||
      body.front() != '[' || body.back() != ']' || !sio::json_valid(body)) {
    r.status = 400;
    r.body = R"({"error":"POST with ?event=NAME and a JSON array body"})";
    return respond(std::move(r));
  }
  auto d = std::make_shared<session::Delivery>();
  d->nsp = query_param(query, "nsp").value_or("/");
  using Target = session::Delivery::Target;
  if (auto room = query_param(query, "room")) {
    d->target = Target::room;
    d->key = std::move(*room);
  } else if (auto user = query_param(query, "user")) {
    d->target = Target::user;
    d->key = std::move(*user);
  } else if (auto sid = query_param(query, "sid")) {
    d->target = Target::socket;
    d->key = std::move(*sid);
  }
  d->is_volatile = query_param(query, "volatile").value_or("") == "1";
  // ?ack=1: one ack id for the whole broadcast, as Socket.IO's broadcast with acks does; the
  // clients' answers are counted like client events (standalone mode has nowhere to send them).
  std::optional<uint64_t> ack_id;
  if (query_param(query, "ack").value_or("") == "1") ack_id = next_admin_ack_id();
  d->msg = session::make_socketio_message(
      sio::encode_event(d->nsp, *event, body.substr(1, body.size() - 2), ack_id));
  for (auto& w : ctx.workers)
    boost::asio::post(w->io(), [w = w.get(), d] { w->deliver(*d); });
  r.body = R"({"queued":true,"workers":)" + std::to_string(ctx.workers.size()) + "}";
  respond(std::move(r));
}

void Connection::add_cors(HttpResponse& r) const {
  if (!http_ || http_->origin.empty()) return;
  auto allowed = cors_allow(http_->origin, ctx_of(worker_).http.cors_origins);
  if (!allowed) return;
  r.headers.emplace_back("Access-Control-Allow-Origin", *allowed);
  r.headers.emplace_back("Access-Control-Allow-Credentials", "true");
  r.headers.emplace_back("Vary", "Origin");
}

void Connection::respond_engine_error(unsigned status, EngineError e, std::string_view message) {
  if (auto* m = worker_.metrics()) m->http_errors.inc();
  HttpResponse r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = error_body(e, message);
  r.keep_alive = http_ ? http_->keep_alive : false;
  add_cors(r);
  respond(std::move(r));
}

std::unique_ptr<session::SessionHandler> Connection::make_handler(bool raw_endpoint,
                                                                  const EngineQuery& q) {
  auto& ctx = ctx_of(worker_);
  if (raw_endpoint) return ctx.raw_handler ? ctx.raw_handler() : nullptr;
  std::string token;
  if (ctx.sio.jwt) {
    token = bearer_token((*http_->request)[http::field::authorization]);
    if (token.empty()) token = q.token;
  }
  return std::make_unique<session::SocketIoSession>(ctx.sio, std::move(token));
}

void Connection::handle_engine(bool raw_endpoint, std::string_view query) {
  auto& ctx = ctx_of(worker_);
  auto& req = *http_->request;
  if (!http_->origin.empty() && !cors_allow(http_->origin, ctx.http.cors_origins))
    return respond_engine_error(403, EngineError::forbidden);
  if (req.method() == http::verb::options) {  // CORS preflight
    HttpResponse r;
    r.status = 204;
    r.keep_alive = http_->keep_alive;
    add_cors(r);
    r.headers.emplace_back("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    auto want = req[http::field::access_control_request_headers];
    if (!want.empty()) r.headers.emplace_back("Access-Control-Allow-Headers", std::string(want));
    r.headers.emplace_back("Access-Control-Max-Age", "86400");
    return respond(std::move(r));
  }
  EngineQuery q;
  EngineError err;
  if (!parse_engine_query(query, q, err)) return respond_engine_error(400, err);
  const bool upgrade = boost::beast::websocket::is_upgrade(req);
  if (q.websocket != upgrade) return respond_engine_error(400, EngineError::bad_request);

  if (!q.has_sid) {
    if (ctx.draining.load(std::memory_order_relaxed))
      return respond_engine_error(503, EngineError::bad_request, "Server is shutting down");
    if (ctx.http.max_sessions) {
      size_t live = 0;
      for (auto& w : ctx.workers) live += w->session_count();
      if (live >= ctx.http.max_sessions)
        return respond_engine_error(503, EngineError::bad_request, "Server is full");
    }
    if (!q.websocket && req.method() != http::verb::get)
      return respond_engine_error(400, EngineError::bad_handshake_method);
    return q.websocket ? open_websocket(q, raw_endpoint) : open_polling(q, raw_endpoint);
  }
  if (!q.sid_valid) return respond_engine_error(400, EngineError::session_unknown);
  session::EngineSession* s = worker_.find_session(q.sid);
  if (!s) {
    auto owner = ctx.directory.find(q.sid);
    if (owner && *owner != worker_.index()) return migrate_to(*owner);
    return respond_engine_error(400, EngineError::session_unknown);
  }
  if (s->version() != q.version) return respond_engine_error(400, EngineError::bad_request);

  if (q.websocket) {
    if (s->kind() != session::EngineSession::Kind::polling || s->expire_if_due(worker_.now_ms()))
      return respond_engine_error(400, EngineError::bad_request);
    if (!accept_websocket(q.version)) return;
    session_ = s;
    if (!s->begin_probe(*this)) {
      session_ = nullptr;
      return fail_ws(ws::CloseCode::policy_violation, Disconnect::bad_request);
    }
    return consume_pipelined_frames();
  }
  if (req.method() == http::verb::get) {
    using E = session::EngineSession::PollError;
    held_ = s;
    switch (s->poll_get(*this)) {
      case E::none:
        worker_.timers().cancel(*this);  // the session's heartbeat bounds how long we hold
        return;
      case E::duplicate_get:
        held_ = nullptr;
        return respond_engine_error(400, EngineError::bad_request);
      case E::not_polling:
        held_ = nullptr;
        return respond_engine_error(400, EngineError::bad_request);
      case E::closed:
        held_ = nullptr;
        return respond_engine_error(400, EngineError::session_unknown);
    }
  }
  if (req.method() == http::verb::post) {
    using E = session::EngineSession::PostError;
    const bool binary = req[http::field::content_type] == "application/octet-stream";
    switch (s->poll_post(req.body(), binary)) {
      case E::none: {
        HttpResponse r;
        r.headers.emplace_back("Content-Type", "text/html");
        r.body = "ok";
        r.keep_alive = http_->keep_alive;
        add_cors(r);
        return respond(std::move(r));
      }
      case E::bad_payload:
      case E::not_polling:
        return respond_engine_error(400, EngineError::bad_request);
      case E::closed:
        return respond_engine_error(400, EngineError::session_unknown);
    }
  }
  respond_engine_error(400, EngineError::bad_request);
}

void Connection::open_polling(const EngineQuery& q, bool raw_endpoint) {
  auto& ctx = ctx_of(worker_);
  auto s = std::make_unique<session::EngineSession>(worker_, ctx.ids->next(), q.version,
                                                    session::EngineSession::Kind::polling,
                                                    q.supports_binary);
  s->set_handler(make_handler(raw_endpoint, q));
  auto& ref = worker_.add_session(std::move(s));
  bool binary = false;
  std::string body = ref.start_polling(binary);
  HttpResponse r;
  r.headers.emplace_back("Content-Type",
                         binary ? "application/octet-stream" : "text/plain; charset=UTF-8");
  r.body = std::move(body);
  r.keep_alive = http_->keep_alive;
  add_cors(r);
  respond(std::move(r));
}

void Connection::open_websocket(const EngineQuery& q, bool raw_endpoint) {
  auto& ctx = ctx_of(worker_);
  auto handler = make_handler(raw_endpoint, q);
  if (!accept_websocket(q.version)) return;
  auto s = std::make_unique<session::EngineSession>(worker_, ctx.ids->next(), q.version,
                                                    session::EngineSession::Kind::websocket,
                                                    q.supports_binary);
  s->set_handler(std::move(handler));
  auto& ref = worker_.add_session(std::move(s));
  session_ = &ref;
  ref.start_websocket(*this);
  consume_pipelined_frames();
}

bool Connection::accept_websocket(eio::Version v) {
  auto& req = *http_->request;
  auto key = req[http::field::sec_websocket_key];
  if (req[http::field::sec_websocket_version] != "13" || !ws::is_valid_client_key(key)) {
    respond_engine_error(400, EngineError::bad_request, "Bad WebSocket handshake");
    return false;
  }
  HttpResponse r;
  r.status = 101;
  r.headers.emplace_back("Upgrade", "websocket");
  r.headers.emplace_back("Connection", "Upgrade");
  r.headers.emplace_back("Sec-WebSocket-Accept", ws::accept_key(key));
  direct_ = serialize(r);
  direct_off_ = 0;
  // Bytes the client sent right after its request are already WebSocket frames.
  partial_ = std::move(http_->inbuf);
  http_.reset();
  worker_.timers().cancel(*this);
  reader_.emplace(ctx_of(worker_).session_cfg.max_payload);
  version_ = v;
  phase_ = Phase::websocket;
  wait_readable();
  flush_ws();
  // Writing the 101 can fail (the client reset the connection right after its request): the
  // connection is closed then, and no session may be attached to it.
  return phase_ == Phase::websocket;
}

void Connection::consume_pipelined_frames() {
  // Frames a client sent right behind its upgrade request, once the session is attached.
  if (partial_.empty() || phase_ != Phase::websocket) return;
  std::string pending = std::move(partial_);
  partial_.clear();
  ws_input(pending.data(), pending.size());
}

void Connection::migrate_to(uint32_t worker_index) {
  // The session lives on another worker: move this connection (fd, TLS state, parsed request)
  // there, so the session is only ever touched by its own thread.
  auto& target = *ctx_of(worker_).workers.at(worker_index);
  auto m = std::make_shared<Migrant>();
  boost::system::error_code ec;
  auto local = sock_.local_endpoint(ec);
  m->protocol = local.protocol();
  m->fd = sock_.release(ec);
  if (ec) return teardown(Disconnect::transport_error);
  m->ssl = std::exchange(ssl_, nullptr);
  m->kind = kind_;
  m->http = std::move(http_);
  worker_.timers().cancel(*this);
  phase_ = Phase::closed;
  boost::asio::post(target.io(), [&target, m] { adopt(target, m); });
}

void Connection::adopt(Worker& w, std::shared_ptr<Migrant> m) {
  tcp::socket sock(w.io());
  boost::system::error_code ec;
  sock.assign(m->protocol, m->fd, ec);
  if (ec) {
    ::close(m->fd);
    if (m->ssl) SSL_free(m->ssl);
    return;
  }
  auto c = std::make_shared<Connection>(w, std::move(sock), m->kind);
  c->ssl_ = m->ssl;
  c->http_ = std::move(m->http);
  c->phase_ = Phase::http;
  w.timers().schedule(*c, w.now_ms() + ctx_of(w).http.request_timeout_ms);
  c->handle_request();
  if (c->phase_ == Phase::http) c->wait_readable();
}

void Connection::respond(HttpResponse r) {
  if (!http_ || phase_ != Phase::http) return;
  http_->close_after = !r.keep_alive;
  http_->out = serialize(r);
  http_->out_off = 0;
  http_->request.reset();
  flush_http();
}

void Connection::poll_respond(std::string body, bool is_binary) {
  held_ = nullptr;
  if (phase_ != Phase::http) return;
  HttpResponse r;
  r.headers.emplace_back("Content-Type",
                         is_binary ? "application/octet-stream" : "text/plain; charset=UTF-8");
  r.body = std::move(body);
  r.keep_alive = http_->keep_alive;
  add_cors(r);
  worker_.timers().schedule(*this, worker_.now_ms() + ctx_of(worker_).http.request_timeout_ms);
  respond(std::move(r));
}

void Connection::flush_http() {
  auto* m = worker_.metrics();
  while (http_ && http_->out_off < http_->out.size()) {
    iovec iov{http_->out.data() + http_->out_off, http_->out.size() - http_->out_off};
    size_t n = 0;
    Io st = write_some(&iov, 1, n);
    if (st == Io::want_write) return wait_writable();
    if (st == Io::want_read) return wait_readable();
    if (st != Io::ok) return teardown(Disconnect::transport_error);
    if (m) m->bytes_out.inc(n);
    http_->out_off += n;
  }
  if (!http_ || phase_ != Phase::http) return;
  http_->out.clear();
  http_->out_off = 0;
  if (http_->close_after) return begin_closing();
  // Keep-alive: an idle connection between requests holds no buffers beyond the small state.
  if (http_->inbuf.empty()) std::string().swap(http_->inbuf);
  http_parse();
  if (phase_ == Phase::http) wait_readable();
}

// ---------------------------------------------------------------------------------------------
// WebSocket phase

void Connection::ws_input(char* data, size_t n) {
  std::span<uint8_t> in;
  const bool use_partial = !partial_.empty();
  if (use_partial) {
    partial_.append(data, n);
    in = {reinterpret_cast<uint8_t*>(partial_.data()), partial_.size()};
  } else {
    in = {reinterpret_cast<uint8_t*>(data), n};
  }
  auto res = reader_->consume(in, *this);
  if (res.failed) {
    const auto why = res.error == ws::CloseCode::message_too_big ? Disconnect::message_too_big
                     : res.error == ws::CloseCode::invalid_payload ? Disconnect::invalid_payload
                                                                   : Disconnect::protocol_error;
    return fail_ws(res.error, why);
  }
  if (phase_ != Phase::websocket) return;
  if (use_partial) {
    partial_.erase(0, res.consumed);
    if (partial_.empty()) std::string().swap(partial_);
  } else if (res.consumed < n) {
    partial_.assign(data + res.consumed, n - res.consumed);
  }
  if (direct_off_ < direct_.size()) flush_ws();
}

bool Connection::on_text(std::string_view text) {
  if (!session_) return false;
  session_->ws_text(*this, text);
  return session_ != nullptr && phase_ == Phase::websocket;
}

bool Connection::on_binary(std::string_view bytes) {
  if (!session_) return false;
  session_->ws_binary(*this, bytes);
  return session_ != nullptr && phase_ == Phase::websocket;
}

bool Connection::on_ping(std::string_view payload) {
  // A client that pings without reading our pongs must not grow this buffer without bound.
  if (direct_.size() - direct_off_ > kMaxDirectBytes) {
    fail_ws(ws::CloseCode::policy_violation, Disconnect::slow_consumer);
    return false;
  }
  direct_ += ws::make_frame(ws::Opcode::pong, payload);
  return true;
}

bool Connection::on_pong(std::string_view) { return true; }

bool Connection::on_close(uint16_t, std::string_view) {
  peer_closed_ = true;
  if (session_) {
    auto* s = std::exchange(session_, nullptr);
    s->ws_link_lost(*this, Disconnect::client_close);
  }
  if (phase_ == Phase::websocket) {
    close_frame_ = ws::make_close_frame(static_cast<uint16_t>(ws::CloseCode::normal), {});
    begin_closing();
  }
  return false;
}

void Connection::fail_ws(ws::CloseCode code, Disconnect why) {
  if (session_) {
    auto* s = std::exchange(session_, nullptr);
    s->ws_link_lost(*this, why);
  }
  if (phase_ != Phase::websocket) return;
  close_frame_ = ws::make_close_frame(static_cast<uint16_t>(code), session::name(why));
  begin_closing();
}

void Connection::ws_flush() { flush_ws(); }

void Connection::ws_send_direct(std::string frame) {
  if (direct_off_ == direct_.size()) {
    direct_ = std::move(frame);
    direct_off_ = 0;
  } else {
    direct_ += frame;
  }
  flush_ws();
}

void Connection::ws_detach(Disconnect code, bool send_close_frame, session::SendQueue&& rest) {
  session_ = nullptr;
  if (phase_ != Phase::websocket) return;
  if (code == Disconnect::transport_error) return close_socket();
  if (!rest.empty()) detached_ = std::make_unique<session::SendQueue>(std::move(rest));
  if (send_close_frame || peer_closed_) {
    close_frame_ = ws::make_close_frame(
        peer_closed_ ? static_cast<uint16_t>(ws::CloseCode::normal) : static_cast<uint16_t>(code),
        peer_closed_ ? std::string_view{} : session::name(code));
  }
  begin_closing();
}

session::SendQueue* Connection::out_queue() {
  if (detached_) return detached_.get();
  if (session_ && session_->ws() == this) return &session_->queue();
  return nullptr;
}

void Connection::begin_closing() {
  closing_ = true;
  if (phase_ == Phase::http) {
    phase_ = Phase::closing;
    return finish_write_side();
  }
  // A peer that stops reading must not keep a closing connection (and what it has left to
  // write) forever: finish_write_side() re-arms this with the linger once everything is out.
  if (phase_ == Phase::websocket) {
    worker_.timers().schedule(*this, worker_.now_ms() + kClosingWriteTimeoutMs);
  }
  phase_ = Phase::closing;
  flush_ws();
}

void Connection::flush_ws() {
  if (write_waiting_ || (phase_ != Phase::websocket && phase_ != Phase::closing)) return;
  auto* m = worker_.metrics();
  while (true) {
    iovec iov[kMaxIov];
    int n = 0;
    if (direct_off_ < direct_.size())
      iov[n++] = {direct_.data() + direct_off_, direct_.size() - direct_off_};
    session::SendQueue* q = out_queue();
    size_t entries = 0;
    bool queue_complete = true;
    if (q) {
      size_t skip = queue_off_;
      for (auto& e : q->pending()) {
        // Whole messages only, except the first: a message of more packets (binary
        // attachments) than one write takes goes out over several (queue_off_ counts bytes).
        if (entries > 0 && n + static_cast<int>(e.msg->packets.size()) > kMaxIov - 1) {
          queue_complete = false;
          break;
        }
        bool whole = true;
        for (const auto& p : e.msg->packets) {
          auto b = p.ws_bytes(version_);
          if (skip >= b.size()) {
            skip -= b.size();
            continue;
          }
          if (n == kMaxIov - 1) {  // the last slot stays free for the close frame
            whole = false;
            break;
          }
          iov[n++] = {const_cast<char*>(b.data()) + skip, b.size() - skip};
          skip = 0;
        }
        ++entries;
        if (!whole) {
          queue_complete = false;
          break;
        }
      }
    }
    const bool with_close = queue_complete && !close_frame_.empty();
    if (with_close) iov[n++] = {close_frame_.data(), close_frame_.size()};
    if (n == 0) break;

    size_t written = 0;
    Io st = write_some(iov, n, written);
    if (st == Io::want_write || st == Io::want_read) {
      if (session_ && q == &session_->queue()) session_->set_pinned(entries);
      return st == Io::want_write ? wait_writable() : wait_readable();
    }
    if (st != Io::ok) return teardown(Disconnect::transport_error);
    if (m) m->bytes_out.inc(written);

    // Account for what went out: direct bytes, then whole queue entries, then the close frame.
    size_t left = written;
    if (direct_off_ < direct_.size()) {
      size_t d = std::min(left, direct_.size() - direct_off_);
      direct_off_ += d;
      left -= d;
      if (direct_off_ == direct_.size()) {
        std::string().swap(direct_);
        direct_off_ = 0;
      }
    }
    if (q && left) {
      size_t popped = 0;
      for (auto& e : q->pending()) {
        size_t size = 0;
        for (const auto& p : e.msg->packets) size += p.ws_bytes(version_).size();
        size_t remaining = size - queue_off_;
        if (left >= remaining) {
          left -= remaining;
          queue_off_ = 0;
          ++popped;
        } else {
          queue_off_ += left;
          left = 0;
          break;
        }
        if (!left) break;
      }
      q->pop_front(popped);
    }
    if (with_close && left) {
      close_frame_.erase(0, std::min(left, close_frame_.size()));
      if (close_frame_.empty()) {
        std::string().swap(close_frame_);
        return finish_write_side();
      }
    }
  }
  if (session_) session_->set_pinned(0);
  if (phase_ == Phase::closing && close_frame_.empty()) finish_write_side();
}

void Connection::finish_write_side() {
  // Everything is written: say goodbye at the TLS and TCP level, then wait briefly for the
  // peer's FIN so the kernel does not reset the connection with unread data.
  if (phase_ == Phase::closed) return;
  phase_ = Phase::closing;
  if (held_) std::exchange(held_, nullptr)->poll_link_lost(*this);
  if (ssl_) {
    SSL_shutdown(ssl_);
    ERR_clear_error();
  }
  boost::system::error_code ec;
  sock_.shutdown(tcp::socket::shutdown_send, ec);
  http_.reset();
  detached_.reset();
  reader_.reset();
  std::string().swap(partial_);
  worker_.timers().schedule(*this, worker_.now_ms() + kLingerMs);
  wait_readable();
}

}  // namespace wsgw::net
