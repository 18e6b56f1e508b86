#include "gateway/engineio/codec_internal.h"

#include <array>
#include <cstdint>

namespace wsgw::eio::internal {
namespace {

constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr uint8_t kNotBase64 = 0xFF;

constexpr std::array<uint8_t, 256> make_base64_values() {
  std::array<uint8_t, 256> values{};
  for (auto& v : values) v = kNotBase64;
  for (size_t i = 0; i < kBase64Alphabet.size(); ++i)
    values[static_cast<uint8_t>(kBase64Alphabet[i])] = static_cast<uint8_t>(i);
  return values;
}
constexpr std::array<uint8_t, 256> kBase64Values = make_base64_values();

inline uint8_t byte_at(std::string_view s, size_t i) { return static_cast<uint8_t>(s[i]); }
inline bool is_continuation(uint8_t b) { return (b & 0xC0) == 0x80; }

}  // namespace

size_t utf8_sequence_length(std::string_view text, size_t pos) {
  const size_t left = text.size() - pos;
  const uint8_t lead = byte_at(text, pos);
  if (lead < 0x80) return 1;
  // Second-byte ranges exclude overlong forms (E0, F0), UTF-16 surrogates (ED) and code points
  // above U+10FFFF (F4), as RFC 3629 section 4 prescribes.
  uint8_t second_min = 0x80, second_max = 0xBF;
  size_t length = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second_min = 0xA0;
    if (lead == 0xED) second_max = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second_min = 0x90;
    if (lead == 0xF4) second_max = 0x8F;
  } else {
    return 0;
  }
  if (left < length) return 0;
  const uint8_t second = byte_at(text, pos + 1);
  if (second < second_min || second > second_max) return 0;
  for (size_t i = 2; i < length; ++i)
    if (!is_continuation(byte_at(text, pos + i))) return 0;
  return length;
}

bool is_valid_utf8(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    if (byte_at(text, pos) < 0x80) {  // ASCII fast path
      ++pos;
      continue;
    }
    const size_t n = utf8_sequence_length(text, pos);
    if (n == 0) return false;
    pos += n;
  }
  return true;
}

size_t utf16_length(std::string_view valid_utf8) {
  size_t units = 0;
  for (char c : valid_utf8) {
    const uint8_t b = static_cast<uint8_t>(c);
    if (!is_continuation(b)) units += b >= 0xF0 ? 2 : 1;  // 4-byte sequences are surrogate pairs
  }
  return units;
}

bool needs_no_sanitizing(std::string_view text, bool replace_record_separator) {
  if (replace_record_separator && text.find(kRecordSeparator) != std::string_view::npos)
    return false;
  return is_valid_utf8(text);
}

void append_sanitized_utf8(std::string& out, std::string_view text, bool replace_record_separator) {
  if (needs_no_sanitizing(text, replace_record_separator)) {
    out.append(text);
    return;
  }
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t n = utf8_sequence_length(text, pos);
    if (n == 0 || (replace_record_separator && text[pos] == kRecordSeparator)) {
      out.append(kReplacementChar);
      ++pos;
    } else {
      out.append(text.substr(pos, n));
      pos += n;
    }
  }
}

size_t base64_encoded_size(size_t byte_count) { return (byte_count + 2) / 3 * 4; }

void base64_append(std::string& out, std::string_view bytes) {
  const size_t start = out.size();
  out.resize(start + base64_encoded_size(bytes.size()));
  char* dst = out.data() + start;
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = uint32_t(byte_at(bytes, i)) << 16 | uint32_t(byte_at(bytes, i + 1)) << 8 |
                       byte_at(bytes, i + 2);
    *dst++ = kBase64Alphabet[v >> 18];
    *dst++ = kBase64Alphabet[(v >> 12) & 0x3F];
    *dst++ = kBase64Alphabet[(v >> 6) & 0x3F];
    *dst++ = kBase64Alphabet[v & 0x3F];
  }
  const size_t rest = bytes.size() - i;
  if (rest == 0) return;
  uint32_t v = uint32_t(byte_at(bytes, i)) << 16;
  if (rest == 2) v |= uint32_t(byte_at(bytes, i + 1)) << 8;
  *dst++ = kBase64Alphabet[v >> 18];
  *dst++ = kBase64Alphabet[(v >> 12) & 0x3F];
  *dst++ = rest == 2 ? kBase64Alphabet[(v >> 6) & 0x3F] : '=';
  *dst++ = '=';
}

bool base64_decode(std::string_view text, std::string& out) {
  out.clear();
  if (text.size() % 4 != 0) return false;
  size_t padding = 0;
  if (!text.empty() && text.back() == '=') padding = text[text.size() - 2] == '=' ? 2 : 1;
  out.reserve(text.size() / 4 * 3);
  const size_t symbols = text.size() - padding;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < symbols; ++i) {
    const uint8_t v = kBase64Values[byte_at(text, i)];
    if (v == kNotBase64) {  // includes a '=' anywhere but the end
      out.clear();
      return false;
    }
    acc = ((acc << 6) | v) & 0xFFFFFF;  // only the unconsumed low bits matter
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  // Canonical form only: the bits left over after the last byte must be zero, so every
  // accepted text is exactly what base64_append produces.
  if ((acc & ((1u << bits) - 1)) != 0) {
    out.clear();
    return false;
  }
  return true;
}

PayloadError decode_text_record(Version version, std::string_view record, Packet& out) {
  if (record.empty()) return PayloadError::bad_format;
  if (record[0] == 'b') {
    std::string_view encoded = record.substr(1);
    if (version == Version::v3) {
      // v3 carries the packet type after the 'b'; only messages may be binary.
      if (encoded.empty() || encoded[0] != type_char(PacketType::message))
        return PayloadError::bad_type;
      encoded.remove_prefix(1);
    }
    out.type = PacketType::message;
    out.binary = true;
    if (!base64_decode(encoded, out.data)) return PayloadError::bad_base64;
    return PayloadError::none;
  }
  const char c = record[0];
  if (c < '0' || c > '6') return PayloadError::bad_type;
  out.type = static_cast<PacketType>(c - '0');
  out.binary = false;
  out.data.assign(record.substr(1));
  return PayloadError::none;
}

}  // namespace wsgw::eio::internal
