#pragma once
// wsgw_stage_latency_seconds{stage}: one hop of a record's path, timed from the hop timestamps
// in its Kafka headers (contract.h: x-ts-gateway-in, x-ts-api). Both daemons register it here,
// so the stages share one help text and one bucket layout and can be put side by side:
//   gateway_to_api  (ws-api)      x-ts-gateway-in -> a Subscribe consumer reading the record
//   api_to_gateway  (ws-gateway)  x-ts-api -> the gateway reading the record
//   api_to_socket   (ws-gateway)  x-ts-api -> the frame queued to the client's socket
// Buckets: 0.5 ms doubling to 16 s. The timestamps are wall-clock milliseconds of two hosts,
// so a value is +-1 ms plus their clock offset.
#include <string>

#include "common/metrics/registry.h"

namespace wsgw::cluster {

inline metrics::Histogram& stage_latency(metrics::Registry& registry, const std::string& stage) {
  return registry
      .histogram("wsgw_stage_latency_seconds",
                 "Latency of one hop of a record's path, from the hop timestamps in its Kafka headers",
                 {"stage"}, metrics::exponential_buckets(0.0005, 2, 16))
      .with({std::string_view(stage)});
}

}  // namespace wsgw::cluster
