#include "bench/loadgen/client_protocol.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/codec/base64.h"

namespace wsgw::loadgen {
namespace {

using Status = ServerFrameReader::Status;

// A server frame (unmasked) with explicit header bits.
std::string server_frame(uint8_t first_byte, std::string_view payload) {
  std::string f;
  f.push_back(static_cast<char>(first_byte));
  if (payload.size() < 126) {
    f.push_back(static_cast<char>(payload.size()));
  } else if (payload.size() <= 0xFFFF) {
    f.push_back(126);
    f.push_back(static_cast<char>(payload.size() >> 8));
    f.push_back(static_cast<char>(payload.size() & 0xFF));
  } else {
    f.push_back(127);
    for (int shift = 56; shift >= 0; shift -= 8) f.push_back(static_cast<char>((payload.size() >> shift) & 0xFF));
  }
  f.append(payload);
  return f;
}

std::string text_frame(std::string_view payload) { return server_frame(0x81, payload); }

// Everything the reader delivers for `bytes` fed in chunks of `chunk` bytes.
std::vector<std::pair<WsOpcode, std::string>> read_all(std::string_view bytes, size_t chunk,
                                                       size_t max = 1 << 20, bool* error = nullptr) {
  ServerFrameReader reader(max);
  std::vector<std::pair<WsOpcode, std::string>> out;
  if (error) *error = false;
  for (size_t pos = 0; pos < bytes.size(); pos += chunk) {
    reader.append(bytes.substr(pos, chunk));
    for (;;) {
      auto r = reader.next();
      if (r.status == Status::need_more) break;
      if (r.status == Status::error) {
        if (error) *error = true;
        return out;
      }
      out.emplace_back(r.opcode, std::string(r.payload));
    }
  }
  return out;
}

TEST(WebSocketHandshake, AcceptKeyMatchesRfc6455Example) {
  EXPECT_EQ(websocket_accept_for("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WebSocketHandshake, KeysAreSixteenRandomBytes) {
  std::string a = make_websocket_key();
  std::string b = make_websocket_key();
  std::string raw;
  ASSERT_TRUE(codec::base64_decode(a, raw));
  EXPECT_EQ(raw.size(), 16u);
  EXPECT_NE(a, b);
}

TEST(WebSocketHandshake, RequestHasTheUpgradeHeaders) {
  std::string r = make_upgrade_request("127.0.0.1:3000", "/socket.io/?EIO=4&transport=websocket", "KEY");
  EXPECT_EQ(r.rfind("GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n", 0), 0u);
  EXPECT_NE(r.find("Host: 127.0.0.1:3000\r\n"), std::string::npos);
  EXPECT_NE(r.find("Upgrade: websocket\r\n"), std::string::npos);
  EXPECT_NE(r.find("Sec-WebSocket-Key: KEY\r\n"), std::string::npos);
  EXPECT_NE(r.find("Sec-WebSocket-Version: 13\r\n"), std::string::npos);
  EXPECT_TRUE(r.ends_with("\r\n\r\n"));
}

const std::string kAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
const std::string kGood =
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

TEST(WebSocketHandshake, AcceptsAGoodResponseAndReportsWhereFramesStart) {
  std::string with_frames = kGood + text_frame("0{}");
  auto r = check_upgrade_response(with_frames, kAccept);
  EXPECT_EQ(r.status, UpgradeStatus::ok);
  EXPECT_EQ(r.http_status, 101);
  EXPECT_EQ(r.header_bytes, kGood.size());
}

TEST(WebSocketHandshake, EveryPrefixOfAGoodResponseNeedsMore) {
  for (size_t n = 0; n < kGood.size(); ++n) {
    auto r = check_upgrade_response(std::string_view(kGood).substr(0, n), kAccept);
    EXPECT_EQ(r.status, UpgradeStatus::need_more) << "prefix " << n;
  }
}

TEST(WebSocketHandshake, HeaderNamesAndTokensAreCaseInsensitive) {
  std::string resp =
      "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\nCONNECTION: keep-alive, upgrade\r\n"
      "sec-websocket-accept:  s3pPLMBiTxaQ9kYGzzhZRbK+xOo= \r\n\r\n";
  EXPECT_EQ(check_upgrade_response(resp, kAccept).status, UpgradeStatus::ok);
}

TEST(WebSocketHandshake, RejectsWrongStatusAcceptHeadersAndGarbage) {
  auto r = check_upgrade_response("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", kAccept);
  EXPECT_EQ(r.status, UpgradeStatus::bad_status);
  EXPECT_EQ(r.http_status, 400);
  EXPECT_EQ(check_upgrade_response(kGood, "something else").status, UpgradeStatus::bad_accept);
  EXPECT_EQ(check_upgrade_response("HTTP/1.1 101 OK\r\nConnection: Upgrade\r\n"
                                   "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
                                   kAccept)
                .status,
            UpgradeStatus::bad_headers);
  EXPECT_EQ(check_upgrade_response("SSH-2.0-OpenSSH\r\n", kAccept).status, UpgradeStatus::malformed);
  EXPECT_EQ(check_upgrade_response("HTTP/1.1 1O1 x\r\n\r\n", kAccept).status, UpgradeStatus::malformed);
  EXPECT_EQ(check_upgrade_response("HTTP/1.1 101 OK\r\nno colon here\r\n\r\n", kAccept).status,
            UpgradeStatus::malformed);
}

TEST(WebSocketHandshake, RejectsAHeaderBlockThatNeverEnds) {
  std::string resp = "HTTP/1.1 101 OK\r\n";
  while (resp.size() <= kMaxUpgradeResponseBytes) resp += "X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
  EXPECT_EQ(check_upgrade_response(resp, kAccept).status, UpgradeStatus::too_large);
}

std::string unmask(std::string_view frame, size_t header) {
  std::string out(frame.substr(header + 4));
  for (size_t i = 0; i < out.size(); ++i) out[i] ^= frame[header + (i & 3)];
  return out;
}

TEST(WebSocketFraming, ClientFramesAreMaskedWithMinimalLengths) {
  std::string f;
  append_client_frame(f, WsOpcode::text, "40", 0x11223344);
  ASSERT_EQ(f.size(), 2u + 4u + 2u);
  EXPECT_EQ(static_cast<uint8_t>(f[0]), 0x81);
  EXPECT_EQ(static_cast<uint8_t>(f[1]), 0x80 | 2);
  EXPECT_EQ(f.substr(2, 4), std::string("\x11\x22\x33\x44", 4));
  EXPECT_EQ(unmask(f, 2), "40");

  std::string mid(300, 'x');
  f.clear();
  append_client_frame(f, WsOpcode::binary, mid, 0xA5A5A5A5);
  EXPECT_EQ(static_cast<uint8_t>(f[1]), 0x80 | 126);
  EXPECT_EQ((static_cast<uint8_t>(f[2]) << 8) | static_cast<uint8_t>(f[3]), 300);
  EXPECT_EQ(unmask(f, 4), mid);

  std::string big(70000, 'y');
  f.clear();
  append_client_frame(f, WsOpcode::text, big, 1);
  EXPECT_EQ(static_cast<uint8_t>(f[1]), 0x80 | 127);
  EXPECT_EQ(unmask(f, 10), big);
}

TEST(WebSocketFraming, CloseFrameCarriesTheCode) {
  std::string f;
  append_client_close(f, 1000, 0);
  EXPECT_EQ(static_cast<uint8_t>(f[0]), 0x88);
  EXPECT_EQ(unmask(f, 2), std::string("\x03\xE8", 2));
}

TEST(ServerFrameReader, ReadsAnyChunkingOfSeveralFrames) {
  std::string big(1000, 'b');
  std::string stream = text_frame("0{\"sid\":\"x\"}") + text_frame("40{\"sid\":\"y\"}") +
                       server_frame(0x89, "p") + text_frame("") + text_frame(big);
  for (size_t chunk = 1; chunk <= stream.size(); chunk = chunk < 8 ? chunk + 1 : chunk * 2) {
    auto msgs = read_all(stream, chunk);
    ASSERT_EQ(msgs.size(), 5u) << "chunk " << chunk;
    EXPECT_EQ(msgs[0].second, "0{\"sid\":\"x\"}");
    EXPECT_EQ(msgs[1].second, "40{\"sid\":\"y\"}");
    EXPECT_EQ(msgs[2].first, WsOpcode::ping);
    EXPECT_EQ(msgs[2].second, "p");
    EXPECT_EQ(msgs[3].second, "");
    EXPECT_EQ(msgs[4].second, big);
  }
}

TEST(ServerFrameReader, ReassemblesFragmentsAroundControlFrames) {
  std::string stream = server_frame(0x01, "42[\"a") + server_frame(0x89, "") +
                       server_frame(0x00, "uth\",") + server_frame(0x80, "1]");
  for (size_t chunk : {1u, 3u, 100u}) {
    auto msgs = read_all(stream, chunk);
    ASSERT_EQ(msgs.size(), 2u);
    EXPECT_EQ(msgs[0].first, WsOpcode::ping);
    EXPECT_EQ(msgs[1].first, WsOpcode::text);
    EXPECT_EQ(msgs[1].second, "42[\"auth\",1]");
  }
}

TEST(ServerFrameReader, LongLengthEncodings) {
  std::string p16(40000, 'q');
  std::string p64(70000, 'r');
  auto msgs = read_all(text_frame(p16) + server_frame(0x82, p64), 4096);
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].second, p16);
  EXPECT_EQ(msgs[1].first, WsOpcode::binary);
  EXPECT_EQ(msgs[1].second, p64);
}

void expect_error(const std::string& bytes, FrameError expected, size_t max = 1 << 20) {
  ServerFrameReader reader(max);
  reader.append(bytes);
  ServerFrameReader::Result r;
  do {
    r = reader.next();
  } while (r.status == Status::message);
  ASSERT_EQ(r.status, Status::error);
  EXPECT_EQ(reader.error(), expected);
  // Sticky: more input does not revive the stream.
  reader.append(text_frame("x"));
  EXPECT_EQ(reader.next().status, Status::error);
}

TEST(ServerFrameReader, RejectsProtocolViolations) {
  expect_error("\x81\x81" "abcd" "x", FrameError::masked_server_frame);
  expect_error(server_frame(0xC1, "x"), FrameError::reserved_bits);
  expect_error(server_frame(0x83, "x"), FrameError::bad_opcode);
  expect_error(server_frame(0x8F, "x"), FrameError::bad_opcode);
  expect_error(server_frame(0x09, "x"), FrameError::bad_control_frame);            // fragmented ping
  expect_error(server_frame(0x89, std::string(126, 'p')), FrameError::bad_control_frame);
  expect_error(server_frame(0x80, "x"), FrameError::bad_continuation);             // nothing to continue
  expect_error(server_frame(0x01, "a") + server_frame(0x81, "b"), FrameError::bad_continuation);
  expect_error(std::string("\x81\x7F\x80\x00\x00\x00\x00\x00\x00\x01", 10), FrameError::bad_length);
}

TEST(ServerFrameReader, RejectsOversizedMessagesBeforeBufferingThem) {
  // Only the header of a 1 GB frame: refused at once, not after waiting for the payload.
  std::string header("\x82\x7F\x00\x00\x00\x00\x40\x00\x00\x00", 10);
  expect_error(header, FrameError::too_large, 1000);
  // Fragments that add up past the limit.
  expect_error(server_frame(0x01, std::string(600, 'a')) + server_frame(0x80, std::string(600, 'a')),
               FrameError::too_large, 1000);
  // Exactly at the limit is fine.
  bool error = false;
  auto msgs = read_all(text_frame(std::string(1000, 'a')), 7, 1000, &error);
  EXPECT_FALSE(error);
  EXPECT_EQ(msgs.size(), 1u);
}

TEST(ServerFrameReader, HoldsNothingWhenIdle) {
  ServerFrameReader reader(1 << 20);
  reader.append(text_frame(std::string(5000, 'z')));
  auto r = reader.next();
  ASSERT_EQ(r.status, Status::message);
  EXPECT_EQ(reader.next().status, Status::need_more);
  EXPECT_EQ(reader.buffered_bytes(), 0u);
}

// ---------------------------------------------------------------------------------------

TEST(SocketIoClient, OpenConnectPingAndEvent) {
  SocketIoClient c("/");
  std::string reply;
  EXPECT_EQ(c.on_text_message(
                "0{\"sid\":\"eio1\",\"upgrades\":[],\"pingInterval\":25000,\"pingTimeout\":20000,"
                "\"maxPayload\":1000000}",
                reply),
            SocketIoClient::Event::opened);
  EXPECT_EQ(reply, "40");
  EXPECT_EQ(c.engine_sid(), "eio1");
  EXPECT_EQ(c.ping_interval_ms(), 25000u);
  EXPECT_EQ(c.ping_timeout_ms(), 20000u);
  EXPECT_EQ(c.state(), SocketIoClient::State::awaiting_connect);

  EXPECT_EQ(c.on_text_message("2", reply), SocketIoClient::Event::ping);  // a ping may come first
  EXPECT_EQ(reply, "3");
  EXPECT_EQ(c.on_text_message("40{\"sid\":\"sio1\"}", reply), SocketIoClient::Event::connected);
  EXPECT_TRUE(reply.empty());
  EXPECT_EQ(c.socket_sid(), "sio1");
  EXPECT_EQ(c.state(), SocketIoClient::State::connected);

  EXPECT_EQ(c.on_text_message("42[\"auth\",{\"ok\":true}]", reply), SocketIoClient::Event::event);
  EXPECT_EQ(c.on_text_message("4217[\"with-ack\"]", reply), SocketIoClient::Event::event);
  EXPECT_EQ(c.on_text_message("451-[\"bin\",{\"_placeholder\":true,\"num\":0}]", reply),
            SocketIoClient::Event::event);
  EXPECT_EQ(c.on_text_message("2probe", reply), SocketIoClient::Event::ping);
  EXPECT_EQ(reply, "3probe");
  EXPECT_EQ(c.on_text_message("6", reply), SocketIoClient::Event::none);
  EXPECT_EQ(c.on_text_message("41", reply), SocketIoClient::Event::server_disconnect);
  EXPECT_EQ(c.state(), SocketIoClient::State::closed);
}

TEST(SocketIoClient, CustomNamespace) {
  SocketIoClient c("/custom");
  std::string reply;
  ASSERT_EQ(c.on_text_message("0{\"sid\":\"e\"}", reply), SocketIoClient::Event::opened);
  EXPECT_EQ(reply, "40/custom,");
  EXPECT_EQ(c.on_text_message("40{\"sid\":\"other-ns\"}", reply), SocketIoClient::Event::none);
  EXPECT_EQ(c.on_text_message("40/custom,{\"sid\":\"s\"}", reply), SocketIoClient::Event::connected);
  EXPECT_EQ(c.socket_sid(), "s");
  EXPECT_EQ(c.on_text_message("42/custom,[\"x\"]", reply), SocketIoClient::Event::event);
  EXPECT_EQ(c.on_text_message("42/elsewhere,[\"x\"]", reply), SocketIoClient::Event::none);
}

TEST(SocketIoClient, ConnectErrorAndEngineClose) {
  SocketIoClient c("/");
  std::string reply;
  c.on_text_message("0{\"sid\":\"e\"}", reply);
  EXPECT_EQ(c.on_text_message("44{\"message\":\"Invalid namespace\"}", reply),
            SocketIoClient::Event::connect_error);
  SocketIoClient d("/");
  d.on_text_message("0{\"sid\":\"e\"}", reply);
  EXPECT_EQ(d.on_text_message("1", reply), SocketIoClient::Event::server_disconnect);
}

TEST(SocketIoClient, ProtocolErrors) {
  std::string reply;
  {
    SocketIoClient c("/");
    EXPECT_EQ(c.on_text_message("", reply), SocketIoClient::Event::protocol_error);
    EXPECT_EQ(c.on_text_message("40{\"sid\":\"s\"}", reply), SocketIoClient::Event::protocol_error);
    EXPECT_EQ(c.on_text_message("2", reply), SocketIoClient::Event::protocol_error);
    EXPECT_EQ(c.on_text_message("0{}", reply), SocketIoClient::Event::protocol_error);  // no sid
    EXPECT_EQ(c.on_text_message("9", reply), SocketIoClient::Event::protocol_error);
  }
  {
    SocketIoClient c("/");
    c.on_text_message("0{\"sid\":\"e\"}", reply);
    EXPECT_EQ(c.on_text_message("0{\"sid\":\"e\"}", reply), SocketIoClient::Event::protocol_error);
    EXPECT_EQ(c.on_text_message("40{}", reply), SocketIoClient::Event::protocol_error);
    EXPECT_EQ(c.on_text_message("42[\"early\"]", reply), SocketIoClient::Event::protocol_error);
    EXPECT_EQ(c.on_text_message("4", reply), SocketIoClient::Event::protocol_error);
    EXPECT_EQ(c.on_text_message("45[]", reply), SocketIoClient::Event::protocol_error);  // no "-"
    EXPECT_EQ(c.on_text_message("47", reply), SocketIoClient::Event::protocol_error);
  }
}

TEST(JsonFields, FindsStringsAndNumbers) {
  std::string_view j = R"({"sid": "abc", "pingInterval" : 25000, "x":"pingInterval", "big":99999999999999999999})";
  EXPECT_EQ(json_string_field(j, "sid"), "abc");
  EXPECT_EQ(json_string_field(j, "missing"), "");
  EXPECT_EQ(json_string_field(j, "pingInterval"), "");  // a number, not a string
  uint64_t v = 0;
  EXPECT_TRUE(json_uint_field(j, "pingInterval", v));
  EXPECT_EQ(v, 25000u);
  EXPECT_FALSE(json_uint_field(j, "sid", v));
  EXPECT_FALSE(json_uint_field(j, "big", v));  // overflow
  EXPECT_EQ(json_string_field(R"({"sid":"unterminated)", "sid"), "");
}

}  // namespace
}  // namespace wsgw::loadgen
