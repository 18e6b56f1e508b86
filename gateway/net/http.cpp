#include "gateway/net/http.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "common/util/snowflake.h"

namespace wsgw::net {

std::string_view message(EngineError e) {
  switch (e) {
    case EngineError::transport_unknown: return "Transport unknown";
    case EngineError::session_unknown: return "Session ID unknown";
    case EngineError::bad_handshake_method: return "Bad handshake method";
    case EngineError::bad_request: return "Bad request";
    case EngineError::forbidden: return "Forbidden";
    case EngineError::unsupported_protocol_version: return "Unsupported protocol version";
  }
  return "Bad request";
}

std::string error_body(EngineError e, std::string_view message_override) {
  std::string body = "{\"code\":";
  body += std::to_string(static_cast<int>(e));
  body += ",\"message\":\"";
  body += message_override.empty() ? message(e) : message_override;  // fixed ASCII texts
  body += "\"}";
  return body;
}

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

bool url_decode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return true;
}

std::optional<std::string> query_param(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    size_t eq = pair.find('=');
    std::string_view k = pair.substr(0, eq);
    if (k != key) continue;
    std::string value;
    if (eq == std::string_view::npos) return value;
    if (!url_decode(pair.substr(eq + 1), value)) return std::nullopt;
    return value;
  }
  return std::nullopt;
}

bool parse_engine_query(std::string_view query, EngineQuery& q, EngineError& err) {
  auto transport = query_param(query, "transport");
  if (!transport || (*transport != "polling" && *transport != "websocket")) {
    err = EngineError::transport_unknown;
    return false;
  }
  q.websocket = *transport == "websocket";
  auto eio_v = query_param(query, "EIO");
  if (eio_v && *eio_v == "4") {
    q.version = eio::Version::v4;
  } else if (eio_v && *eio_v == "3") {
    q.version = eio::Version::v3;
  } else {
    err = EngineError::unsupported_protocol_version;
    return false;
  }
  if (auto sid = query_param(query, "sid")) {
    q.has_sid = true;
    q.sid_valid = util::decode_id(*sid, q.sid);
  }
  if (auto b64 = query_param(query, "b64")) q.supports_binary = !(*b64 == "1" || *b64 == "true");
  if (auto token = query_param(query, "token")) q.token = std::move(*token);
  return true;
}

std::pair<std::string_view, std::string_view> split_target(std::string_view target) {
  size_t q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

std::string_view status_text(unsigned status) {
  switch (status) {
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

std::string serialize(const HttpResponse& r) {
  std::string out;
  out.reserve(128 + r.body.size());
  out += "HTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  out += status_text(r.status);
  out += "\r\n";
  for (const auto& [k, v] : r.headers) {
    out += k;
    out += ": ";
    out += v;
    out += "\r\n";
  }
  if (r.status != 101) {
    out += "Content-Length: ";
    out += std::to_string(r.body.size());
    out += "\r\n";
    if (!r.keep_alive) out += "Connection: close\r\n";
  }
  out += "\r\n";
  out += r.body;
  return out;
}

std::optional<std::string> cors_allow(std::string_view origin,
                                      const std::vector<std::string>& allowed) {
  if (allowed.empty()) return std::string(origin);
  for (const auto& a : allowed)
    if (a == "*" || a == origin) return std::string(origin);
  return std::nullopt;
}

std::string bearer_token(std::string_view authorization) {
  constexpr std::string_view prefix = "Bearer ";
  if (authorization.size() <= prefix.size()) return {};
  if (!std::equal(prefix.begin(), prefix.end(), authorization.begin(),
                  [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
    return {};
  auto t = authorization.substr(prefix.size());
  while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  return std::string(t);
}

}  // namespace wsgw::net
