// The long-polling pieces of the load generator: requests, the v4 payload format and the
// incremental HTTP response reader, fed the way ws-gateway and Node's engine.io answer.
#include "bench/loadgen/polling_protocol.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "bench/loadgen/client_protocol.h"

namespace wsgw::loadgen {
namespace {

using Status = HttpResponseReader::Status;

struct Read {
  int status = 0;
  bool keep_alive = true;
  std::string body;
};

// Everything the reader yields for `bytes` fed in chunks of `chunk` bytes; `error` (if given)
// tells whether it stopped on an error. `at_eof`: the connection ends after the bytes.
std::vector<Read> read_all(std::string_view bytes, size_t chunk, size_t max_body = 1 << 20,
                           HttpResponseError* error = nullptr, bool at_eof = false) {
  HttpResponseReader reader(max_body);
  std::vector<Read> out;
  if (error) *error = HttpResponseError::none;
  auto drain = [&](HttpResponseReader::Result r) {
    for (;;) {
      if (r.status == Status::need_more) return true;
      if (r.status == Status::error) {
        if (error) *error = reader.error();
        return false;
      }
      out.push_back({r.http_status, r.keep_alive, std::string(r.body)});
      r = reader.next();
    }
  };
  for (size_t pos = 0; pos < bytes.size(); pos += chunk) {
    reader.append(bytes.substr(pos, chunk));
    if (!drain(reader.next())) return out;
  }
  if (at_eof) drain(reader.finish());
  return out;
}

// What ws-gateway sends for a polling GET (net/http.cpp: Content-Length, keep-alive).
const std::string kGatewayOpen =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Length: 97\r\n\r\n"
    "0{\"sid\":\"AAAAAAAAAAAAAAAAAAAB\",\"upgrades\":[\"websocket\"],\"pingInterval\":25000,\"pingTimeout\":20000}";
// What Node's engine.io sends (with Date and Connection headers).
const std::string kNodeBatch =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Length: 29\r\n"
    "Date: Mon, 01 Jan 2024 00:00:00 GMT\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n"
    "2\x1e" "42[\"message\",{\"ts\":12}]\x1e" "6\x1e" "3";

// ---------------------------------------------------------------------------------------
// Requests and payloads

TEST(PollingRequests, GetAndPostAreKeepAliveHttp11) {
  std::string g = make_polling_get("127.0.0.1:3000", "/socket.io/?EIO=4&transport=polling&sid=abc");
  EXPECT_EQ(g.rfind("GET /socket.io/?EIO=4&transport=polling&sid=abc HTTP/1.1\r\n", 0), 0u);
  EXPECT_NE(g.find("Host: 127.0.0.1:3000\r\n"), std::string::npos);
  EXPECT_EQ(g.find("Connection: close"), std::string::npos);
  EXPECT_TRUE(g.ends_with("\r\n\r\n"));

  std::string p = make_polling_post("h:1", "/t?sid=x", "40\x1e" "3");
  EXPECT_EQ(p.rfind("POST /t?sid=x HTTP/1.1\r\n", 0), 0u);
  EXPECT_NE(p.find("Content-Type: text/plain;charset=UTF-8\r\n"), std::string::npos);
  EXPECT_NE(p.find("Content-Length: 4\r\n"), std::string::npos);
  EXPECT_TRUE(p.ends_with("\r\n\r\n40\x1e" "3"));
}

TEST(PollingRequests, SessionTargetEscapesTheSid) {
  EXPECT_EQ(polling_session_target("/socket.io/?EIO=4&transport=polling", "aB-_9.~"),
            "/socket.io/?EIO=4&transport=polling&sid=aB-_9.~");
  EXPECT_EQ(polling_session_target("/p?x", "a+b/c=&d e"), "/p?x&sid=a%2Bb%2Fc%3D%26d%20e");
}

TEST(PollingPayload, JoinsAndSplitsOnTheRecordSeparator) {
  std::string payload;
  append_payload_packet(payload, "40");
  EXPECT_EQ(payload, "40");
  append_payload_packet(payload, "3");
  append_payload_packet(payload, "42[\"receipt\",{\"ts\":1}]");
  EXPECT_EQ(payload, "40\x1e" "3\x1e" "42[\"receipt\",{\"ts\":1}]");

  std::vector<std::string_view> packets;
  ASSERT_TRUE(split_polling_payload(payload, packets));
  ASSERT_EQ(packets.size(), 3u);
  EXPECT_EQ(packets[0], "40");
  EXPECT_EQ(packets[1], "3");
  EXPECT_EQ(packets[2], "42[\"receipt\",{\"ts\":1}]");

  ASSERT_TRUE(split_polling_payload("6", packets));
  EXPECT_EQ(packets, (std::vector<std::string_view>{"6"}));
  // A packet may contain ':' and digits (v3's length prefixes mean nothing in v4).
  ASSERT_TRUE(split_polling_payload("4:hi\x1e" "bAQID", packets));
  EXPECT_EQ(packets, (std::vector<std::string_view>{"4:hi", "bAQID"}));
}

TEST(PollingPayload, RejectsEmptyPackets) {
  std::vector<std::string_view> packets{"stale"};
  for (std::string_view bad : {std::string_view(""), std::string_view("\x1e"), std::string_view("2\x1e"),
                               std::string_view("\x1e" "2"), std::string_view("2\x1e\x1e" "3")}) {
    EXPECT_FALSE(split_polling_payload(bad, packets)) << bad;
  }
}

TEST(PollingPayload, PacketsDriveTheSocketIoClient) {
  // The handshake GET body, then a batch as a long poll returns it: the same client state
  // machine as over WebSocket.
  SocketIoClient c("/");
  std::string reply;
  std::vector<std::string_view> packets;
  ASSERT_TRUE(split_polling_payload("0{\"sid\":\"e1\",\"pingInterval\":25000,\"pingTimeout\":20000}", packets));
  EXPECT_EQ(c.on_text_message(packets[0], reply), SocketIoClient::Event::opened);
  EXPECT_EQ(reply, "40");
  ASSERT_TRUE(split_polling_payload("40{\"sid\":\"s1\"}\x1e" "2\x1e" "42[\"message\",{\"ts\":7}]", packets));
  ASSERT_EQ(packets.size(), 3u);
  EXPECT_EQ(c.on_text_message(packets[0], reply), SocketIoClient::Event::connected);
  EXPECT_EQ(c.on_text_message(packets[1], reply), SocketIoClient::Event::ping);
  EXPECT_EQ(reply, "3");
  EXPECT_EQ(c.on_text_message(packets[2], reply), SocketIoClient::Event::event);
  uint64_t ts = 0;
  EXPECT_TRUE(event_timestamp_us(parse_event_message(packets[2]).args, ts));
  EXPECT_EQ(ts, 7u);
}

// ---------------------------------------------------------------------------------------
// Responses

TEST(HttpResponseReader, ContentLengthBodiesInAnySegmentation) {
  const std::string both = kGatewayOpen + kNodeBatch;
  for (size_t chunk : {1u, 2u, 7u, 64u, 4096u}) {
    HttpResponseError err;
    auto got = read_all(both, chunk, 1 << 20, &err);
    EXPECT_EQ(err, HttpResponseError::none) << chunk;
    ASSERT_EQ(got.size(), 2u) << chunk;
    EXPECT_EQ(got[0].status, 200);
    EXPECT_TRUE(got[0].keep_alive);
    EXPECT_EQ(got[0].body.size(), 97u);
    EXPECT_EQ(got[0].body.front(), '0');
    EXPECT_EQ(got[1].body, "2\x1e" "42[\"message\",{\"ts\":12}]\x1e" "6\x1e" "3");
  }
}

TEST(HttpResponseReader, ChunkedBodies) {
  const std::string chunked =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"
      "4\r\n42[\"\r\n"
      "B;ext=1\r\nmessage\",{}\r\n"
      "1\r\n]\r\n"
      "0\r\nX-Trailer: yes\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  for (size_t chunk : {1u, 3u, 16u, 1000u}) {
    HttpResponseError err;
    auto got = read_all(chunked, chunk, 1 << 20, &err);
    EXPECT_EQ(err, HttpResponseError::none) << chunk;
    ASSERT_EQ(got.size(), 2u) << chunk;
    EXPECT_EQ(got[0].body, "42[\"message\",{}]");
    EXPECT_EQ(got[1].body, "ok");
  }
  // An empty chunked body; upper-case hex; Content-Length beside chunked is ignored.
  auto got = read_all("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                      "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "B\r\n0123456789a\r\n0\r\n\r\n",
                      5);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].body, "");
  EXPECT_EQ(got[1].body, "0123456789a");
}

