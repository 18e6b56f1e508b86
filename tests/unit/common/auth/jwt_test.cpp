#include "common/auth/jwt.h"

#include <gtest/gtest.h>

#include <limits>
#include <set>
#include <string>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/codec/base64.h"

namespace wsgw::auth {
namespace {

using namespace std::string_literals;
using codec::base64url_encode;

constexpr std::int64_t kNow = 1'700'000'100;
const std::string kSecret = "wsgw-test-secret-0123456789abcdef";

// Produced once with Python's standard library, independently of this code:
//   b64u = lambda b: base64.urlsafe_b64encode(b).rstrip(b'=').decode()
//   si = b64u(b'{"alg":"HS256","typ":"JWT"}') + "." + b64u(b'{"sub":"user-42","rooms":'
//        b'["lobby","team:7"],"iat":1700000000,"exp":1700003600}')
//   si + "." + b64u(hmac.new(b"wsgw-test-secret-0123456789abcdef", si.encode(),
//                            hashlib.sha256).digest())
const std::string kKnownToken =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiJ1c2VyLTQyIiwicm9vbXMiOlsibG9iYnkiLCJ0ZWFtOjciXSwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDM2MDB9."
    "8q8hYKkj5WY-fn7uQ62_eV4QwDj9J5dwZqEdViy5Ov8";
const std::string kKnownPayload =
    R"({"sub":"user-42","rooms":["lobby","team:7"],"iat":1700000000,"exp":1700003600})";

// Signs an arbitrary header (jwt_sign_hs256 always uses the HS256 one).
std::string sign_with_header(const std::string& header_json, const std::string& payload_json,
                             const std::string& secret = kSecret) {
  const std::string signing_input = base64url_encode(header_json) + "." + base64url_encode(payload_json);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), mac,
       &mac_size);
  return signing_input + "." +
         base64url_encode(std::string_view(reinterpret_cast<const char*>(mac), mac_size));
}

class JwtTest : public ::testing::Test {
 protected:
  JwtError verify(const std::string& token, std::int64_t now = kNow) {
    claims = JwtClaims{};
    return verifier.verify(token, now, claims);
  }
  JwtError verify_payload(const std::string& payload_json, std::int64_t now = kNow) {
    return verify(jwt_sign_hs256(payload_json, kSecret), now);
  }

  JwtVerifier verifier{kSecret, 30};
  JwtClaims claims;
};

// --- good tokens ---------------------------------------------------------------

TEST_F(JwtTest, KnownVectorVerifies) {
  ASSERT_EQ(verify(kKnownToken), JwtError::none);
  EXPECT_EQ(claims.sub, "user-42");
  EXPECT_EQ(claims.rooms, (std::vector<std::string>{"lobby", "team:7"}));
  EXPECT_EQ(claims.iat, 1700000000);
  EXPECT_EQ(claims.exp, 1700003600);
  EXPECT_FALSE(claims.nbf.has_value());
}

TEST_F(JwtTest, SignerReproducesKnownVector) {
  EXPECT_EQ(jwt_sign_hs256(kKnownPayload, kSecret), kKnownToken);
}

TEST_F(JwtTest, JwtIoExampleTokenVerifies) {
  // The example token published on jwt.io (secret "your-256-bit-secret"), rechecked with
  // Python hmac/hashlib when this test was written.
  const std::string token =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
      "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
      "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
  JwtVerifier jwt_io_verifier("your-256-bit-secret");
  JwtClaims out;
  ASSERT_EQ(jwt_io_verifier.verify(token, kNow, out), JwtError::none);
  EXPECT_EQ(out.sub, "1234567890");
  EXPECT_EQ(out.iat, 1516239022);
  EXPECT_FALSE(out.exp.has_value());
  EXPECT_TRUE(out.rooms.empty());
}

