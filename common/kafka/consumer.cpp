#include "common/kafka/consumer.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <array>
#include <chrono>

#include "common/kafka/client_internal.h"

namespace wsgw::kafka {

namespace {

// Looking partitions up needs a metadata round trip; a zero-timeout poll must still be able to do it.
constexpr int kMinMetadataWaitMs = 200;
constexpr auto kAssignRetryInterval = std::chrono::seconds(1);
// Looking up committed offsets and partition ends when partitions are assigned.
constexpr int kOffsetLookupTimeoutMs = 2000;

}  // namespace

struct Consumer::State : detail::ErrorSink {
  detail::HandlePtr handle;
  // The record the caller's Message views; librdkafka's buffer lives until we destroy it.
  rd_kafka_message_t* current = nullptr;
  bool closed = false;
  ConsumerStats stats;

  // Manual assignment.
  bool manual = false;
  bool assigned = false;
  int64_t start_offset = RD_KAFKA_OFFSET_END;
  std::vector<std::string> whole_topics;
  std::vector<TopicPartition> single_partitions;
  std::chrono::steady_clock::time_point next_assign_attempt{};

  ~State() override {
    // Records must be gone before the handle: each holds references that rd_kafka_destroy waits for.
    release_current();
  }

  void release_current() {
    if (current != nullptr) rd_kafka_message_destroy(current);
    current = nullptr;
  }

  void report(ErrorCode code, std::string_view reason) {
    ++stats.errors;
    if (on_error) on_error(ClientError{code, reason, false});
  }

  // Gives every partition of `list` whose offset is still logical (no committed offset, or
  // none looked up) an explicit one: its current end for "latest", its start for "earliest".
  // Doing this BEFORE the partitions are assigned is what makes "assigned" mean "every record
  // produced from now on will be read": librdkafka would otherwise resolve "latest" a moment
  // after the assignment, and records produced in between would be skipped.
  bool pin_start_offsets(rd_kafka_topic_partition_list_t* list, int timeout_ms) {
    rd_kafka_t* rk = handle.get();
    for (int i = 0; i < list->cnt; ++i) {
      rd_kafka_topic_partition_t& tp = list->elems[i];
      if (tp.offset >= 0) continue;  // a committed offset: resume there
      int64_t low = 0, high = 0;
      const rd_kafka_resp_err_t error =
          rd_kafka_query_watermark_offsets(rk, tp.topic, tp.partition, &low, &high, timeout_ms);
      if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
        report(error, std::string("kafka consumer: looking up the offsets of ") + tp.topic + ": " +
                          rd_kafka_err2str(error));
        return false;
      }
      tp.offset = start_offset == RD_KAFKA_OFFSET_BEGINNING ? low : high;
    }
    return true;
  }

