#include <gtest/gtest.h>

#include <string>

#include "gateway/websocket/handshake.h"

namespace wsgw::ws {
namespace {

TEST(Handshake, AcceptKeyMatchesRfcExample) {
  // RFC 6455 section 1.3.
  EXPECT_EQ(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_EQ(accept_key("x3JJHMbDL1EzLkh9GBhXDw=="), "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");  // MDN example
}

TEST(Handshake, ClientKeyValidation) {
  EXPECT_TRUE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZQ=="));
  EXPECT_TRUE(is_valid_client_key("AAAAAAAAAAAAAAAAAAAAAA=="));
  EXPECT_TRUE(is_valid_client_key("/////////////////////w=="));
  EXPECT_FALSE(is_valid_client_key(""));
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZQ"));      // no padding
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZQ=="
                                   "AA"));                           // too long
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZQ=A"));    // padding misplaced
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZ==="));
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25j-Q=="));    // base64url character
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZR=="));    // non-zero leftover bits
  EXPECT_FALSE(is_valid_client_key(" dGhlIHNhbXBsZSBub25jZQ="));
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZQA="));    // valid base64 of 17 bytes
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZQAA"));    // valid base64 of 18 bytes
  EXPECT_FALSE(is_valid_client_key(std::string_view("dGhlIHNhbXBsZSBub25jZQ==\0", 25)));
}

}  // namespace
}  // namespace wsgw::ws
