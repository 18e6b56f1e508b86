#pragma once
// An owning, hiredis-independent Redis reply (RESP2): what every callback receives. Errors the
// client produces itself (connection lost, queue stopped, timeout) are error replies whose text
// starts with "WSGW_", so callers handle one shape and can still tell them from server errors.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wsgw::redis {

// Texts of the error replies the client makes up itself.
inline constexpr std::string_view kErrorDisconnected = "WSGW_DISCONNECTED";  // no connection to Redis
inline constexpr std::string_view kErrorStopped = "WSGW_STOPPED";            // client shutting down
inline constexpr std::string_view kErrorTimeout = "WSGW_TIMEOUT";            // command_sync gave up
inline constexpr std::string_view kErrorQueueFull = "WSGW_QUEUE_FULL";       // command_sync: no room
inline constexpr std::string_view kErrorBadCommand = "WSGW_BAD_COMMAND";     // e.g. no arguments

class Reply {
 public:
  enum class Type : uint8_t { nil, integer, string, status, error, array };

  Reply() = default;  // nil

  static Reply make_nil() { return Reply(); }
  static Reply make_integer(int64_t value);
  static Reply make_string(std::string value);
  static Reply make_status(std::string value);
  static Reply make_error(std::string value);
  static Reply make_array(std::vector<Reply> elements);

  Type type() const { return type_; }
  bool is_nil() const { return type_ == Type::nil; }
  bool is_integer() const { return type_ == Type::integer; }
  bool is_string() const { return type_ == Type::string; }
  bool is_status() const { return type_ == Type::status; }
  bool is_error() const { return type_ == Type::error; }
  bool is_array() const { return type_ == Type::array; }
  // An error the client made up (connection, shutdown, timeout), not one Redis sent.
  bool is_local_error() const;
  // The server's "NOSCRIPT" error: EVALSHA of a script Redis does not have cached.
  bool is_noscript_error() const;

  int64_t integer() const { return integer_; }              // 0 unless an integer
  const std::string& str() const { return text_; }          // string, status or error text
  const std::vector<Reply>& elements() const { return elements_; }  // empty unless an array
  std::vector<Reply>& elements() { return elements_; }

  // Integer replies, and bulk strings that hold a whole decimal number (Redis returns scores
  // and counters as strings); nullopt otherwise. A score like "1.5e3" is accepted when it is
  // an exact integer, because Redis may print large sorted-set scores that way.
  std::optional<int64_t> to_integer() const;
  // Status "OK".
  bool is_ok() const { return type_ == Type::status && text_ == "OK"; }

  // A short human-readable rendering for logs and test failure messages.
  std::string debug_string() const;

  friend bool operator==(const Reply& a, const Reply& b) = default;

 private:
  Type type_ = Type::nil;
  int64_t integer_ = 0;
  std::string text_;
  std::vector<Reply> elements_;
};

// Parses a whole decimal integer (optional '-') or an exact-integer double; false otherwise.
bool parse_integer(std::string_view text, int64_t& out);

}  // namespace wsgw::redis
