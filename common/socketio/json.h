#pragma once
// Small JSON text utilities for the Socket.IO codec and its users. The gateway never builds a DOM
// of application payloads: it validates them, escapes the few strings it writes itself, and
// decodes at most one string (the event name).
#include <cstddef>
#include <string>
#include <string_view>

namespace wsgw::sio {

// Nesting deeper than this is refused as malformed. JavaScript has no such limit, but no real
// Socket.IO payload comes near it, and it keeps hostile payloads from reaching downstream
// consumers whose parsers recurse.
inline constexpr std::size_t kMaxJsonDepth = 256;

// Appends `s` as the body of a JSON string (without quotes), escaped like JSON.stringify does:
// quote, backslash and control characters. Bytes that are not valid UTF-8 become \ufffd, so the
// output is always valid JSON whatever `s` holds.
void json_escape_append(std::string& out, std::string_view s);

// Appends the decoded value of a JSON string body (the text between the quotes). A lone UTF-16
// surrogate escape, which JSON.parse accepts, becomes U+FFFD so `out` stays valid UTF-8.
// Returns false on a malformed escape or a raw control character; `out` may then hold a prefix.
bool json_unescape_append(std::string& out, std::string_view escaped_body);

// Strict RFC 8259 check of one complete JSON text: valid UTF-8, no NaN/Infinity, no comments,
// no trailing commas, nothing but whitespace after the value, depth at most kMaxJsonDepth.
// Accepts everything JSON.parse accepts within that depth (numbers beyond double range and lone
// surrogate escapes included), with no DOM built.
bool json_valid(std::string_view text);

}  // namespace wsgw::sio
