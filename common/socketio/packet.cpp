#include "common/socketio/packet.h"

#include <array>
#include <charconv>
#include <limits>

#include "common/codec/utf8.h"
#include "common/socketio/json_sax.h"

namespace wsgw::sio {
namespace {

constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
constexpr bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

enum class JsonKind : uint8_t { none, null, boolean, number, string, array, object };

// What the payload rules need to know about a JSON text, gathered without building a DOM.
struct PayloadShape {
  JsonKind top = JsonKind::none;
  JsonKind first_element = JsonKind::none;  // when top is an array
  bool first_element_is_reserved_name = false;
};

class ShapeHandler : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, ShapeHandler> {
 public:
  PayloadShape shape;

  bool Null() { return on_value(JsonKind::null); }
  bool Bool(bool) { return on_value(JsonKind::boolean); }
  bool Int(int) { return on_value(JsonKind::number); }
  bool Uint(unsigned) { return on_value(JsonKind::number); }
  bool Int64(int64_t) { return on_value(JsonKind::number); }
  bool Uint64(uint64_t) { return on_value(JsonKind::number); }
  bool Double(double) { return on_value(JsonKind::number); }
  bool RawNumber(const char*, rapidjson::SizeType, bool) { return on_value(JsonKind::number); }
  bool String(const char* s, rapidjson::SizeType n, bool) {
    if (is_first_element())
      shape.first_element_is_reserved_name = is_reserved_event_name(std::string_view(s, n));
    return on_value(JsonKind::string);
  }
  bool Key(const char*, rapidjson::SizeType, bool) { return true; }
  bool StartObject() { return on_value(JsonKind::object) && ++depth_ <= kMaxJsonDepth; }
  bool EndObject(rapidjson::SizeType) { return --depth_, true; }
  bool StartArray() { return on_value(JsonKind::array) && ++depth_ <= kMaxJsonDepth; }
  bool EndArray(rapidjson::SizeType) { return --depth_, true; }

  void reset() { *this = ShapeHandler{}; }

 private:
  bool is_first_element() const {
    return depth_ == 1 && shape.top == JsonKind::array && top_level_elements_ == 0;
  }
  bool on_value(JsonKind kind) {
    if (depth_ == 0) {
      shape.top = kind;
    } else if (depth_ == 1 && shape.top == JsonKind::array) {
      if (top_level_elements_++ == 0) shape.first_element = kind;
    }
    return true;
  }

  std::size_t depth_ = 0;
  std::size_t top_level_elements_ = 0;
};

bool payload_shape_matches(PacketType type, const PayloadShape& shape) {
  switch (type) {
    case PacketType::connect:
      return shape.top == JsonKind::object;
    case PacketType::disconnect:
      return false;
    case PacketType::event:
    case PacketType::binary_event:
      return shape.top == JsonKind::array &&
             (shape.first_element == JsonKind::number ||
              (shape.first_element == JsonKind::string && !shape.first_element_is_reserved_name));
    case PacketType::ack:
    case PacketType::binary_ack:
      return shape.top == JsonKind::array;
    case PacketType::connect_error:
      return shape.top == JsonKind::object || shape.top == JsonKind::string;
  }
  return false;
}

// Namespace bytes (with a v4 query) must be printable UTF-8: they end up in logs, map keys and
// message headers.
bool namespace_text_ok(std::string_view segment) {
  for (char c : segment) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) return false;
  }
  return codec::is_valid_utf8(segment);
}

// Decimal digits at text[i..] into `value`; false on uint64 overflow. Advances i past them.
bool parse_decimal(std::string_view text, std::size_t& i, uint64_t& value) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  value = 0;
  bool overflow = false;
  for (; i < text.size() && is_digit(text[i]); ++i) {
    const auto digit = static_cast<uint64_t>(text[i] - '0');
    if (value > (kMax - digit) / 10) overflow = true;  // keep scanning to find the end
    else value = value * 10 + digit;
  }
  return !overflow;
}

void append_number(std::string& out, uint64_t v) {
  char buf[24];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}