TEST(HttpResponseReader, StatusKeepAliveAndBodilessResponses) {
  auto got = read_all(
      "HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 204 No Content\r\n\r\n"
      "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"
      "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\nx"
      "HTTP/1.1 200\r\ncontent-length:  3 \r\n\r\nabc",
      4);
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[0].status, 400);
  EXPECT_FALSE(got[0].keep_alive);
  EXPECT_EQ(got[0].body, "{}");
  EXPECT_EQ(got[1].status, 204);  // the interim 100 was skipped
  EXPECT_TRUE(got[1].keep_alive);
  EXPECT_FALSE(got[2].keep_alive);  // HTTP/1.0 without keep-alive
  EXPECT_TRUE(got[3].keep_alive);
  EXPECT_EQ(got[3].body, "x");
  EXPECT_EQ(got[4].status, 200);  // no reason phrase; header names in any case
  EXPECT_EQ(got[4].body, "abc");
}

TEST(HttpResponseReader, BodyToTheEndOfTheConnection) {
  HttpResponseError err;
  const std::string r = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n6\x1e" "2";
  auto got = read_all(r, 3, 1 << 20, &err, /*at_eof=*/false);
  EXPECT_TRUE(got.empty());  // not complete until the connection ends
  got = read_all(r, 3, 1 << 20, &err, /*at_eof=*/true);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, "6\x1e" "2");
  EXPECT_FALSE(got[0].keep_alive);
  EXPECT_EQ(err, HttpResponseError::none);
  // ... and bounded like any body.
  got = read_all(r, 3, 2, &err, true);
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(err, HttpResponseError::body_too_large);
}