TEST_F(JwtTest, SignedTokensRoundTrip) {
  ASSERT_EQ(verify_payload(R"({"sub":"alice","nbf":1700000000,"exp":1700000200,"iat":1700000000})"),
            JwtError::none);
  EXPECT_EQ(claims.sub, "alice");
  EXPECT_EQ(claims.nbf, 1700000000);
  EXPECT_EQ(claims.exp, 1700000200);
}

TEST_F(JwtTest, HeaderWithoutTypAndWithUnknownParametersIsAccepted) {
  EXPECT_EQ(verify(sign_with_header(R"({"alg":"HS256"})", R"({"sub":"a"})")), JwtError::none);
  EXPECT_EQ(verify(sign_with_header(R"( { "kid" : "k1", "alg" : "HS256", "typ":"at+jwt" } )",
                                    R"({"sub":"a"})")),
            JwtError::none);
}

TEST_F(JwtTest, UnknownClaimsAndNestedLookalikesAreIgnored) {
  ASSERT_EQ(verify_payload(R"({"sub":"a","meta":{"sub":"evil","rooms":[1],"exp":"x"},"x":[["rooms"]]})"),
            JwtError::none);
  EXPECT_EQ(claims.sub, "a");
  EXPECT_TRUE(claims.rooms.empty());
  EXPECT_FALSE(claims.exp.has_value());
  EXPECT_EQ(verify_payload(R"({"meta":{"sub":"evil"}})"), JwtError::missing_subject);
}

TEST_F(JwtTest, SubjectWithEscapesIsUnescaped) {
  ASSERT_EQ(verify_payload(R"({"sub":"a\"b\u00e9"})"), JwtError::none);
  EXPECT_EQ(claims.sub, "a\"b\xc3\xa9");
}

// --- signature -----------------------------------------------------------------

TEST_F(JwtTest, WrongSecretIsBadSignature) {
  EXPECT_EQ(verify(jwt_sign_hs256(kKnownPayload, "another-secret")), JwtError::bad_signature);
  JwtVerifier other("wsgw-test-secret-0123456789abcdeF");
  JwtClaims out;
  EXPECT_EQ(other.verify(kKnownToken, kNow, out), JwtError::bad_signature);
}

TEST_F(JwtTest, TamperedPayloadIsBadSignature) {
  const std::string forged_payload =
      R"({"sub":"admin","rooms":["lobby","team:7"],"iat":1700000000,"exp":1700003600})";
  std::string token = kKnownToken;
  const std::size_t first = token.find('.');
  const std::size_t second = token.find('.', first + 1);
  token.replace(first + 1, second - first - 1, base64url_encode(forged_payload));
  EXPECT_EQ(verify(token), JwtError::bad_signature);
}

TEST_F(JwtTest, TamperedSignatureIsBadSignature) {
  std::string token = kKnownToken;
  const std::size_t sig = token.rfind('.') + 1;
  token[sig] = token[sig] == 'A' ? 'B' : 'A';
  EXPECT_EQ(verify(token), JwtError::bad_signature);

  // Right prefix, wrong length.
  const std::string signing_input = kKnownToken.substr(0, kKnownToken.rfind('.'));
  EXPECT_EQ(verify(signing_input + "." + base64url_encode(std::string(31, 'x'))),
            JwtError::bad_signature);
  EXPECT_EQ(verify(signing_input + "." + base64url_encode(std::string(33, 'x'))),
            JwtError::bad_signature);
  EXPECT_EQ(verify(signing_input + "."), JwtError::bad_signature);
}

TEST_F(JwtTest, EmptySecretRejectsEverything) {
  JwtVerifier unconfigured("");
  JwtClaims out;
  EXPECT_EQ(unconfigured.verify(jwt_sign_hs256(R"({"sub":"a"})", ""), kNow, out),
            JwtError::bad_signature);
  EXPECT_EQ(unconfigured.verify(kKnownToken, kNow, out), JwtError::bad_signature);
}

// --- algorithm -----------------------------------------------------------------

