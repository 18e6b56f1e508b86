#pragma once
// Internal to wsgw_kafka: configuration and error plumbing shared by the producer, consumer and admin.
#include <librdkafka/rdkafka.h>

#include <map>
#include <memory>
#include <string>

#include "common/kafka/error.h"

namespace wsgw::kafka::detail {

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
// Owns a configuration until rd_kafka_new() takes it (then call release()).
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

struct HandleDeleter {
  void operator()(rd_kafka_t* handle) const { rd_kafka_destroy(handle); }
};
using HandlePtr = std::unique_ptr<rd_kafka_t, HandleDeleter>;

// Sets one property; on failure `error` says which one and why.
bool set_property(rd_kafka_conf_t* conf, const std::string& name, const std::string& value, std::string& error);
bool set_properties(rd_kafka_conf_t* conf, const std::map<std::string, std::string>& properties, std::string& error);

// The object a client's librdkafka opaque points to, so one error trampoline serves every client kind.
struct ErrorSink {
  ClientErrorCallback on_error;
  virtual ~ErrorSink() = default;
};
// Routes librdkafka's error callback (served from the client's poll) to sink->on_error. Sets the
// configuration's opaque to `sink`.
void route_errors(rd_kafka_conf_t* conf, ErrorSink* sink);

}  // namespace wsgw::kafka::detail
