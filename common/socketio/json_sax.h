#pragma once
// Internal to wsgw_socketio: strict JSON validation through RapidJSON's SAX reader with a caller's
// handler, shared by the packet decoder and the placeholder check. Not installed for other modules
// (it drags in RapidJSON); they use json.h.
#include <cstring>
#include <string>
#include <string_view>

#include <rapidjson/error/error.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

namespace wsgw::sio::detail {

// Iterative: nesting costs heap proportional to the input, never call stack.
// Numbers as strings: the shape is all we need, so skip the conversion.
// No kParseStopWhenDoneFlag: anything after the value is an error, as with JSON.parse.
inline constexpr unsigned kStrictJsonFlags = rapidjson::kParseValidateEncodingFlag |
                                             rapidjson::kParseIterativeFlag |
                                             rapidjson::kParseNumbersAsStringsFlag;

enum class SaxResult { ok, malformed, stopped_by_handler };

// RapidJSON 1.1 refuses two things JSON.parse accepts: numbers beyond the double range ("1e400",
// a 400-digit integer) and lone UTF-16 surrogate escapes ("\ud83d" from a string cut mid-emoji,
// which JSON.stringify produces). Writes to `out` a text that is valid exactly when `in` is valid
// for JSON.parse, with each such number replaced by a small one of the same form and each lone
// high surrogate escape by \ufffd. Only ever run after RapidJSON reported one of those errors.
void rewrite_for_rapidjson(std::string_view in, std::string& out);

template <class Handler>
SaxResult sax_parse_once(std::string_view text, Handler& handler, rapidjson::ParseErrorCode& code) {
  rapidjson::MemoryStream stream(text.data(), text.size());
  rapidjson::Reader reader;
  const rapidjson::ParseResult result = reader.Parse<kStrictJsonFlags>(stream, handler);
  code = result.Code();
  if (code == rapidjson::kParseErrorTermination) return SaxResult::stopped_by_handler;
  if (result.IsError()) return SaxResult::malformed;
  // MemoryStream reports NUL at its end; sax_parse has refused embedded NULs, so this holds.
  return stream.Tell() == text.size() ? SaxResult::ok : SaxResult::malformed;
}

// Parses `text` with `handler` (which needs a reset() that returns it to its initial state).
template <class Handler>
SaxResult sax_parse(std::string_view text, Handler& handler) {
  // A raw NUL is never valid JSON, and RapidJSON's streams would take it for the end of input.
  if (text.empty() || std::memchr(text.data(), '\0', text.size()) != nullptr)
    return SaxResult::malformed;
  rapidjson::ParseErrorCode code = rapidjson::kParseErrorNone;
  SaxResult result = sax_parse_once(text, handler, code);
  if (result == SaxResult::malformed && (code == rapidjson::kParseErrorNumberTooBig ||
                                         code == rapidjson::kParseErrorStringUnicodeSurrogateInvalid)) {
    std::string rewritten;
    rewrite_for_rapidjson(text, rewritten);
    handler.reset();
    result = sax_parse_once(std::string_view(rewritten), handler, code);
  }
  return result;
}

}  // namespace wsgw::sio::detail
