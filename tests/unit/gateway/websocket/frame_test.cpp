#include "gateway/websocket/frame.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

namespace wsgw::ws {
namespace {

using Bytes = std::vector<uint8_t>;
constexpr std::array<uint8_t, 4> kMask = {0x37, 0xfa, 0x21, 0x3d};

enum class LengthForm { shortest, force16, force64 };

// A client frame as a browser would send it: masked, with the given first byte
// (FIN | RSV | opcode).
Bytes client_frame(uint8_t first_byte, std::string_view payload, LengthForm form = LengthForm::shortest,
                   std::array<uint8_t, 4> mask = kMask) {
  Bytes out{first_byte};
  const uint64_t n = payload.size();
  if (form == LengthForm::shortest && n < 126) {
    out.push_back(static_cast<uint8_t>(0x80 | n));
  } else if (form != LengthForm::force64 && n <= 0xFFFF) {
    out.push_back(0x80 | 126);
    out.push_back(static_cast<uint8_t>(n >> 8));
    out.push_back(static_cast<uint8_t>(n));
  } else {
    out.push_back(0x80 | 127);
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(n >> shift));
  }
  out.insert(out.end(), mask.begin(), mask.end());
  for (size_t i = 0; i < payload.size(); ++i) out.push_back(static_cast<uint8_t>(payload[i]) ^ mask[i % 4]);
  return out;
}

Bytes fin(Opcode op, std::string_view payload, LengthForm form = LengthForm::shortest) {
  return client_frame(0x80 | static_cast<uint8_t>(op), payload, form);
}
Bytes not_fin(Opcode op, std::string_view payload) { return client_frame(static_cast<uint8_t>(op), payload); }

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::string close_payload(uint16_t code, std::string_view reason = {}) {
  std::string p{static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
  p.append(reason);
  return p;
}

struct Event {
  std::string kind;
  uint16_t code = 0;
  std::string data;
  bool operator==(const Event&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Event& e) {
  return os << e.kind << "(" << e.code << ", " << e.data.size() << " bytes)";
}

class Recorder : public MessageHandler {
 public:
  bool on_text(std::string_view t) override { return record("text", 0, t); }
  bool on_binary(std::string_view b) override { return record("binary", 0, b); }
  bool on_ping(std::string_view p) override { return record("ping", 0, p); }
  bool on_pong(std::string_view p) override { return record("pong", 0, p); }
  bool on_close(uint16_t code, std::string_view r) override { return record("close", code, r); }

  std::vector<Event> events;
  std::vector<const char*> data_pointers;
  size_t stop_after = SIZE_MAX;  // return false once this many events were seen

 private:
  bool record(const char* kind, uint16_t code, std::string_view data) {
    events.push_back({kind, code, std::string(data)});
    data_pointers.push_back(data.data());
    return events.size() < stop_after;
  }
};

// Feeds `stream` the way the gateway does: bytes arrive in chunks, the caller keeps the
// unconsumed tail and presents it again with the next chunk.
struct ChunkedRun {
  std::vector<Event> events;
  ConsumeResult last;
  size_t total_consumed = 0;
  size_t leftover = 0;
};

ChunkedRun run_chunked(const Bytes& stream, const std::vector<size_t>& cut_points, size_t max_message = 1 << 20) {
  FrameReader reader(max_message);
  Recorder recorder;
  ChunkedRun run;
  Bytes pending;
  size_t start = 0;
  auto feed = [&](size_t end) {
    pending.insert(pending.end(), stream.begin() + static_cast<ptrdiff_t>(start),
                   stream.begin() + static_cast<ptrdiff_t>(end));
    start = end;
    run.last = reader.consume(pending, recorder);
    run.total_consumed += run.last.consumed;
    pending.erase(pending.begin(), pending.begin() + static_cast<ptrdiff_t>(run.last.consumed));
  };
  for (size_t cut : cut_points) {
    feed(cut);
    if (run.last.failed) break;
  }
  if (!run.last.failed) feed(stream.size());
  run.events = recorder.events;
  run.leftover = pending.size();
  return run;
}

struct SingleRun {
  std::vector<Event> events;
  ConsumeResult result;
};

SingleRun run_once(Bytes stream, size_t max_message = 1 << 20) {
  FrameReader reader(max_message);
  Recorder recorder;
  SingleRun run;
  run.result = reader.consume(stream, recorder);
  run.events = recorder.events;
  return run;
}

void expect_failure(Bytes stream, CloseCode expected, size_t max_message = 1 << 20) {
  const SingleRun run = run_once(std::move(stream), max_message);
  EXPECT_TRUE(run.result.failed);
  EXPECT_EQ(static_cast<int>(run.result.error), static_cast<int>(expected));
}

// ---------------------------------------------------------------------------------------

TEST(FrameReader, StaysSmall) {
  std::cout << "sizeof(FrameReader) = " << sizeof(FrameReader) << "\n";
  EXPECT_LE(sizeof(FrameReader), 16u);
  FrameReader reader(1024);
  EXPECT_EQ(reader.memory_bytes(), sizeof(FrameReader));
}

TEST(FrameReader, DecodesRfcMaskedHelloAndPointsIntoInput) {
  // RFC 6455 section 5.7: a single-frame masked text message containing "Hello".
  Bytes input = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
  FrameReader reader(1024);
  Recorder rec;
  const ConsumeResult r = reader.consume(input, rec);
  EXPECT_FALSE(r.failed);
  EXPECT_EQ(r.consumed, input.size());
  ASSERT_EQ(rec.events.size(), 1u);
  EXPECT_EQ(rec.events[0], (Event{"text", 0, "Hello"}));
  // Zero copy: the view is the unmasked payload inside the caller's buffer.
  EXPECT_EQ(rec.data_pointers[0], reinterpret_cast<const char*>(input.data()) + 6);
  EXPECT_EQ(std::memcmp(input.data() + 6, "Hello", 5), 0);
}

TEST(FrameReader, BinaryWithEachLengthEncoding) {
  const std::string small(125, 'a');
  std::string medium(300, '\0');
  for (size_t i = 0; i < medium.size(); ++i) medium[i] = static_cast<char>(i * 7);
  std::string large(70000, '\0');
  for (size_t i = 0; i < large.size(); ++i) large[i] = static_cast<char>(i * 13 + 1);

  for (const std::string* payload : std::initializer_list<const std::string*>{&small, &medium, &large}) {
    Bytes input = fin(Opcode::binary, *payload);
    const size_t header = payload->size() < 126 ? 6 : payload->size() <= 0xFFFF ? 8 : 14;
    ASSERT_EQ(input.size(), header + payload->size());
    FrameReader reader(1 << 20);
    Recorder rec;
    const ConsumeResult r = reader.consume(input, rec);
    EXPECT_FALSE(r.failed);
    EXPECT_EQ(r.consumed, input.size());
    ASSERT_EQ(rec.events.size(), 1u);
    EXPECT_EQ(rec.events[0], (Event{"binary", 0, *payload}));
    EXPECT_EQ(rec.data_pointers[0], reinterpret_cast<const char*>(input.data()) + header);
  }
}

TEST(FrameReader, EmptyMessagesAndControlFrames) {
  Bytes input = concat({fin(Opcode::text, ""), fin(Opcode::binary, ""), fin(Opcode::ping, "p"),
                        fin(Opcode::pong, ""), fin(Opcode::close, "")});
  const SingleRun run = run_once(input);
  EXPECT_FALSE(run.result.failed);
  EXPECT_EQ(run.result.consumed, input.size());
  const std::vector<Event> expected = {
      {"text", 0, ""}, {"binary", 0, ""}, {"ping", 0, "p"}, {"pong", 0, ""}, {"close", 1005, ""}};
  EXPECT_EQ(run.events, expected);
}

TEST(FrameReader, FragmentedMessageWithInterleavedPing) {
  // RFC 6455 5.6: "Hel" + "lo", here with a ping between the fragments.
  Bytes input = concat({not_fin(Opcode::text, "Hel"), fin(Opcode::ping, "are you there"),
                        client_frame(0x00, "l"), fin(Opcode::continuation, "o"), fin(Opcode::text, "next")});
  FrameReader reader(1024);
  Recorder rec;
  const ConsumeResult r = reader.consume(input, rec);
  EXPECT_FALSE(r.failed);
  EXPECT_EQ(r.consumed, input.size());
  const std::vector<Event> expected = {{"ping", 0, "are you there"}, {"text", 0, "Hello"}, {"text", 0, "next"}};
  EXPECT_EQ(rec.events, expected);
  EXPECT_FALSE(reader.in_fragmented_message());
  EXPECT_EQ(reader.memory_bytes(), sizeof(FrameReader));
}

TEST(FrameReader, FragmentBufferExistsOnlyDuringTheMessage) {
  FrameReader reader(1 << 20);
  Recorder rec;
  Bytes first = not_fin(Opcode::binary, std::string(1000, 'x'));
  EXPECT_EQ(reader.consume(first, rec).consumed, first.size());
  EXPECT_TRUE(reader.in_fragmented_message());
  EXPECT_GE(reader.memory_bytes(), sizeof(FrameReader) + 1000);
  Bytes last = fin(Opcode::continuation, std::string(24, 'y'));
  EXPECT_EQ(reader.consume(last, rec).consumed, last.size());
  EXPECT_FALSE(reader.in_fragmented_message());
  EXPECT_EQ(reader.memory_bytes(), sizeof(FrameReader));
  ASSERT_EQ(rec.events.size(), 1u);
  EXPECT_EQ(rec.events[0].kind, "binary");
  EXPECT_EQ(rec.events[0].data, std::string(1000, 'x') + std::string(24, 'y'));
}

TEST(FrameReader, Utf8IsValidatedOnTheAssembledMessage) {
  // "é" (C3 A9) and "😀" (F0 9F 98 80) split across fragment boundaries are fine.
  Bytes input = concat({not_fin(Opcode::text, "caf\xC3"), fin(Opcode::continuation, "\xA9"),
                        not_fin(Opcode::text, "\xF0\x9F"), client_frame(0x00, "\x98"),
                        fin(Opcode::continuation, "\x80!")});
  const SingleRun run = run_once(input);
  EXPECT_FALSE(run.result.failed);
  const std::vector<Event> expected = {{"text", 0, "caf\xC3\xA9"}, {"text", 0, "\xF0\x9F\x98\x80!"}};
  EXPECT_EQ(run.events, expected);

  // A sequence cut short at the end of the message is invalid.
  expect_failure(concat({not_fin(Opcode::text, "ok"), fin(Opcode::continuation, "\xE2\x82")}),
                 CloseCode::invalid_payload);
  // Binary messages are not checked.
  EXPECT_FALSE(run_once(concat({not_fin(Opcode::binary, "\xFF"), fin(Opcode::continuation, "\xC0")})).result.failed);
}

TEST(FrameReader, PartialInputAtEveryByteBoundary) {
  const Bytes stream = concat({
      fin(Opcode::text, "first"),
      not_fin(Opcode::binary, "frag-1/"),
      fin(Opcode::ping, "mid"),
      fin(Opcode::continuation, "frag-2"),
      fin(Opcode::binary, std::string(300, 'm')),
      fin(Opcode::pong, ""),
      fin(Opcode::close, close_payload(1000, "bye")),
  });
  const SingleRun whole = run_once(stream);
  ASSERT_FALSE(whole.result.failed);
  ASSERT_EQ(whole.result.consumed, stream.size());
  ASSERT_EQ(whole.events.size(), 6u);

  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    const ChunkedRun run = run_chunked(stream, {cut});
    EXPECT_EQ(run.events, whole.events) << "cut at " << cut;
    EXPECT_EQ(run.total_consumed, stream.size()) << "cut at " << cut;
    EXPECT_FALSE(run.last.failed);
  }
  // One byte at a time.
  std::vector<size_t> every_byte;
  for (size_t i = 1; i < stream.size(); ++i) every_byte.push_back(i);
  const ChunkedRun byte_run = run_chunked(stream, every_byte);
  EXPECT_EQ(byte_run.events, whole.events);
  EXPECT_EQ(byte_run.leftover, 0u);
}

TEST(FrameReader, PartialInputAround64BitLengthFrame) {
  const Bytes stream = concat({fin(Opcode::text, "a"), fin(Opcode::binary, std::string(70000, 'z')),
                               fin(Opcode::text, "b")});
  const SingleRun whole = run_once(stream);
  ASSERT_FALSE(whole.result.failed);
  ASSERT_EQ(whole.events.size(), 3u);
  std::vector<size_t> cuts;
  for (size_t i = 0; i <= 40; ++i) cuts.push_back(i);  // every byte of the headers
  for (size_t i = stream.size() - 20; i <= stream.size(); ++i) cuts.push_back(i);
  cuts.push_back(35000);
  for (size_t cut : cuts) {
    const ChunkedRun run = run_chunked(stream, {cut});
    EXPECT_EQ(run.events, whole.events) << "cut at " << cut;
    EXPECT_EQ(run.total_consumed, stream.size());
  }
}

TEST(FrameReader, IncompleteFrameIsNotConsumedNorUnmasked) {
  Bytes frame = fin(Opcode::text, "hello world");
  const Bytes original = frame;
  for (size_t len = 0; len < frame.size(); ++len) {
    Bytes partial(original.begin(), original.begin() + static_cast<ptrdiff_t>(len));
    FrameReader reader(1024);
    Recorder rec;
    const ConsumeResult r = reader.consume(partial, rec);
    EXPECT_FALSE(r.failed);
    EXPECT_EQ(r.consumed, 0u);
    EXPECT_TRUE(rec.events.empty());
    EXPECT_TRUE(std::equal(partial.begin(), partial.end(), original.begin())) << "bytes changed at " << len;
  }
}

TEST(FrameReader, HandlerCanStopConsumption) {
  Bytes a = fin(Opcode::text, "a");
  Bytes input = concat({a, fin(Opcode::text, "b"), fin(Opcode::text, "c")});
  FrameReader reader(1024);
  Recorder rec;
  rec.stop_after = 1;
  ConsumeResult r = reader.consume(input, rec);
  EXPECT_FALSE(r.failed);
  EXPECT_EQ(r.consumed, a.size());
  ASSERT_EQ(rec.events.size(), 1u);
  // The rest is still there for the next call.
  rec.stop_after = SIZE_MAX;
  r = reader.consume(std::span<uint8_t>(input).subspan(a.size()), rec);
  EXPECT_EQ(r.consumed, input.size() - a.size());
  EXPECT_EQ(rec.events.size(), 3u);
}

TEST(FrameReader, StoppingOnTheLastFragmentStillReleasesTheBuffer) {
  Bytes input = concat({not_fin(Opcode::text, "ab"), fin(Opcode::continuation, "cd"), fin(Opcode::text, "e")});
  FrameReader reader(1024);
  Recorder rec;
  rec.stop_after = 1;
  const ConsumeResult r = reader.consume(input, rec);
  EXPECT_EQ(r.consumed, input.size() - 7);
  EXPECT_FALSE(reader.in_fragmented_message());
  EXPECT_EQ(reader.memory_bytes(), sizeof(FrameReader));
}

TEST(FrameReader, EventsBeforeAnErrorAreDeliveredAndConsumedStopsAtTheBadFrame) {
  Bytes good = fin(Opcode::text, "ok");
  Bytes bad = client_frame(0x80 | 0x40 | 0x1, "rsv1");
  Bytes input = concat({good, bad});
  const SingleRun run = run_once(input);
  EXPECT_TRUE(run.result.failed);
  EXPECT_EQ(run.result.error, CloseCode::protocol_error);
  EXPECT_EQ(run.result.consumed, good.size());
  ASSERT_EQ(run.events.size(), 1u);
}

TEST(FrameReader, ProtocolErrors) {
  Bytes unmasked = fin(Opcode::text, "hi");
  unmasked[1] &= 0x7F;
  expect_failure(unmasked, CloseCode::protocol_error);

  for (uint8_t rsv : {0x40, 0x20, 0x10}) {
    expect_failure(client_frame(static_cast<uint8_t>(0x80 | rsv | 0x1), "x"), CloseCode::protocol_error);
  }
  for (uint8_t op : {3, 4, 5, 6, 7, 11, 12, 13, 14, 15}) {
    expect_failure(client_frame(static_cast<uint8_t>(0x80 | op), "x"), CloseCode::protocol_error);
  }
  // Control frames: at most 125 bytes (even in the 16-bit form) and never fragmented.
  expect_failure(fin(Opcode::ping, std::string(126, 'p')), CloseCode::protocol_error);
  expect_failure(fin(Opcode::pong, "p", LengthForm::force16), CloseCode::protocol_error);
  expect_failure(not_fin(Opcode::ping, "p"), CloseCode::protocol_error);
  expect_failure(not_fin(Opcode::close, ""), CloseCode::protocol_error);
  EXPECT_FALSE(run_once(fin(Opcode::ping, std::string(125, 'p'))).result.failed);

  // Fragmentation sequencing.
  expect_failure(fin(Opcode::continuation, "orphan"), CloseCode::protocol_error);
  expect_failure(client_frame(0x00, "orphan"), CloseCode::protocol_error);
  expect_failure(concat({not_fin(Opcode::text, "a"), fin(Opcode::text, "b")}), CloseCode::protocol_error);
  expect_failure(concat({not_fin(Opcode::text, "a"), not_fin(Opcode::binary, "b")}), CloseCode::protocol_error);

  // Length encodings: the 64-bit MSB must be clear, and the shortest form must be used.
  Bytes msb = {0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4};
  expect_failure(msb, CloseCode::protocol_error, SIZE_MAX);
  expect_failure(fin(Opcode::binary, "short", LengthForm::force16), CloseCode::protocol_error);
  expect_failure(fin(Opcode::binary, std::string(1000, 'b'), LengthForm::force64), CloseCode::protocol_error);
}

TEST(FrameReader, HeaderAloneDetectsErrors) {
  // The first two bytes suffice for these; no need to wait for the payload.
  Bytes rsv = {0xC1, 0x85};
  expect_failure(rsv, CloseCode::protocol_error);
  Bytes unmasked = {0x81, 0x05};
  expect_failure(unmasked, CloseCode::protocol_error);
}

TEST(FrameReader, MessageTooBigFailsOnTheHeader) {
  constexpr size_t kLimit = 1000;
  EXPECT_FALSE(run_once(fin(Opcode::binary, std::string(kLimit, 'x')), kLimit).result.failed);

  // Only the header of an oversized frame is needed to reject it.
  Bytes big = fin(Opcode::binary, std::string(kLimit + 1, 'x'));
  big.resize(8);
  expect_failure(big, CloseCode::message_too_big, kLimit);
  Bytes huge = {0x82, 0x80 | 127, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
  expect_failure(huge, CloseCode::message_too_big, kLimit);

  // The limit counts all fragments together.
  const std::string half(kLimit / 2, 'h');
  EXPECT_FALSE(run_once(concat({not_fin(Opcode::text, half), fin(Opcode::continuation, half)}), kLimit).result.failed);
  Bytes over = concat({not_fin(Opcode::text, half), client_frame(0x00, half), fin(Opcode::continuation, "!")});
  const SingleRun run = run_once(over, kLimit);
  EXPECT_TRUE(run.result.failed);
  EXPECT_EQ(run.result.error, CloseCode::message_too_big);
  EXPECT_TRUE(run.events.empty());

  // Control frames are not held to the message limit.
  EXPECT_FALSE(run_once(fin(Opcode::ping, std::string(100, 'p')), 10).result.failed);
}

TEST(FrameReader, InvalidUtf8TextIs1007) {
  expect_failure(fin(Opcode::text, "bad \xFF byte"), CloseCode::invalid_payload);
  expect_failure(fin(Opcode::text, "\xC0\xAF"), CloseCode::invalid_payload);      // overlong '/'
  expect_failure(fin(Opcode::text, "\xED\xA0\x80"), CloseCode::invalid_payload);  // surrogate
}

TEST(FrameReader, ClosePayloadValidation) {
  const SingleRun ok = run_once(fin(Opcode::close, close_payload(1001, "going \xC3\xA9")));
  EXPECT_FALSE(ok.result.failed);
  ASSERT_EQ(ok.events.size(), 1u);
  EXPECT_EQ(ok.events[0], (Event{"close", 1001, "going \xC3\xA9"}));

  expect_failure(fin(Opcode::close, "\x03"), CloseCode::protocol_error);  // 1-byte payload
  for (uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
    expect_failure(fin(Opcode::close, close_payload(code)), CloseCode::protocol_error);
  }
  for (uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999}) {
    const SingleRun run = run_once(fin(Opcode::close, close_payload(code)));
    EXPECT_FALSE(run.result.failed) << code;
    ASSERT_EQ(run.events.size(), 1u);
    EXPECT_EQ(run.events[0].code, code);
  }
  expect_failure(fin(Opcode::close, close_payload(1000, "\xF0\x28\x8C\x28")), CloseCode::protocol_error);
}

TEST(FrameReader, HugeLimitIsClampedNotWrapped) {
  EXPECT_FALSE(run_once(fin(Opcode::binary, "x"), SIZE_MAX).result.failed);
  Bytes huge = {0x82, 0x80 | 127, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
  expect_failure(huge, CloseCode::message_too_big, SIZE_MAX);
}

// ---------------------------------------------------------------------------------------

TEST(Encoder, HeaderLengthForms) {
  uint8_t h[10];
  EXPECT_EQ(encode_frame_header(h, Opcode::text, 0), 2u);
  EXPECT_EQ(h[0], 0x81);
  EXPECT_EQ(h[1], 0);
  EXPECT_EQ(encode_frame_header(h, Opcode::binary, 125, false), 2u);
  EXPECT_EQ(h[0], 0x02);
  EXPECT_EQ(h[1], 125);
  EXPECT_EQ(encode_frame_header(h, Opcode::binary, 126), 4u);
  EXPECT_EQ(h[1], 126);
  EXPECT_EQ(h[2], 0);
  EXPECT_EQ(h[3], 126);
  EXPECT_EQ(encode_frame_header(h, Opcode::binary, 0xFFFF), 4u);
  EXPECT_EQ(h[2], 0xFF);
  EXPECT_EQ(h[3], 0xFF);
  EXPECT_EQ(encode_frame_header(h, Opcode::binary, 0x10000), 10u);
  EXPECT_EQ(h[1], 127);
  const uint8_t expected64[8] = {0, 0, 0, 0, 0, 1, 0, 0};
  EXPECT_EQ(std::memcmp(h + 2, expected64, 8), 0);
  EXPECT_EQ(encode_frame_header(h, Opcode::pong, 0x0102030405ULL), 10u);
  const uint8_t expected_big[8] = {0, 0, 0, 0x01, 0x02, 0x03, 0x04, 0x05};
  EXPECT_EQ(std::memcmp(h + 2, expected_big, 8), 0);
}

// Turns a server frame into the client frame the reader expects by setting the mask bit,
// inserting a key and masking the payload.
Bytes mask_server_frame(std::string_view frame) {
  const auto* p = reinterpret_cast<const uint8_t*>(frame.data());
  size_t header = 2;
  if ((p[1] & 0x7F) == 126) header = 4;
  if ((p[1] & 0x7F) == 127) header = 10;
  Bytes out(p, p + header);
  out[1] |= 0x80;
  const std::array<uint8_t, 4> key = {0xA1, 0x02, 0xF3, 0x44};
  out.insert(out.end(), key.begin(), key.end());
  for (size_t i = header; i < frame.size(); ++i) out.push_back(p[i] ^ key[(i - header) % 4]);
  return out;
}

TEST(Encoder, RoundTripsThroughTheReader) {
  for (size_t size : {0, 1, 7, 8, 9, 125, 126, 127, 65535, 65536, 100000}) {
    std::string payload(size, '\0');
    for (size_t i = 0; i < size; ++i) payload[i] = static_cast<char>('a' + i % 26);
    for (Opcode op : {Opcode::text, Opcode::binary}) {
      const std::string frame = make_frame(op, payload);
      const SingleRun run = run_once(mask_server_frame(frame), 1 << 20);
      ASSERT_FALSE(run.result.failed) << size;
      ASSERT_EQ(run.events.size(), 1u);
      EXPECT_EQ(run.events[0].kind, op == Opcode::text ? "text" : "binary");
      EXPECT_EQ(run.events[0].data, payload) << size;
    }
  }
  const SingleRun ping = run_once(mask_server_frame(make_frame(Opcode::ping, "beat")));
  ASSERT_EQ(ping.events.size(), 1u);
  EXPECT_EQ(ping.events[0], (Event{"ping", 0, "beat"}));
}

TEST(Encoder, CloseFrames) {
  const std::string frame = make_close_frame(CloseCode::going_away, "server restart");
  EXPECT_EQ(frame.size(), 2u + 2u + 14u);
  const SingleRun run = run_once(mask_server_frame(frame));
  ASSERT_EQ(run.events.size(), 1u);
  EXPECT_EQ(run.events[0], (Event{"close", 1001, "server restart"}));

  // 1005 must not be sent: an empty close frame, which the reader reports as 1005.
  const std::string empty = make_close_frame(CloseCode::no_status, "ignored");
  EXPECT_EQ(empty, std::string("\x88\x00", 2));
  const SingleRun no_status = run_once(mask_server_frame(empty));
  ASSERT_EQ(no_status.events.size(), 1u);
  EXPECT_EQ(no_status.events[0].code, 1005);
}

TEST(Encoder, CloseReasonIsTruncatedAtACharacterBoundary) {
  // 122 ASCII bytes + "é" (2 bytes) = 124 > 123 available: the "é" must go entirely.
  const std::string reason = std::string(122, 'r') + "\xC3\xA9" + "tail";
  const std::string frame = make_close_frame(4000, reason);
  ASSERT_LE(frame.size(), 2u + 125u);
  const SingleRun run = run_once(mask_server_frame(frame));
  ASSERT_FALSE(run.result.failed);
  ASSERT_EQ(run.events.size(), 1u);
  EXPECT_EQ(run.events[0].code, 4000);
  EXPECT_EQ(run.events[0].data, std::string(122, 'r'));

  // A 4-byte character straddling the limit.
  const std::string emoji = std::string(121, 'r') + "\xF0\x9F\x98\x80";
  const SingleRun run2 = run_once(mask_server_frame(make_close_frame(4000, emoji)));
  ASSERT_EQ(run2.events.size(), 1u);
  EXPECT_EQ(run2.events[0].data, std::string(121, 'r'));

  // Exactly 123 bytes fit unchanged.
  const std::string exact = std::string(120, 'r') + "\xE2\x82\xAC";
  const SingleRun run3 = run_once(mask_server_frame(make_close_frame(4000, exact)));
  ASSERT_EQ(run3.events.size(), 1u);
  EXPECT_EQ(run3.events[0].data, exact);
}

}  // namespace
}  // namespace wsgw::ws
