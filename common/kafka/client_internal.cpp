#include "common/kafka/client_internal.h"

#include <array>

namespace wsgw::kafka::detail {

bool set_property(rd_kafka_conf_t* conf, const std::string& name, const std::string& value, std::string& error) {
  std::array<char, 512> reason{};
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), reason.data(), reason.size()) != RD_KAFKA_CONF_OK) {
    error = "kafka property " + name + ": " + reason.data();
    return false;
  }
  return true;
}

bool set_properties(rd_kafka_conf_t* conf, const std::map<std::string, std::string>& properties, std::string& error) {
  for (const auto& [name, value] : properties) {
    if (!set_property(conf, name, value, error)) return false;
  }
  return true;
}

namespace {

void error_trampoline(rd_kafka_t* handle, int code, const char* reason, void* opaque) {
  auto* sink = static_cast<ErrorSink*>(opaque);
  if (sink == nullptr || !sink->on_error) return;
  ClientError report;
  report.code = code;
  report.reason = reason != nullptr ? reason : "";
  if (code == RD_KAFKA_RESP_ERR__FATAL) {
    // The generic _FATAL hides the cause; librdkafka keeps the original code and text.
    std::array<char, 512> cause{};
    report.fatal = true;
    report.code = rd_kafka_fatal_error(handle, cause.data(), cause.size());
    report.reason = cause.data();
    sink->on_error(report);
    return;
  }
  sink->on_error(report);
}

}  // namespace

void route_errors(rd_kafka_conf_t* conf, ErrorSink* sink) {
  rd_kafka_conf_set_opaque(conf, sink);
  rd_kafka_conf_set_error_cb(conf, error_trampoline);
}

}  // namespace wsgw::kafka::detail

namespace wsgw::kafka {

std::string_view describe_error(ErrorCode code) { return rd_kafka_err2str(static_cast<rd_kafka_resp_err_t>(code)); }
std::string_view error_name(ErrorCode code) { return rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(code)); }

}  // namespace wsgw::kafka
