#include "common/auth/jwt.h"

#include <array>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstring>
#include <utility>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <rapidjson/reader.h>

#include "common/codec/base64.h"
#include "common/codec/utf8.h"

namespace wsgw::auth {
namespace {

constexpr std::size_t kSha256Size = 32;
using Sha256Mac = std::array<unsigned char, kSha256Size>;

// base64url of {"alg":"HS256","typ":"JWT"}; the header jwt_sign_hs256 always emits.
constexpr std::string_view kSigningHeaderB64 = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

bool hmac_sha256(std::string_view key, std::string_view data, Sha256Mac& mac) {
  if (key.size() > static_cast<std::size_t>(INT_MAX)) return false;
  unsigned int mac_size = 0;
  const unsigned char* result =
      HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(), &mac_size);
  return result != nullptr && mac_size == kSha256Size;
}

// ---------------------------------------------------------------------------------
// A SAX scan of a JSON object that records only the top-level members we care about.
//
// Why SAX rather than a DOM: no tree is built for hostile input, duplicate members are
// detectable (a DOM silently keeps the first, other JWT libraries the last, and such a
// disagreement is an attack surface), and with kParseNumbersAsStringsFlag we see numbers
// as their literal text, distinguishable from strings, and convert them ourselves
// (RapidJSON 1.1's number-to-double path can overflow an int on extreme exponents,
// fixed upstream only after 1.1).

enum class JsonKind { absent, string, number, string_array, other };

struct ScannedMember {
  JsonKind kind = JsonKind::absent;
  std::string text;                  // string value, or the number's literal text
  std::vector<std::string> strings;  // elements when kind == string_array
};

enum class ScanResult { ok, malformed, not_object, duplicate };

template <std::size_t N>
class TopLevelScanner
    : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, TopLevelScanner<N>> {
 public:
  explicit TopLevelScanner(const std::array<std::string_view, N>& names) : names_(names) {}

  // Takes a std::string because RapidJSON's StringStream relies on the terminating NUL.
  ScanResult scan(const std::string& json) {
    // JSON text can never contain a raw NUL, and RapidJSON's streams treat NUL as the end
    // of input, so "{}\0junk" would otherwise be accepted.
    if (std::memchr(json.data(), '\0', json.size()) != nullptr) return ScanResult::malformed;
    // JSON text must be UTF-8 (RFC 8259 8.1). Checked here rather than with RapidJSON
    // 1.1's kParseValidateEncodingFlag, which reads past the end of a truncated sequence.
    if (!codec::is_valid_utf8(json)) return ScanResult::malformed;
    rapidjson::StringStream stream(json.data());
    rapidjson::Reader reader;
    constexpr unsigned kFlags = rapidjson::kParseIterativeFlag |  // bounded C++ stack depth
                                rapidjson::kParseNumbersAsStringsFlag;
    const rapidjson::ParseResult parsed = reader.Parse<kFlags>(stream, *this);
    if (failure_ != ScanResult::ok) return failure_;
    if (parsed.IsError()) return ScanResult::malformed;
    return ScanResult::ok;
  }

  const ScannedMember& member(std::size_t index) const { return members_[index]; }
  ScannedMember& member(std::size_t index) { return members_[index]; }

  // --- RapidJSON handler interface ---
  bool Default() { return scalar_value(JsonKind::other, {}); }
  bool String(const char* text, rapidjson::SizeType length, bool) {
    return scalar_value(JsonKind::string, std::string_view(text, length));
  }
  bool RawNumber(const char* text, rapidjson::SizeType length, bool) {
    return scalar_value(JsonKind::number, std::string_view(text, length));
  }
  bool Key(const char* text, rapidjson::SizeType length, bool) {
    if (depth_ != 1) return true;
    current_ = -1;
    const std::string_view name(text, length);
    for (std::size_t i = 0; i < N; ++i) {
      if (names_[i] != name) continue;
      if (seen_[i]) return fail(ScanResult::duplicate);
      seen_[i] = true;
      current_ = static_cast<int>(i);
      break;
    }
    return true;
  }
  bool StartObject() {
    if (depth_ > 0) mark_nested_value();
    ++depth_;
    return true;
  }
  bool EndObject(rapidjson::SizeType) {
    --depth_;
    return true;
  }
  bool StartArray() {
    if (depth_ == 0) return fail(ScanResult::not_object);
    if (depth_ == 1 && current_ >= 0) {
      members_[current_].kind = JsonKind::string_array;
      array_owner_ = current_;
    } else {
      mark_nested_value();
    }
    ++depth_;
    return true;
  }
  bool EndArray(rapidjson::SizeType) {
    --depth_;
    if (depth_ == 1) array_owner_ = -1;
    return true;
  }

 private:
  bool fail(ScanResult why) {
    failure_ = why;
    return false;  // stops the reader
  }

  // An object or array appears as a value: at the top level it is a value of the wrong
  // shape; inside a tracked array it spoils the "array of strings".
  void mark_nested_value() {
    if (depth_ == 1 && current_ >= 0) members_[current_].kind = JsonKind::other;
    if (depth_ == 2 && array_owner_ >= 0) members_[array_owner_].kind = JsonKind::other;
  }

  bool scalar_value(JsonKind kind, std::string_view text) {
    if (depth_ == 0) return fail(ScanResult::not_object);
    if (depth_ == 1 && current_ >= 0) {
      ScannedMember& m = members_[current_];
      m.kind = kind;
      m.text.assign(text);
    } else if (depth_ == 2 && array_owner_ >= 0) {
      ScannedMember& m = members_[array_owner_];
      if (m.kind == JsonKind::string_array && kind == JsonKind::string) {
        m.strings.emplace_back(text);
      } else {
        m.kind = JsonKind::other;
      }
    }
    return true;
  }

  const std::array<std::string_view, N>& names_;
  std::array<ScannedMember, N> members_{};
  std::array<bool, N> seen_{};
  int depth_ = 0;
  int current_ = -1;      // index of the tracked member whose value comes next
  int array_owner_ = -1;  // tracked member whose array we are inside (depth 2)
  ScanResult failure_ = ScanResult::ok;
};

// Decodes one base64url JWT segment; JWS forbids padding (RFC 7515 section 2) and the
// caller has already refused any '=' in the token.
bool decode_segment(std::string_view segment, std::string& out) {
  return codec::base64url_decode(segment, out);
}

// ---------------------------------------------------------------------------------
// Number claims. RFC 7519 NumericDate may be fractional; we floor it (stricter by < 1 s
// for "exp", laxer by < 1 s for "nbf", both well inside any leeway).

bool parse_int64_literal(std::string_view literal, std::int64_t& value) {
  const char* end = literal.data() + literal.size();
  const auto [ptr, ec] = std::from_chars(literal.data(), end, value);
  return ec == std::errc{} && ptr == end;
}

bool parse_double_literal(std::string_view literal, double& value) {
  const char* end = literal.data() + literal.size();
  const auto [ptr, ec] = std::from_chars(literal.data(), end, value);
  return ec == std::errc{} && ptr == end && std::isfinite(value);
}

// 2^63 exactly, the first double above every int64.
constexpr double kTwoPow63 = 9223372036854775808.0;

bool numeric_date(std::string_view literal, std::int64_t& value) {
  if (parse_int64_literal(literal, value)) return true;
  double d = 0;
  if (!parse_double_literal(literal, d)) return false;
  d = std::floor(d);
  if (d < -kTwoPow63 || d >= kTwoPow63) return false;
  value = static_cast<std::int64_t>(d);
  return true;
}

// A numeric "sub" must be a whole number we can print exactly.
bool numeric_subject(std::string_view literal, std::string& subject) {
  std::int64_t whole = 0;
  if (!parse_int64_literal(literal, whole)) {
    std::uint64_t big = 0;
    const char* end = literal.data() + literal.size();
    const auto [ptr, ec] = std::from_chars(literal.data(), end, big);
    if (ec == std::errc{} && ptr == end) {
      subject = std::to_string(big);
      return true;
    }
    double d = 0;
    constexpr double kExactIntegerLimit = 9007199254740992.0;  // 2^53
    const bool exact_whole_number =
        parse_double_literal(literal, d) && d == std::floor(d) && std::fabs(d) <= kExactIntegerLimit;
    if (!exact_whole_number) return false;
    whole = static_cast<std::int64_t>(d);
  }
  subject = std::to_string(whole);
  return true;
}

// `later - earlier` for later >= earlier, exact over the whole int64 range.
std::uint64_t distance(std::int64_t earlier, std::int64_t later) {
  return static_cast<std::uint64_t>(later) - static_cast<std::uint64_t>(earlier);
}

// RFC 7519: valid while now < exp and from nbf on; the leeway widens both for clock skew.
// Written without "exp + leeway" so no value of the claims can overflow.
bool is_expired(std::int64_t exp, std::int64_t now, std::int64_t leeway) {
  return now >= exp && distance(exp, now) >= static_cast<std::uint64_t>(leeway);
}
bool is_not_yet_valid(std::int64_t nbf, std::int64_t now, std::int64_t leeway) {
  return now < nbf && distance(now, nbf) > static_cast<std::uint64_t>(leeway);
}

// ---------------------------------------------------------------------------------

constexpr std::array<std::string_view, 3> kHeaderMembers = {"alg", "typ", "crit"};
enum HeaderMember : std::size_t { kAlg, kTyp, kCrit };

JwtError check_header(const std::string& header_json) {
  TopLevelScanner<kHeaderMembers.size()> scanner(kHeaderMembers);
  if (scanner.scan(header_json) != ScanResult::ok) return JwtError::malformed;
  const ScannedMember& alg = scanner.member(kAlg);
  if (alg.kind != JsonKind::string) return JwtError::malformed;
  if (alg.text != "HS256") return JwtError::unsupported_algorithm;
  const ScannedMember& typ = scanner.member(kTyp);
  if (typ.kind != JsonKind::absent && typ.kind != JsonKind::string) return JwtError::malformed;
  // "crit" names extensions the verifier must understand (RFC 7515 4.1.11); we know
  // none, and some (RFC 7797 "b64") would change what the signature covers.
  if (scanner.member(kCrit).kind != JsonKind::absent) return JwtError::malformed;
  return JwtError::none;
}

constexpr std::array<std::string_view, 5> kClaimMembers = {"sub", "rooms", "exp", "nbf", "iat"};
enum ClaimMember : std::size_t { kSub, kRooms, kExp, kNbf, kIat };

JwtError read_numeric_date(const ScannedMember& member, std::optional<std::int64_t>& out) {
  if (member.kind == JsonKind::absent) return JwtError::none;
  std::int64_t value = 0;
  if (member.kind != JsonKind::number || !numeric_date(member.text, value)) return JwtError::bad_claims;
  out = value;
  return JwtError::none;
}

JwtError read_claims(const std::string& payload_json, JwtClaims& claims) {
  TopLevelScanner<kClaimMembers.size()> scanner(kClaimMembers);
  switch (scanner.scan(payload_json)) {
    case ScanResult::ok:
      break;
    case ScanResult::duplicate:
      return JwtError::bad_claims;
    case ScanResult::malformed:
    case ScanResult::not_object:
      return JwtError::malformed;
  }

  ScannedMember& sub = scanner.member(kSub);
  switch (sub.kind) {
    case JsonKind::absent:
      return JwtError::missing_subject;
    case JsonKind::string:
      if (sub.text.empty()) return JwtError::missing_subject;
      claims.sub = std::move(sub.text);
      break;
    case JsonKind::number:
      if (!numeric_subject(sub.text, claims.sub)) return JwtError::bad_claims;
      break;
    case JsonKind::string_array:
    case JsonKind::other:
      return JwtError::bad_claims;
  }

  ScannedMember& rooms = scanner.member(kRooms);
  if (rooms.kind == JsonKind::string_array) {
    claims.rooms = std::move(rooms.strings);
  } else if (rooms.kind != JsonKind::absent) {
    return JwtError::bad_claims;
  }

  if (auto e = read_numeric_date(scanner.member(kExp), claims.exp); e != JwtError::none) return e;
  if (auto e = read_numeric_date(scanner.member(kNbf), claims.nbf); e != JwtError::none) return e;
  if (auto e = read_numeric_date(scanner.member(kIat), claims.iat); e != JwtError::none) return e;
  return JwtError::none;
}

}  // namespace

