#pragma once
// One client TCP connection, plain or TLS, pinned to its worker. It starts as HTTP/1.1
// (Engine.IO handshake, long-polling requests, admin endpoints) and may become a WebSocket.
// Thin by design: it waits for readiness and reads into the worker's buffer, so an idle
// WebSocket owns no read buffer; it writes the shared frames of its session's queue with one
// writev (plain) or one coalesced SSL_write (TLS). OpenSSL is driven directly on the fd.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <sys/uio.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <openssl/ssl.h>

#include "common/util/timer_wheel.h"
#include "gateway/net/http.h"
#include "gateway/session/engine_session.h"
#include "gateway/session/links.h"
#include "gateway/websocket/frame.h"

namespace wsgw::net {

class Worker;

enum class ListenerKind : uint8_t { client, admin };

class Connection final : public std::enable_shared_from_this<Connection>,
                         public util::TimerNode,
                         public session::WsLink,
                         public session::PollLink,
                         private ws::MessageHandler {
 public:
  using tcp = boost::asio::ip::tcp;
  using Request = boost::beast::http::request<boost::beast::http::string_body>;

  // A freshly accepted socket (already bound to `w`'s io_context).
  static void start(Worker& w, tcp::socket sock, bool tls, ListenerKind kind);

  Connection(Worker& w, tcp::socket sock, ListenerKind kind);
  ~Connection() override;

  // session::WsLink
  void ws_flush() override;
  void ws_send_direct(std::string frame) override;
  void ws_detach(session::Disconnect code, bool send_close_frame,
                 session::SendQueue&& rest) override;
  // session::PollLink
  void poll_respond(std::string body, bool is_binary) override;

 private:
  struct HttpState;
  struct Migrant;
  enum class Phase : uint8_t { tls_handshake, http, websocket, closing, closed };
  enum class Io : uint8_t { ok, want_read, want_write, eof, error };

  static void adopt(Worker& w, std::shared_ptr<Migrant> m);

  // I/O primitives over the plain fd or OpenSSL.
  Io read_some(char* buf, size_t cap, size_t& n);
  Io write_some(const iovec* iov, int count, size_t& n);
  void wait_readable();
  void wait_writable();
  void on_readable();
  void on_writable();
  void on_timer(uint64_t now_ms) override;

  void tls_handshake();
  void enter_http();

  // HTTP phase
  void http_input(const char* data, size_t n);
  void http_parse();
  void handle_request();
  void handle_admin(std::string_view path, std::string_view query);
  void admin_broadcast(std::string_view query);
  bool admin_allowed() const;
  void handle_engine(bool raw_endpoint, std::string_view query);
  void open_polling(const EngineQuery& q, bool raw_endpoint);
  void open_websocket(const EngineQuery& q, bool raw_endpoint);
  bool accept_websocket(eio::Version v);
  void consume_pipelined_frames();
  void migrate_to(uint32_t worker_index);
  // Closes a session wherever it lives (posting to its worker when that is not this one).
  void close_session(uint64_t sid, session::Disconnect why);
  void respond(HttpResponse r);
  void respond_engine_error(unsigned status, EngineError e, std::string_view message = {});
  void add_cors(HttpResponse& r) const;
  void flush_http();
  std::unique_ptr<session::SessionHandler> make_handler(bool raw_endpoint, const EngineQuery& q);

  // WebSocket phase
  void ws_input(char* data, size_t n);
  void flush_ws();
  session::SendQueue* out_queue();
  void fail_ws(ws::CloseCode code, session::Disconnect why);
  bool on_text(std::string_view) override;
  bool on_binary(std::string_view) override;
  bool on_ping(std::string_view) override;
  bool on_pong(std::string_view) override;
  bool on_close(uint16_t code, std::string_view reason) override;

  void begin_closing();
  void finish_write_side();
  void teardown(session::Disconnect why);
  void close_socket();

  Worker& worker_;
  tcp::socket sock_;
  SSL* ssl_ = nullptr;
  std::unique_ptr<HttpState> http_;            // only during the HTTP phase
  session::EngineSession* session_ = nullptr;  // WebSocket: the session this link carries
  session::EngineSession* held_ = nullptr;     // HTTP: the session whose GET is held here
  std::optional<ws::FrameReader> reader_;      // WebSocket phase only
  std::string partial_;    // bytes of an incomplete frame between reads (usually empty)
  std::string direct_;     // 101 response, probe replies, pongs: written before the queue
  std::string close_frame_;                     // written last, then the socket closes
  std::unique_ptr<session::SendQueue> detached_;// what the session left to write when it ended
  size_t direct_off_ = 0;
  size_t queue_off_ = 0;   // bytes of the first queued message already written
  uint32_t tls_retry_len_ = 0;  // an SSL_write that must be retried with the same bytes
  Phase phase_ = Phase::http;
  ListenerKind kind_;
  eio::Version version_ = eio::Version::v4;
  bool read_waiting_ = false;
  bool write_waiting_ = false;
  bool read_wants_write_ = false;  // TLS: SSL_read needs the socket writable
  bool peer_closed_ = false;
  bool closing_ = false;
  // http_parse() is running: a response written synchronously inside it must not parse the
  // next pipelined request by calling it again (its loop does), or a client that pipelines
  // thousands of requests would recurse once per request.
  bool in_http_parse_ = false;
};

}  // namespace wsgw::net