TEST_F(JwtTest, AlgNoneIsRejected) {
  const std::string payload = base64url_encode(R"({"sub":"a"})");
  for (const std::string& header : std::vector<std::string>{R"({"alg":"none","typ":"JWT"})", R"({"alg":"none"})",
                                   R"({"alg":"None"})", R"({"alg":"NONE"})", R"({"alg":""})"}) {
    EXPECT_EQ(verify(base64url_encode(header) + "." + payload + "."), JwtError::unsupported_algorithm)
        << header;
    // Even with a correct HMAC over the same bytes.
    EXPECT_EQ(verify(sign_with_header(header, R"({"sub":"a"})")), JwtError::unsupported_algorithm)
        << header;
  }
}

TEST_F(JwtTest, OtherAlgorithmsAreRejectedEvenWithValidHmac) {
  // Algorithm confusion: an attacker HMACs with what they think is our key and labels it
  // with another alg. Only the exact string "HS256" is accepted.
  for (const std::string& alg : std::vector<std::string>{"RS256", "ES256", "PS256", "HS384", "HS512", "hs256", "HS256 ",
                                "EdDSA"}) {
    const std::string header = R"({"alg":")" + alg + R"(","typ":"JWT"})";
    EXPECT_EQ(verify(sign_with_header(header, R"({"sub":"a"})")), JwtError::unsupported_algorithm)
        << alg;
  }
}

TEST_F(JwtTest, BadHeadersAreMalformed) {
  for (const std::string& header : std::vector<std::string>{
           R"({"typ":"JWT"})",                     // no alg
           R"({"alg":256})",                       // alg not a string
           R"({"alg":["HS256"]})", R"({"alg":null})",
           R"({"alg":"HS256","typ":1})",           // typ not a string
           R"({"alg":"HS256","crit":["b64"],"b64":false})",  // unknown critical extension
           R"({"alg":"HS256","alg":"none"})",      // duplicate alg
           R"({"alg":"none","alg":"HS256"})",
           R"(["HS256"])", R"("HS256")", "null", "1", "",  // not an object
           R"({"alg":"HS256")",                    // truncated
           R"({"alg":"HS256"} {})",                // trailing data
           "{\"alg\":\"HS256\"}\0"s,               // trailing NUL
           "{\"alg\":\"HS256\",\"x\":\"\xff\"}",   // invalid UTF-8
           "{\"alg\":\"HS256\",\"x\":\"\xf4",         // truncated UTF-8 at the very end
           R"({'alg':'HS256'})",
       }) {
    EXPECT_EQ(verify(sign_with_header(header, R"({"sub":"a"})")), JwtError::malformed) << header;
  }
}

// --- structure / encoding --------------------------------------------------------

TEST_F(JwtTest, WrongNumberOfPartsIsMalformed) {
  const std::string signing_input = kKnownToken.substr(0, kKnownToken.rfind('.'));
  for (const std::string& token : std::vector<std::string>{""s, "abc"s, "."s, ".."s, "..."s, signing_input,
                                  kKnownToken + ".", kKnownToken + ".x", "." + kKnownToken,
                                  signing_input + ".." + kKnownToken.substr(kKnownToken.rfind('.') + 1)}) {
    EXPECT_EQ(verify(token), JwtError::malformed) << token;
  }
}

TEST_F(JwtTest, BadBase64UrlIsMalformed) {
  const std::size_t first = kKnownToken.find('.');
  const std::size_t last = kKnownToken.rfind('.');
  std::string plus_in_header = kKnownToken;
  plus_in_header[3] = '+';
  std::string star_in_signature = kKnownToken;
  star_in_signature[last + 5] = '*';
  std::string slash_in_payload = kKnownToken;
  slash_in_payload[first + 5] = '/';
  for (const std::string& token : std::vector<std::string>{
           plus_in_header, star_in_signature, slash_in_payload,
           kKnownToken + "=",                                   // padding is not allowed in JWS
           "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9=." + kKnownToken.substr(first + 1),
           "e" + kKnownToken,                                   // header length 1 mod 4
           kKnownToken.substr(0, kKnownToken.size() - 1) + "9",  // non-canonical last symbol
           kKnownToken.substr(0, first) + ". ." + kKnownToken.substr(last + 1),
       }) {
    EXPECT_EQ(verify(token), JwtError::malformed) << token;
  }
}

