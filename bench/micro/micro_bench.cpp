// bench_micro: what one message costs on the gateway's hot paths, without any I/O.
//   - Engine.IO / Socket.IO packet decode and encode (a client's event in, a server's event out);
//   - a client frame read (masked WebSocket frame -> text), as for every receipt in scenario 2;
//   - broadcast encode: the Socket.IO packet and its shared WireMessage (one per broadcast);
//   - fan-out: the same WireMessage queued on N send queues and written out, as a worker does
//     for its local sockets (the part of scenario 5 that is the gateway's own work).
// The message is the suite's article payload (600 bytes as 42["message",{...}]).
// Run: bench_micro [--benchmark_filter=Fanout] [--benchmark_format=json]
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "common/socketio/packet.h"
#include "gateway/engineio/codec.h"
#include "gateway/session/send_queue.h"
#include "gateway/session/wire.h"
#include "gateway/websocket/frame.h"

namespace {

namespace eio = wsgw::eio;
namespace sio = wsgw::sio;
namespace ws = wsgw::ws;
namespace session = wsgw::session;

// The article's message object (bench/run.py article_payload), "ts" first.
constexpr std::string_view kArgs =
    R"([{"ts":1732435200123456,"type":"user_online","data":{"type":"doc_collaborators",)"
    R"("guid":"Wr3DVtyzeSoiRkjNqX8a2b","clients":[{"id":10086423,"name":"Li Xiaoming",)"
    R"("email":"li.xiaoming@example.com","avatar":"ZgG5kEjCkT6mZla6.png","created_at":1623811084000,)"
    R"("name_pinyin":"lixiaoming","team_id":13,"team_role":"member","merged_into":0,)"
    R"("team_time":1623811084000,"mobile":"+86 138 0013 8000","mobile_account":"","status":1,)"
    R"("has_password":true,"team":null,"membership":null,"is_seat":true,"team_role_enum":3,)"
    R"("register_time":1623811084000,"alias":"","type":"anoymous"}],"userCount":1,"from":"ws"}}])";

// "2["message",{...}]": the Socket.IO packet inside the Engine.IO message.
std::string socketio_event_text() { return sio::encode_event("/", "message", kArgs); }

// A client's masked WebSocket text frame carrying `payload` (payloads < 64 KiB).
std::string masked_client_frame(std::string_view payload) {
  std::string f;
  f.push_back(static_cast<char>(0x81));
  if (payload.size() < 126) {
    f.push_back(static_cast<char>(0x80 | payload.size()));
  } else {
    f.push_back(static_cast<char>(0x80 | 126));
    f.push_back(static_cast<char>(payload.size() >> 8));
    f.push_back(static_cast<char>(payload.size() & 0xFF));
  }
  const std::array<uint8_t, 4> mask{0x12, 0x34, 0x56, 0x78};
  for (uint8_t m : mask) f.push_back(static_cast<char>(m));
  for (size_t i = 0; i < payload.size(); ++i)
    f.push_back(static_cast<char>(static_cast<uint8_t>(payload[i]) ^ mask[i % 4]));
  return f;
}

void BM_EngineIoDecodeTextFrame(benchmark::State& state) {
  const std::string frame = "4" + socketio_event_text();
  eio::Packet p;
  for (auto _ : state) {
    bool ok = eio::decode_text_frame(eio::Version::v4, frame, p);
    benchmark::DoNotOptimize(ok);
    benchmark::DoNotOptimize(p.data.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * frame.size()));
}
BENCHMARK(BM_EngineIoDecodeTextFrame);

void BM_EngineIoEncodeTextPacket(benchmark::State& state) {
  const std::string data = socketio_event_text();
  for (auto _ : state) {
    std::string out = eio::encode_text_packet(eio::PacketType::message, data);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_EngineIoEncodeTextPacket);

void BM_SocketIoDecodeEvent(benchmark::State& state) {
  const std::string text = socketio_event_text();
  sio::Packet p;
  sio::EventView ev;
  std::string name_storage;
  for (auto _ : state) {
    auto err = sio::decode(sio::ProtocolVersion::v5, text, p);
    bool ok = sio::scan_event(p.data, ev, name_storage);
    benchmark::DoNotOptimize(err);
    benchmark::DoNotOptimize(ok);
    benchmark::DoNotOptimize(ev.args.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_SocketIoDecodeEvent);

void BM_SocketIoDecodeReceipt(benchmark::State& state) {
  // Scenario 2's receipt: small, parsed once per delivery.
  const std::string text = R"(2["receipt",{"ts":1732435200123456}])";
  sio::Packet p;
  for (auto _ : state) {
    auto err = sio::decode(sio::ProtocolVersion::v5, text, p);
    benchmark::DoNotOptimize(err);
    benchmark::DoNotOptimize(p.data.data());
  }
}
BENCHMARK(BM_SocketIoDecodeReceipt);

void BM_SocketIoEncodeEvent(benchmark::State& state) {
  for (auto _ : state) {
    std::string out = sio::encode_event("/", "message", kArgs);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kArgs.size()));
}
BENCHMARK(BM_SocketIoEncodeEvent);

// Null handler: counts what the reader hands over.
struct CountingHandler final : ws::MessageHandler {
  size_t texts = 0;
  bool on_text(std::string_view text) override {
    texts += text.size();
    return true;
  }
  bool on_binary(std::string_view) override { return true; }
  bool on_ping(std::string_view) override { return true; }
  bool on_pong(std::string_view) override { return true; }
  bool on_close(uint16_t, std::string_view) override { return true; }
};

void BM_WebSocketReadClientFrame(benchmark::State& state) {
  // A receipt as the client sends it: 42["receipt",{"ts":...}] in a masked frame. The reader
  // unmasks in place, so each round works on a fresh copy (the copy is part of the number).
  const std::string frame = masked_client_frame(R"(42["receipt",{"ts":1732435200123456}])");
  std::vector<uint8_t> buf(frame.size());
  ws::FrameReader reader(1 << 20);
  CountingHandler handler;
  for (auto _ : state) {
    std::copy(frame.begin(), frame.end(), buf.begin());
    auto r = reader.consume(buf, handler);
    benchmark::DoNotOptimize(r.consumed);
  }
  benchmark::DoNotOptimize(handler.texts);
}
BENCHMARK(BM_WebSocketReadClientFrame);

void BM_BroadcastEncode(benchmark::State& state) {
  // Once per broadcast: the Socket.IO packet, then the shared WireMessage holding the complete
  // WebSocket frame that every local socket writes.
  for (auto _ : state) {
    session::WireMessagePtr msg = session::make_socketio_message(sio::encode_event("/", "message", kArgs));
    benchmark::DoNotOptimize(msg.get());
  }
}
BENCHMARK(BM_BroadcastEncode);

void BM_FanoutSendQueues(benchmark::State& state) {
  // One broadcast to N sockets: the same WireMessagePtr pushed on N send queues (a reference
  // count each), then each written out and popped, as a worker does for its local sockets.
  // items/s = deliveries/s of this part of the work, without the write() system calls.
  const auto n = static_cast<size_t>(state.range(0));
  std::vector<session::SendQueue> queues(n);
  const session::WireMessagePtr msg = session::make_socketio_message(socketio_event_text());
  constexpr size_t kLimit = 1 << 20;
  size_t bytes = 0;
  for (auto _ : state) {
    for (auto& q : queues) {
      auto r = q.push(msg, false, kLimit);
      benchmark::DoNotOptimize(r);
    }
    for (auto& q : queues) {
      for (const auto& e : q.pending()) bytes += e.msg->packets.front().frame.size();
      q.pop_front(q.size());
    }
  }
  benchmark::DoNotOptimize(bytes);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_FanoutSendQueues)->Arg(1000)->Arg(10000)->Arg(100000);

void BM_FanoutSendQueuesBacklog(benchmark::State& state) {
  // As above, while every queue already holds 8 unsent messages (slow readers): the queue
  // growth path, and the overflow check against the byte limit.
  const auto n = static_cast<size_t>(state.range(0));
  std::vector<session::SendQueue> queues(n);
  const session::WireMessagePtr msg = session::make_socketio_message(socketio_event_text());
  constexpr size_t kLimit = 1 << 20;
  for (auto& q : queues) {
    for (int i = 0; i < 8; ++i) q.push(msg, false, kLimit);
  }
  for (auto _ : state) {
    for (auto& q : queues) {
      auto r = q.push(msg, false, kLimit);
      benchmark::DoNotOptimize(r);
    }
    for (auto& q : queues) q.pop_front(1);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_FanoutSendQueuesBacklog)->Arg(10000);

}  // namespace

BENCHMARK_MAIN();
