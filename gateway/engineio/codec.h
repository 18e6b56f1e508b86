#pragma once
// Engine.IO packet and payload codec, protocol v4 and v3 (EIO=3: socket.io-client 2.x).
//
// Pure functions over bytes: no sockets, no sessions, no exceptions. Decoders accept hostile
// input (they return an error, never crash, never allocate more than the input justifies).
// Encoders always produce output that the matching decoder accepts; text they cannot carry
// faithfully (invalid UTF-8, a record separator inside a v4 payload) is replaced by U+FFFD
// rather than allowed to corrupt the framing.
//
// Formats (https://github.com/socketio/engine.io-protocol):
//   WebSocket text frame      <type digit><data>                      "4hello", "2probe"
//   WebSocket binary frame    v4: <bytes>   v3: 0x04 <bytes>
//   v4 polling payload        packets joined by '\x1e'; binary as 'b' + base64
//                             "4hello\x1ebAQIDBA=="
//   v3 polling text payload   <length>:<packet>... length in UTF-16 code units (JavaScript
//                             string length); binary as 'b4' + base64   "6:4hello10:b4AQIDBA=="
//   v3 polling binary payload (XHR2, application/octet-stream) per packet:
//                             <0 string | 1 binary> <length digits as bytes 0..9> 0xFF <packet>
//                             00 06 FF "4hello" 01 04 FF 04 01 02 03
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wsgw::eio {

enum class Version : uint8_t { v3 = 3, v4 = 4 };

enum class PacketType : uint8_t {
  open = 0,
  close = 1,
  ping = 2,
  pong = 3,
  message = 4,
  upgrade = 5,
  noop = 6,
};

// A binary packet is always a message; its `data` holds raw bytes and `type` is message.
// A text packet's `data` is UTF-8 text.
struct Packet {
  PacketType type = PacketType::message;
  bool binary = false;
  std::string data;

  friend bool operator==(const Packet&, const Packet&) = default;
};

std::string_view to_string(PacketType type);

// ---------------------------------------------------------------------------------------------
// Single packets (WebSocket frames)

// "<type digit><data>". False when empty or the type is not 0..6. Does not validate UTF-8:
// the WebSocket layer already rejects text frames that are not UTF-8 (RFC 6455 section 8.1).
bool decode_text_packet(std::string_view text, Packet& out);

// Like decode_text_packet, but also accepts a base64 binary packet, which clients configured
// with `forceBase64` send in text frames: v4 "b<base64>", v3 "b4<base64>".
bool decode_text_frame(Version version, std::string_view text, Packet& out);

// v4: the whole frame is a binary message. v3: the first byte is the packet type as a raw byte
// and must be 4 (message). False for an empty v3 frame or any other v3 type byte.
bool decode_binary_frame(Version version, std::string_view bytes, Packet& out);

std::string encode_text_packet(PacketType type, std::string_view data);
// v4: the bytes unchanged; v3: byte 0x04 followed by the bytes.
std::string encode_binary_frame(Version version, std::string_view bytes);
// Binary data as text, for clients that asked for base64 (v3 `b64=1`): v4 "b<base64>",
// v3 "b4<base64>".
std::string encode_base64_packet(Version version, std::string_view bytes);

// ---------------------------------------------------------------------------------------------
// Polling payloads (HTTP long-polling bodies)

struct PayloadLimits {
  size_t max_packets = 4096;
};

enum class PayloadError {
  none,
  empty,             // empty body
  bad_format,        // missing separator / terminator, empty packet, wrong record marker,
                     // or a binary body where the version allows none (v4)
  bad_length,        // length field not decimal, too long, past the end, or mid-character
  bad_utf8,          // text that is not valid UTF-8
  bad_base64,        // binary packet whose base64 is not canonical
  bad_type,          // packet type not 0..6, or a binary packet that is not a message
  too_many_packets,  // more than PayloadLimits::max_packets
};

std::string_view to_string(PayloadError error);

// Decodes a polling request body. `body_is_binary` is true when the body came with
// Content-Type application/octet-stream (only valid for v3). On success `out` holds the
// packets; on error it is empty. All-or-nothing: a bad packet anywhere rejects the payload.
PayloadError decode_payload(Version version, std::string_view body, bool body_is_binary,
                            std::vector<Packet>& out, const PayloadLimits& limits = {});

struct EncodedPayload {
  std::string body;
  bool is_binary = false;  // serve as application/octet-stream (exactly; v3 clients compare it)
};

// v4: always text. v3: the binary format when the client supports binary (XHR2, no `b64=1`)
// and some packet is binary; otherwise the text format with base64 for binary packets.
// An empty list encodes as "" for v4 (clients treat that as an error: do not send it) and
// as "0:" for v3 (a no-op for clients).
EncodedPayload encode_payload(Version version, std::span<const Packet> packets,
                              bool client_supports_binary);

// ---------------------------------------------------------------------------------------------
// Handshake

// The open packet's JSON (without the leading '0'):
// {"sid":"...","upgrades":["websocket"],"pingInterval":N,"pingTimeout":N,"maxPayload":N}
// with "upgrades":[] when no upgrade is offered. v3 clients ignore maxPayload.
std::string encode_open_packet_json(std::string_view sid, bool offer_websocket_upgrade,
                                    uint32_t ping_interval_ms, uint32_t ping_timeout_ms,
                                    uint64_t max_payload);

}  // namespace wsgw::eio