  // Balanced mode: partitions given to this member start at their committed offsets, or at
  // pinned ones (pin_start_offsets) when the group has none.
  static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t reason,
                           rd_kafka_topic_partition_list_t* partitions, void* opaque) {
    auto* state = static_cast<State*>(static_cast<detail::ErrorSink*>(opaque));
    if (reason != RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      rd_kafka_assign(rk, nullptr);  // revoked (or an error): give everything up
      return;
    }
    // Best effort: when the lookups fail, librdkafka's own reset policy decides.
    if (rd_kafka_committed(rk, partitions, kOffsetLookupTimeoutMs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      state->pin_start_offsets(partitions, kOffsetLookupTimeoutMs);
    }
    rd_kafka_assign(rk, partitions);
  }

  // Assigns everything configured, or nothing (so a missing piece is retried as a whole).
  bool assign_manually(int timeout_ms) {
    rd_kafka_t* rk = handle.get();
    rd_kafka_topic_partition_list_t* assignment = rd_kafka_topic_partition_list_new(0);
    std::vector<std::string> topics = whole_topics;
    for (const TopicPartition& single : single_partitions) topics.push_back(single.topic);
    std::sort(topics.begin(), topics.end());
    topics.erase(std::unique(topics.begin(), topics.end()), topics.end());

    bool ok = true;
    for (const std::string& topic : topics) {
      rd_kafka_topic_t* topic_handle = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
      const rd_kafka_metadata_t* metadata = nullptr;
      rd_kafka_resp_err_t error = rd_kafka_metadata(rk, 0, topic_handle, &metadata, timeout_ms);
      rd_kafka_topic_destroy(topic_handle);
      std::string problem;
      if (error == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const rd_kafka_metadata_topic_t* described = metadata->topic_cnt == 1 ? &metadata->topics[0] : nullptr;
        if (described == nullptr || described->err != RD_KAFKA_RESP_ERR_NO_ERROR || described->partition_cnt == 0) {
          error = described != nullptr && described->err != RD_KAFKA_RESP_ERR_NO_ERROR
                      ? described->err
                      : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
        } else {
          auto exists = [&](int32_t partition) {
            for (int i = 0; i < described->partition_cnt; ++i) {
              if (described->partitions[i].id == partition) return true;
            }
            return false;
          };
          if (std::find(whole_topics.begin(), whole_topics.end(), topic) != whole_topics.end()) {
            for (int i = 0; i < described->partition_cnt; ++i) {
              rd_kafka_topic_partition_list_add(assignment, topic.c_str(), described->partitions[i].id);
            }
          }
          for (const TopicPartition& single : single_partitions) {
            if (single.topic != topic) continue;
            if (!exists(single.partition)) {
              error = RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION;
              problem = "partition " + std::to_string(single.partition) + " of " + topic + " does not exist";
              break;
            }
            if (rd_kafka_topic_partition_list_find(assignment, topic.c_str(), single.partition) == nullptr) {
              rd_kafka_topic_partition_list_add(assignment, topic.c_str(), single.partition);
            }
          }
        }
      }
      if (metadata != nullptr) rd_kafka_metadata_destroy(metadata);
      if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (problem.empty()) problem = "cannot look up the partitions of " + topic + ": " + rd_kafka_err2str(error);
        report(error, "kafka consumer: " + problem);
        ok = false;
        break;
      }
    }
    if (ok) {
      for (int i = 0; i < assignment->cnt; ++i) assignment->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
      ok = pin_start_offsets(assignment, std::max(timeout_ms, 1000));
    }
    if (ok) {
      const rd_kafka_resp_err_t error = rd_kafka_assign(rk, assignment);
      if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
        report(error, std::string("kafka consumer: assign: ") + rd_kafka_err2str(error));
        ok = false;
      }
    }
    rd_kafka_topic_partition_list_destroy(assignment);
    return ok;
  }
};

