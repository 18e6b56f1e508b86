#pragma once
// Kafka consumer over librdkafka, in one of two modes:
//
//  * Balanced group (default): members sharing group_id split the partitions of `topics` between
//    them and rebalance when one joins or leaves. Right for ws-api replicas reading wsgw.upstream
//    (one group, e.g. "wsgw-api"). Offsets are committed automatically (enable.auto.commit, every 5 s,
//    for records poll() returned), so a group resumes where it left off; a new group starts at
//    auto_offset_reset. Joining costs the broker's group.initial.rebalance.delay.ms (3 s by default).
//
//  * Manual assignment (manual_assignment = true): the consumer takes every partition of `topics`
//    plus the listed `partitions` itself, with no group membership, no rebalances and no commits; it
//    starts at auto_offset_reset every time. Right for gateways: a gateway must see every record
//    meant for it, whatever other gateways read, it is live within milliseconds instead of waiting
//    for a group join, and a restarted gateway has no sessions to resume for. E.g. its own partition
//    of wsgw.downstream in `partitions` and the broadcast topic in `topics` (docs/cluster.md).
//    Partitions added to a topic later are not picked up until the consumer is recreated.
//
//    (A gateway that used the balanced mode instead would need a group of its own per node, e.g.
//    "wsgw-gw-<node>", since a shared group splits the records between gateways, and
//    extra["group.instance.id"] = <node>, so a crash-restart replaces its old member at once instead
//    of stalling the group until the old member's session times out.)
//
// Threads: one thread owns a Consumer (poll, close, destruction).
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/kafka/error.h"
#include "common/kafka/message.h"

namespace wsgw::kafka {

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
};

struct ConsumerConfig {
  std::string brokers;
  std::string group_id;  // required by librdkafka in both modes (manual mode commits nothing under it)
  std::string client_id;
  std::vector<std::string> topics;  // balanced: subscribed; manual: all their partitions are read
  bool manual_assignment = false;
  std::vector<TopicPartition> partitions;  // manual mode only: single partitions to read
  // Where reading starts without a committed offset: "latest" (only new records) or "earliest".
  std::string auto_offset_reset = "latest";
  std::map<std::string, std::string> extra;  // any other librdkafka property, applied last
  ClientErrorCallback on_error;  // optional; also receives per-partition errors (e.g. unknown topic)
};

struct ConsumerStats {
  uint64_t received = 0;  // records returned by poll()
  uint64_t errors = 0;    // error events seen by poll()
};

class Consumer {
 public:
  // Balanced: subscribes; partitions arrive asynchronously as the group is joined.
  // Manual: the partitions are looked up and assigned on the first poll(), all or none; while a topic
  // or partition is missing or the cluster unreachable, that is retried every second and each
  // failure reported to on_error.
  // Returns nullptr and sets `error` on a bad configuration; never waits for the cluster.
  static std::unique_ptr<Consumer> create(const ConsumerConfig& config, std::string& error);
  ~Consumer();  // close()s if not yet closed
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // Waits up to timeout_ms for one record. True: `out` views it until the next poll()/close()/
  // destruction (see message.h). False: nothing arrived (timeout, an error event that went to
  // on_error, or the consumer is closed) and `out` is reset to an invalid Message.
  // The previous record's views die as soon as this is called.
  // In manual mode, until the partitions are assigned, looking them up may take up to
  // max(timeout_ms, 200) ms.
  bool poll(int timeout_ms, Message& out);

  // Balanced: commits offsets and leaves the group, so partitions move to the other members at once.
  // Idempotent; poll() returns false afterwards.
  void close();

  // Partitions currently assigned (0 before the group is joined or the partitions are looked up):
  // a readiness signal. Start offsets are fixed before partitions count as assigned (the end
  // of each partition for "latest", looked up then), so every record produced after this
  // turned positive is read.
  size_t assigned_partition_count() const;
  ConsumerStats stats() const;

 private:
  struct State;
  explicit Consumer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace wsgw::kafka
