#include "gateway/net/http.h"

#include <gtest/gtest.h>

#include "common/util/snowflake.h"

namespace wsgw::net {
namespace {

TEST(Http, QueryParamsAreFoundAndDecoded) {
  EXPECT_EQ(query_param("EIO=4&transport=polling&t=N8hyd6w", "transport"), "polling");
  EXPECT_EQ(query_param("a=1&token=a%2Bb%3D&b", "token"), "a+b=");
  EXPECT_EQ(query_param("a=x+y", "a"), "x y");
  EXPECT_EQ(query_param("flag&a=1", "flag"), "");
  EXPECT_FALSE(query_param("a=1", "b"));
  EXPECT_FALSE(query_param("a=%zz", "a")) << "malformed escape";
  EXPECT_FALSE(query_param("a=%4", "a"));
}

TEST(Http, EngineQueryValidation) {
  EngineQuery q;
  EngineError e;
  EXPECT_TRUE(parse_engine_query("EIO=4&transport=websocket", q, e));
  EXPECT_TRUE(q.websocket);
  EXPECT_EQ(q.version, eio::Version::v4);
  EXPECT_FALSE(q.has_sid);

  EXPECT_FALSE(parse_engine_query("transport=polling", q, e));
  EXPECT_EQ(e, EngineError::unsupported_protocol_version);
  EXPECT_FALSE(parse_engine_query("EIO=abc&transport=polling", q, e));
  EXPECT_EQ(e, EngineError::unsupported_protocol_version);
  EXPECT_FALSE(parse_engine_query("EIO=4", q, e));
  EXPECT_EQ(e, EngineError::transport_unknown);
  EXPECT_FALSE(parse_engine_query("EIO=4&transport=flash", q, e));
  EXPECT_EQ(e, EngineError::transport_unknown);

  EngineQuery q3;
  const std::string sid = util::encode_id(123456789);
  ASSERT_TRUE(parse_engine_query("EIO=3&transport=polling&b64=1&sid=" + sid + "&token=t", q3, e));
  EXPECT_EQ(q3.version, eio::Version::v3);
  EXPECT_FALSE(q3.supports_binary);
  EXPECT_TRUE(q3.has_sid);
  EXPECT_TRUE(q3.sid_valid);
  EXPECT_EQ(q3.sid, 123456789u);
  EXPECT_EQ(q3.token, "t");

  EngineQuery bad;
  ASSERT_TRUE(parse_engine_query("EIO=4&transport=polling&sid=nope!", bad, e));
  EXPECT_TRUE(bad.has_sid);
  EXPECT_FALSE(bad.sid_valid);
}

TEST(Http, ErrorBodiesFollowTheEngineIoTable) {
  EXPECT_EQ(error_body(EngineError::session_unknown), R"({"code":1,"message":"Session ID unknown"})");
  EXPECT_EQ(error_body(EngineError::transport_unknown), R"({"code":0,"message":"Transport unknown"})");
  EXPECT_EQ(error_body(EngineError::bad_request, "Payload too large"),
            R"({"code":3,"message":"Payload too large"})");
}

TEST(Http, SerializeSetsLengthAndConnection) {
  HttpResponse r;
  r.status = 400;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = "{}";
  r.keep_alive = false;
  EXPECT_EQ(serialize(r),
            "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
            "Connection: close\r\n\r\n{}");
  HttpResponse up;
  up.status = 101;
  up.headers.emplace_back("Upgrade", "websocket");
  EXPECT_EQ(serialize(up), "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");
}

TEST(Http, CorsAndBearer) {
  EXPECT_EQ(cors_allow("https://a.example", {}), "https://a.example");
  EXPECT_EQ(cors_allow("https://a.example", {"https://a.example"}), "https://a.example");
  EXPECT_FALSE(cors_allow("https://evil.example", {"https://a.example"}));
  EXPECT_EQ(bearer_token("Bearer abc.def.ghi"), "abc.def.ghi");
  EXPECT_EQ(bearer_token("bearer  xyz "), "xyz");
  EXPECT_EQ(bearer_token("Basic abc"), "");
  EXPECT_EQ(bearer_token("Bearer"), "");
}

TEST(Http, SplitTarget) {
  auto [p, q] = split_target("/socket.io/?EIO=4");
  EXPECT_EQ(p, "/socket.io/");
  EXPECT_EQ(q, "EIO=4");
  auto [p2, q2] = split_target("/healthz");
  EXPECT_EQ(p2, "/healthz");
  EXPECT_EQ(q2, "");
}

}  // namespace
}  // namespace wsgw::net
