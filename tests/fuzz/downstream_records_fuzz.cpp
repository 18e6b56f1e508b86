// Downstream Kafka records come from the network: parse_downstream must never crash, hang or
// allocate without bound, whatever the headers and value hold.
// Input layout: byte 0 = number of headers (mod 8); then for each header a name and a value
// separated by '\n'; the rest is the record value.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "gateway/cluster/records.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  const int count = data[0] % 8;
  std::vector<wsgw::kafka::Header> headers;
  for (int i = 0; i < count; ++i) {
    size_t a = in.find('\n');
    if (a == std::string_view::npos) break;
    size_t b = in.find('\n', a + 1);
    if (b == std::string_view::npos) break;
    headers.push_back({in.substr(0, a), in.substr(a + 1, b - a - 1)});
    in.remove_prefix(b + 1);
  }
  wsgw::cluster::DownstreamCommand c;
  std::string error;
  if (wsgw::cluster::parse_downstream(headers, in, "gw-1", c, error) &&
      c.kind == wsgw::cluster::DownstreamCommand::Kind::emit) {
    // A message was built: it must be non-empty and its frames well formed.
    if (!c.delivery.msg || c.delivery.msg->packets.empty()) __builtin_trap();
  }
  return 0;
}
