#include "bench/loadgen/polling_protocol.h"

#include <algorithm>

#include "bench/loadgen/http_text.h"

namespace wsgw::loadgen {

using http_text::has_token;
using http_text::iequals;
using http_text::is_digit;
using http_text::trim;

namespace {

bool url_safe(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' || c == '_' ||
         c == '.' || c == '~';
}

int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  const char l = http_text::ascii_lower(c);
  return (l >= 'a' && l <= 'f') ? l - 'a' + 10 : -1;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Requests

std::string make_polling_get(std::string_view host_header, std::string_view target) {
  std::string r;
  r.reserve(64 + host_header.size() + target.size());
  r.append("GET ").append(target).append(" HTTP/1.1\r\n");
  r.append("Host: ").append(host_header).append("\r\n");
  r.append("Accept: */*\r\n\r\n");
  return r;
}

std::string make_polling_post(std::string_view host_header, std::string_view target,
                              std::string_view payload) {
  std::string r;
  r.reserve(128 + host_header.size() + target.size() + payload.size());
  r.append("POST ").append(target).append(" HTTP/1.1\r\n");
  r.append("Host: ").append(host_header).append("\r\n");
  r.append("Content-Type: text/plain;charset=UTF-8\r\n");
  r.append("Content-Length: ").append(std::to_string(payload.size())).append("\r\n\r\n");
  r.append(payload);
  return r;
}

std::string polling_session_target(std::string_view base_target, std::string_view sid) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string t;
  t.reserve(base_target.size() + 5 + sid.size() * 3);
  t.append(base_target).append("&sid=");
  for (char c : sid) {
    if (url_safe(c)) {
      t.push_back(c);
    } else {
      const auto b = static_cast<unsigned char>(c);
      t.push_back('%');
      t.push_back(kHex[b >> 4]);
      t.push_back(kHex[b & 0x0F]);
    }
  }
  return t;
}

void append_payload_packet(std::string& payload, std::string_view packet) {
  if (!payload.empty()) payload.push_back(kRecordSeparator);
  payload.append(packet);
}

bool split_polling_payload(std::string_view body, std::vector<std::string_view>& packets) {
  packets.clear();
  if (body.empty()) return false;
  for (;;) {
    const size_t sep = body.find(kRecordSeparator);
    std::string_view packet = body.substr(0, sep);
    if (packet.empty()) return false;
    packets.push_back(packet);
    if (sep == std::string_view::npos) return true;
    body.remove_prefix(sep + 1);
  }
}

// ---------------------------------------------------------------------------------------
// Responses

const char* to_string(HttpResponseError e) {
  switch (e) {
    case HttpResponseError::none: return "none";
    case HttpResponseError::malformed_status_line: return "malformed_status_line";
    case HttpResponseError::malformed_header: return "malformed_header";
    case HttpResponseError::headers_too_large: return "headers_too_large";
    case HttpResponseError::bad_content_length: return "bad_content_length";
    case HttpResponseError::unsupported_transfer_encoding: return "unsupported_transfer_encoding";
    case HttpResponseError::bad_chunk: return "bad_chunk";
    case HttpResponseError::body_too_large: return "body_too_large";
    case HttpResponseError::truncated: return "truncated";
  }
  return "unknown";
}

void HttpResponseReader::append(std::string_view bytes) {
  if (error_ != HttpResponseError::none) return;
  if (read_pos_ == buffer_.size()) {
    buffer_.clear();
    read_pos_ = 0;
  }
  buffer_.append(bytes);
}

HttpResponseReader::Result HttpResponseReader::fail(HttpResponseError e) {
  error_ = e;
  std::string().swap(buffer_);
  std::string().swap(body_);
  read_pos_ = 0;
  Result r;
  r.status = Status::error;
  return r;
}

HttpResponseReader::Result HttpResponseReader::complete(std::string_view body) {
  Result r;
  r.status = Status::response;
  r.http_status = status_;
  r.keep_alive = keep_alive_;
  r.body = body;
  state_ = State::headers;
  return r;
}

void HttpResponseReader::compact() {
  if (read_pos_ > 0) {
    buffer_.erase(0, read_pos_);
    read_pos_ = 0;
  }
  // An idle keep-alive connection should hold (almost) nothing after a large response.
  if (buffer_.empty() && buffer_.capacity() > 64 * 1024) buffer_.shrink_to_fit();
}

// Parses a complete header block if there is one. `progressed` tells the caller to go on
// (the headers were consumed) when the result is need_more.
HttpResponseReader::Result HttpResponseReader::parse_headers(bool& progressed) {
  progressed = false;
  Result none;
  const std::string_view avail = std::string_view(buffer_).substr(read_pos_);
  const size_t end = avail.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    // Reject early what can never become a status line, so garbage fails fast.
    constexpr std::string_view kPrefix = "HTTP/1.";
    const size_t n = std::min(avail.size(), kPrefix.size());
    if (avail.compare(0, n, kPrefix.substr(0, n)) != 0) return fail(HttpResponseError::malformed_status_line);
    if (avail.size() > kMaxResponseHeaderBytes) return fail(HttpResponseError::headers_too_large);
    return none;
  }
  if (end + 4 > kMaxResponseHeaderBytes) return fail(HttpResponseError::headers_too_large);
  std::string_view head = avail.substr(0, end);
  const size_t line_end = head.find("\r\n");
  const std::string_view status_line = head.substr(0, line_end);
  // "HTTP/1.1 200 OK" (the reason phrase may be absent)
  if (status_line.size() < 12 || status_line.compare(0, 7, "HTTP/1.") != 0 || !is_digit(status_line[7]) ||
      status_line[8] != ' ' || !is_digit(status_line[9]) || !is_digit(status_line[10]) ||
      !is_digit(status_line[11]) || (status_line.size() > 12 && status_line[12] != ' ')) {
    return fail(HttpResponseError::malformed_status_line);
  }
  const int status = (status_line[9] - '0') * 100 + (status_line[10] - '0') * 10 + (status_line[11] - '0');
  bool keep_alive = status_line[7] != '0';  // HTTP/1.1 keeps the connection unless told otherwise
  bool chunked = false;
  bool has_length = false;
  uint64_t length = 0;
  std::string_view rest = line_end == std::string_view::npos ? std::string_view{} : head.substr(line_end + 2);
  while (!rest.empty()) {
    const size_t eol = rest.find("\r\n");
    const std::string_view line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view{} : rest.substr(eol + 2);
    const size_t colon = line.find(':');
    // No name, or a name with blanks (also obsolete line folding): not a header we can trust.
    if (colon == std::string_view::npos || colon == 0 ||
        line.substr(0, colon).find_first_of(" \t") != std::string_view::npos) {
      return fail(HttpResponseError::malformed_header);
    }
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "content-length")) {
      if (value.empty() || value.size() > 19) return fail(HttpResponseError::bad_content_length);
      uint64_t v = 0;
      for (char c : value) {
        if (!is_digit(c)) return fail(HttpResponseError::bad_content_length);
        v = v * 10 + static_cast<uint64_t>(c - '0');
      }
      if (has_length && v != length) return fail(HttpResponseError::bad_content_length);
      has_length = true;
      length = v;
    } else if (iequals(name, "transfer-encoding")) {
      // Only "chunked" (possibly after "identity") is something a Socket.IO server sends.
      const size_t last_comma = value.rfind(',');
      const std::string_view last = trim(last_comma == std::string_view::npos ? value : value.substr(last_comma + 1));
      if (iequals(last, "chunked")) chunked = true;
      else if (!iequals(value, "identity")) return fail(HttpResponseError::unsupported_transfer_encoding);
    } else if (iequals(name, "connection")) {
      if (has_token(value, "close")) keep_alive = false;
      else if (has_token(value, "keep-alive")) keep_alive = true;
    }
  }
  read_pos_ += end + 4;
  progressed = true;
  if (status >= 100 && status < 200) return none;  // interim (100 Continue): the real one follows
  status_ = status;
  keep_alive_ = keep_alive;
  if (status == 204 || status == 304) return complete({});
  if (chunked) {  // a Content-Length beside chunked is ignored (RFC 9112 section 6.3)
    state_ = State::chunk_size;
    return none;
  }
  if (has_length) {
    if (length > max_body_bytes_) return fail(HttpResponseError::body_too_large);
    if (length == 0) return complete({});
    remaining_ = length;
    state_ = State::fixed_body;
    return none;
  }
  keep_alive_ = false;  // the body runs to the end of the connection
  state_ = State::body_to_close;
  return none;
}

