#pragma once
// Gateway node liveness and the reaping of dead nodes' sessions.
//
// Each node heart-beats its name with the current time into one sorted set. A reaper (any
// node, or ws-api) lists the nodes whose heartbeat is older than a timeout and reaps them:
// their sessions are removed from every index and handed back, batch by batch, so that the
// reaper emits the matching `disconnect` events. SPOP inside the script gives each session to
// exactly one reaper, so two reapers running at once never report one twice, and a reap
// repeated after completion returns nothing. Each batch re-checks the heartbeat: a node that
// comes back mid-reap stops the reap. The node's name leaves the set only when all its
// sessions are gone, so a reaper that crashes half-way leaves the rest to the next one.
//
// Delivery of the returned records is at-most-once: a reaper that dies between a batch's reply
// and emitting its events loses those events (the Redis state is still cleaned).
//
// Async contract as in SessionRegistry: false = queue full / stopping (no callback), otherwise
// exactly one callback (per batch for reap) on the Redis client thread.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/redis/client.h"
#include "common/redis/keys.h"
#include "common/redis/result.h"
#include "common/redis/session_record.h"

namespace wsgw::redis {

struct ReapBatch {
  std::vector<SessionRecord> sessions;  // removed by this batch; emit their disconnects
  bool finished = false;    // no sessions left; the node is forgotten
  bool node_alive = false;  // the node heart-beat within the timeout: nothing was reaped
};

class NodeRegistry {
 public:
  using ReapCallback = std::function<void(Result<ReapBatch>)>;

  explicit NodeRegistry(Client& client, std::string key_prefix = std::string(kDefaultKeyPrefix));

  // Records `now_ms` as the node's heartbeat. value: the previous heartbeat, or nullopt when the
  // node was unknown (first start, or it was reaped: its sessions are gone from Redis and it
  // should register them again). A previous heartbeat older than the reapers' timeout also
  // means a reap may have started.
  bool heartbeat(std::string_view node, int64_t now_ms, ResultCallback<std::optional<int64_t>> done = {});
  // Nodes whose last heartbeat is at or before now - timeout.
  bool dead_nodes(int64_t now_ms, int64_t timeout_ms, ResultCallback<std::vector<std::string>> done);
  // Nodes that heart-beat after now - timeout (e.g. the targets of a broadcast).
  bool live_nodes(int64_t now_ms, int64_t timeout_ms, ResultCallback<std::vector<std::string>> done);
  // Reaps a node whose heartbeat is at or before now - timeout (timeout 0 reaps any node: a
  // node can reap itself on shutdown). Calls `on_batch` once per batch of up to `batch_size`
  // sessions until a batch is finished, finds the node alive, or fails.
  bool reap(std::string node, int64_t now_ms, int64_t timeout_ms, ReapCallback on_batch,
            size_t batch_size = 500);

  const KeySchema& keys() const { return keys_; }

 private:
  Client& client_;
  KeySchema keys_;
};

}  // namespace wsgw::redis
