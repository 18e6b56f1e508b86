#pragma once

// HS256 JSON Web Token verification (RFC 7519 / RFC 7515, compact serialization only).
//
// Deliberately narrow: one algorithm (HMAC-SHA256) with one shared secret, so there is
// no key selection and nothing for "alg" to confuse. Every other alg, including
// "none", is refused before the signature is looked at. Hostile input is bounded by
// kMaxJwtLength and never throws.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wsgw::auth {

// Longer tokens are refused as malformed before any decoding work.
inline constexpr std::size_t kMaxJwtLength = 8 * 1024;

struct JwtClaims {
  std::string sub;                 // user id; a numeric "sub" is converted to decimal text
  std::vector<std::string> rooms;  // optional "rooms" claim: rooms to join on connect
  std::optional<std::int64_t> exp;
  std::optional<std::int64_t> nbf;
  std::optional<std::int64_t> iat;
};

enum class JwtError {
  none,
  malformed,              // not three base64url segments of JSON objects, too long, bad header
  unsupported_algorithm,  // header "alg" is anything but "HS256"
  bad_signature,          // HMAC does not match (or the verifier has no secret)
  expired,                // now >= exp + leeway
  not_yet_valid,          // now < nbf - leeway
  missing_subject,        // no "sub", or an empty one
  bad_claims,             // a known claim has the wrong type or an out-of-range value
};

// Short human text, suitable for a Socket.IO connect_error message and logs.
std::string_view to_string(JwtError error) noexcept;

class JwtVerifier {
 public:
  // An empty secret makes every verification fail with bad_signature (fail closed):
  // HMAC with an empty key would accept tokens anyone can forge.
  // A negative leeway is treated as zero.
  explicit JwtVerifier(std::string hs256_secret, std::int64_t leeway_seconds = 30);

  // Verifies signature, then claims, then exp/nbf against `now_unix_seconds`.
  // `out` is written only when the result is JwtError::none.
  // Thread-safe: const and keeps no per-call state.
  JwtError verify(std::string_view token, std::int64_t now_unix_seconds, JwtClaims& out) const;

 private:
  std::string secret_;
  std::int64_t leeway_seconds_;
};

// Builds "<header>.<payload>.<signature>" with header {"alg":"HS256","typ":"JWT"}.
// `payload_json` is used verbatim (not validated), which lets tests sign bad claims.
std::string jwt_sign_hs256(std::string_view payload_json, std::string_view secret);

}  // namespace wsgw::auth
