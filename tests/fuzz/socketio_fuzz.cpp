// libFuzzer target for the Socket.IO codec (common/socketio). Checks, on arbitrary bytes:
//  - decode() with both protocol versions never crashes;
//  - every packet decode() accepts re-encodes to text that decodes to an equal packet, and
//    encode() is canonical (encoding that again gives the same bytes);
//  - scan_event() accepts every valid EVENT payload, and rebuilding the event from its view
//    gives a packet that scans to the same name and arguments;
//  - the binary reassembly path never crashes;
//  - an arbitrary string escaped as an event name comes back unchanged (if it was UTF-8);
//  - json_valid() (RapidJSON plus our rewrite for what RapidJSON alone refuses) agrees with an
//    independent, deliberately naive validator of what JSON.parse accepts.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/codec/utf8.h"
#include "common/socketio/binary.h"
#include "common/socketio/packet.h"

namespace {

using namespace wsgw::sio;

void check(bool condition) {
  if (!condition) __builtin_trap();
}

void check_event(ProtocolVersion version, const Packet& p) {
  EventView ev;
  std::string storage;
  check(scan_event(p.data, ev, storage));
  const std::string rebuilt = encode_event(p.nsp, ev.name, ev.args, p.id, p.attachments);
  check(!is_reserved_event_name(ev.name));  // decode() refused those
  Packet q;
  check(decode(version, rebuilt, q, UINT32_MAX) == DecodeError::none);
  EventView ev2;
  std::string storage2;
  check(scan_event(q.data, ev2, storage2));
  check(ev2.name == ev.name);
  check(ev2.args == ev.args);
}

void check_binary(const Packet& p) {
  (void)placeholders_valid(p.data, p.attachments);
  BinaryAssembler assembler(16);
  if (!assembler.start(p)) return;
  std::string chunk = "abc";
  for (uint32_t k = 0; k <= p.attachments + 1; ++k) {
    const auto status = assembler.add(chunk);
    if (status != BinaryAssembler::Status::need_more) break;
  }
}

void check_packet(ProtocolVersion version, std::string_view text) {
  Packet p;
  if (decode(version, text, p) != DecodeError::none) return;
  const std::string encoded = encode(p);
  Packet again;
  check(decode(version, encoded, again) == DecodeError::none);
  check(again == p);
  check(encode(again) == encoded);
  if (p.type == PacketType::event || p.type == PacketType::binary_event) check_event(version, p);
  if (is_binary(p.type)) check_binary(p);
}

void check_name_escaping(std::string_view text) {
  const std::string encoded = encode_event("/", text, "");
  Packet p;
  const DecodeError err = decode(ProtocolVersion::v5, encoded, p);
  if (is_reserved_event_name(text)) {
    check(err == DecodeError::bad_payload);
    return;
  }
  check(err == DecodeError::none);
  EventView ev;
  std::string storage;
  check(scan_event(p.data, ev, storage));
  check(ev.args.empty());
  if (wsgw::codec::is_valid_utf8(text)) check(ev.name == text);
  check(wsgw::codec::is_valid_utf8(ev.name));
}


// Independent oracle: RFC 8259 as JSON.parse applies it (lone surrogate escapes and numbers
// beyond double range are fine), over UTF-8 input, with the same depth cap. Simple recursive
// descent; recursion is bounded by kMaxJsonDepth.
class ReferenceJson {
 public:
  explicit ReferenceJson(std::string_view s) : s_(s) {}
  bool valid() {
    space();
    if (!value()) return false;
    space();
    return i_ == s_.size();
  }

 private:
  bool at_end() const { return i_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[i_]; }
  bool eat(char c) {
    if (at_end() || s_[i_] != c) return false;
    ++i_;
    return true;
  }
  void space() {
    while (!at_end() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  bool literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }
  bool digits() {
    const std::size_t start = i_;
    while (!at_end() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    return i_ > start;
  }
  bool number() {
    eat('-');
    if (eat('0')) {
    } else if (peek() >= '1' && peek() <= '9') {
      digits();
    } else {
      return false;
    }
    if (eat('.') && !digits()) return false;
    if (eat('e') || eat('E')) {
      if (!eat('+')) eat('-');
      if (!digits()) return false;
    }
    return true;
  }
  bool hex4() {
    for (int k = 0; k < 4; ++k) {
      const char c = peek();
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
      ++i_;
    }
    return true;
  }
  // One UTF-8 encoded code point, decoded and range-checked.
  bool utf8_char() {
    const auto b0 = static_cast<unsigned char>(s_[i_]);
    int extra;
    uint32_t cp;
    if (b0 < 0x80) { ++i_; return true; }
    if ((b0 & 0xE0) == 0xC0) { extra = 1; cp = b0 & 0x1F; }
    else if ((b0 & 0xF0) == 0xE0) { extra = 2; cp = b0 & 0x0F; }
    else if ((b0 & 0xF8) == 0xF0) { extra = 3; cp = b0 & 0x07; }
    else return false;
    if (s_.size() - i_ <= static_cast<std::size_t>(extra)) return false;  // truncated
    for (int k = 1; k <= extra; ++k) {
      const auto b = static_cast<unsigned char>(s_[i_ + k]);
      if ((b & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i_ += static_cast<std::size_t>(extra) + 1;
    return true;
  }
  bool string() {
    if (!eat('"')) return false;
    for (;;) {
      if (at_end()) return false;
      const auto c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') { ++i_; return true; }
      if (c < 0x20) return false;
      if (c == '\\') {
        ++i_;
        if (at_end()) return false;
        const char e = s_[i_++];
        if (e == 'u') {
          if (!hex4()) return false;
        } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
          return false;
        }
        continue;
      }
      if (!utf8_char()) return false;
    }
  }
  bool container(char close, bool is_object) {
    if (++depth_ > kMaxJsonDepth) return false;
    space();
    if (!eat(close)) {
      for (;;) {
        space();
        if (is_object) {
          if (!string()) return false;
          space();
          if (!eat(':')) return false;
          space();
        }
        if (!value()) return false;
        space();
        if (eat(',')) continue;
        if (eat(close)) break;
        return false;
      }
    }
    --depth_;
    return true;
  }
  bool value() {
    switch (peek()) {
      case '{': ++i_; return container('}', true);
      case '[': ++i_; return container(']', false);
      case '"': return string();
      case 't': return literal("true");
      case 'f': return literal("false");
      case 'n': return literal("null");
      default: return number();
    }
  }

  std::string_view s_;
  std::size_t i_ = 0;
  std::size_t depth_ = 0;
};

void check_json_against_reference(std::string_view text) {
  check(json_valid(text) == ReferenceJson(text).valid());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_packet(ProtocolVersion::v4, text);
  check_packet(ProtocolVersion::v5, text);
  // Also as a payload, so the JSON paths see the input without needing a type digit first.
  check_packet(ProtocolVersion::v5, "2" + std::string(text));
  check_name_escaping(text);
  check_json_against_reference(text);
  if (!text.empty()) check_json_against_reference(text.substr(1));  // seeds start with a type digit
  return 0;
}
