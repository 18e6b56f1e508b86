#pragma once
// The client side of the wire protocols a benchmark client speaks, without any I/O:
// the WebSocket opening handshake and framing (RFC 6455, client role: masked frames out,
// unmasked frames in) and a minimal Socket.IO v5 / Engine.IO v4 client state machine.
// Bytes may arrive in any segmentation: every reader here is incremental.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace wsgw::loadgen {

// ---------------------------------------------------------------------------------------
// WebSocket opening handshake

// A fresh Sec-WebSocket-Key (base64 of 16 random bytes).
std::string make_websocket_key();

// base64(SHA-1(key + RFC 6455 GUID)): what the server must answer in Sec-WebSocket-Accept.
std::string websocket_accept_for(std::string_view key);

// "GET <target> HTTP/1.1" upgrade request; `target` is path plus query.
std::string make_upgrade_request(std::string_view host_header, std::string_view target,
                                 std::string_view websocket_key);

enum class UpgradeStatus : uint8_t {
  need_more,       // the header block is not complete yet
  ok,              // 101 with the right Upgrade/Connection/Sec-WebSocket-Accept
  bad_status,      // a status other than 101 (see http_status)
  bad_accept,      // 101 but a missing or wrong Sec-WebSocket-Accept
  bad_headers,     // 101 but no "Upgrade: websocket" / "Connection: upgrade"
  malformed,       // not an HTTP/1.x response
  too_large,       // no end of headers within kMaxUpgradeResponseBytes
};

inline constexpr size_t kMaxUpgradeResponseBytes = 8 * 1024;

struct UpgradeResult {
  UpgradeStatus status = UpgradeStatus::need_more;
  int http_status = 0;
  size_t header_bytes = 0;  // when ok: bytes of `response` taken by the headers (frames follow)
};

// Checks the server's response to make_upgrade_request(); `response` holds everything
// received so far.
UpgradeResult check_upgrade_response(std::string_view response, std::string_view expected_accept);

// ---------------------------------------------------------------------------------------
// WebSocket framing

enum class WsOpcode : uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA,
};

// Appends one complete (FIN) client frame, masked with `mask_key`, to `out`.
void append_client_frame(std::string& out, WsOpcode opcode, std::string_view payload,
                         uint32_t mask_key);

// Appends a close frame carrying `code` (RFC 6455 section 7.4).
void append_client_close(std::string& out, uint16_t code, uint32_t mask_key);

enum class FrameError : uint8_t {
  none,
  reserved_bits,        // RSV1-3 set: no extension was negotiated
  masked_server_frame,  // servers must not mask (RFC 6455 section 5.1)
  bad_opcode,
  bad_control_frame,    // fragmented or longer than 125 bytes
  bad_continuation,     // continuation without a message, or a new message inside one
  bad_length,           // 64-bit length with the top bit set
  too_large,            // message above the reader's limit
};

const char* to_string(FrameError e);

// Reassembles server messages from arbitrarily split bytes. Control frames are delivered
// as they come, also between the fragments of a data message.
class ServerFrameReader {
 public:
  enum class Status : uint8_t { need_more, message, error };
  struct Result {
    Status status = Status::need_more;
    WsOpcode opcode = WsOpcode::text;  // text/binary for data messages, else the control opcode
    std::string_view payload;          // valid until the next append() or next()
  };

  explicit ServerFrameReader(size_t max_message_bytes) : max_message_bytes_(max_message_bytes) {}

  // Buffers received bytes. Invalidates payloads returned earlier.
  void append(std::string_view bytes);

  // The next complete message, or need_more, or error (sticky: the stream is unusable).
  Result next();

  FrameError error() const { return error_; }
  // Bytes held for an incomplete frame or message (for memory accounting and tests).
  size_t buffered_bytes() const { return buffer_.size() - read_pos_ + message_.size(); }

 private:
  Result fail(FrameError e);

  size_t max_message_bytes_;
  std::string buffer_;     // received, not yet consumed bytes start at read_pos_
  size_t read_pos_ = 0;
  std::string message_;    // a fragmented data message being reassembled
  bool in_message_ = false;
  WsOpcode message_opcode_ = WsOpcode::text;
  FrameError error_ = FrameError::none;
};

// ---------------------------------------------------------------------------------------
// Socket.IO v5 over Engine.IO v4, client side, after the WebSocket is open

