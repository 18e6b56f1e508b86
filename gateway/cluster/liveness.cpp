#include "gateway/cluster/liveness.h"

#include <algorithm>

namespace wsgw::cluster {

void HeartbeatTracker::sent(int64_t beat_ms) {
  std::lock_guard lock(mutex_);
  if (unconfirmed_.size() >= kMaxUnconfirmed) unconfirmed_.erase(unconfirmed_.begin());
  unconfirmed_.push_back(beat_ms);
}

void HeartbeatTracker::failed(int64_t) {
  // Nothing to do: the beat stays in unconfirmed_ until a later answer supersedes it.
}

bool HeartbeatTracker::answered(int64_t beat_ms, std::optional<int64_t> previous) {
  std::lock_guard lock(mutex_);
  const bool first = !confirmed_.has_value();
  bool ours = false;
  if (previous) {
    ours = (confirmed_ && *previous == *confirmed_) ||
           std::find(unconfirmed_.begin(), unconfirmed_.end(), *previous) != unconfirmed_.end();
  }
  const bool silent_too_long = previous && beat_ms - *previous > max_silence_ms_;
  confirmed_ = beat_ms;
  // Beats up to this one are settled: either confirmed now or superseded.
  std::erase_if(unconfirmed_, [&](int64_t b) { return b <= beat_ms; });
  if (first) return false;  // start-up: there is nothing local to register yet
  return !previous || !ours || silent_too_long;
}

}  // namespace wsgw::cluster