TEST_F(JwtTest, NonObjectOrInvalidPayloadIsMalformed) {
  for (const std::string& payload : std::vector<std::string>{
           "", "[1,2]", R"("sub")", "42", "null", "true", "not json", R"({"sub":"a"} trailing)",
           R"({"sub":"a",})", R"({"sub":"a")", "{\"sub\":\"a\"}\0"s, "{\"sub\":\"\xc3\x28\"}",
           R"({"sub":"a","n":NaN})", R"({"sub":"a","n":01})",
           "{\"sub\":\"\xf4", "{\"sub\":\"a\",\"\xe2\x82",  // truncated UTF-8 at the very end
           "{\"sub\":\"\xed\xa0\x80\"}",                    // encoded surrogate
       }) {
    EXPECT_EQ(verify_payload(payload), JwtError::malformed) << payload;
  }
}

TEST_F(JwtTest, OversizedTokenIsMalformedButMaxSizeIsAccepted) {
  // Grow a filler claim until the signed token is exactly at the limit.
  std::string at_limit;
  for (std::size_t filler = 5000; filler < kMaxJwtLength; ++filler) {
    const std::string token =
        jwt_sign_hs256(R"({"sub":"a","pad":")" + std::string(filler, 'p') + R"("})", kSecret);
    if (token.size() == kMaxJwtLength) {
      at_limit = token;
      break;
    }
    if (token.size() > kMaxJwtLength) break;
  }
  ASSERT_EQ(at_limit.size(), kMaxJwtLength);
  EXPECT_EQ(verify(at_limit), JwtError::none);

  const std::string over = jwt_sign_hs256(
      R"({"sub":"a","pad":")" + std::string(kMaxJwtLength, 'p') + R"("})", kSecret);
  EXPECT_EQ(verify(over), JwtError::malformed);
  EXPECT_EQ(verify(std::string(1 << 20, 'A')), JwtError::malformed);
}

TEST_F(JwtTest, DeeplyNestedJsonDoesNotCrash) {
  const std::string deep_array = std::string(3000, '[') + std::string(3000, ']');
  EXPECT_EQ(verify(sign_with_header(deep_array, R"({"sub":"a"})")), JwtError::malformed);
  const std::string deep_payload =
      R"({"sub":"a","x":)" + std::string(3000, '[') + std::string(3000, ']') + "}";
  EXPECT_EQ(verify_payload(deep_payload), JwtError::none);
}

// --- claims ----------------------------------------------------------------------

TEST_F(JwtTest, MissingOrEmptySubject) {
  EXPECT_EQ(verify_payload("{}"), JwtError::missing_subject);
  EXPECT_EQ(verify_payload(R"({"rooms":["a"],"exp":1800000000})"), JwtError::missing_subject);
  EXPECT_EQ(verify_payload(R"({"sub":""})"), JwtError::missing_subject);
}

TEST_F(JwtTest, NumericSubjectBecomesDecimalText) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"12345", "12345"},
      {"-7", "-7"},
      {"0", "0"},
      {"9223372036854775807", "9223372036854775807"},
      {"18446744073709551615", "18446744073709551615"},
      {"1e3", "1000"},
      {"42.0", "42"},
  };
  for (const auto& [literal, text] : cases) {
    ASSERT_EQ(verify_payload(R"({"sub":)" + literal + "}"), JwtError::none) << literal;
    EXPECT_EQ(claims.sub, text) << literal;
  }
}

TEST_F(JwtTest, SubjectOfWrongTypeIsBadClaims) {
  for (const std::string& value : std::vector<std::string>{"1.5", "1e300", "true", "null", R"({"id":1})", R"(["a"])",
                                  "18446744073709551616123"}) {
    EXPECT_EQ(verify_payload(R"({"sub":)" + value + "}"), JwtError::bad_claims) << value;
  }
}

