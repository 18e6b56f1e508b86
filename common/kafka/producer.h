#pragma once
// Kafka producer over librdkafka. send() never blocks: librdkafka's local queue is the bounded send
// queue (max_queue_messages / max_queue_kbytes) and a full queue is reported as SendResult::queue_full,
// which the caller maps to its overflow policy (drop volatile messages, shed load, ...).
//
// Ordering: records with the same key go to the same partition in send order (the gateway keys
// upstream records by session id). With idempotence on (the default), retries neither reorder nor
// duplicate them.
//
// Threads: send() and stats() are safe from any thread. poll()/flush() serve delivery reports and
// client errors; call them from ONE thread (a poll loop or a periodic timer), which is where the
// callbacks run. Without polling, delivery reports pile up inside librdkafka.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/kafka/error.h"
#include "common/kafka/headers.h"
#include "common/kafka/message.h"

namespace wsgw::kafka {

// The outcome of one record. `message` (topic, key, value, headers) is valid only during the callback.
struct DeliveryReport {
  Message message;
  ErrorCode error = kNoError;  // e.g. _MSG_TIMED_OUT after message_timeout_ms, or a broker error
  bool ok() const { return error == kNoError; }
};
using DeliveryCallback = std::function<void(const DeliveryReport&)>;

struct ProducerConfig {
  std::string brokers;  // bootstrap.servers, "host:port,host:port"
  std::string client_id;
  size_t max_queue_messages = 100000;  // queue.buffering.max.messages
  size_t max_queue_kbytes = 256 * 1024;  // queue.buffering.max.kbytes
  int linger_ms = 5;  // batching delay (linger.ms)
  bool idempotent = true;  // enable.idempotence=true, acks=all: no reordering or duplicates on retry
  // Any other librdkafka property (message.timeout.ms, compression.type, security.protocol, ...);
  // applied last, so it overrides the fields above.
  std::map<std::string, std::string> extra;
  // Optional. Called for every record, delivered or failed, from poll()/flush().
  DeliveryCallback on_delivery;
  // Optional. Client-level errors, from poll()/flush().
  ClientErrorCallback on_error;
};

struct ProducerStats {
  uint64_t queued = 0;      // accepted by send()
  uint64_t delivered = 0;   // acknowledged by the broker
  uint64_t failed = 0;      // delivery failed (timeout, broker error, purged at destruction)
  uint64_t queue_full = 0;  // send() refused: local queue full
  uint64_t errors = 0;      // send() refused for another reason (too large, fatal state, bad topic)
};

class Producer {
 public:
  enum class SendResult { queued, queue_full, error };

  // Returns nullptr and sets `error` on a bad configuration. Does not wait for the brokers.
  static std::unique_ptr<Producer> create(const ProducerConfig& config, std::string& error);
  // Does not flush (call flush() first for a graceful stop): whatever is still queued is purged and
  // counted as failed, without calling on_delivery, so destruction never hangs on a dead cluster.
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Copies key, value and headers into librdkafka's queue; returns without waiting. The partition
  // is chosen from the key (same key, same partition); an empty key is sent as a null key and lands
  // on a random partition. `error_out`, if given, receives the reason of a non-queued result
  // (e.g. _MSG_SIZE_TOO_LARGE).
  SendResult send(std::string_view topic, std::string_view key, std::string_view value,
                  std::span<const Header> headers, ErrorCode* error_out = nullptr);
  // Same, to an explicit partition (e.g. the downstream partition a target gateway reads). A partition
  // the topic does not have is refused (_UNKNOWN_PARTITION) once the topic's metadata is known, or
  // fails its delivery otherwise.
  SendResult send_to(std::string_view topic, int32_t partition, std::string_view key, std::string_view value,
                     std::span<const Header> headers, ErrorCode* error_out = nullptr);

  // Serves delivery reports and errors, waiting up to timeout_ms (0 = don't wait).
  void poll(int timeout_ms);
  // Waits until every queued record is delivered or failed; false on timeout.
  bool flush(int timeout_ms);

  ProducerStats stats() const;
  // Records librdkafka still holds: queued, in flight, or awaiting their delivery report.
  size_t pending() const;

 private:
  struct State;
  explicit Producer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace wsgw::kafka
