#include "common/redis/worker_id_lease.h"

#include <algorithm>
#include <memory>

#include "common/redis/lua_scripts.h"
#include "common/redis/session_registry.h"

namespace wsgw::redis {

WorkerIdLease::WorkerIdLease(Client& client, std::string key_prefix, uint16_t max_id,
                             std::chrono::milliseconds remember)
    : client_(client), keys_(std::move(key_prefix)), max_id_(std::min(max_id, kMaxWorkerId)),
      remember_(std::max(remember, std::chrono::milliseconds(1))) {}

int64_t WorkerIdLease::steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Result<uint16_t> WorkerIdLease::acquire(std::string node_name, std::chrono::milliseconds ttl,
                                        std::chrono::milliseconds timeout) {
  if (node_name.empty()) return Result<uint16_t>::failure("empty node name");
  if (ttl.count() < 1) return Result<uint16_t>::failure("lease TTL must be positive");
  const int64_t started = steady_ms();
  Command args{"acquire", keys_.prefix(), node_name};
  args.arg(static_cast<int64_t>(ttl.count()))
      .arg(static_cast<int64_t>(std::max(remember_, ttl).count()))
      .arg(static_cast<int64_t>(max_id_));
  Reply r = client_.script_sync(lua::worker_id_script(), std::move(args), 0, timeout);
  if (!r.is_integer()) return Result<uint16_t>::failure(detail::reply_error(r));
  if (r.integer() < 0 || r.integer() > max_id_) {
    return Result<uint16_t>::failure("no free worker id (all " + std::to_string(max_id_ + 1) + " are leased)");
  }
  node_ = std::move(node_name);
  ttl_ = ttl;
  // Counted from before the request: the TTL started somewhere in between.
  confirmed_ = std::make_shared<Confirmation>();
  confirmed_->at_ms = started;
  confirmed_->ttl_ms = ttl.count();
  id_ = static_cast<int>(r.integer());
  return Result<uint16_t>::success(static_cast<uint16_t>(r.integer()));
}

bool WorkerIdLease::renew(std::function<void(RenewStatus)> done) {
  const int id = id_.load();
  if (id < 0) return false;
  const int64_t started = steady_ms();
  Command args{"renew", keys_.prefix(), node_};
  args.arg(static_cast<int64_t>(id))
      .arg(static_cast<int64_t>(ttl_.count()))
      .arg(static_cast<int64_t>(std::max(remember_, ttl_).count()));
  return client_.submit_script(
      lua::worker_id_script(), std::move(args), 0,
      [confirmed = confirmed_, started, done = std::move(done)](Reply r) {
        RenewStatus status;
        if (r.is_integer()) {
          status = r.integer() == 1 ? RenewStatus::renewed : RenewStatus::lost;
          if (status == RenewStatus::renewed) {
            int64_t prev = confirmed->at_ms.load();
            while (prev < started && !confirmed->at_ms.compare_exchange_weak(prev, started)) {
            }
          }
        } else {
          status = confirmed->expired(steady_ms()) ? RenewStatus::lost : RenewStatus::unreachable;
        }
        if (done) done(status);
      });
}

Result<bool> WorkerIdLease::release(std::chrono::milliseconds timeout) {
  const int id = id_.exchange(-1);
  if (id < 0) return Result<bool>::success(false);
  Command args{"release", keys_.prefix(), node_};
  args.arg(static_cast<int64_t>(id));
  Reply r = client_.script_sync(lua::worker_id_script(), std::move(args), 0, timeout);
  if (!r.is_integer()) return Result<bool>::failure(detail::reply_error(r));
  return Result<bool>::success(r.integer() == 1);
}

std::optional<uint16_t> WorkerIdLease::id() const {
  const int id = id_.load();
  if (id < 0) return std::nullopt;
  return static_cast<uint16_t>(id);
}

bool WorkerIdLease::expired_locally() const {
  if (id_.load() < 0) return true;
  return confirmed_->expired(steady_ms());
}

}  // namespace wsgw::redis
