#pragma once
// Deciding when a gateway must register its sessions in Redis again (docs/cluster.md,
// "Liveness"). Pure and clock-free, so every case is unit-tested.
//
// Each heartbeat returns the node's previous heartbeat. The node's sessions may be missing
// from Redis when:
//  - the answer is "unknown node" (Redis restarted empty, or a reaper removed the node and
//    every session of it);
//  - the previous heartbeat is not one this process wrote: the entry was recreated meanwhile
//    (after a restart, a new session's registration adds its node with its connect time
//    before our next heartbeat gets there);
//  - the previous heartbeat is older than `max_silence_ms`: we were silent long enough for a
//    reaper to start on our sessions.
// Re-registering when in doubt is harmless (a registration replaces the record atomically),
// so the rules lean that way. The very first answer after start-up never asks for it.
#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

namespace wsgw::cluster {

class HeartbeatTracker {
 public:
  explicit HeartbeatTracker(int64_t max_silence_ms) : max_silence_ms_(max_silence_ms) {}

  // Before submitting the heartbeat carrying `beat_ms`.
  void sent(int64_t beat_ms);
  // The heartbeat carrying `beat_ms` was answered with `previous`. True: re-register.
  bool answered(int64_t beat_ms, std::optional<int64_t> previous);
  // It failed (it may still have run: Redis does not say), so its value stays a possible
  // "previous" of later answers.
  void failed(int64_t beat_ms);

 private:
  static constexpr size_t kMaxUnconfirmed = 16;  // beats sent during an outage we remember
  std::mutex mutex_;
  const int64_t max_silence_ms_;
  std::optional<int64_t> confirmed_;   // the last beat Redis confirmed
  std::vector<int64_t> unconfirmed_;   // sent, not (yet) confirmed
};

}  // namespace wsgw::cluster
