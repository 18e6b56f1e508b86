// Engine.IO polling payloads: several packets in one HTTP body.
#include <algorithm>
#include <charconv>

#include "common/codec/base64.h"
#include "common/codec/utf8.h"
#include "gateway/engineio/codec.h"
#include "gateway/engineio/codec_internal.h"

namespace wsgw::eio {
namespace {

using internal::kRecordSeparator;

// A real length never needs more digits than this; more is an attack or garbage, and the cap
// keeps the accumulated value far from overflow.
constexpr size_t kMaxLengthDigits = 10;

constexpr uint8_t kV3StringRecord = 0;
constexpr uint8_t kV3BinaryRecord = 1;
constexpr uint8_t kV3LengthTerminator = 0xFF;
constexpr char kV3BinaryMessageType = 4;

inline uint8_t byte_at(std::string_view s, size_t i) { return static_cast<uint8_t>(s[i]); }

// Bytes of the UTF-8 sequence led by `lead`, for text already known to be well-formed.
inline size_t sequence_length_of_lead(uint8_t lead) {
  if (lead < 0x80) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return 4;
}

// `data` itself when it can go on the wire as is, else a sanitized copy held in `scratch`.
std::string_view sanitized(std::string_view data, bool replace_record_separator,
                           std::string& scratch) {
  if (internal::needs_no_sanitizing(data, replace_record_separator)) return data;
  scratch.clear();
  internal::append_sanitized_utf8(scratch, data, replace_record_separator);
  return scratch;
}

void append_decimal(std::string& out, size_t value) {
  char buf[20];
  out.append(buf, std::to_chars(buf, buf + sizeof(buf), value).ptr);
}

// v3 binary payloads write each decimal digit of a length as a byte of value 0..9.
void append_digit_bytes(std::string& out, size_t value) {
  char buf[20];
  char* end = std::to_chars(buf, buf + sizeof(buf), value).ptr;
  for (char* p = buf; p != end; ++p) out.push_back(static_cast<char>(*p - '0'));
}

// ---------------------------------------------------------------------------------------------
// v4: records separated by '\x1e'

PayloadError decode_v4(std::string_view body, std::vector<Packet>& out,
                       const PayloadLimits& limits) {
  if (!codec::is_valid_utf8(body)) return PayloadError::bad_utf8;
  size_t pos = 0;
  while (true) {
    const size_t end = std::min(body.find(kRecordSeparator, pos), body.size());
    if (out.size() >= limits.max_packets) return PayloadError::too_many_packets;
    Packet packet;
    const PayloadError err =
        internal::decode_text_record(Version::v4, body.substr(pos, end - pos), packet);
    if (err != PayloadError::none) return err;
    out.push_back(std::move(packet));
    if (end == body.size()) return PayloadError::none;
    pos = end + 1;
  }
}

std::string encode_v4(std::span<const Packet> packets) {
  size_t estimate = 0;
  for (const auto& p : packets)
    estimate += 2 + (p.binary ? codec::base64_encoded_size(p.data.size()) : p.data.size());
  std::string body;
  body.reserve(estimate);
  for (size_t i = 0; i < packets.size(); ++i) {
    const Packet& p = packets[i];
    if (i > 0) body.push_back(kRecordSeparator);
    if (p.binary) {
      body.push_back('b');
      codec::base64_encode_append(body, p.data);
    } else {
      body.push_back(internal::type_char(p.type));
      // A separator inside the data would split the packet: a peer could inject packets.
      internal::append_sanitized_utf8(body, p.data, /*replace_record_separator=*/true);
    }
  }
  return body;
}

// ---------------------------------------------------------------------------------------------
// v3 text: <length in UTF-16 code units>:<record>

PayloadError decode_v3_text(std::string_view body, std::vector<Packet>& out,
                            const PayloadLimits& limits) {
  // Validating first lets the length walk below trust every lead byte.
  if (!codec::is_valid_utf8(body)) return PayloadError::bad_utf8;
  size_t pos = 0;
  while (pos < body.size()) {
    const size_t digits_start = pos;
    uint64_t units_expected = 0;
    while (pos < body.size() && body[pos] >= '0' && body[pos] <= '9') {
      if (pos - digits_start == kMaxLengthDigits) return PayloadError::bad_length;
      units_expected = units_expected * 10 + static_cast<uint64_t>(body[pos] - '0');
      ++pos;
    }
    if (pos == body.size()) return PayloadError::bad_format;  // no ':' after the length
    if (body[pos] != ':' || pos == digits_start) return PayloadError::bad_length;
    ++pos;

    const size_t record_start = pos;
    uint64_t units = 0;
    while (units < units_expected) {
      if (pos >= body.size()) return PayloadError::bad_length;
      const size_t n = sequence_length_of_lead(byte_at(body, pos));
      units += n == 4 ? 2 : 1;
      pos += n;
    }
    // Overshooting means the length ended between the two halves of a surrogate pair.
    if (units != units_expected) return PayloadError::bad_length;

    const std::string_view record = body.substr(record_start, pos - record_start);
    if (record.empty()) continue;  // "0:" is what reference servers send for "nothing"
    if (out.size() >= limits.max_packets) return PayloadError::too_many_packets;
    Packet packet;
    const PayloadError err = internal::decode_text_record(Version::v3, record, packet);
    if (err != PayloadError::none) return err;
    out.push_back(std::move(packet));
  }
  return PayloadError::none;
}

std::string encode_v3_text(std::span<const Packet> packets) {
  if (packets.empty()) return "0:";
  std::string body;
  std::string scratch;
  for (const auto& p : packets) {
    if (p.binary) {
      const size_t b64_size = codec::base64_encoded_size(p.data.size());
      append_decimal(body, 2 + b64_size);
      body.append(":b");
      body.push_back(internal::type_char(PacketType::message));
      codec::base64_encode_append(body, p.data);
    } else {
      const std::string_view data = sanitized(p.data, false, scratch);
      append_decimal(body, 1 + internal::utf16_length(data));
      body.push_back(':');
      body.push_back(internal::type_char(p.type));
      body.append(data);
    }
  }
  return body;
}

// ---------------------------------------------------------------------------------------------
// v3 binary (XHR2): <0|1><length digits as bytes><0xFF><record>

PayloadError decode_v3_binary(std::string_view body, std::vector<Packet>& out,
                              const PayloadLimits& limits) {
  size_t pos = 0;
  while (pos < body.size()) {
    const uint8_t kind = byte_at(body, pos++);
    if (kind != kV3StringRecord && kind != kV3BinaryRecord) return PayloadError::bad_format;

    const size_t digits_start = pos;
    uint64_t length = 0;
    while (pos < body.size() && byte_at(body, pos) != kV3LengthTerminator) {
      const uint8_t digit = byte_at(body, pos);
      if (digit > 9 || pos - digits_start == kMaxLengthDigits) return PayloadError::bad_length;
      length = length * 10 + digit;
      ++pos;
    }
    if (pos == body.size()) return PayloadError::bad_format;  // no 0xFF terminator
    if (pos == digits_start) return PayloadError::bad_length;
    ++pos;
    if (length > body.size() - pos) return PayloadError::bad_length;
    const std::string_view record = body.substr(pos, static_cast<size_t>(length));
    pos += static_cast<size_t>(length);

    if (out.size() >= limits.max_packets) return PayloadError::too_many_packets;
    Packet packet;
    if (kind == kV3StringRecord) {
      if (!codec::is_valid_utf8(record)) return PayloadError::bad_utf8;
      const PayloadError err = internal::decode_text_record(Version::v3, record, packet);
      if (err != PayloadError::none) return err;
    } else {
      if (record.empty()) return PayloadError::bad_format;  // not even a type byte
      if (record[0] != kV3BinaryMessageType) return PayloadError::bad_type;
      packet.type = PacketType::message;
      packet.binary = true;
      packet.data.assign(record.substr(1));
    }
    out.push_back(std::move(packet));
  }
  return PayloadError::none;
}

std::string encode_v3_binary(std::span<const Packet> packets) {
  size_t estimate = 0;
  for (const auto& p : packets) estimate += 16 + p.data.size();
  std::string body;
  body.reserve(estimate);
  std::string scratch;
  for (const auto& p : packets) {
    if (p.binary) {
      body.push_back(static_cast<char>(kV3BinaryRecord));
      append_digit_bytes(body, 1 + p.data.size());
      body.push_back(static_cast<char>(kV3LengthTerminator));
      body.push_back(kV3BinaryMessageType);
      body.append(p.data);
    } else {
      const std::string_view data = sanitized(p.data, false, scratch);
      body.push_back(static_cast<char>(kV3StringRecord));
      append_digit_bytes(body, 1 + data.size());  // string records count UTF-8 bytes
      body.push_back(static_cast<char>(kV3LengthTerminator));
      body.push_back(internal::type_char(p.type));
      body.append(data);
    }
  }
  return body;
}

}  // namespace

std::string_view to_string(PayloadError error) {
  switch (error) {
    case PayloadError::none: return "none";
    case PayloadError::empty: return "empty";
    case PayloadError::bad_format: return "bad_format";
    case PayloadError::bad_length: return "bad_length";
    case PayloadError::bad_utf8: return "bad_utf8";
    case PayloadError::bad_base64: return "bad_base64";
    case PayloadError::bad_type: return "bad_type";
    case PayloadError::too_many_packets: return "too_many_packets";
  }
  return "unknown";
}

PayloadError decode_payload(Version version, std::string_view body, bool body_is_binary,
                            std::vector<Packet>& out, const PayloadLimits& limits) {
  out.clear();
  PayloadError err;
  if (body.empty()) {
    err = PayloadError::empty;
  } else if (version == Version::v4) {
    // v4 clients always send text (binary as base64); the reference server refuses the rest.
    err = body_is_binary ? PayloadError::bad_format : decode_v4(body, out, limits);
  } else {
    err = body_is_binary ? decode_v3_binary(body, out, limits) : decode_v3_text(body, out, limits);
  }
  if (err != PayloadError::none) out.clear();
  return err;
}

EncodedPayload encode_payload(Version version, std::span<const Packet> packets,
                              bool client_supports_binary) {
  if (version == Version::v4) return {encode_v4(packets), false};
  const bool any_binary =
      std::any_of(packets.begin(), packets.end(), [](const Packet& p) { return p.binary; });
  if (client_supports_binary && any_binary) return {encode_v3_binary(packets), true};
  return {encode_v3_text(packets), false};
}

}  // namespace wsgw::eio