// Everything up to the payload: type, "N-", "<nsp>[?query],", ack id.
void append_header(std::string& out, PacketType type, uint32_t attachments, std::string_view nsp,
                   std::string_view query, std::optional<uint64_t> id) {
  out += static_cast<char>('0' + static_cast<int>(type));
  if (is_binary(type)) {
    append_number(out, attachments);
    out += '-';
  }
  const bool default_nsp = nsp.empty() || nsp == "/";
  if (!default_nsp || !query.empty()) {
    out += default_nsp ? std::string_view("/") : nsp;
    if (!query.empty()) {
      out += '?';
      out += query;
    }
    out += ',';
  }
  if (id) append_number(out, *id);
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  json_escape_append(out, s);
  out += '"';
}

std::string_view trim_json_space(std::string_view s) {
  while (!s.empty() && is_json_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_json_space(s.back())) s.remove_suffix(1);
  return s;
}

std::size_t skip_json_space(std::string_view s, std::size_t i) {
  while (i < s.size() && is_json_space(s[i])) ++i;
  return i;
}

}  // namespace

std::string_view to_string(DecodeError e) {
  switch (e) {
    case DecodeError::none: return "none";
    case DecodeError::empty: return "empty";
    case DecodeError::unknown_type: return "unknown_type";
    case DecodeError::bad_attachments: return "bad_attachments";
    case DecodeError::too_many_attachments: return "too_many_attachments";
    case DecodeError::bad_namespace: return "bad_namespace";
    case DecodeError::bad_id: return "bad_id";
    case DecodeError::bad_json: return "bad_json";
    case DecodeError::bad_payload: return "bad_payload";
  }
  return "unknown";
}

bool is_reserved_event_name(std::string_view name) {
  static constexpr std::array<std::string_view, 6> kReserved = {
      "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"};
  for (std::string_view r : kReserved)
    if (name == r) return true;
  return false;
}

DecodeError decode(ProtocolVersion version, std::string_view text, Packet& out,
                   uint32_t max_attachments) {
  out = Packet{};
  if (text.empty()) return DecodeError::empty;
  if (text[0] < '0' || text[0] > '6') return DecodeError::unknown_type;
  out.type = static_cast<PacketType>(text[0] - '0');
  std::size_t i = 1;

  if (is_binary(out.type)) {
    const std::size_t digits_start = i;
    uint64_t count = 0;
    const bool fits = parse_decimal(text, i, count);
    if (i == digits_start || i >= text.size() || text[i] != '-') return DecodeError::bad_attachments;
    if (!fits || count > max_attachments) return DecodeError::too_many_attachments;
    out.attachments = static_cast<uint32_t>(count);
    ++i;
  }

  if (i < text.size() && text[i] == '/') {
    const std::size_t comma = text.find(',', i);
    const std::size_t end = comma == std::string_view::npos ? text.size() : comma;
    std::string_view nsp = text.substr(i, end - i);
    if (!namespace_text_ok(nsp)) return DecodeError::bad_namespace;
    // socket.io-client 2.x appends the namespace's query to the name in CONNECT only.
    if (version == ProtocolVersion::v4 && out.type == PacketType::connect) {
      if (const std::size_t q = nsp.find('?'); q != std::string_view::npos) {
        out.query.assign(nsp.substr(q + 1));
        nsp = nsp.substr(0, q);
      }
    }
    if (nsp.size() > kMaxNamespaceLength) return DecodeError::bad_namespace;
    out.nsp.assign(nsp);
    i = comma == std::string_view::npos ? text.size() : comma + 1;
  }

  if (i < text.size() && is_digit(text[i])) {
    uint64_t id = 0;
    if (!parse_decimal(text, i, id)) return DecodeError::bad_id;
    out.id = id;
  }

  const std::string_view payload = text.substr(i);
  if (payload.empty()) {
    // The reference accepts an EVENT/ACK without payload; the spec says it is mandatory, and a
    // packet without arguments has nothing to route, so it is refused.
    return out.type == PacketType::connect || out.type == PacketType::disconnect
               ? DecodeError::none
               : DecodeError::bad_payload;
  }
  if (out.type == PacketType::disconnect) return DecodeError::bad_payload;
  if (out.type == PacketType::connect && version == ProtocolVersion::v4)
    return DecodeError::bad_payload;  // v4 CONNECT carries its data in the namespace query

  ShapeHandler handler;
  switch (detail::sax_parse(payload, handler)) {
    case detail::SaxResult::ok: break;
    case detail::SaxResult::malformed:
    case detail::SaxResult::stopped_by_handler: return DecodeError::bad_json;
  }
  if (!payload_shape_matches(out.type, handler.shape)) return DecodeError::bad_payload;
  out.data.assign(payload);
  return DecodeError::none;
}