TEST_F(JwtTest, RoomsClaimParsing) {
  ASSERT_EQ(verify_payload(R"({"sub":"a","rooms":["r1","r2","r\u00e9"]})"), JwtError::none);
  EXPECT_EQ(claims.rooms, (std::vector<std::string>{"r1", "r2", "r\xc3\xa9"}));

  ASSERT_EQ(verify_payload(R"({"sub":"a","rooms":[]})"), JwtError::none);
  EXPECT_TRUE(claims.rooms.empty());

  for (const std::string& rooms : std::vector<std::string>{R"("r1")", "null", "1", R"({"r":1})", R"(["r1",2])",
                                  R"(["r1",null])", R"(["r1",["r2"]])", R"(["r1",{"a":"b"}])",
                                  R"([true])"}) {
    EXPECT_EQ(verify_payload(R"({"sub":"a","rooms":)" + rooms + "}"), JwtError::bad_claims)
        << rooms;
  }
}

TEST_F(JwtTest, DuplicateClaimsAreRejected) {
  EXPECT_EQ(verify_payload(R"({"sub":"a","sub":"admin"})"), JwtError::bad_claims);
  EXPECT_EQ(verify_payload(R"({"sub":"a","exp":1,"exp":1900000000})"), JwtError::bad_claims);
  EXPECT_EQ(verify_payload(R"({"sub":"a","rooms":[],"rooms":["x"]})"), JwtError::bad_claims);
  // Unknown members may repeat; we do not interpret them.
  EXPECT_EQ(verify_payload(R"({"sub":"a","x":1,"x":2})"), JwtError::none);
}

TEST_F(JwtTest, TimeClaimsMustBeNumbers) {
  for (const std::string& claim : std::vector<std::string>{"exp", "nbf", "iat"}) {
    for (const std::string& value : std::vector<std::string>{R"("1700000000")", "null", "true", "[1]", R"({"t":1})",
                                    "1e300", "-1e300", "9223372036854775808"}) {
      EXPECT_EQ(verify_payload(R"({"sub":"a",")" + claim + R"(":)" + value + "}"),
                JwtError::bad_claims)
          << claim << "=" << value;
    }
  }
}

TEST_F(JwtTest, FractionalTimesAreFloored) {
  ASSERT_EQ(verify_payload(R"({"sub":"a","iat":1700000000.75,"exp":1.8e9,"nbf":-0.5})"),
            JwtError::none);
  EXPECT_EQ(claims.iat, 1700000000);
  EXPECT_EQ(claims.exp, 1800000000);
  EXPECT_EQ(claims.nbf, -1);
}

// --- time checks -----------------------------------------------------------------

TEST_F(JwtTest, ExpiryHonoursLeewayBoundary) {
  const std::string token = jwt_sign_hs256(R"({"sub":"a","exp":1000})", kSecret);
  EXPECT_EQ(verify(token, 999), JwtError::none);
  EXPECT_EQ(verify(token, 1029), JwtError::none);
  EXPECT_EQ(verify(token, 1030), JwtError::expired);
  EXPECT_EQ(verify(token, kNow), JwtError::expired);

  JwtVerifier strict(kSecret, 0);
  JwtClaims out;
  EXPECT_EQ(strict.verify(token, 999, out), JwtError::none);
  EXPECT_EQ(strict.verify(token, 1000, out), JwtError::expired);  // exp is exclusive
}

TEST_F(JwtTest, NotBeforeHonoursLeewayBoundary) {
  const std::string token = jwt_sign_hs256(R"({"sub":"a","nbf":1000})", kSecret);
  EXPECT_EQ(verify(token, 1000), JwtError::none);
  EXPECT_EQ(verify(token, 970), JwtError::none);
  EXPECT_EQ(verify(token, 969), JwtError::not_yet_valid);
  EXPECT_EQ(verify(token, 0), JwtError::not_yet_valid);

  JwtVerifier strict(kSecret, 0);
  JwtClaims out;
  EXPECT_EQ(strict.verify(token, 1000, out), JwtError::none);  // nbf is inclusive
  EXPECT_EQ(strict.verify(token, 999, out), JwtError::not_yet_valid);
}

