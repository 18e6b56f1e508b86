#pragma once
// Which worker owns a session, for requests that land on another worker (a polling request or
// an upgrade on a new TCP connection: SO_REUSEPORT spreads connections, not sessions).
// Touched once at open, once at close and on such cross-worker requests; never per packet.
#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace wsgw::net {

class SessionDirectory {
 public:
  void add(uint64_t sid, uint32_t worker) {
    auto& s = shard(sid);
    std::lock_guard lock(s.mu);
    s.map[sid] = worker;
  }
  void remove(uint64_t sid) {
    auto& s = shard(sid);
    std::lock_guard lock(s.mu);
    s.map.erase(sid);
  }
  std::optional<uint32_t> find(uint64_t sid) const {
    auto& s = shard(sid);
    std::lock_guard lock(s.mu);
    auto it = s.map.find(sid);
    if (it == s.map.end()) return std::nullopt;
    return it->second;
  }

 private:
  struct alignas(64) Shard {
    mutable std::mutex mu;
    std::unordered_map<uint64_t, uint32_t> map;
  };
  Shard& shard(uint64_t sid) const { return shards_[(sid ^ (sid >> 17)) % shards_.size()]; }
  mutable std::array<Shard, 32> shards_;
};

}  // namespace wsgw::net