std::unique_ptr<Consumer> Consumer::create(const ConsumerConfig& config, std::string& error) {
  if (config.brokers.empty()) {
    error = "kafka consumer: no brokers configured";
    return nullptr;
  }
  if (config.group_id.empty()) {
    error = "kafka consumer: group_id is required";
    return nullptr;
  }
  auto valid_topic = [](const std::string& topic) {
    return !topic.empty() && topic.find('\0') == std::string::npos;
  };
  for (const std::string& topic : config.topics) {
    if (!valid_topic(topic)) {
      error = "kafka consumer: invalid topic name";
      return nullptr;
    }
  }
  for (const TopicPartition& single : config.partitions) {
    if (!valid_topic(single.topic) || single.partition < 0) {
      error = "kafka consumer: invalid partition " + single.topic + "/" + std::to_string(single.partition);
      return nullptr;
    }
  }
  if (!config.partitions.empty() && !config.manual_assignment) {
    error = "kafka consumer: single partitions need manual_assignment";
    return nullptr;
  }
  if (config.topics.empty() && config.partitions.empty()) {
    error = "kafka consumer: no topics or partitions to read";
    return nullptr;
  }
  if (config.auto_offset_reset != "latest" && config.auto_offset_reset != "earliest") {
    error = "kafka consumer: auto_offset_reset must be \"latest\" or \"earliest\", not \"" +
            config.auto_offset_reset + "\"";
    return nullptr;
  }

  auto state = std::make_unique<State>();
  state->on_error = config.on_error;
  state->manual = config.manual_assignment;
  state->whole_topics = config.topics;
  state->single_partitions = config.partitions;
  state->start_offset = config.auto_offset_reset == "earliest" ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;

  detail::ConfPtr conf(rd_kafka_conf_new());
  std::map<std::string, std::string> properties = {
      {"bootstrap.servers", config.brokers},
      {"group.id", config.group_id},
      {"auto.offset.reset", config.auto_offset_reset},
      // End-of-partition events are noise for a live stream.
      {"enable.partition.eof", "false"},
      // A real broker answers a fetch as soon as a record arrives; librdkafka's mock cluster
      // (the local demo's Kafka) was seen answering only at the deadline, which made pushes
      // wait 0-500 ms there. 100 ms bounds that at the cost of a few idle fetches per second.
      {"fetch.wait.max.ms", "100"},
  };
  // Without membership there is nothing to resume, and committing outside a group is pointless.
  if (config.manual_assignment) properties["enable.auto.commit"] = "false";
  if (!config.client_id.empty()) properties["client.id"] = config.client_id;
  if (!detail::set_properties(conf.get(), properties, error)) return nullptr;
  if (!detail::set_properties(conf.get(), config.extra, error)) return nullptr;
  detail::route_errors(conf.get(), state.get());
  if (!config.manual_assignment) rd_kafka_conf_set_rebalance_cb(conf.get(), &State::on_rebalance);

  std::array<char, 512> reason{};
  rd_kafka_t* handle = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), reason.data(), reason.size());
  if (handle == nullptr) {
    error = std::string("kafka consumer: ") + reason.data();
    return nullptr;
  }
  conf.release();
  state->handle.reset(handle);
  // One queue for records, errors and rebalances, all served by poll().
  rd_kafka_poll_set_consumer(handle);

  if (!config.manual_assignment) {
    rd_kafka_topic_partition_list_t* topics =
        rd_kafka_topic_partition_list_new(static_cast<int>(config.topics.size()));
    for (const std::string& topic : config.topics) {
      rd_kafka_topic_partition_list_add(topics, topic.c_str(), RD_KAFKA_PARTITION_UA);
    }
    const rd_kafka_resp_err_t subscribe_error = rd_kafka_subscribe(handle, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (subscribe_error != RD_KAFKA_RESP_ERR_NO_ERROR) {
      error = std::string("kafka consumer: subscribe: ") + rd_kafka_err2str(subscribe_error);
      return nullptr;
    }
  }
  return std::unique_ptr<Consumer>(new Consumer(std::move(state)));
}

Consumer::Consumer(std::unique_ptr<State> state) : state_(std::move(state)) {}

Consumer::~Consumer() {
  if (!state_) return;
  close();
  state_->release_current();
  state_->handle.reset();
}

bool Consumer::poll(int timeout_ms, Message& out) {
  State& state = *state_;
  out = Message();
  state.release_current();
  if (state.closed) return false;

  if (state.manual && !state.assigned) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= state.next_assign_attempt) {
      state.assigned = state.assign_manually(std::max(timeout_ms, kMinMetadataWaitMs));
      if (!state.assigned) {
        state.next_assign_attempt = now + kAssignRetryInterval;
        return false;
      }
    }
  }

  rd_kafka_message_t* message = rd_kafka_consumer_poll(state.handle.get(), timeout_ms);
  if (message == nullptr) return false;
  if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    // Consumer errors arrive as records: unknown topic, fetch failure, ...
    state.report(message->err, std::string_view(rd_kafka_message_errstr(message)));
    rd_kafka_message_destroy(message);
    return false;
  }
  ++state.stats.received;
  state.current = message;
  out = Message(message);
  return true;
}

void Consumer::close() {
  State& state = *state_;
  state.release_current();
  if (state.closed) return;
  state.closed = true;
  rd_kafka_consumer_close(state.handle.get());
}

size_t Consumer::assigned_partition_count() const {
  rd_kafka_topic_partition_list_t* partitions = nullptr;
  if (rd_kafka_assignment(state_->handle.get(), &partitions) != RD_KAFKA_RESP_ERR_NO_ERROR) return 0;
  const size_t count = partitions != nullptr ? static_cast<size_t>(partitions->cnt) : 0;
  if (partitions != nullptr) rd_kafka_topic_partition_list_destroy(partitions);
  return count;
}

ConsumerStats Consumer::stats() const { return state_->stats; }

}  // namespace wsgw::kafka
