#pragma once

// The WebSocket-specific part of the opening handshake (RFC 6455 section 4.2). Beast parses
// the HTTP request; these helpers check Sec-WebSocket-Key and compute Sec-WebSocket-Accept.

#include <string>
#include <string_view>

namespace wsgw::ws {

// Sec-WebSocket-Accept: base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")).
std::string accept_key(std::string_view sec_websocket_key);

// True when the key is the canonical base64 encoding of 16 bytes (24 characters ending in "==").
bool is_valid_client_key(std::string_view sec_websocket_key);

}  // namespace wsgw::ws
