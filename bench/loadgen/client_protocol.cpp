#include "bench/loadgen/client_protocol.h"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <array>
#include <cstring>

#include "bench/loadgen/http_text.h"
#include "common/codec/base64.h"

namespace wsgw::loadgen {

namespace {

constexpr std::string_view kWebSocketGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

using http_text::has_token;
using http_text::iequals;
using http_text::is_digit;
using http_text::trim;

// Position just after `"key"` followed by optional blanks and ':' and blanks, or npos.
size_t find_json_value(std::string_view json, std::string_view key) {
  size_t from = 0;
  while (from < json.size()) {
    size_t q = json.find('"', from);
    if (q == std::string_view::npos || q + 1 + key.size() + 1 > json.size()) return std::string_view::npos;
    if (json.compare(q + 1, key.size(), key) == 0 && json[q + 1 + key.size()] == '"') {
      size_t p = q + key.size() + 2;
      while (p < json.size() && json[p] == ' ') ++p;
      if (p < json.size() && json[p] == ':') {
        ++p;
        while (p < json.size() && json[p] == ' ') ++p;
        return p;
      }
    }
    from = q + 1;
  }
  return std::string_view::npos;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Handshake

std::string make_websocket_key() {
  std::array<unsigned char, 16> nonce{};
  if (RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) != 1) {
    // The key only has to be unpredictable enough for proxies; never fail over it.
    for (size_t i = 0; i < nonce.size(); ++i) nonce[i] = static_cast<unsigned char>(i * 37 + 11);
  }
  return codec::base64_encode(
      std::string_view(reinterpret_cast<const char*>(nonce.data()), nonce.size()));
}

std::string websocket_accept_for(std::string_view key) {
  std::string input;
  input.reserve(key.size() + kWebSocketGuid.size());
  input.append(key).append(kWebSocketGuid);
  std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest.data());
  return codec::base64_encode(
      std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

std::string make_upgrade_request(std::string_view host_header, std::string_view target,
                                 std::string_view websocket_key) {
  std::string r;
  r.reserve(160 + host_header.size() + target.size());
  r.append("GET ").append(target).append(" HTTP/1.1\r\n");
  r.append("Host: ").append(host_header).append("\r\n");
  r.append("Upgrade: websocket\r\nConnection: Upgrade\r\n");
  r.append("Sec-WebSocket-Key: ").append(websocket_key).append("\r\n");
  r.append("Sec-WebSocket-Version: 13\r\n\r\n");
  return r;
}

UpgradeResult check_upgrade_response(std::string_view response, std::string_view expected_accept) {
  UpgradeResult result;
  size_t end = response.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    // Reject early what can never become a status line, so garbage fails fast.
    constexpr std::string_view kPrefix = "HTTP/1.";
    size_t n = std::min(response.size(), kPrefix.size());
    if (response.compare(0, n, kPrefix.substr(0, n)) != 0) result.status = UpgradeStatus::malformed;
    else if (response.size() > kMaxUpgradeResponseBytes) result.status = UpgradeStatus::too_large;
    return result;
  }
  if (end + 4 > kMaxUpgradeResponseBytes) {
    result.status = UpgradeStatus::too_large;
    return result;
  }
  std::string_view head = response.substr(0, end);
  size_t line_end = head.find("\r\n");
  std::string_view status_line = head.substr(0, line_end);
  // "HTTP/1.1 101 Switching Protocols"
  if (status_line.size() < 12 || status_line.compare(0, 7, "HTTP/1.") != 0 ||
      !is_digit(status_line[7]) || status_line[8] != ' ' || !is_digit(status_line[9]) ||
      !is_digit(status_line[10]) || !is_digit(status_line[11]) ||
      (status_line.size() > 12 && status_line[12] != ' ')) {
    result.status = UpgradeStatus::malformed;
    return result;
  }
  result.http_status =
      (status_line[9] - '0') * 100 + (status_line[10] - '0') * 10 + (status_line[11] - '0');
  if (result.http_status != 101) {
    result.status = UpgradeStatus::bad_status;
    return result;
  }
  bool upgrade_ok = false;
  bool connection_ok = false;
  bool accept_ok = false;
  std::string_view rest = line_end == std::string_view::npos ? std::string_view{}
                                                             : head.substr(line_end + 2);
  while (!rest.empty()) {
    size_t eol = rest.find("\r\n");
    std::string_view line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view{} : rest.substr(eol + 2);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      result.status = UpgradeStatus::malformed;
      return result;
    }
    std::string_view name = line.substr(0, colon);
    std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "upgrade")) upgrade_ok = iequals(value, "websocket");
    else if (iequals(name, "connection")) connection_ok = has_token(value, "upgrade");
    else if (iequals(name, "sec-websocket-accept")) accept_ok = value == expected_accept;
  }
  if (!upgrade_ok || !connection_ok) {
    result.status = UpgradeStatus::bad_headers;
  } else if (!accept_ok) {
    result.status = UpgradeStatus::bad_accept;
  } else {
    result.status = UpgradeStatus::ok;
    result.header_bytes = end + 4;
  }
  return result;
}

