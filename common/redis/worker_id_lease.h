#pragma once
// A Snowflake worker id (0..1023) leased in Redis, keyed by node name (the pod name).
//
// acquire() takes, atomically in one script: the id this node name held before, if it is free,
// expired, or still held by this same name (a restart keeps its id); otherwise the lowest free
// id. A lease is a key with a TTL, so two live nodes never hold the same id; a node that stops
// renewing loses its id after the TTL and another node may take it.
//
// Node names must be unique among running processes: a second process with the same name
// would be treated as a restart of the first and share its id.
//
// renew() must run well within the TTL (every TTL/3 is a good period). A renew that finds the
// lease held by someone else, or gone, reports `lost`; so does an unreachable Redis once the
// TTL has passed since the last confirmed renewal, because another node may have the id by
// then. A node that lost its lease must stop minting ids with it (drain and restart, or
// acquire again and switch generators).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/redis/client.h"
#include "common/redis/keys.h"
#include "common/redis/result.h"

namespace wsgw::redis {

class WorkerIdLease {
 public:
  enum class RenewStatus : uint8_t { renewed, lost, unreachable };
  static constexpr uint16_t kMaxWorkerId = 1023;  // Snowflake::kMaxWorkerId (10 bits)

  // `remember`: how long Redis remembers a node name's last id after its last renewal.
  explicit WorkerIdLease(Client& client, std::string key_prefix = std::string(kDefaultKeyPrefix),
                         uint16_t max_id = kMaxWorkerId,
                         std::chrono::milliseconds remember = std::chrono::hours(24));

  // Start-up: blocks up to `timeout`. Fails when Redis is unreachable or every id is taken.
  // May be called again after a lost lease, but never concurrently with renew()/release().
  Result<uint16_t> acquire(std::string node_name, std::chrono::milliseconds ttl,
                           std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Asynchronous, from any thread after acquire(); `done` runs on the Redis client thread.
  // Returns false (no callback) when nothing is held or the client queue is full.
  bool renew(std::function<void(RenewStatus)> done = {});
  // Shutdown: gives the id back at once (the node name still remembers it). value: true when
  // this node held it.
  Result<bool> release(std::chrono::milliseconds timeout = std::chrono::seconds(2));

  std::optional<uint16_t> id() const;
  const std::string& node_name() const { return node_; }
  // True once the TTL has passed since the last confirmed acquire/renew: the id may belong to
  // another node now.
  bool expired_locally() const;

 private:
  static int64_t steady_ms();

  Client& client_;
  KeySchema keys_;
  uint16_t max_id_;
  std::chrono::milliseconds remember_;
  std::string node_;
  std::chrono::milliseconds ttl_{0};
  std::atomic<int> id_{-1};
  // Shared with pending renew callbacks, which may run after this object is gone.
  struct Confirmation {
    std::atomic<int64_t> at_ms{0};  // steady clock
    int64_t ttl_ms = 0;
    bool expired(int64_t now_ms) const { return now_ms - at_ms.load() >= ttl_ms; }
  };
  std::shared_ptr<Confirmation> confirmed_ = std::make_shared<Confirmation>();
};

}  // namespace wsgw::redis
