#pragma once
// HTTP pieces of the Engine.IO handshake that need no socket: query parsing, request
// classification and the Engine.IO error table (docs/close-codes.md lists it too).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/engineio/codec.h"

namespace wsgw::net {

// Engine.IO's HTTP error codes, sent as `{"code":N,"message":"..."}` with the given status.
enum class EngineError : uint8_t {
  transport_unknown = 0,
  session_unknown = 1,
  bad_handshake_method = 2,
  bad_request = 3,
  forbidden = 4,
  unsupported_protocol_version = 5,
};
std::string_view message(EngineError e);
std::string error_body(EngineError e, std::string_view message_override = {});

// Percent-decodes `in` ('+' as space, as in forms). Returns false on a malformed escape.
bool url_decode(std::string_view in, std::string& out);
// Finds `key` in an `a=1&b=2` query and decodes its value.
std::optional<std::string> query_param(std::string_view query, std::string_view key);

struct EngineQuery {
  eio::Version version = eio::Version::v4;
  bool websocket = false;            // transport=websocket (else polling)
  bool has_sid = false;
  uint64_t sid = 0;                  // valid when has_sid and the sid decoded
  bool sid_valid = false;
  bool supports_binary = true;       // false with b64=1 (EIO3 base64 payloads)
  std::string token;                 // `token` query parameter (JWT), if any
};

// Validates EIO and transport the way the reference server does. On failure sets `err`.
bool parse_engine_query(std::string_view query, EngineQuery& q, EngineError& err);

// Splits a request target into path and query (without '?').
std::pair<std::string_view, std::string_view> split_target(std::string_view target);

struct HttpResponse {
  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool keep_alive = true;
};
std::string serialize(const HttpResponse& r);
std::string_view status_text(unsigned status);

// CORS: the value for Access-Control-Allow-Origin, or nullopt when the origin is refused.
// An empty allow list allows every origin (it is reflected, so credentials work).
std::optional<std::string> cors_allow(std::string_view origin, const std::vector<std::string>& allowed);

// "Bearer xxx" -> "xxx"
std::string bearer_token(std::string_view authorization);

}  // namespace wsgw::net