class SocketIoClient {
 public:
  enum class State : uint8_t { awaiting_open, awaiting_connect, connected, closed };

  enum class Event : uint8_t {
    none,               // nothing of interest (noop, ignored packet)
    opened,             // Engine.IO open packet: reply holds the Socket.IO CONNECT
    connected,          // Socket.IO CONNECT acknowledged with a sid
    ping,               // Engine.IO ping: reply holds the pong
    event,              // a Socket.IO EVENT/ACK/binary packet for us
    connect_error,      // Socket.IO CONNECT_ERROR
    server_disconnect,  // Socket.IO DISCONNECT or Engine.IO close
    protocol_error,     // unexpected or malformed packet for the current state
  };

  // `nsp` is the namespace to join ("/" or "/custom").
  explicit SocketIoClient(std::string nsp) : nsp_(std::move(nsp)) {}

  // Handles one WebSocket text message. When the returned event needs an answer, `reply`
  // is set to the text message to send; otherwise it is left empty.
  Event on_text_message(std::string_view message, std::string& reply);

  State state() const { return state_; }
  const std::string& engine_sid() const { return engine_sid_; }
  const std::string& socket_sid() const { return socket_sid_; }
  uint64_t ping_interval_ms() const { return ping_interval_ms_; }
  uint64_t ping_timeout_ms() const { return ping_timeout_ms_; }

 private:
  Event on_open(std::string_view json, std::string& reply);
  Event on_socketio(std::string_view packet);

  std::string nsp_;
  State state_ = State::awaiting_open;
  std::string engine_sid_;
  std::string socket_sid_;
  uint64_t ping_interval_ms_ = 0;
  uint64_t ping_timeout_ms_ = 0;
};

const char* to_string(SocketIoClient::Event e);

// ---------------------------------------------------------------------------------------
// Socket.IO events the benchmarks time and answer

// The parts of a Socket.IO EVENT text message ("42[...]", "42/nsp,17[...]"), found without
// parsing the JSON arguments.
struct EventView {
  bool ok = false;            // an EVENT packet with a string event name
  std::string_view nsp = "/";
  std::string_view name;      // as written between the quotes (escapes left in place)
  std::string_view args;      // the arguments after the name: "" or ",{...}" (no closing ']')
  bool has_ack_id = false;
  uint64_t ack_id = 0;
};

// Splits a whole Engine.IO text message that carries a Socket.IO EVENT. Anything else
// (another packet type, binary events, a malformed array) gives ok == false.
EventView parse_event_message(std::string_view message);

// The "ts" field of an event's first argument, as the benchmark drivers send it: a number
// of microseconds since the Unix epoch, ideally first in the object (`,{"ts":123,...`: found
// without scanning the rest). False when there is none.
bool event_timestamp_us(std::string_view args, uint64_t& out);

// The receipt for a tracked event (both transports): `receipt` on namespace `nsp` with the
// event's {"ts":N} when it had one, {} otherwise.
std::string make_receipt_message(std::string_view nsp, std::string_view receipt,
                                 std::string_view event_args);

// The Socket.IO ACK answering a server event that asked for one: 43<id>[] or 43/nsp,<id>[].
std::string make_ack_message(std::string_view nsp, uint64_t ack_id);

// What a client answers to tracked event `ev` (the options' --receipt-ack or --receipt-event),
// or "" for nothing.
struct ReceiptPolicy {
  std::string_view nsp;
  std::string_view receipt_event;  // send this event
  bool receipt_ack = false;        // answer the event's ack id (takes precedence when it has one)
};
std::string receipt_for(const ReceiptPolicy& policy, const EventView& ev);

// The Engine.IO text message of a Socket.IO EVENT `name` with the raw JSON `args_json`
// (one argument; empty = none) on namespace `nsp`: 42["name",args] or 42/nsp,["name",args].
std::string make_event_message(std::string_view nsp, std::string_view name, std::string_view args_json);

// Finds `"key":"value"` in a flat JSON object and returns value (no escapes expected in
// ids); empty when absent. Good enough for handshake objects, not a JSON parser.
std::string_view json_string_field(std::string_view json, std::string_view key);
// Finds `"key":123`; false when absent or not a plain unsigned integer.
bool json_uint_field(std::string_view json, std::string_view key, uint64_t& out);

}  // namespace wsgw::loadgen
