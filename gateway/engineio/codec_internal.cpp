#include "gateway/engineio/codec_internal.h"

#include <cstdint>

#include "common/codec/base64.h"
#include "common/codec/utf8.h"

namespace wsgw::eio::internal {
namespace {

inline bool is_continuation(uint8_t b) { return (b & 0xC0) == 0x80; }

}  // namespace

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
  return codec::is_valid_utf8(text);
}

void append_sanitized_utf8(std::string& out, std::string_view text, bool replace_record_separator) {
  if (needs_no_sanitizing(text, replace_record_separator)) {
    out.append(text);
    return;
  }
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t n = codec::utf8_sequence_length(text, pos);
    if (n == 0 || (replace_record_separator && text[pos] == kRecordSeparator)) {
      out.append(kReplacementChar);
      ++pos;
    } else {
      out.append(text.substr(pos, n));
      pos += n;
    }
  }
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
    if (!codec::base64_decode(encoded, out.data)) return PayloadError::bad_base64;
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
