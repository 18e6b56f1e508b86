#pragma once
// Helpers shared by packet.cpp and payload.cpp; not part of the module's API.
#include <cstddef>
#include <string>
#include <string_view>

#include "gateway/engineio/codec.h"

namespace wsgw::eio::internal {

inline constexpr char kRecordSeparator = '\x1e';
inline constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

// JavaScript's String.length for well-formed UTF-8: code points, astral ones counting twice.
size_t utf16_length(std::string_view valid_utf8);

// UTF-8 validity and base64 are wsgw::codec's (common/codec). Engine.IO's sanitizing is its
// own only because a record separator inside v4 payload data would split the packet.
// Appends `text` with every byte that is not part of a well-formed sequence replaced by
// U+FFFD, and (when asked) every record separator too.
void append_sanitized_utf8(std::string& out, std::string_view text, bool replace_record_separator);
// True when append_sanitized_utf8 would append `text` unchanged.
bool needs_no_sanitizing(std::string_view text, bool replace_record_separator);

// One textual packet as found in a payload or a text frame: "<type digit><data>", or a base64
// binary packet ("b<base64>" in v4, "b4<base64>" in v3). Does not validate UTF-8.
PayloadError decode_text_record(Version version, std::string_view record, Packet& out);

inline char type_char(PacketType type) { return static_cast<char>('0' + static_cast<int>(type)); }

}  // namespace wsgw::eio::internal
