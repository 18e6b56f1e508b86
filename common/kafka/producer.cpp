#include "common/kafka/producer.h"

#include <librdkafka/rdkafka.h>

#include <array>
#include <mutex>
#include <shared_mutex>

#include "common/kafka/client_internal.h"

namespace wsgw::kafka {

struct Producer::State : detail::ErrorSink {
  detail::HandlePtr handle;
  DeliveryCallback on_delivery;
  // Set while the destructor purges: those reports are counted but not passed to on_delivery, whose
  // captures may already be gone.
  std::atomic<bool> shutting_down{false};

  std::atomic<uint64_t> queued{0};
  std::atomic<uint64_t> delivered{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<uint64_t> queue_full{0};
  std::atomic<uint64_t> errors{0};

  // Topic handles, created on first use: a handle per send would take librdkafka's topic lock and
  // a NUL-terminated copy of the name every time. Only a few topics exist, so the map stays tiny.
  std::shared_mutex topics_mutex;
  std::map<std::string, rd_kafka_topic_t*, std::less<>> topics;

  ~State() override {
    for (auto& [name, topic] : topics) rd_kafka_topic_destroy(topic);
    topics.clear();
  }

  // librdkafka's delivery report callback, served from poll()/flush().
  static void on_delivery_report(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
    auto* state = static_cast<State*>(static_cast<detail::ErrorSink*>(opaque));
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      state->delivered.fetch_add(1, std::memory_order_relaxed);
    } else {
      state->failed.fetch_add(1, std::memory_order_relaxed);
    }
    if (state->on_delivery && !state->shutting_down.load(std::memory_order_relaxed)) {
      state->on_delivery(DeliveryReport{Message(message), message->err});
    }
  }

  rd_kafka_topic_t* topic_handle(std::string_view name) {
    {
      std::shared_lock lock(topics_mutex);
      if (auto it = topics.find(name); it != topics.end()) return it->second;
    }
    if (name.empty() || name.find('\0') != std::string_view::npos) return nullptr;
    std::unique_lock lock(topics_mutex);
    if (auto it = topics.find(name); it != topics.end()) return it->second;
    std::string owned(name);
    rd_kafka_topic_t* topic = rd_kafka_topic_new(handle.get(), owned.c_str(), nullptr);
    if (topic != nullptr) topics.emplace(std::move(owned), topic);
    return topic;
  }
};

std::unique_ptr<Producer> Producer::create(const ProducerConfig& config, std::string& error) {
  if (config.brokers.empty()) {
    error = "kafka producer: no brokers configured";
    return nullptr;
  }
  auto state = std::make_unique<State>();
  state->on_delivery = config.on_delivery;
  state->on_error = config.on_error;

  detail::ConfPtr conf(rd_kafka_conf_new());
  std::map<std::string, std::string> properties = {
      {"bootstrap.servers", config.brokers},
      {"queue.buffering.max.messages", std::to_string(config.max_queue_messages)},
      {"queue.buffering.max.kbytes", std::to_string(config.max_queue_kbytes)},
      {"linger.ms", std::to_string(config.linger_ms)},
      {"enable.idempotence", config.idempotent ? "true" : "false"},
  };
  if (!config.client_id.empty()) properties["client.id"] = config.client_id;
  if (config.idempotent) properties["acks"] = "all";
  if (!detail::set_properties(conf.get(), properties, error)) return nullptr;
  if (!detail::set_properties(conf.get(), config.extra, error)) return nullptr;

  rd_kafka_conf_set_dr_msg_cb(conf.get(), State::on_delivery_report);
  detail::route_errors(conf.get(), state.get());

  std::array<char, 512> reason{};
  rd_kafka_t* handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), reason.data(), reason.size());
  if (handle == nullptr) {
    error = std::string("kafka producer: ") + reason.data();
    return nullptr;
  }
  conf.release();  // rd_kafka_new took it
  state->handle.reset(handle);
  return std::unique_ptr<Producer>(new Producer(std::move(state)));
}

Producer::Producer(std::unique_ptr<State> state) : state_(std::move(state)) {}