bool scan_event(std::string_view s, EventView& out, std::string& name_storage) {
  out = EventView{};
  std::size_t i = skip_json_space(s, 0);
  if (i >= s.size() || s[i] != '[') return false;
  i = skip_json_space(s, i + 1);
  if (i >= s.size()) return false;

  if (s[i] == '"') {
    const std::size_t body_start = ++i;
    bool has_escape = false;
    while (i < s.size() && s[i] != '"') {
      if (s[i] == '\\') {
        has_escape = true;
        i += 2;
      } else {
        ++i;
      }
    }
    if (i >= s.size()) return false;
    const std::string_view body = s.substr(body_start, i - body_start);
    ++i;
    if (has_escape) {
      name_storage.clear();
      if (!json_unescape_append(name_storage, body)) return false;
      out.name = name_storage;
    } else {
      out.name = body;
    }
  } else if (s[i] == '-' || is_digit(s[i])) {
    const std::size_t start = i;
    while (i < s.size() && (is_digit(s[i]) || s[i] == '-' || s[i] == '+' || s[i] == '.' ||
                            s[i] == 'e' || s[i] == 'E'))
      ++i;
    out.name = s.substr(start, i - start);
    out.numeric_name = true;
  } else {
    return false;
  }

  // In a valid array the closing bracket is the last non-space character.
  std::size_t close = s.size();
  while (close > 0 && is_json_space(s[close - 1])) --close;
  if (close == 0 || s[close - 1] != ']') return false;
  --close;
  i = skip_json_space(s, i);
  if (i > close) return false;
  if (s[i] == ']') return i == close;
  if (s[i] != ',') return false;
  out.args = trim_json_space(s.substr(i + 1, close - (i + 1)));
  return !out.args.empty();
}

std::string encode(const Packet& p) {
  std::string out;
  out.reserve(p.nsp.size() + p.query.size() + p.data.size() + 32);
  append_header(out, p.type, p.attachments, p.nsp, p.query, p.id);
  out += p.data;
  return out;
}

std::string encode_event(std::string_view nsp, std::string_view event_name,
                         std::string_view args_json, std::optional<uint64_t> ack_id,
                         uint32_t attachments) {
  std::string out;
  out.reserve(nsp.size() + event_name.size() + args_json.size() + 40);
  const PacketType type = attachments > 0 ? PacketType::binary_event : PacketType::event;
  append_header(out, type, attachments, nsp, {}, ack_id);
  out += '[';
  append_json_string(out, event_name);
  if (!args_json.empty()) {
    out += ',';
    out += args_json;
  }
  out += ']';
  return out;
}

std::string encode_ack(std::string_view nsp, uint64_t id, std::string_view args_json,
                       uint32_t attachments) {
  std::string out;
  out.reserve(nsp.size() + args_json.size() + 40);
  const PacketType type = attachments > 0 ? PacketType::binary_ack : PacketType::ack;
  append_header(out, type, attachments, nsp, {}, id);
  out += '[';
  out += args_json;
  out += ']';
  return out;
}

std::string encode_connect_ok(ProtocolVersion version, std::string_view nsp,
                              std::string_view sid) {
  std::string out;
  out.reserve(nsp.size() + sid.size() + 16);
  append_header(out, PacketType::connect, 0, nsp, {}, std::nullopt);
  if (version == ProtocolVersion::v5) {
    out += "{\"sid\":";
    append_json_string(out, sid);
    out += '}';
  }
  return out;
}

std::string encode_connect_error(ProtocolVersion version, std::string_view nsp,
                                 std::string_view message, std::string_view data_json) {
  std::string out;
  out.reserve(nsp.size() + message.size() + data_json.size() + 32);
  append_header(out, PacketType::connect_error, 0, nsp, {}, std::nullopt);
  if (version == ProtocolVersion::v4) {
    if (!data_json.empty()) out += data_json;
    else append_json_string(out, message);
    return out;
  }
  out += "{\"message\":";
  append_json_string(out, message);
  if (!data_json.empty()) {
    out += ",\"data\":";
    out += data_json;
  }
  out += '}';
  return out;
}

std::string encode_disconnect(std::string_view nsp) {
  std::string out;
  append_header(out, PacketType::disconnect, 0, nsp, {}, std::nullopt);
  return out;
}

}  // namespace wsgw::sio
