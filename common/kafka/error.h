#pragma once
// Error codes and client-level error reports shared by the producer, the consumer and the admin helper.
#include <functional>
#include <string_view>

namespace wsgw::kafka {

// librdkafka's rd_kafka_resp_err_t as a plain int, so <librdkafka/rdkafka.h> stays out of our headers.
// 0 means no error; negative values are client-side (e.g. -184 = _QUEUE_FULL), positive ones come from
// the broker.
using ErrorCode = int;
inline constexpr ErrorCode kNoError = 0;

// Human-readable text for a code ("Local: Queue full"). Static storage, never null.
std::string_view describe_error(ErrorCode code);
// Symbolic name for a code ("_QUEUE_FULL"), handy as a metrics label. Static storage, never null.
std::string_view error_name(ErrorCode code);

// An error not tied to one record: all brokers down, authentication failure, or a fatal error of the
// idempotent producer (after which every send fails; the process should recreate the producer).
// Reported from inside Producer::poll/flush or Consumer::poll, on the polling thread.
struct ClientError {
  ErrorCode code = kNoError;  // for fatal errors: the underlying cause, not the generic _FATAL
  std::string_view reason;    // valid only during the callback
  bool fatal = false;
};
using ClientErrorCallback = std::function<void(const ClientError&)>;

}  // namespace wsgw::kafka
