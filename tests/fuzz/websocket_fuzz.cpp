// FrameReader on arbitrary bytes. The reader must never crash or over-allocate, and it must
// behave identically however the byte stream is split into reads: the events of a run that
// receives the input in random chunks are compared with those of a single-shot run.
//
// Input layout: byte 0 picks the message limit, bytes 1..4 seed the split points, the rest
// is the client->server byte stream.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/codec/utf8.h"
#include "gateway/websocket/frame.h"

namespace {

using wsgw::ws::CloseCode;
using wsgw::ws::ConsumeResult;
using wsgw::ws::FrameReader;

struct Event {
  int kind;
  uint16_t code;
  std::string data;
  bool operator==(const Event&) const = default;
};

// Records events; every 5th event asks consume() to stop, to exercise resumption.
class Recorder : public wsgw::ws::MessageHandler {
 public:
  bool on_text(std::string_view t) override {
    if (!wsgw::codec::is_valid_utf8(t)) std::abort();
    return record(1, 0, t);
  }
  bool on_binary(std::string_view b) override { return record(2, 0, b); }
  bool on_ping(std::string_view p) override {
    if (p.size() > wsgw::ws::kMaxControlPayload) std::abort();
    return record(9, 0, p);
  }
  bool on_pong(std::string_view p) override {
    if (p.size() > wsgw::ws::kMaxControlPayload) std::abort();
    return record(10, 0, p);
  }
  bool on_close(uint16_t code, std::string_view r) override { return record(8, code, r); }

  std::vector<Event> events;
  size_t max_message = 0;

 private:
  bool record(int kind, uint16_t code, std::string_view data) {
    if (kind <= 2 && data.size() > max_message) std::abort();
    events.push_back({kind, code, std::string(data)});
    return events.size() % 5 != 0;
  }
};

struct Outcome {
  std::vector<Event> events;
  bool failed = false;
  CloseCode error = CloseCode::normal;
  size_t consumed = 0;
  bool fragmented = false;
};

// Like a connection: consume until no progress, keep the unconsumed tail for the next read.
bool drain(FrameReader& reader, std::vector<uint8_t>& pending, Recorder& recorder, Outcome& out,
           size_t max_message) {
  for (;;) {
    const ConsumeResult r = reader.consume(pending, recorder);
    if (r.consumed > pending.size()) std::abort();
    out.consumed += r.consumed;
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(r.consumed));
    // Fragments may not grow past the limit (libstdc++ at most doubles a string's capacity).
    if (reader.memory_bytes() > sizeof(FrameReader) + sizeof(std::string) + 2 * max_message + 64) std::abort();
    if (r.failed) {
      out.failed = true;
      out.error = r.error;
      return false;
    }
    if (r.consumed == 0) return true;
  }
}

Outcome run(const uint8_t* data, size_t size, const std::vector<size_t>& cuts, size_t max_message) {
  FrameReader reader(max_message);
  Recorder recorder;
  recorder.max_message = max_message;
  Outcome out;
  std::vector<uint8_t> pending;
  size_t start = 0;
  for (size_t i = 0; i <= cuts.size(); ++i) {
    const size_t end = i < cuts.size() ? cuts[i] : size;
    pending.insert(pending.end(), data + start, data + end);
    start = end;
    if (!drain(reader, pending, recorder, out, max_message)) break;
  }
  out.events = std::move(recorder.events);
  out.fragmented = reader.in_fragmented_message();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 5) return 0;
  static constexpr size_t kLimits[] = {0, 1, 16, 125, 126, 1000, 65536, 1 << 20};
  const size_t max_message = kLimits[data[0] % (sizeof kLimits / sizeof kLimits[0])];
  uint32_t seed;
  std::memcpy(&seed, data + 1, sizeof seed);
  data += 5;
  size -= 5;

  const Outcome whole = run(data, size, {}, max_message);

  std::vector<size_t> cuts;
  uint32_t state = seed | 1;
  size_t position = 0;
  while (size > 0 && cuts.size() < 64) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    position += 1 + state % (size / 4 + 2);
    if (position >= size) break;
    cuts.push_back(position);
  }
  const Outcome split = run(data, size, cuts, max_message);

  if (!(split.events == whole.events) || split.failed != whole.failed || split.error != whole.error ||
      split.fragmented != whole.fragmented || split.consumed != whole.consumed) {
    std::abort();
  }
  return 0;
}