Producer::~Producer() {
  if (!state_ || !state_->handle) return;
  state_->shutting_down.store(true);
  rd_kafka_t* handle = state_->handle.get();
  // Purged records get delivery reports (_PURGE_QUEUE / _PURGE_INFLIGHT); serve them so the counters
  // add up, then let rd_kafka_destroy() tear down without waiting for the brokers.
  rd_kafka_purge(handle, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_poll(handle, 0);
  for (auto& [name, topic] : state_->topics) rd_kafka_topic_destroy(topic);
  state_->topics.clear();
  state_->handle.reset();
}

Producer::SendResult Producer::send(std::string_view topic, std::string_view key, std::string_view value,
                                    std::span<const Header> headers, ErrorCode* error_out) {
  return send_to(topic, RD_KAFKA_PARTITION_UA, key, value, headers, error_out);
}

Producer::SendResult Producer::send_to(std::string_view topic, int32_t partition, std::string_view key,
                                       std::string_view value, std::span<const Header> headers,
                                       ErrorCode* error_out) {
  State& state = *state_;
  auto refuse = [&](rd_kafka_resp_err_t code) {
    if (error_out != nullptr) *error_out = code;
    if (code == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      state.queue_full.fetch_add(1, std::memory_order_relaxed);
      return SendResult::queue_full;
    }
    state.errors.fetch_add(1, std::memory_order_relaxed);
    return SendResult::error;
  };

  if (partition < 0 && partition != RD_KAFKA_PARTITION_UA) return refuse(RD_KAFKA_RESP_ERR__INVALID_ARG);
  rd_kafka_topic_t* topic_handle = state.topic_handle(topic);
  if (topic_handle == nullptr) return refuse(RD_KAFKA_RESP_ERR__INVALID_ARG);

  rd_kafka_headers_t* record_headers = nullptr;
  if (!headers.empty()) {
    record_headers = rd_kafka_headers_new(headers.size());
    for (const Header& header : headers) {
      // A NUL would silently cut the name short on the wire.
      if (header.name.empty() || header.name.find('\0') != std::string_view::npos) {
        rd_kafka_headers_destroy(record_headers);
        return refuse(RD_KAFKA_RESP_ERR__INVALID_ARG);
      }
      // A null data pointer would make a null-valued header; ours are always values, maybe empty.
      const char* value_data = header.value.data() != nullptr ? header.value.data() : "";
      rd_kafka_header_add(record_headers, header.name.data(), static_cast<ssize_t>(header.name.size()), value_data,
                          static_cast<ssize_t>(header.value.size()));
    }
  }

  std::array<rd_kafka_vu_t, 6> args{};
  size_t count = 0;
  args[count].vtype = RD_KAFKA_VTYPE_RKT;
  args[count++].u.rkt = topic_handle;
  args[count].vtype = RD_KAFKA_VTYPE_PARTITION;
  args[count++].u.i32 = partition;
  args[count].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
  args[count++].u.i = RD_KAFKA_MSG_F_COPY;  // never RD_KAFKA_MSG_F_BLOCK: send() must not wait
  if (!key.empty()) {
    args[count].vtype = RD_KAFKA_VTYPE_KEY;
    args[count].u.mem.ptr = const_cast<char*>(key.data());
    args[count++].u.mem.size = key.size();
  }
  args[count].vtype = RD_KAFKA_VTYPE_VALUE;
  args[count].u.mem.ptr = const_cast<char*>(value.data() != nullptr ? value.data() : "");
  args[count++].u.mem.size = value.size();
  if (record_headers != nullptr) {
    args[count].vtype = RD_KAFKA_VTYPE_HEADERS;
    args[count++].u.headers = record_headers;
  }

  rd_kafka_error_t* produce_error = rd_kafka_produceva(state.handle.get(), args.data(), count);
  if (produce_error != nullptr) {
    const rd_kafka_resp_err_t code = rd_kafka_error_code(produce_error);
    rd_kafka_error_destroy(produce_error);
    // On failure the headers were not taken over.
    if (record_headers != nullptr) rd_kafka_headers_destroy(record_headers);
    return refuse(code);
  }
  state.queued.fetch_add(1, std::memory_order_relaxed);
  if (error_out != nullptr) *error_out = kNoError;
  return SendResult::queued;
}

void Producer::poll(int timeout_ms) { rd_kafka_poll(state_->handle.get(), timeout_ms); }

bool Producer::flush(int timeout_ms) {
  return rd_kafka_flush(state_->handle.get(), timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR;
}

ProducerStats Producer::stats() const {
  const State& state = *state_;
  ProducerStats stats;
  stats.queued = state.queued.load(std::memory_order_relaxed);
  stats.delivered = state.delivered.load(std::memory_order_relaxed);
  stats.failed = state.failed.load(std::memory_order_relaxed);
  stats.queue_full = state.queue_full.load(std::memory_order_relaxed);
  stats.errors = state.errors.load(std::memory_order_relaxed);
  return stats;
}

size_t Producer::pending() const { return static_cast<size_t>(rd_kafka_outq_len(state_->handle.get())); }

}  // namespace wsgw::kafka
