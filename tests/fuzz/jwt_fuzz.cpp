// libFuzzer target for the JWT verifier and the base64 codecs.
//
// Each input is used five ways:
//  1. as a raw token: verify must return without crashing; an accepted token must be
//     within the size limit and carry a subject (the seed corpus holds one valid token);
//  2. as the header JSON of a token with an empty signature, which must fail;
//  3. as the payload of a correctly signed token, which drives the claims parser that
//     hostile input cannot otherwise reach; the signature must then never be rejected;
//  4. as base64/base64url text: whatever the strict decoders accept must re-encode to
//     the same text (canonical decoding);
//  5. as bytes: decode(encode(x)) == x for both alphabets (and UTF-8 validation runs).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/auth/jwt.h"
#include "common/codec/base64.h"
#include "common/codec/utf8.h"

namespace {

constexpr std::string_view kSecret = "fuzz-secret";
constexpr std::int64_t kNow = 1'700'000'000;

void check(bool condition) {
  if (!condition) std::abort();
}

std::string strip_padding(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  return std::string(text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace wsgw;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  static const auth::JwtVerifier verifier{std::string(kSecret), 30};

  auth::JwtClaims claims;
  const auth::JwtError raw_result = verifier.verify(input, kNow, claims);
  if (raw_result == auth::JwtError::none) {
    check(input.size() <= auth::kMaxJwtLength && !claims.sub.empty());
  }
  static_cast<void>(auth::to_string(raw_result).size());

  if (input.size() <= 4096) {
    const std::string signed_token = auth::jwt_sign_hs256(input, kSecret);
    const auth::JwtError signed_result = verifier.verify(signed_token, kNow, claims);
    check(signed_result != auth::JwtError::bad_signature);
    check(signed_result != auth::JwtError::unsupported_algorithm);
    if (signed_result == auth::JwtError::none) check(!claims.sub.empty());
  }

  if (input.size() <= 4096) {
    // Input as the header JSON: only structural or algorithm errors are possible, since
    // the signature is empty.
    const std::string token = codec::base64url_encode(input) + ".e30.";
    const auth::JwtError header_result = verifier.verify(token, kNow, claims);
    check(header_result == auth::JwtError::malformed ||
          header_result == auth::JwtError::unsupported_algorithm ||
          header_result == auth::JwtError::bad_signature);
  }

  std::string decoded;
  if (codec::base64_decode(input, decoded)) check(codec::base64_encode(decoded) == input);
  if (codec::base64url_decode(input, decoded)) {
    check(codec::base64url_encode(decoded) == strip_padding(input));
  }

  // Base64 output is ASCII; the validator must agree, and must not read out of bounds
  // on arbitrary input (ASan checks that).
  static_cast<void>(codec::is_valid_utf8(input));
  check(codec::is_valid_utf8(codec::base64_encode(input)));

  check(codec::base64_decode(codec::base64_encode(input), decoded) && decoded == input);
  check(codec::base64url_decode(codec::base64url_encode(input), decoded) && decoded == input);
  return 0;
}
