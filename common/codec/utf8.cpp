#include "common/codec/utf8.h"

#include <cstdint>
#include <cstring>

namespace wsgw::codec {
namespace {

constexpr std::uint64_t kHighBits = 0x8080808080808080ULL;

// Length of the well-formed sequence at p (whose lead byte is >= 0x80), or 0. `available`
// counts the bytes from p to the end of the text and is at least 1.
inline std::size_t multibyte_sequence_length(const unsigned char* p, std::size_t available) {
  const unsigned char lead = *p;
  // Sequence length and the allowed range of the first continuation byte, which is where
  // overlongs, surrogates and > U+10FFFF are excluded.
  std::size_t length = 0;
  unsigned char second_min = 0x80, second_max = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second_min = 0xA0;  // overlong
    if (lead == 0xED) second_max = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second_min = 0x90;  // overlong
    if (lead == 0xF4) second_max = 0x8F;  // above U+10FFFF
  } else {
    return 0;  // stray continuation byte, C0/C1 overlong lead, or F5..FF
  }
  if (available < length) return 0;
  if (p[1] < second_min || p[1] > second_max) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if ((p[i] & 0xC0) != 0x80) return 0;
  }
  return length;
}

}  // namespace

bool is_valid_utf8(std::string_view text) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* const end = p + text.size();
  while (p < end) {
    // ASCII fast path. Text frames are mostly JSON, so most bytes go through here: sixteen
    // at a time (two words, one test), then eight.
    while (end - p >= 16) {
      std::uint64_t first, second;
      std::memcpy(&first, p, sizeof first);
      std::memcpy(&second, p + 8, sizeof second);
      if (((first | second) & kHighBits) != 0) break;
      p += 16;
    }
    if (end - p >= 8) {
      std::uint64_t word;
      std::memcpy(&word, p, sizeof word);
      if ((word & kHighBits) == 0) {
        p += 8;
        continue;
      }
    }
    // A non-ASCII byte is within the next eight (or the text ends first). Walking up to it
    // and then through the whole non-ASCII run before going back to the word tests keeps
    // text with many accented letters or CJK as fast as a plain byte loop.
    while (p < end && *p < 0x80) ++p;
    while (p < end && *p >= 0x80) {
      const std::size_t length = multibyte_sequence_length(p, static_cast<std::size_t>(end - p));
      if (length == 0) return false;
      p += length;
    }
  }
  return true;
}

std::size_t utf8_sequence_length(std::string_view text, std::size_t pos) noexcept {
  if (pos >= text.size()) return 0;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data()) + pos;
  if (*p < 0x80) return 1;
  return multibyte_sequence_length(p, text.size() - pos);
}

}  // namespace wsgw::codec
