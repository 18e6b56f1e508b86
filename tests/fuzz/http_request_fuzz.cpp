// Fuzzes the handshake request path: Beast's HTTP parser with the gateway's limits, then every
// function the gateway applies to a parsed request (target split, query parsing, Engine.IO
// query validation, bearer token, CORS, WebSocket key checks).
#include <cstddef>
#include <cstdint>
#include <string>

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "gateway/net/http.h"
#include "gateway/websocket/handshake.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace http = boost::beast::http;
  std::string input(reinterpret_cast<const char*>(data), size);
  http::request_parser<http::string_body> parser;
  parser.header_limit(8192);
  parser.body_limit(1 << 16);
  parser.eager(true);
  boost::beast::error_code ec;
  // Feed in two pieces to exercise the incremental path.
  size_t half = input.size() / 2;
  size_t used = parser.put(boost::asio::buffer(input.data(), half), ec);
  if (ec == http::error::need_more) ec = {};
  if (!ec) {
    std::string rest = input.substr(used);
    parser.put(boost::asio::buffer(rest), ec);
  }
  if (ec || !parser.is_done()) return 0;
  auto& req = parser.get();
  auto [path, query] = wsgw::net::split_target(req.target());
  wsgw::net::EngineQuery q;
  wsgw::net::EngineError err;
  (void)wsgw::net::parse_engine_query(query, q, err);
  (void)wsgw::net::bearer_token(req[http::field::authorization]);
  (void)wsgw::net::cors_allow(req[http::field::origin], {"https://a.example"});
  auto key = req[http::field::sec_websocket_key];
  if (wsgw::ws::is_valid_client_key(key)) (void)wsgw::ws::accept_key(key);
  (void)path;
  return 0;
}
