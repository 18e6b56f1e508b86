#include "gateway/websocket/handshake.h"

#include <openssl/sha.h>

#include "common/codec/base64.h"

namespace wsgw::ws {
namespace {

constexpr std::string_view kAcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

}  // namespace

std::string accept_key(std::string_view sec_websocket_key) {
  std::string input;
  input.reserve(sec_websocket_key.size() + kAcceptGuid.size());
  input.append(sec_websocket_key).append(kAcceptGuid);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  return codec::base64_encode(
      std::string_view(reinterpret_cast<const char*>(digest), SHA_DIGEST_LENGTH));
}

bool is_valid_client_key(std::string_view key) {
  // The canonical base64 of 16 bytes is 24 characters ending in "=="; the strict decoder
  // refuses every other spelling (stray symbols, misplaced padding, non-zero leftover bits).
  constexpr size_t kEncodedSize = 24;
  constexpr size_t kNonceSize = 16;
  if (key.size() != kEncodedSize) return false;
  std::string nonce;
  return codec::base64_decode(key, nonce) && nonce.size() == kNonceSize;
}

}  // namespace wsgw::ws
