#pragma once
// The client side of Engine.IO v4 HTTP long-polling, without any I/O: the GET and POST
// requests a polling client sends, an incremental HTTP/1.1 response reader (Content-Length,
// chunked, or up to the connection's end) and the v4 payload format (packets joined by the
// record separator 0x1E). The packets themselves are the same text messages a WebSocket
// client gets, so SocketIoClient (client_protocol.h) handles them unchanged.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wsgw::loadgen {

// ---------------------------------------------------------------------------------------
// Requests

// "GET <target> HTTP/1.1" for a keep-alive connection; `target` is path plus query.
std::string make_polling_get(std::string_view host_header, std::string_view target);

// "POST <target> HTTP/1.1" carrying `payload` as text/plain (what browsers send).
std::string make_polling_post(std::string_view host_header, std::string_view target,
                              std::string_view payload);

// `base_target` (path and query, e.g. "/socket.io/?EIO=4&transport=polling") with
// "&sid=<sid>" appended, the sid percent-encoded where it is not URL-safe.
std::string polling_session_target(std::string_view base_target, std::string_view sid);

// Adds one packet to a payload being built: packets are joined by the record separator.
void append_payload_packet(std::string& payload, std::string_view packet);

// Splits a v4 polling payload into its packets (views into `body`), replacing `packets`.
// False for an empty body or an empty packet (",,"-like separators): not a valid payload.
bool split_polling_payload(std::string_view body, std::vector<std::string_view>& packets);

// ---------------------------------------------------------------------------------------
// Responses

inline constexpr char kRecordSeparator = '\x1e';
inline constexpr size_t kMaxResponseHeaderBytes = 8 * 1024;
inline constexpr size_t kMaxChunkLineBytes = 1024;  // chunk size, extensions, trailer lines

enum class HttpResponseError : uint8_t {
  none,
  malformed_status_line,
  malformed_header,
  headers_too_large,
  bad_content_length,   // not a number, or two different values
  unsupported_transfer_encoding,
  bad_chunk,            // bad chunk size line or missing CRLF after a chunk
  body_too_large,       // above the reader's limit
  truncated,            // the connection ended inside a response
};

const char* to_string(HttpResponseError e);

// Reads HTTP/1.1 responses from a byte stream split anywhere. Interim 1xx responses are
// skipped; 204 and 304 have no body. Bounded: headers by kMaxResponseHeaderBytes, bodies
// by the limit given, whatever lengths the peer announces.
class HttpResponseReader {
 public:
  enum class Status : uint8_t { need_more, response, error };
  struct Result {
    Status status = Status::need_more;
    int http_status = 0;
    bool keep_alive = true;  // false: the server closes the connection after this response
    std::string_view body;   // valid until the next append(), next() or finish()
  };

  explicit HttpResponseReader(size_t max_body_bytes) : max_body_bytes_(max_body_bytes) {}

  // Buffers received bytes. Invalidates bodies returned earlier.
  void append(std::string_view bytes);

  // The next complete response, or need_more, or error (sticky: the stream is unusable).
  Result next();

  // The peer closed the connection: completes a response whose body runs to the end of the
  // connection; a response cut short is `truncated`. need_more when nothing was pending.
  Result finish();

  // Nothing buffered and no response begun: an end of the connection here loses nothing.
  bool idle() const { return state_ == State::headers && buffer_.size() == read_pos_; }
  HttpResponseError error() const { return error_; }
  // Bytes held for an incomplete response (for memory accounting and tests).
  size_t buffered_bytes() const { return buffer_.size() - read_pos_ + body_.size(); }

 private:
  enum class State : uint8_t { headers, fixed_body, chunk_size, chunk_data, chunk_crlf, trailers,
                               body_to_close };

  Result fail(HttpResponseError e);
  Result parse_headers(bool& progressed);
  Result complete(std::string_view body);
  void compact();

  size_t max_body_bytes_;
  std::string buffer_;   // received, not yet consumed bytes start at read_pos_
  size_t read_pos_ = 0;
  std::string body_;     // a chunked or to-the-end body being assembled
  bool body_handed_out_ = false;  // body_ was returned by the previous call
  State state_ = State::headers;
  int status_ = 0;
  bool keep_alive_ = true;
  uint64_t remaining_ = 0;  // of the fixed body or the current chunk
  HttpResponseError error_ = HttpResponseError::none;
};

}  // namespace wsgw::loadgen