TEST_F(JwtTest, NegativeLeewayActsAsZero) {
  JwtVerifier verifier_with_negative_leeway(kSecret, -100);
  JwtClaims out;
  const std::string token = jwt_sign_hs256(R"({"sub":"a","exp":1000,"nbf":900})", kSecret);
  EXPECT_EQ(verifier_with_negative_leeway.verify(token, 999, out), JwtError::none);
  EXPECT_EQ(verifier_with_negative_leeway.verify(token, 900, out), JwtError::none);
  EXPECT_EQ(verifier_with_negative_leeway.verify(token, 1000, out), JwtError::expired);
}

TEST_F(JwtTest, ExtremeTimesDoNotOverflow) {
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
  EXPECT_EQ(verify_payload(R"({"sub":"a","exp":9223372036854775807})", kMax - 1), JwtError::none);
  EXPECT_EQ(verify_payload(R"({"sub":"a","exp":9223372036854775807})", kMax), JwtError::none);
  EXPECT_EQ(verify_payload(R"({"sub":"a","exp":-9223372036854775808})", kMin), JwtError::none);
  EXPECT_EQ(verify_payload(R"({"sub":"a","exp":-9223372036854775808})", kMin + 29), JwtError::none);
  EXPECT_EQ(verify_payload(R"({"sub":"a","exp":-9223372036854775808})", kMin + 30), JwtError::expired);
  EXPECT_EQ(verify_payload(R"({"sub":"a","exp":-9223372036854775808})", kMax), JwtError::expired);
  EXPECT_EQ(verify_payload(R"({"sub":"a","nbf":9223372036854775807})", kMin), JwtError::not_yet_valid);
  EXPECT_EQ(verify_payload(R"({"sub":"a","nbf":-9223372036854775808})", kMin), JwtError::none);
  EXPECT_EQ(verify_payload(R"({"sub":"a","nbf":9223372036854775807})", kMax), JwtError::none);
  EXPECT_EQ(verify_payload(R"({"sub":"a","nbf":9223372036854775807})", kNow), JwtError::not_yet_valid);
}

TEST_F(JwtTest, ChecksSignatureBeforeClaimsAndTime) {
  // An expired token with bad claims signed by someone else reports the signature.
  EXPECT_EQ(verify(jwt_sign_hs256(R"({"exp":1,"rooms":5})", "other")), JwtError::bad_signature);
}

TEST_F(JwtTest, OutputUntouchedOnFailure) {
  JwtClaims out;
  out.sub = "keep";
  out.rooms = {"keep"};
  EXPECT_EQ(verifier.verify(jwt_sign_hs256(R"({"sub":"a","exp":1})", kSecret), kNow, out),
            JwtError::expired);
  EXPECT_EQ(out.sub, "keep");
  EXPECT_EQ(out.rooms, std::vector<std::string>{"keep"});
  EXPECT_FALSE(out.exp.has_value());
}

TEST(JwtErrorText, IsShortDistinctAndHuman) {
  EXPECT_EQ(to_string(JwtError::expired), "token expired");
  EXPECT_EQ(to_string(JwtError::bad_signature), "invalid signature");
  std::set<std::string_view> seen;
  for (JwtError e : {JwtError::none, JwtError::malformed, JwtError::unsupported_algorithm,
                     JwtError::bad_signature, JwtError::expired, JwtError::not_yet_valid,
                     JwtError::missing_subject, JwtError::bad_claims}) {
    EXPECT_FALSE(to_string(e).empty());
    EXPECT_LT(to_string(e).size(), 32u);
    EXPECT_TRUE(seen.insert(to_string(e)).second) << to_string(e);
  }
}

}  // namespace
}  // namespace wsgw::auth
