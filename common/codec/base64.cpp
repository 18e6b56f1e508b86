#include "common/codec/base64.h"

#include <array>
#include <cstdint>

namespace wsgw::codec {
namespace {

constexpr std::string_view kStandardAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kUrlAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Any byte outside the alphabet maps to a value with the high bit set, so a whole
// quad can be validated with one OR of its four lookups.
constexpr std::uint8_t kInvalidSymbol = 0x80;

using DecodeTable = std::array<std::uint8_t, 256>;

constexpr DecodeTable make_decode_table(std::string_view alphabet) {
  DecodeTable table{};
  for (auto& entry : table) entry = kInvalidSymbol;
  for (std::size_t i = 0; i < alphabet.size(); ++i) {
    table[static_cast<unsigned char>(alphabet[i])] = static_cast<std::uint8_t>(i);
  }
  return table;
}

constexpr DecodeTable kStandardDecode = make_decode_table(kStandardAlphabet);
constexpr DecodeTable kUrlDecode = make_decode_table(kUrlAlphabet);

// Writes base64 of `in` into `out`, which must have room for the encoded size.
void encode_into(std::string_view in, char* out, std::string_view alphabet, bool pad) {
  const auto* src = reinterpret_cast<const unsigned char*>(in.data());
  const std::size_t full_groups = in.size() / 3;
  for (std::size_t g = 0; g < full_groups; ++g, src += 3) {
    const std::uint32_t v = (std::uint32_t{src[0]} << 16) | (std::uint32_t{src[1]} << 8) | src[2];
    *out++ = alphabet[(v >> 18) & 0x3F];
    *out++ = alphabet[(v >> 12) & 0x3F];
    *out++ = alphabet[(v >> 6) & 0x3F];
    *out++ = alphabet[v & 0x3F];
  }
  switch (in.size() % 3) {
    case 1: {
      const std::uint32_t v = std::uint32_t{src[0]} << 16;
      *out++ = alphabet[(v >> 18) & 0x3F];
      *out++ = alphabet[(v >> 12) & 0x3F];
      if (pad) {
        *out++ = '=';
        *out++ = '=';
      }
      break;
    }
    case 2: {
      const std::uint32_t v = (std::uint32_t{src[0]} << 16) | (std::uint32_t{src[1]} << 8);
      *out++ = alphabet[(v >> 18) & 0x3F];
      *out++ = alphabet[(v >> 12) & 0x3F];
      *out++ = alphabet[(v >> 6) & 0x3F];
      if (pad) *out++ = '=';
      break;
    }
    default:
      break;
  }
}

// Decodes unpadded symbols. Rejects a length of 1 mod 4 (cannot encode whole bytes)
// and non-zero leftover bits in the last symbol (non-canonical encodings).
bool decode_unpadded(std::string_view text, const DecodeTable& table, std::string& out) {
  const std::size_t tail = text.size() % 4;
  if (tail == 1) {
    out.clear();
    return false;
  }
  const std::size_t full_quads = text.size() / 4;
  out.resize(full_quads * 3 + (tail == 0 ? 0 : tail - 1));

  const auto* src = reinterpret_cast<const unsigned char*>(text.data());
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  std::uint8_t invalid = 0;
  for (std::size_t q = 0; q < full_quads; ++q, src += 4) {
    const std::uint8_t a = table[src[0]], b = table[src[1]], c = table[src[2]], d = table[src[3]];
    invalid |= a | b | c | d;
    const std::uint32_t v = (std::uint32_t{a} << 18) | (std::uint32_t{b} << 12) |
                            (std::uint32_t{c} << 6) | d;
    *dst++ = static_cast<unsigned char>(v >> 16);
    *dst++ = static_cast<unsigned char>(v >> 8);
    *dst++ = static_cast<unsigned char>(v);
  }
  if (tail == 2) {
    const std::uint8_t a = table[src[0]], b = table[src[1]];
    invalid |= a | b;
    if ((b & 0x0F) != 0) invalid |= kInvalidSymbol;
    *dst = static_cast<unsigned char>((a << 2) | ((b >> 4) & 0x03));
  } else if (tail == 3) {
    const std::uint8_t a = table[src[0]], b = table[src[1]], c = table[src[2]];
    invalid |= a | b | c;
    if ((c & 0x03) != 0) invalid |= kInvalidSymbol;
    *dst++ = static_cast<unsigned char>((a << 2) | ((b >> 4) & 0x03));
    *dst = static_cast<unsigned char>(((b & 0x0F) << 4) | ((c >> 2) & 0x0F));
  }
  if ((invalid & kInvalidSymbol) != 0) {
    out.clear();
    return false;
  }
  return true;
}

std::size_t trailing_pad_count(std::string_view text) {
  std::size_t count = 0;
  while (count < 2 && count < text.size() && text[text.size() - 1 - count] == '=') ++count;
  return count;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out(base64_encoded_size(bytes.size()), '\0');
  encode_into(bytes, out.data(), kStandardAlphabet, /*pad=*/true);
  return out;
}

void base64_encode_append(std::string& out, std::string_view bytes) {
  const std::size_t start = out.size();
  out.resize(start + base64_encoded_size(bytes.size()));
  encode_into(bytes, out.data() + start, kStandardAlphabet, /*pad=*/true);
}

std::string base64url_encode(std::string_view bytes) {
  std::string out(base64url_encoded_size(bytes.size()), '\0');
  encode_into(bytes, out.data(), kUrlAlphabet, /*pad=*/false);
  return out;
}

bool base64_decode(std::string_view text, std::string& out) {
  if (text.size() % 4 != 0) {
    out.clear();
    return false;
  }
  // A third '=' (or one in the middle) is left in the text and fails as an invalid symbol.
  text.remove_suffix(trailing_pad_count(text));
  return decode_unpadded(text, kStandardDecode, out);
}

bool base64url_decode(std::string_view text, std::string& out) {
  const std::size_t pads = trailing_pad_count(text);
  if (pads != 0 && text.size() % 4 != 0) {
    out.clear();
    return false;
  }
  text.remove_suffix(pads);
  return decode_unpadded(text, kUrlDecode, out);
}

}  // namespace wsgw::codec