HttpResponseReader::Result HttpResponseReader::next() {
  if (error_ != HttpResponseError::none) return fail(error_);
  if (body_handed_out_) {
    // The assembled body returned by the previous call is no longer referenced.
    body_handed_out_ = false;
    body_.clear();
    if (body_.capacity() > 64 * 1024) body_.shrink_to_fit();
  }
  Result need_more;
  for (;;) {
    const size_t avail = buffer_.size() - read_pos_;
    switch (state_) {
      case State::headers: {
        if (avail == 0) {
          compact();
          return need_more;
        }
        bool progressed = false;
        Result r = parse_headers(progressed);
        if (r.status != Status::need_more) return r;
        if (!progressed) {
          compact();
          return need_more;
        }
        break;
      }
      case State::fixed_body: {
        if (avail < remaining_) {
          compact();
          return need_more;
        }
        const std::string_view body(buffer_.data() + read_pos_, static_cast<size_t>(remaining_));
        read_pos_ += static_cast<size_t>(remaining_);
        remaining_ = 0;
        return complete(body);
      }
      case State::chunk_size: {
        const std::string_view rest = std::string_view(buffer_).substr(read_pos_);
        const size_t eol = rest.find("\r\n");
        if (eol == std::string_view::npos) {
          if (avail > kMaxChunkLineBytes) return fail(HttpResponseError::bad_chunk);
          compact();
          return need_more;
        }
        if (eol > kMaxChunkLineBytes) return fail(HttpResponseError::bad_chunk);
        const std::string_view line = rest.substr(0, eol);
        size_t i = 0;
        uint64_t size = 0;
        for (; i < line.size() && hex_value(line[i]) >= 0; ++i) {
          size = size * 16 + static_cast<uint64_t>(hex_value(line[i]));
          // Checked per digit so a long run of digits cannot overflow.
          if (size > max_body_bytes_) return fail(HttpResponseError::body_too_large);
        }
        if (i == 0) return fail(HttpResponseError::bad_chunk);
        const std::string_view after = trim(line.substr(i));
        if (!after.empty() && after.front() != ';') return fail(HttpResponseError::bad_chunk);
        read_pos_ += eol + 2;
        if (size == 0) {
          state_ = State::trailers;
        } else {
          if (body_.size() + size > max_body_bytes_) return fail(HttpResponseError::body_too_large);
          remaining_ = size;
          state_ = State::chunk_data;
        }
        break;
      }
      case State::chunk_data: {
        const size_t take = static_cast<size_t>(std::min<uint64_t>(avail, remaining_));
        body_.append(buffer_, read_pos_, take);
        read_pos_ += take;
        remaining_ -= take;
        if (remaining_ > 0) {
          compact();
          return need_more;
        }
        state_ = State::chunk_crlf;
        break;
      }
      case State::chunk_crlf: {
        if (avail < 2) {
          compact();
          return need_more;
        }
        if (buffer_[read_pos_] != '\r' || buffer_[read_pos_ + 1] != '\n') return fail(HttpResponseError::bad_chunk);
        read_pos_ += 2;
        state_ = State::chunk_size;
        break;
      }
      case State::trailers: {
        const std::string_view rest = std::string_view(buffer_).substr(read_pos_);
        const size_t eol = rest.find("\r\n");
        if (eol == std::string_view::npos) {
          if (avail > kMaxChunkLineBytes) return fail(HttpResponseError::bad_chunk);
          compact();
          return need_more;
        }
        if (eol > kMaxChunkLineBytes) return fail(HttpResponseError::bad_chunk);
        read_pos_ += eol + 2;
        if (eol == 0) {  // the empty line after the (ignored) trailer fields
          body_handed_out_ = true;
          return complete(body_);
        }
        break;
      }
      case State::body_to_close: {
        if (body_.size() + avail > max_body_bytes_) return fail(HttpResponseError::body_too_large);
        body_.append(buffer_, read_pos_, avail);
        read_pos_ += avail;
        compact();
        return need_more;
      }
    }
  }
}

HttpResponseReader::Result HttpResponseReader::finish() {
  if (error_ != HttpResponseError::none) return fail(error_);
  if (body_handed_out_) {
    body_handed_out_ = false;
    body_.clear();
  }
  if (state_ == State::body_to_close) {
    // next() has moved everything buffered into body_ already; take what is left anyway.
    const size_t avail = buffer_.size() - read_pos_;
    if (body_.size() + avail > max_body_bytes_) return fail(HttpResponseError::body_too_large);
    body_.append(buffer_, read_pos_, avail);
    read_pos_ = buffer_.size();
    body_handed_out_ = true;
    return complete(body_);
  }
  if (idle()) return Result{};
  return fail(HttpResponseError::truncated);
}

}  // namespace wsgw::loadgen
