#include "gateway/websocket/frame.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "common/codec/utf8.h"

namespace wsgw::ws {
namespace {

constexpr uint8_t kFinBit = 0x80;
constexpr uint8_t kRsvBits = 0x70;
constexpr uint8_t kOpcodeBits = 0x0F;
constexpr uint8_t kMaskBit = 0x80;
constexpr uint8_t kLengthBits = 0x7F;
constexpr uint8_t kLength16 = 126;
constexpr uint8_t kLength64 = 127;
constexpr size_t kMaskKeySize = 4;

bool is_known_opcode(uint8_t op) {
  switch (static_cast<Opcode>(op)) {
    case Opcode::continuation:
    case Opcode::text:
    case Opcode::binary:
    case Opcode::close:
    case Opcode::ping:
    case Opcode::pong:
      return true;
  }
  return false;
}

bool is_control(Opcode op) { return (static_cast<uint8_t>(op) & 0x08) != 0; }

uint64_t read_big_endian(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

// XORs eight bytes at a time: the key repeats every 4 bytes, so a doubled key lines up
// with every 8-byte block that starts at a multiple of 8 from the payload start.
void unmask(uint8_t* payload, size_t size, const uint8_t key[kMaskKeySize]) {
  uint8_t doubled[8];
  std::memcpy(doubled, key, kMaskKeySize);
  std::memcpy(doubled + kMaskKeySize, key, kMaskKeySize);
  uint64_t wide_key;
  std::memcpy(&wide_key, doubled, sizeof wide_key);
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t block;
    std::memcpy(&block, payload + i, sizeof block);
    block ^= wide_key;
    std::memcpy(payload + i, &block, sizeof block);
  }
  for (; i < size; ++i) payload[i] ^= key[i & 3];
}

std::string_view as_text(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

ConsumeResult failure(size_t consumed, CloseCode code) { return {consumed, true, code}; }

}  // namespace

FrameReader::FrameReader(size_t max_message_bytes)
    : max_message_bytes_(static_cast<uint32_t>(
          std::min<size_t>(max_message_bytes, std::numeric_limits<uint32_t>::max()))) {}

size_t FrameReader::memory_bytes() const {
  size_t bytes = sizeof(*this);
  if (fragments_) bytes += sizeof(std::string) + fragments_->capacity();
  return bytes;
}

ConsumeResult FrameReader::consume(std::span<uint8_t> input, MessageHandler& handler) {
  size_t pos = 0;
  while (input.size() - pos >= 2) {
    uint8_t* frame = input.data() + pos;
    const size_t available = input.size() - pos;

    const bool fin = (frame[0] & kFinBit) != 0;
    if ((frame[0] & kRsvBits) != 0) return failure(pos, CloseCode::protocol_error);
    const uint8_t raw_opcode = frame[0] & kOpcodeBits;
    if (!is_known_opcode(raw_opcode)) return failure(pos, CloseCode::protocol_error);
    const auto op = static_cast<Opcode>(raw_opcode);
    if ((frame[1] & kMaskBit) == 0) return failure(pos, CloseCode::protocol_error);
    const uint8_t length7 = frame[1] & kLengthBits;

    if (is_control(op)) {
      if (!fin || length7 > kMaxControlPayload) return failure(pos, CloseCode::protocol_error);
    } else if (op == Opcode::continuation) {
      if (!fragments_) return failure(pos, CloseCode::protocol_error);
    } else if (fragments_) {
      return failure(pos, CloseCode::protocol_error);  // new message before the last one ended
    }

    size_t length_size = 0;
    if (length7 == kLength16) length_size = 2;
    if (length7 == kLength64) length_size = 8;
    if (available < 2 + length_size) break;
    uint64_t payload_len = length7;
    if (length_size != 0) {
      payload_len = read_big_endian(frame + 2, length_size);
      // RFC 6455 5.2: the most significant bit must be 0 and the minimal encoding must be used.
      if (length_size == 8 && (payload_len >> 63) != 0) return failure(pos, CloseCode::protocol_error);
      const uint64_t shortest = length_size == 2 ? kLength16 : 0x10000;
      if (payload_len < shortest) return failure(pos, CloseCode::protocol_error);
    }

    if (!is_control(op)) {
      const size_t already = fragments_ ? fragments_->size() : 0;  // never above the limit
      if (payload_len > max_message_bytes_ - already) return failure(pos, CloseCode::message_too_big);
    }

    const size_t header_len = 2 + length_size + kMaskKeySize;
    if (available < header_len || available - header_len < payload_len) break;

    uint8_t* payload = frame + header_len;
    const auto size = static_cast<size_t>(payload_len);
    unmask(payload, size, frame + header_len - kMaskKeySize);
    const std::string_view data = as_text({payload, size});
    const size_t frame_start = pos;
    pos += header_len + size;

    bool keep_going = true;
    switch (op) {
      case Opcode::ping:
        keep_going = handler.on_ping(data);
        break;
      case Opcode::pong:
        keep_going = handler.on_pong(data);
        break;
      case Opcode::close: {
        if (data.empty()) {
          keep_going = handler.on_close(static_cast<uint16_t>(CloseCode::no_status), {});
          break;
        }
        if (data.size() == 1) return failure(frame_start, CloseCode::protocol_error);
        const auto code = static_cast<uint16_t>(read_big_endian(payload, 2));
        const std::string_view reason = data.substr(2);
        if (!is_valid_close_code(code) || !codec::is_valid_utf8(reason)) {
          return failure(frame_start, CloseCode::protocol_error);
        }
        keep_going = handler.on_close(code, reason);
        break;
      }
      case Opcode::text:
      case Opcode::binary:
        if (!fin) {
          fragments_ = std::make_unique<std::string>(data);
          fragmented_opcode_ = op;
          break;
        }
        if (op == Opcode::text) {
          if (!codec::is_valid_utf8(data)) return failure(frame_start, CloseCode::invalid_payload);
          keep_going = handler.on_text(data);
        } else {
          keep_going = handler.on_binary(data);
        }
        break;
      case Opcode::continuation: {
        fragments_->append(data);
        if (!fin) break;
        // Taking ownership frees the buffer however we leave this scope.
        const std::unique_ptr<std::string> message = std::move(fragments_);
        if (fragmented_opcode_ == Opcode::text) {
          if (!codec::is_valid_utf8(*message)) {
            return failure(frame_start, CloseCode::invalid_payload);
          }
          keep_going = handler.on_text(*message);
        } else {
          keep_going = handler.on_binary(*message);
        }
        break;
      }
    }
    if (!keep_going) break;
  }
  return {pos, false, CloseCode::normal};
}

bool is_valid_close_code(uint16_t code) {
  // 1004-1006 and 1015 are reserved or must never be sent; 1012-1014 were registered later.
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

size_t encode_frame_header(uint8_t out[10], Opcode op, uint64_t payload_len, bool fin) {
  out[0] = static_cast<uint8_t>((fin ? kFinBit : 0) | static_cast<uint8_t>(op));
  if (payload_len < kLength16) {
    out[1] = static_cast<uint8_t>(payload_len);
    return 2;
  }
  size_t length_size = 8;
  out[1] = kLength64;
  if (payload_len <= 0xFFFF) {
    length_size = 2;
    out[1] = kLength16;
  }
  for (size_t i = 0; i < length_size; ++i) {
    out[2 + i] = static_cast<uint8_t>(payload_len >> (8 * (length_size - 1 - i)));
  }
  return 2 + length_size;
}

std::string make_frame(Opcode op, std::string_view payload) {
  uint8_t header[10];
  const size_t header_len = encode_frame_header(header, op, payload.size());
  std::string frame;
  frame.reserve(header_len + payload.size());
  frame.append(reinterpret_cast<const char*>(header), header_len);
  frame.append(payload);
  return frame;
}

std::string make_close_frame(uint16_t code, std::string_view reason) {
  if (code == 1005 || code == 1006 || code == 1015) return make_frame(Opcode::close, {});
  constexpr size_t kMaxReason = kMaxControlPayload - 2;
  size_t reason_len = std::min(reason.size(), kMaxReason);
  // Never cut inside a multi-byte character: back up over continuation bytes.
  while (reason_len > 0 && reason_len < reason.size() &&
         (static_cast<uint8_t>(reason[reason_len]) & 0xC0) == 0x80) {
    --reason_len;
  }
  char payload[kMaxControlPayload];
  payload[0] = static_cast<char>(code >> 8);
  payload[1] = static_cast<char>(code & 0xFF);
  std::memcpy(payload + 2, reason.data(), reason_len);
  return make_frame(Opcode::close, std::string_view(payload, 2 + reason_len));
}

}  // namespace wsgw::ws
