#include "gateway/app/local_app.h"

#include <algorithm>
#include <chrono>

namespace wsgw::app {

LocalApp::LocalApp(std::vector<std::string> namespaces, metrics::Registry& registry)
    : namespaces_(std::move(namespaces)),
      events_(registry
                  .counter("wsgw_events_unrouted_total",
                           "Client events received with no upstream configured")
                  .with({})),
      last_event_(registry
                      .gauge("wsgw_events_unrouted_last_timestamp_seconds",
                             "Wall-clock time of the last client event or ack counted in "
                             "wsgw_events_unrouted_total (the benchmarks time acks with it)")
                      .with({})) {
  any_ = std::find(namespaces_.begin(), namespaces_.end(), "*") != namespaces_.end();
}

void LocalApp::counted() {
  events_.inc();
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  int64_t seen = last_event_ms_.load(std::memory_order_relaxed);
  while (seen < now && !last_event_ms_.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
  }
  last_event_.set(static_cast<double>(last_event_ms_.load(std::memory_order_relaxed)) / 1000.0);
}

bool LocalApp::namespace_exists(std::string_view nsp) {
  return any_ || std::find(namespaces_.begin(), namespaces_.end(), nsp) != namespaces_.end();
}

}  // namespace wsgw::app
