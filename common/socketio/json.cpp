#include "common/socketio/json.h"

#include <algorithm>
#include <cstdint>

#include "common/codec/utf8.h"
#include "common/socketio/json_sax.h"

namespace wsgw::sio {
namespace {

constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

constexpr uint32_t kReplacementChar = 0xFFFD;

// Four hex digits at s[pos..pos+4).
bool parse_hex4(std::string_view s, std::size_t pos, uint32_t& value) {
  if (pos + 4 > s.size()) return false;
  value = 0;
  for (std::size_t k = pos; k < pos + 4; ++k) {
    const char c = s[k];
    uint32_t digit;
    if (c >= '0' && c <= '9') digit = static_cast<uint32_t>(c - '0');
    else if (c >= 'a' && c <= 'f') digit = static_cast<uint32_t>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') digit = static_cast<uint32_t>(c - 'A' + 10);
    else return false;
    value = value * 16 + digit;
  }
  return true;
}

constexpr bool is_high_surrogate(uint32_t cp) { return cp >= 0xD800 && cp <= 0xDBFF; }
constexpr bool is_low_surrogate(uint32_t cp) { return cp >= 0xDC00 && cp <= 0xDFFF; }

// "\uXXXX" at s[pos] followed by a low-surrogate "\uXXXX": stores the low half.
bool low_surrogate_escape_at(std::string_view s, std::size_t pos, uint32_t& low) {
  return pos + 6 <= s.size() && s[pos] == '\\' && s[pos + 1] == 'u' &&
         parse_hex4(s, pos + 2, low) && is_low_surrogate(low);
}

// One JSON number token (RFC 8259 grammar) starting at s[start]; reports its end and form.
bool scan_json_number(std::string_view s, std::size_t start, std::size_t& end, bool& has_fraction,
                      bool& has_exponent) {
  const std::size_t n = s.size();
  std::size_t i = start;
  if (i < n && s[i] == '-') ++i;
  if (i >= n) return false;
  if (s[i] == '0') {
    ++i;
  } else if (s[i] >= '1' && s[i] <= '9') {
    while (i < n && is_digit(s[i])) ++i;
  } else {
    return false;
  }
  has_fraction = has_exponent = false;
  if (i < n && s[i] == '.') {
    ++i;
    if (i >= n || !is_digit(s[i])) return false;
    while (i < n && is_digit(s[i])) ++i;
    has_fraction = true;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    if (i >= n || !is_digit(s[i])) return false;
    while (i < n && is_digit(s[i])) ++i;
    has_exponent = true;
  }
  end = i;
  return true;
}

// Syntax only, with the depth cap.
class SyntaxHandler : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, SyntaxHandler> {
 public:
  bool StartObject() { return ++depth_ <= kMaxJsonDepth; }
  bool EndObject(rapidjson::SizeType) { return --depth_, true; }
  bool StartArray() { return ++depth_ <= kMaxJsonDepth; }
  bool EndArray(rapidjson::SizeType) { return --depth_, true; }
  void reset() { depth_ = 0; }

 private:
  std::size_t depth_ = 0;
};

}  // namespace

void json_escape_append(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.reserve(out.size() + s.size() + 2);
  std::size_t run_start = 0;  // bytes that need no escaping are copied in runs
  std::size_t i = 0;
  const auto flush = [&] { out.append(s.data() + run_start, i - run_start); };
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      const std::size_t len = codec::utf8_sequence_length(s, i);
      if (len != 0) {
        i += len;
        continue;
      }
      flush();
      out += "\\ufffd";
      run_start = ++i;
      continue;
    }
    flush();
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xF];
    }
    run_start = ++i;
  }
  flush();
}

bool json_unescape_append(std::string& out, std::string_view body) {
  std::size_t i = 0;
  while (i < body.size()) {
    const std::size_t backslash = body.find('\\', i);
    const std::size_t run_end = backslash == std::string_view::npos ? body.size() : backslash;
    for (std::size_t k = i; k < run_end; ++k)
      if (static_cast<unsigned char>(body[k]) < 0x20) return false;
    out.append(body.data() + i, run_end - i);
    if (run_end == body.size()) return true;
    i = run_end + 1;
    if (i >= body.size()) return false;
    const char e = body[i++];
    switch (e) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        uint32_t cp;
        if (!parse_hex4(body, i, cp)) return false;
        i += 4;
        uint32_t low;
        if (is_high_surrogate(cp) && low_surrogate_escape_at(body, i, low)) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          i += 6;
        } else if (is_high_surrogate(cp) || is_low_surrogate(cp)) {
          cp = kReplacementChar;
        }
        append_utf8(out, cp);
        break;
      }
      default:
        return false;
    }
  }
  return true;
}

bool json_valid(std::string_view text) {
  SyntaxHandler handler;
  return detail::sax_parse(text, handler) == detail::SaxResult::ok;
}

namespace detail {

void rewrite_for_rapidjson(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());  // every replacement is at most as long as what it replaces
  const std::size_t n = in.size();
  std::size_t i = 0;
  bool in_string = false;
  while (i < n) {
    const char c = in[i];
    if (in_string) {
      if (c == '"') {
        in_string = false;
      } else if (c == '\\') {
        uint32_t cp, low;
        if (i + 1 < n && in[i + 1] == 'u' && parse_hex4(in, i + 2, cp)) {
          if (is_high_surrogate(cp) && !low_surrogate_escape_at(in, i + 6, low)) {
            out += "\\ufffd";
          } else {
            out.append(in.substr(i, 6));
          }
          i += 6;  // a valid pair's second half is copied by the next iteration
          continue;
        }
        // Any other escape, well-formed or not, is copied as is: RapidJSON judges it alike.
        out.append(in.substr(i, std::min<std::size_t>(2, n - i)));
        i += 2;
        continue;
      }
      out += c;
      ++i;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '-' || is_digit(c)) {
      std::size_t end;
      bool fraction, exponent;
      if (!scan_json_number(in, i, end, fraction, exponent)) {
        out.append(in.substr(i));  // malformed number: RapidJSON refuses the rest just the same
        return;
      }
      // Keeping the sign and the form ("0", "0.0", "0e0") keeps what may legally precede and
      // follow the token the same, so an invalid text cannot become valid: "1.5.3" must not
      // turn into "0.3", nor "1e4-00" into "0e000".
      if (c == '-') out += '-';
      out += fraction ? (exponent ? "0.0e0" : "0.0") : (exponent ? "0e0" : "0");
      i = end;
      continue;
    }
    out += c;
    ++i;
  }
}

}  // namespace detail
}  // namespace wsgw::sio
