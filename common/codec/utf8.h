#pragma once

// Strict UTF-8 validation (RFC 3629 / Unicode Table 3-7): rejects overlong forms,
// UTF-16 surrogates (U+D800..U+DFFF), code points above U+10FFFF and truncated
// sequences. Used where a protocol requires valid UTF-8 (JSON text, WebSocket text
// frames) and where a parser's own validation cannot be trusted with the buffer end.

#include <string_view>

namespace wsgw::codec {

bool is_valid_utf8(std::string_view text) noexcept;

}  // namespace wsgw::codec
