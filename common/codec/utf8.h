#pragma once

// Strict UTF-8 (RFC 3629 / Unicode Table 3-7): overlong forms, UTF-16 surrogates
// (U+D800..U+DFFF), code points above U+10FFFF and truncated sequences are ill-formed.
// The one implementation of that rule in the project: validators and the sanitizers that
// replace ill-formed bytes with U+FFFD (metrics labels, Engine.IO and Socket.IO encoders)
// all build on these two functions.

#include <cstddef>
#include <string_view>

namespace wsgw::codec {

// Whole-text check. Runs on every WebSocket text frame, so ASCII is skipped eight bytes
// at a time.
bool is_valid_utf8(std::string_view text) noexcept;

// Length (1..4) of the well-formed sequence that starts at text[pos], or 0 when the bytes
// there are not one (including a sequence cut off by the end of `text`). Requires
// pos < text.size(). For sanitizers that replace each ill-formed byte and go on.
std::size_t utf8_sequence_length(std::string_view text, std::size_t pos) noexcept;

}  // namespace wsgw::codec
