// Feeds arbitrary server bytes, split at arbitrary points, through what a loadgen client
// parses: the upgrade response, the frame reader, the Socket.IO client state machine and the
// tracked-event / "ts" lookup of the broadcast benchmarks.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "bench/loadgen/client_protocol.h"

using namespace wsgw::loadgen;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  // First byte: chunk size; second: whether an HTTP response precedes the frames.
  const size_t chunk = 1 + data[0] % 64;
  const bool with_http = (data[1] & 1) != 0;
  std::string_view in(reinterpret_cast<const char*>(data + 2), size - 2);

  if (with_http) {
    auto r = check_upgrade_response(in, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    if (r.status != UpgradeStatus::ok) return 0;
    if (r.header_bytes > in.size()) __builtin_trap();
    in.remove_prefix(r.header_bytes);
  }

  ServerFrameReader reader(4096);
  SocketIoClient client((data[1] & 2) != 0 ? "/custom" : "/");
  std::string reply;
  for (size_t pos = 0; pos < in.size(); pos += chunk) {
    reader.append(in.substr(pos, chunk));
    for (;;) {
      auto m = reader.next();
      if (m.status == ServerFrameReader::Status::need_more) break;
      if (m.status == ServerFrameReader::Status::error) return 0;
      if (m.payload.size() > 4096) __builtin_trap();
      if (m.opcode == WsOpcode::text) {
        client.on_text_message(m.payload, reply);
        // What the broadcast benchmarks do with every tracked event.
        EventView ev = parse_event_message(m.payload);
        if (ev.ok) {
          const char* begin = m.payload.data();
          const char* end = begin + m.payload.size();
          if (ev.name.data() < begin || ev.name.data() + ev.name.size() > end) __builtin_trap();
          if (!ev.args.empty() && (ev.args.data() < begin || ev.args.data() + ev.args.size() > end))
            __builtin_trap();
          uint64_t ts = 0;
          event_timestamp_us(ev.args, ts);
        }
      }
    }
    if (reader.buffered_bytes() > 4096 + 14 + 64) __builtin_trap();
  }
  return 0;
}
