#include "common/kafka/admin.h"

#include <librdkafka/rdkafka.h>

#include <array>
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "common/kafka/client_internal.h"

namespace wsgw::kafka {

namespace {

struct NewTopicsDeleter {
  std::vector<rd_kafka_NewTopic_t*>* topics;
  ~NewTopicsDeleter() {
    if (!topics->empty()) rd_kafka_NewTopic_destroy_array(topics->data(), topics->size());
  }
};

// The client's own errors while the request waits (all brokers down, authentication failed):
// they explain a timeout, and an authentication failure ends the wait at once.
struct ClientErrors {
  std::mutex mutex;
  std::string last;
  bool fatal = false;  // authentication: retrying cannot help
};

void on_client_error(rd_kafka_t*, int err, const char* reason, void* opaque) {
  auto* errors = static_cast<ClientErrors*>(opaque);
  std::lock_guard lock(errors->mutex);
  if (errors->fatal) return;  // keep the reason ("1/1 brokers are down" follows it)
  errors->last = reason != nullptr ? reason : rd_kafka_err2str(static_cast<rd_kafka_resp_err_t>(err));
  if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION) errors->fatal = true;
}

}  // namespace

bool create_topics(std::string_view brokers, const std::vector<TopicSpec>& topics, std::string& error, int timeout_ms,
                   const std::map<std::string, std::string>& extra) {
  if (topics.empty()) return true;
  if (brokers.empty()) {
    error = "kafka admin: no brokers configured";
    return false;
  }
  detail::ConfPtr conf(rd_kafka_conf_new());
  if (!detail::set_property(conf.get(), "bootstrap.servers", std::string(brokers), error)) return false;
  if (!detail::set_properties(conf.get(), extra, error)) return false;
  ClientErrors client_errors;
  rd_kafka_conf_set_opaque(conf.get(), &client_errors);
  rd_kafka_conf_set_error_cb(conf.get(), on_client_error);
  std::array<char, 512> reason{};
  // Admin requests run on any client instance; a producer needs no group.
  detail::HandlePtr handle(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), reason.data(), reason.size()));
  if (!handle) {
    error = std::string("kafka admin: ") + reason.data();
    return false;
  }
  conf.release();

  std::vector<rd_kafka_NewTopic_t*> new_topics;
  NewTopicsDeleter delete_new_topics{&new_topics};
  for (const TopicSpec& spec : topics) {
    // librdkafka lets 0 through to the broker; catch it here, with the other nonsense.
    if (spec.name.empty() || spec.name.find('\0') != std::string::npos || spec.partitions == 0 ||
        spec.partitions < -1 || spec.replication_factor == 0 || spec.replication_factor < -1) {
      error = "kafka admin: invalid topic spec \"" + spec.name + "\": partitions " +
              std::to_string(spec.partitions) + ", replication factor " + std::to_string(spec.replication_factor);
      return false;
    }
    rd_kafka_NewTopic_t* new_topic = rd_kafka_NewTopic_new(spec.name.c_str(), spec.partitions,
                                                           spec.replication_factor, reason.data(), reason.size());
    if (new_topic == nullptr) {
      error = "kafka admin: topic " + spec.name + ": " + reason.data();
      return false;
    }
    new_topics.push_back(new_topic);
  }

  rd_kafka_AdminOptions_t* options = rd_kafka_AdminOptions_new(handle.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS);
  // Both the request and the broker's wait for the controller are bounded by timeout_ms.
  rd_kafka_AdminOptions_set_request_timeout(options, timeout_ms, nullptr, 0);
  rd_kafka_AdminOptions_set_operation_timeout(options, timeout_ms, nullptr, 0);
  rd_kafka_queue_t* queue = rd_kafka_queue_new(handle.get());
  rd_kafka_CreateTopics(handle.get(), new_topics.data(), new_topics.size(), options, queue);
  rd_kafka_AdminOptions_destroy(options);

  // A small margin over the request timeout: librdkafka posts the timeout result itself. Polled
  // in slices, so an authentication failure (error callback, served by rd_kafka_poll) ends it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms + 1000);
  rd_kafka_event_t* event = nullptr;
  std::string client_error;
  bool fatal = false;
  while (event == nullptr && !fatal && std::chrono::steady_clock::now() < deadline) {
    event = rd_kafka_queue_poll(queue, 100);
    rd_kafka_poll(handle.get(), 0);
    std::lock_guard lock(client_errors.mutex);
    client_error = client_errors.last;
    fatal = client_errors.fatal;
  }
  const std::string because = client_error.empty() ? "" : " (client error: " + client_error + ")";
  bool ok = true;
  if (event == nullptr) {
    error = fatal ? "kafka admin: " + client_error : "kafka admin: CreateTopics timed out" + because;
    ok = false;
  } else if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    error = std::string("kafka admin: CreateTopics: ") + rd_kafka_event_error_string(event) + because;
    ok = false;
  } else {
    const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(event);
    size_t count = 0;
    const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(result, &count);
    std::string failures;
    for (size_t i = 0; i < count; ++i) {
      const rd_kafka_resp_err_t topic_error = rd_kafka_topic_result_error(results[i]);
      if (topic_error == RD_KAFKA_RESP_ERR_NO_ERROR || topic_error == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        continue;
      }
      if (!failures.empty()) failures += "; ";
      const char* message = rd_kafka_topic_result_error_string(results[i]);
      failures += std::string("topic ") + rd_kafka_topic_result_name(results[i]) + ": " +
               (message != nullptr ? message : rd_kafka_err2str(topic_error));
      ok = false;
    }
    if (!ok) error = "kafka admin: " + failures;
  }
  if (event != nullptr) rd_kafka_event_destroy(event);
  rd_kafka_queue_destroy(queue);
  return ok;
}

}  // namespace wsgw::kafka