std::string_view to_string(JwtError error) noexcept {
  switch (error) {
    case JwtError::none:
      return "ok";
    case JwtError::malformed:
      return "malformed token";
    case JwtError::unsupported_algorithm:
      return "unsupported algorithm";
    case JwtError::bad_signature:
      return "invalid signature";
    case JwtError::expired:
      return "token expired";
    case JwtError::not_yet_valid:
      return "token not yet valid";
    case JwtError::missing_subject:
      return "missing subject";
    case JwtError::bad_claims:
      return "invalid claims";
  }
  return "unknown error";
}

JwtVerifier::JwtVerifier(std::string hs256_secret, std::int64_t leeway_seconds)
    : secret_(std::move(hs256_secret)), leeway_seconds_(leeway_seconds < 0 ? 0 : leeway_seconds) {}

JwtError JwtVerifier::verify(std::string_view token, std::int64_t now_unix_seconds,
                             JwtClaims& out) const {
  if (token.empty() || token.size() > kMaxJwtLength) return JwtError::malformed;
  if (token.find('=') != std::string_view::npos) return JwtError::malformed;

  const std::size_t first_dot = token.find('.');
  if (first_dot == std::string_view::npos) return JwtError::malformed;
  const std::size_t second_dot = token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos) return JwtError::malformed;
  if (token.find('.', second_dot + 1) != std::string_view::npos) return JwtError::malformed;

  const std::string_view header_b64 = token.substr(0, first_dot);
  const std::string_view payload_b64 = token.substr(first_dot + 1, second_dot - first_dot - 1);
  const std::string_view signature_b64 = token.substr(second_dot + 1);
  const std::string_view signing_input = token.substr(0, second_dot);

  // The header decides the algorithm, so it is checked before anything is trusted.
  std::string header;
  if (!decode_segment(header_b64, header)) return JwtError::malformed;
  if (const JwtError e = check_header(header); e != JwtError::none) return e;

  // Structure first (cheap, and "malformed" is more useful than "invalid signature" for a
  // mangled token), but the payload's JSON is parsed only once the issuer is authenticated.
  std::string payload;
  if (!decode_segment(payload_b64, payload)) return JwtError::malformed;
  std::string signature = std::move(header);  // reuse the buffer
  if (!decode_segment(signature_b64, signature)) return JwtError::malformed;

  if (secret_.empty() || signature.size() != kSha256Size) return JwtError::bad_signature;
  Sha256Mac expected{};
  if (!hmac_sha256(secret_, signing_input, expected)) return JwtError::bad_signature;
  if (CRYPTO_memcmp(expected.data(), signature.data(), kSha256Size) != 0) {
    return JwtError::bad_signature;
  }

  JwtClaims claims;
  if (const JwtError e = read_claims(payload, claims); e != JwtError::none) return e;
  if (claims.exp && is_expired(*claims.exp, now_unix_seconds, leeway_seconds_)) {
    return JwtError::expired;
  }
  if (claims.nbf && is_not_yet_valid(*claims.nbf, now_unix_seconds, leeway_seconds_)) {
    return JwtError::not_yet_valid;
  }

  out = std::move(claims);
  return JwtError::none;
}

std::string jwt_sign_hs256(std::string_view payload_json, std::string_view secret) {
  std::string token;
  const std::size_t payload_size = codec::base64url_encoded_size(payload_json.size());
  const std::size_t signature_size = codec::base64url_encoded_size(kSha256Size);
  token.reserve(kSigningHeaderB64.size() + 1 + payload_size + 1 + signature_size);
  token.append(kSigningHeaderB64);
  token.push_back('.');
  token.append(codec::base64url_encode(payload_json));

  Sha256Mac mac{};
  if (!hmac_sha256(secret, token, mac)) return {};  // only for secrets over 2 GiB
  token.push_back('.');
  token.append(codec::base64url_encode(
      std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size())));
  return token;
}

}  // namespace wsgw::auth
