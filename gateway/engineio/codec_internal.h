#pragma once
// Helpers shared by packet.cpp and payload.cpp; not part of the module's API.
#include <cstddef>
#include <string>
#include <string_view>

#include "gateway/engineio/codec.h"

namespace wsgw::eio::internal {

inline constexpr char kRecordSeparator = '\x1e';
inline constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

// Length of the well-formed UTF-8 sequence starting at `pos` (1..4), or 0 when the bytes there
// are not one (overlong forms, surrogates, code points past U+10FFFF, truncation).
size_t utf8_sequence_length(std::string_view text, size_t pos);
bool is_valid_utf8(std::string_view text);

// JavaScript's String.length for well-formed UTF-8: code points, astral ones counting twice.
size_t utf16_length(std::string_view valid_utf8);

// Appends `text` with every byte that is not part of a well-formed sequence replaced by
// U+FFFD, and (when asked) every record separator too.
void append_sanitized_utf8(std::string& out, std::string_view text, bool replace_record_separator);
// True when append_sanitized_utf8 would append `text` unchanged.
bool needs_no_sanitizing(std::string_view text, bool replace_record_separator);

// Stand-in base64 (RFC 4648, standard alphabet, padded, strict canonical decoding).
// TODO(lead): switch to wsgw::codec::base64_* from common/codec/base64.h (library wsgw_codec);
// its decoder has the same strictness.
void base64_append(std::string& out, std::string_view bytes);
size_t base64_encoded_size(size_t byte_count);
bool base64_decode(std::string_view text, std::string& out);

// One textual packet as found in a payload or a text frame: "<type digit><data>", or a base64
// binary packet ("b<base64>" in v4, "b4<base64>" in v3). Does not validate UTF-8.
PayloadError decode_text_record(Version version, std::string_view record, Packet& out);

inline char type_char(PacketType type) { return static_cast<char>('0' + static_cast<int>(type)); }

}  // namespace wsgw::eio::internal
