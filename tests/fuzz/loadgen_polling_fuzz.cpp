// Feeds arbitrary server bytes, split at arbitrary points, through what a long-polling loadgen
// client parses: HTTP responses (Content-Length, chunked, or up to the connection's end), the
// v4 payload of each body, and the Socket.IO client state machine on every packet.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bench/loadgen/client_protocol.h"
#include "bench/loadgen/polling_protocol.h"

using namespace wsgw::loadgen;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // First byte: chunk size, and whether the connection ends after the input.
  const size_t chunk = 1 + data[0] % 64;
  const bool at_eof = (data[0] & 0x80) != 0;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  constexpr size_t kMaxBody = 4096;

  HttpResponseReader reader(kMaxBody);
  SocketIoClient client("/");
  std::vector<std::string_view> packets;
  std::string reply;
  auto handle = [&](const HttpResponseReader::Result& r) {
    if (r.body.size() > kMaxBody) __builtin_trap();
    if (!split_polling_payload(r.body, packets)) return;
    for (std::string_view p : packets) {
      if (p.empty() || p.data() < r.body.data() || p.data() + p.size() > r.body.data() + r.body.size())
        __builtin_trap();
      client.on_text_message(p, reply);
      EventView ev = parse_event_message(p);
      uint64_t ts = 0;
      if (ev.ok) event_timestamp_us(ev.args, ts);
    }
  };
  for (size_t pos = 0; pos < in.size(); pos += chunk) {
    reader.append(in.substr(pos, chunk));
    for (;;) {
      auto r = reader.next();
      if (r.status == HttpResponseReader::Status::need_more) break;
      if (r.status == HttpResponseReader::Status::error) return 0;
      handle(r);
    }
    if (reader.buffered_bytes() > kMaxResponseHeaderBytes + kMaxBody + 64 + 64) __builtin_trap();
  }
  if (at_eof) {
    auto r = reader.finish();
    if (r.status == HttpResponseReader::Status::response) handle(r);
  }
  return 0;
}
