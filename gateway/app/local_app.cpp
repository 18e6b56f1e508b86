#include "gateway/app/local_app.h"

#include <algorithm>

namespace wsgw::app {

LocalApp::LocalApp(std::vector<std::string> namespaces, metrics::Registry& registry)
    : namespaces_(std::move(namespaces)),
      events_(registry
                  .counter("wsgw_events_unrouted_total",
                           "Client events received with no upstream configured")
                  .with({})) {
  any_ = std::find(namespaces_.begin(), namespaces_.end(), "*") != namespaces_.end();
}

bool LocalApp::namespace_exists(std::string_view nsp) {
  return any_ || std::find(namespaces_.begin(), namespaces_.end(), nsp) != namespaces_.end();
}

}  // namespace wsgw::app