// ---------------------------------------------------------------------------------------
// Framing

void append_client_frame(std::string& out, WsOpcode opcode, std::string_view payload,
                         uint32_t mask_key) {
  out.push_back(static_cast<char>(0x80 | static_cast<uint8_t>(opcode)));
  const uint64_t len = payload.size();
  if (len < 126) {
    out.push_back(static_cast<char>(0x80 | len));
  } else if (len <= 0xFFFF) {
    out.push_back(static_cast<char>(0x80 | 126));
    out.push_back(static_cast<char>(len >> 8));
    out.push_back(static_cast<char>(len & 0xFF));
  } else {
    out.push_back(static_cast<char>(0x80 | 127));
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((len >> shift) & 0xFF));
  }
  const std::array<char, 4> mask{static_cast<char>(mask_key >> 24), static_cast<char>(mask_key >> 16),
                                 static_cast<char>(mask_key >> 8), static_cast<char>(mask_key)};
  out.append(mask.data(), mask.size());
  const size_t start = out.size();
  out.append(payload);
  for (size_t i = 0; i < payload.size(); ++i) out[start + i] ^= mask[i & 3];
}

void append_client_close(std::string& out, uint16_t code, uint32_t mask_key) {
  const std::array<char, 2> body{static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
  append_client_frame(out, WsOpcode::close, std::string_view(body.data(), body.size()), mask_key);
}

const char* to_string(FrameError e) {
  switch (e) {
    case FrameError::none: return "none";
    case FrameError::reserved_bits: return "reserved_bits";
    case FrameError::masked_server_frame: return "masked_server_frame";
    case FrameError::bad_opcode: return "bad_opcode";
    case FrameError::bad_control_frame: return "bad_control_frame";
    case FrameError::bad_continuation: return "bad_continuation";
    case FrameError::bad_length: return "bad_length";
    case FrameError::too_large: return "too_large";
  }
  return "unknown";
}

void ServerFrameReader::append(std::string_view bytes) {
  if (read_pos_ == buffer_.size()) {
    buffer_.clear();
    read_pos_ = 0;
  }
  buffer_.append(bytes);
}

ServerFrameReader::Result ServerFrameReader::fail(FrameError e) {
  error_ = e;
  buffer_.clear();
  buffer_.shrink_to_fit();
  message_.clear();
  message_.shrink_to_fit();
  read_pos_ = 0;
  Result r;
  r.status = Status::error;
  return r;
}

ServerFrameReader::Result ServerFrameReader::next() {
  Result r;
  if (error_ != FrameError::none) {
    r.status = Status::error;
    return r;
  }
  if (!in_message_ && !message_.empty()) {
    // The reassembled message handed out by the previous call is no longer referenced.
    message_.clear();
    if (message_.capacity() > 64 * 1024) message_.shrink_to_fit();
  }
  for (;;) {
    const size_t avail = buffer_.size() - read_pos_;
    const auto* p = reinterpret_cast<const uint8_t*>(buffer_.data() + read_pos_);
    if (avail < 2) break;
    const bool fin = (p[0] & 0x80) != 0;
    const uint8_t opcode = p[0] & 0x0F;
    if ((p[0] & 0x70) != 0) return fail(FrameError::reserved_bits);
    if ((p[1] & 0x80) != 0) return fail(FrameError::masked_server_frame);
    const bool control = (opcode & 0x08) != 0;
    if (opcode != 0x0 && opcode != 0x1 && opcode != 0x2 && opcode != 0x8 && opcode != 0x9 &&
        opcode != 0xA) {
      return fail(FrameError::bad_opcode);
    }
    size_t header = 2;
    uint64_t len = p[1] & 0x7F;
    if (len == 126) {
      if (avail < 4) break;
      len = (uint64_t{p[2]} << 8) | p[3];
      header = 4;
    } else if (len == 127) {
      if (avail < 10) break;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
      if ((len >> 63) != 0) return fail(FrameError::bad_length);
      header = 10;
    }
    if (control && (!fin || len > 125)) return fail(FrameError::bad_control_frame);
    if (!control) {
      if (opcode == 0x0 && !in_message_) return fail(FrameError::bad_continuation);
      if (opcode != 0x0 && in_message_) return fail(FrameError::bad_continuation);
      const uint64_t so_far = in_message_ ? message_.size() : 0;
      // Checked before waiting for the payload so a huge announced length is not buffered.
      if (len > max_message_bytes_ || so_far + len > max_message_bytes_) {
        return fail(FrameError::too_large);
      }
    }
    if (avail - header < len) break;
    std::string_view payload(buffer_.data() + read_pos_ + header, static_cast<size_t>(len));
    read_pos_ += header + static_cast<size_t>(len);
    if (control) {
      r.status = Status::message;
      r.opcode = static_cast<WsOpcode>(opcode);
      r.payload = payload;
      return r;
    }
    if (opcode != 0x0) {
      if (fin) {
        r.status = Status::message;
        r.opcode = static_cast<WsOpcode>(opcode);
        r.payload = payload;
        return r;
      }
      in_message_ = true;
      message_opcode_ = static_cast<WsOpcode>(opcode);
      message_.assign(payload);
      continue;
    }
    message_.append(payload);
    if (fin) {
      in_message_ = false;
      r.status = Status::message;
      r.opcode = message_opcode_;
      r.payload = message_;
      return r;
    }
  }
  // Incomplete: keep only the unconsumed tail, so an idle reader holds (almost) nothing.
  if (read_pos_ > 0) {
    buffer_.erase(0, read_pos_);
    read_pos_ = 0;
  }
  if (buffer_.empty() && buffer_.capacity() > 64 * 1024) buffer_.shrink_to_fit();
  r.status = Status::need_more;
  return r;
}

// ---------------------------------------------------------------------------------------
// Socket.IO client

std::string_view json_string_field(std::string_view json, std::string_view key) {
  size_t p = find_json_value(json, key);
  if (p == std::string_view::npos || p >= json.size() || json[p] != '"') return {};
  size_t end = json.find('"', p + 1);
  if (end == std::string_view::npos) return {};
  return json.substr(p + 1, end - p - 1);
}

bool json_uint_field(std::string_view json, std::string_view key, uint64_t& out) {
  size_t p = find_json_value(json, key);
  if (p == std::string_view::npos || p >= json.size() || !is_digit(json[p])) return false;
  uint64_t v = 0;
  for (; p < json.size() && is_digit(json[p]); ++p) {
    if (v > (UINT64_MAX - 9) / 10) return false;
    v = v * 10 + static_cast<uint64_t>(json[p] - '0');
  }
  out = v;
  return true;
}

EventView parse_event_message(std::string_view message) {
  EventView v;
  if (message.size() < 2 || message[0] != '4' || message[1] != '2') return v;
  std::string_view rest = message.substr(2);
  if (!rest.empty() && rest.front() == '/') {
    size_t comma = rest.find(',');
    if (comma == std::string_view::npos) return v;
    v.nsp = rest.substr(0, comma);
    rest.remove_prefix(comma + 1);
  }
  if (!rest.empty() && is_digit(rest.front())) {
    uint64_t id = 0;
    size_t i = 0;
    for (; i < rest.size() && is_digit(rest[i]); ++i) {
      if (id > (UINT64_MAX - 9) / 10) return v;
      id = id * 10 + static_cast<uint64_t>(rest[i] - '0');
    }
    v.has_ack_id = true;
    v.ack_id = id;
    rest.remove_prefix(i);
  }
  if (rest.size() < 3 || rest.front() != '[' || rest[1] != '"' || rest.back() != ']') return v;
  size_t i = 2;
  for (; i < rest.size(); ++i) {
    if (rest[i] == '\\') {
      ++i;  // the escaped character cannot end the name
    } else if (rest[i] == '"') {
      break;
    }
  }
  if (i >= rest.size() - 1) return v;  // no closing quote before the final ']'
  v.name = rest.substr(2, i - 2);
  v.args = rest.substr(i + 1, rest.size() - 1 - (i + 1));
  if (!v.args.empty() && v.args.front() != ',') return v;
  v.ok = true;
  return v;
}

std::string make_receipt_message(std::string_view nsp, std::string_view receipt,
                                 std::string_view event_args) {
  uint64_t ts = 0;
  const std::string args = event_timestamp_us(event_args, ts) ? "{\"ts\":" + std::to_string(ts) + "}" : "{}";
  return make_event_message(nsp, receipt, args);
}

std::string make_ack_message(std::string_view nsp, uint64_t ack_id) {
  std::string out = "43";
  if (nsp != "/") out.append(nsp).push_back(',');
  out.append(std::to_string(ack_id)).append("[]");
  return out;
}

std::string receipt_for(const ReceiptPolicy& policy, const EventView& ev) {
  if (policy.receipt_ack && ev.has_ack_id) return make_ack_message(policy.nsp, ev.ack_id);
  if (!policy.receipt_event.empty()) return make_receipt_message(policy.nsp, policy.receipt_event, ev.args);
  return {};
}

bool event_timestamp_us(std::string_view args, uint64_t& out) {
  constexpr std::string_view kFastPrefix = ",{\"ts\":";
  if (args.starts_with(kFastPrefix) && args.size() > kFastPrefix.size() &&
      is_digit(args[kFastPrefix.size()])) {
    std::string_view digits = args.substr(kFastPrefix.size());
    uint64_t v = 0;
    for (size_t i = 0; i < digits.size() && is_digit(digits[i]); ++i) {
      if (v > (UINT64_MAX - 9) / 10) return false;
      v = v * 10 + static_cast<uint64_t>(digits[i] - '0');
    }
    out = v;
    return true;
  }
  // Elsewhere in the first argument: only when that argument is an object.
  if (!args.starts_with(",{")) return false;
  return json_uint_field(args, "ts", out);
}

std::string make_event_message(std::string_view nsp, std::string_view name, std::string_view args_json) {
  std::string m;
  m.reserve(8 + nsp.size() + name.size() + args_json.size());
  m.append("42");
  if (nsp != "/") m.append(nsp).append(",");
  m.append("[\"").append(name).append("\"");
  if (!args_json.empty()) m.append(",").append(args_json);
  m.append("]");
  return m;
}

SocketIoClient::Event SocketIoClient::on_text_message(std::string_view message, std::string& reply) {
  reply.clear();
  if (message.empty() || state_ == State::closed) return Event::protocol_error;
  switch (message[0]) {
    case '0':
      if (state_ != State::awaiting_open) return Event::protocol_error;
      return on_open(message.substr(1), reply);
    case '1':
      state_ = State::closed;
      return Event::server_disconnect;
    case '2':
      if (state_ == State::awaiting_open) return Event::protocol_error;
      reply.assign("3").append(message.substr(1));  // a pong echoes the ping's data
      return Event::ping;
    case '3':  // a pong: we never ping, so nothing to do
    case '6':  // noop
      return Event::none;
    case '4':
      if (state_ == State::awaiting_open) return Event::protocol_error;
      return on_socketio(message.substr(1));
    default:
      return Event::protocol_error;
  }
}

SocketIoClient::Event SocketIoClient::on_open(std::string_view json, std::string& reply) {
  std::string_view sid = json_string_field(json, "sid");
  if (sid.empty()) return Event::protocol_error;
  engine_sid_.assign(sid);
  json_uint_field(json, "pingInterval", ping_interval_ms_);
  json_uint_field(json, "pingTimeout", ping_timeout_ms_);
  state_ = State::awaiting_connect;
  reply.assign("40");
  if (nsp_ != "/") reply.append(nsp_).append(",");
  return Event::opened;
}

SocketIoClient::Event SocketIoClient::on_socketio(std::string_view packet) {
  if (packet.empty()) return Event::protocol_error;
  const char type = packet[0];
  std::string_view rest = packet.substr(1);
  if (type == '5' || type == '6') {  // BINARY_EVENT / BINARY_ACK: "<attachments>-" first
    size_t dash = rest.find('-');
    if (dash == std::string_view::npos || dash == 0) return Event::protocol_error;
    rest.remove_prefix(dash + 1);
  }
  std::string_view nsp = "/";
  if (!rest.empty() && rest.front() == '/') {
    size_t comma = rest.find(',');
    nsp = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
  }
  if (nsp != nsp_) return Event::none;  // another namespace of a multiplexed connection
  switch (type) {
    case '0': {
      if (state_ != State::awaiting_connect) return Event::protocol_error;
      std::string_view sid = json_string_field(rest, "sid");
      if (sid.empty()) return Event::protocol_error;
      socket_sid_.assign(sid);
      state_ = State::connected;
      return Event::connected;
    }
    case '1':
      state_ = State::closed;
      return Event::server_disconnect;
    case '2':
    case '3':
    case '5':
    case '6':
      return state_ == State::connected ? Event::event : Event::protocol_error;
    case '4':
      state_ = State::closed;
      return Event::connect_error;
    default:
      return Event::protocol_error;
  }
}

const char* to_string(SocketIoClient::Event e) {
  using E = SocketIoClient::Event;
  switch (e) {
    case E::none: return "none";
    case E::opened: return "opened";
    case E::connected: return "connected";
    case E::ping: return "ping";
    case E::event: return "event";
    case E::connect_error: return "connect_error";
    case E::server_disconnect: return "server_disconnect";
    case E::protocol_error: return "protocol_error";
  }
  return "unknown";
}

}  // namespace wsgw::loadgen