TEST(HttpResponseReader, EndOfConnectionInsideAResponseIsTruncated) {
  for (std::string_view cut : {std::string_view("HTTP/1.1 200 OK\r\nContent-Le"),
                               std::string_view("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab"),
                               std::string_view("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab")}) {
    HttpResponseError err;
    auto got = read_all(cut, 4, 1 << 20, &err, true);
    EXPECT_TRUE(got.empty()) << cut;
    EXPECT_EQ(err, HttpResponseError::truncated) << cut;
  }
  // After a complete response the end of the connection loses nothing.
  HttpResponseReader reader(100);
  reader.append("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  EXPECT_EQ(reader.next().status, Status::response);
  EXPECT_EQ(reader.next().status, Status::need_more);
  EXPECT_TRUE(reader.idle());
  EXPECT_EQ(reader.finish().status, Status::need_more);
}

TEST(HttpResponseReader, MalformedInputIsAnErrorNotACrash) {
  struct Case {
    std::string bytes;
    HttpResponseError want;
  };
  const std::vector<Case> cases = {
      {"GARBAGE", HttpResponseError::malformed_status_line},
      {"HTTP/2 200 OK\r\n\r\n", HttpResponseError::malformed_status_line},
      {"HTTP/1.1 2x0 OK\r\n\r\n", HttpResponseError::malformed_status_line},
      {"HTTP/1.1 200OK\r\n\r\n", HttpResponseError::malformed_status_line},
      {"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", HttpResponseError::malformed_header},
      {"HTTP/1.1 200 OK\r\n: empty name\r\n\r\n", HttpResponseError::malformed_header},
      {"HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n", HttpResponseError::malformed_header},
      {"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", HttpResponseError::bad_content_length},
      {"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", HttpResponseError::bad_content_length},
      {"HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", HttpResponseError::bad_content_length},
      {"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
       HttpResponseError::bad_content_length},
      {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
       HttpResponseError::bad_content_length},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", HttpResponseError::unsupported_transfer_encoding},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", HttpResponseError::bad_chunk},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2 x\r\n", HttpResponseError::bad_chunk},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY", HttpResponseError::bad_chunk},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + std::string(2000, '1') + "\r\n",
       HttpResponseError::bad_chunk},  // a chunk-size line longer than kMaxChunkLineBytes
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;" + std::string(2000, 'e'),
       HttpResponseError::bad_chunk},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + std::string(40, 'f') + "\r\n",
       HttpResponseError::body_too_large},
  };
  for (const auto& c : cases) {
    for (size_t chunk : {1u, 5u, 4096u}) {
      HttpResponseError err;
      auto got = read_all(c.bytes, chunk, 1 << 20, &err);
      EXPECT_TRUE(got.empty()) << c.bytes.substr(0, 80);
      EXPECT_EQ(err, c.want) << c.bytes.substr(0, 80) << " chunk " << chunk;
    }
  }
}

