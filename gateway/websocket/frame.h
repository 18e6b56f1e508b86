#pragma once

// RFC 6455 framing, server side only: an incremental reader for client->server frames
// and encoders for (unmasked) server->client frames. No extensions: any RSV bit is an error.
//
// The reader owns no read buffer. The caller reads into whatever buffer it likes (one per
// thread in the gateway) and presents the bytes; complete frames are unmasked in place and
// delivered as views into those bytes. Only a fragmented message needs memory of its own,
// and only while it is in progress.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace wsgw::ws {

enum class Opcode : uint8_t { continuation = 0, text = 1, binary = 2, close = 8, ping = 9, pong = 10 };

enum class CloseCode : uint16_t {
  normal = 1000,
  going_away = 1001,
  protocol_error = 1002,
  unsupported_data = 1003,
  no_status = 1005,  // never sent on the wire; reported when a close frame has no payload
  abnormal = 1006,   // never sent on the wire; the connection dropped without a close frame
  invalid_payload = 1007,
  policy_violation = 1008,
  message_too_big = 1009,
  internal_error = 1011,
  try_again_later = 1013,
};

// Control frames carry at most this many payload bytes (RFC 6455 section 5.5).
inline constexpr size_t kMaxControlPayload = 125;

// Receives the messages the reader decodes. Views are valid only during the call.
// Returning false stops consume() right after the current frame.
class MessageHandler {
 public:
  virtual bool on_text(std::string_view text) = 0;  // already checked to be valid UTF-8
  virtual bool on_binary(std::string_view bytes) = 0;
  virtual bool on_ping(std::string_view payload) = 0;
  virtual bool on_pong(std::string_view payload) = 0;
  // code is 1005 (no_status) with an empty reason when the close frame had no payload.
  virtual bool on_close(uint16_t code, std::string_view reason) = 0;

 protected:
  ~MessageHandler() = default;
};

struct ConsumeResult {
  size_t consumed = 0;  // bytes of complete frames processed; the rest must be presented again
  bool failed = false;  // protocol violation: send a close frame with `error`, then shut down
  CloseCode error = CloseCode::normal;
};

class FrameReader {
 public:
  // Limit on one message's payload (all fragments together). Clamped to 4 GiB - 1,
  // which keeps the reader at 16 bytes.
  explicit FrameReader(size_t max_message_bytes);

  FrameReader(FrameReader&&) noexcept = default;
  FrameReader& operator=(FrameReader&&) noexcept = default;

  // Parses as many complete frames as `input` holds, unmasking their payloads in place.
  // A trailing incomplete frame is left unconsumed, except that a header announcing a
  // payload over the limit fails at once. After a failure the reader must not be used again.
  ConsumeResult consume(std::span<uint8_t> input, MessageHandler& handler);

  bool in_fragmented_message() const { return fragments_ != nullptr; }

  // Heap and inline bytes this reader holds (for memory accounting).
  size_t memory_bytes() const;

 private:
  // The assembled payload of a fragmented message; null when none is in progress so an
  // idle connection pays one pointer.
  std::unique_ptr<std::string> fragments_;
  uint32_t max_message_bytes_;
  Opcode fragmented_opcode_ = Opcode::continuation;
};

// Whether a close frame may carry this status code (RFC 6455 section 7.4 and the IANA registry).
bool is_valid_close_code(uint16_t code);

// Writes a server frame header (never masked) and returns its size: 2, 4 or 10 bytes.
size_t encode_frame_header(uint8_t out[10], Opcode op, uint64_t payload_len, bool fin = true);

// A complete unmasked frame: header followed by the payload.
std::string make_frame(Opcode op, std::string_view payload);

// A close frame. The reason is truncated at a UTF-8 character boundary so the payload fits
// in 125 bytes. Codes that must not appear on the wire (1005, 1006, 1015) give an empty payload.
std::string make_close_frame(uint16_t code, std::string_view reason = {});
inline std::string make_close_frame(CloseCode code, std::string_view reason = {}) {
  return make_close_frame(static_cast<uint16_t>(code), reason);
}

}  // namespace wsgw::ws
