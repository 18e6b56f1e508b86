#include "gateway/websocket/handshake.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <cstdint>

namespace wsgw::ws {
namespace {

constexpr std::string_view kAcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// Value of a character of the standard base64 alphabet, or -1.
int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::string accept_key(std::string_view sec_websocket_key) {
  std::string input;
  input.reserve(sec_websocket_key.size() + kAcceptGuid.size());
  input.append(sec_websocket_key).append(kAcceptGuid);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);

  // 20 bytes encode to 28 characters; EVP_EncodeBlock also writes a terminating NUL.
  unsigned char encoded[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
  const int length = EVP_EncodeBlock(encoded, digest, SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<const char*>(encoded), static_cast<size_t>(length));
}

bool is_valid_client_key(std::string_view key) {
  // 16 bytes = 5 full groups of 3 bytes (20 characters) + 1 byte (2 characters + "==").
  constexpr size_t kEncodedSize = 24;
  if (key.size() != kEncodedSize || key[22] != '=' || key[23] != '=') return false;
  for (size_t i = 0; i < 22; ++i) {
    if (base64_value(key[i]) < 0) return false;
  }
  // The last character carries only 2 data bits; canonical encodings leave the other 4 zero.
  return (base64_value(key[21]) & 0x0F) == 0;
}

}  // namespace wsgw::ws