TEST(HttpResponseReader, LimitsHoldWhateverThePeerAnnounces) {
  HttpResponseError err;
  // A body above the limit fails as soon as its length is known, before it is buffered.
  auto got = read_all("HTTP/1.1 200 OK\r\nContent-Length: 101\r\n\r\n", 64, 100, &err);
  EXPECT_EQ(err, HttpResponseError::body_too_large);
  // Chunks adding up beyond the limit.
  got = read_all("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n32\r\n" + std::string(50, 'a') +
                     "\r\n40\r\n",
                 7, 100, &err);
  EXPECT_EQ(err, HttpResponseError::body_too_large);
  // Headers that never end.
  got = read_all("HTTP/1.1 200 OK\r\n" + std::string(kMaxResponseHeaderBytes, 'a'), 512, 100, &err);
  EXPECT_EQ(err, HttpResponseError::headers_too_large);
  // A complete header block that is too large.
  got = read_all("HTTP/1.1 200 OK\r\nX: " + std::string(kMaxResponseHeaderBytes, 'a') + "\r\n\r\n", 100000,
                 100, &err);
  EXPECT_EQ(err, HttpResponseError::headers_too_large);
  // A body exactly at the limit is fine.
  got = read_all("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'b'), 9, 100, &err);
  EXPECT_EQ(err, HttpResponseError::none);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body.size(), 100u);
}

TEST(HttpResponseReader, ErrorsAreSticky) {
  HttpResponseReader reader(100);
  reader.append("NOPE");
  EXPECT_EQ(reader.next().status, Status::error);
  reader.append("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(reader.next().status, Status::error);
  EXPECT_EQ(reader.finish().status, Status::error);
  EXPECT_EQ(reader.error(), HttpResponseError::malformed_status_line);
  EXPECT_EQ(reader.buffered_bytes(), 0u);
}

TEST(HttpResponseReader, IdleReaderHoldsLittleAfterALargeBody) {
  HttpResponseReader reader(1 << 20);
  const std::string big(300 * 1024, 'z');
  reader.append("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4B000\r\n" + big + "\r\n0\r\n\r\n");
  auto r = reader.next();
  ASSERT_EQ(r.status, Status::response);
  EXPECT_EQ(r.body.size(), big.size());
  EXPECT_EQ(reader.next().status, Status::need_more);
  EXPECT_EQ(reader.buffered_bytes(), 0u);
  EXPECT_TRUE(reader.idle());
}

// Random bytes and random cuts of valid responses: never a crash, never more than the limits.
TEST(HttpResponseReader, SurvivesRandomInput) {
  std::mt19937 rng(1234);
  const std::string valid = kGatewayOpen + kNodeBatch +
                            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
  for (int round = 0; round < 2000; ++round) {
    std::string input = valid;
    // Mutate a few bytes.
    const int flips = static_cast<int>(rng() % 4);
    for (int i = 0; i < flips; ++i) input[rng() % input.size()] = static_cast<char>(rng() & 0xFF);
    if (rng() % 3 == 0) input.resize(rng() % input.size());
    HttpResponseReader reader(256);
    size_t pos = 0;
    while (pos < input.size()) {
      const size_t n = 1 + rng() % 40;
      reader.append(std::string_view(input).substr(pos, n));
      pos += n;
      for (;;) {
        auto r = reader.next();
        if (r.status != Status::response) break;
        ASSERT_LE(r.body.size(), 256u);
      }
      ASSERT_LE(reader.buffered_bytes(), kMaxResponseHeaderBytes + 256 + 64);
    }
    reader.finish();
  }
}

}  // namespace
}  // namespace wsgw::loadgen
