#pragma once

// Base64 (RFC 4648 section 4) and base64url (section 5) codecs.
//
// The decoders are strict: they accept only canonical encodings, so every accepted
// text is exactly what the matching encoder would produce (modulo optional padding
// for base64url). No whitespace, no stray '=' and no non-zero leftover bits.
// On failure they return false and leave `out` empty. `out` is overwritten, not
// appended to, and its capacity is reused.

#include <string>
#include <string_view>

namespace wsgw::codec {

// Standard alphabet (A-Z a-z 0-9 + /), padded with '=' to a multiple of 4.
std::string base64_encode(std::string_view bytes);
// The same, appended to `out` (for encoders that build one message from several parts).
void base64_encode_append(std::string& out, std::string_view bytes);

// Strict standard base64: length must be a multiple of 4, at most two '=' and only
// at the end, unused bits of the last symbol must be zero.
bool base64_decode(std::string_view text, std::string& out);

// URL-safe alphabet (A-Z a-z 0-9 - _), without padding (as JWT and most URL uses want).
std::string base64url_encode(std::string_view bytes);

// URL-safe base64; padding is optional, but if present it must be complete
// (total length a multiple of 4). Non-canonical leftover bits are rejected.
bool base64url_decode(std::string_view text, std::string& out);

// Exact output sizes, for callers that size their own buffers.
constexpr std::size_t base64_encoded_size(std::size_t byte_count) noexcept {
  return (byte_count / 3 + (byte_count % 3 != 0 ? 1 : 0)) * 4;
}
constexpr std::size_t base64url_encoded_size(std::size_t byte_count) noexcept {
  constexpr std::size_t tail_chars[3] = {0, 2, 3};
  return (byte_count / 3) * 4 + tail_chars[byte_count % 3];
}

}  // namespace wsgw::codec
