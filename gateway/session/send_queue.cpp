#include "gateway/session/send_queue.h"

#include <algorithm>

namespace wsgw::session {

SendQueue::PushResult SendQueue::push(WireMessagePtr msg, bool is_volatile, size_t limit_bytes,
                                      size_t pinned, size_t* evicted) {
  const size_t need = msg->bytes;
  if (bytes_ + need > limit_bytes) {
    if (is_volatile) return PushResult::dropped;
    // Evict queued volatile messages behind the pinned ones until the new message fits.
    size_t removed = 0;
    auto first = entries_.begin() + static_cast<std::ptrdiff_t>(head_ + std::min(pinned, size()));
    auto keep = std::remove_if(first, entries_.end(), [&](const Entry& e) {
      if (!e.is_volatile || bytes_ + need <= limit_bytes) return false;
      bytes_ -= e.msg->bytes;
      ++removed;
      return true;
    });
    entries_.erase(keep, entries_.end());
    if (evicted) *evicted = removed;
    if (bytes_ + need > limit_bytes) return PushResult::overflow;
  }
  if (head_ > 0 && head_ == entries_.size()) clear();
  entries_.push_back(Entry{std::move(msg), is_volatile});
  bytes_ += need;
  return PushResult::queued;
}

void SendQueue::pop_front(size_t n) {
  n = std::min(n, size());
  for (size_t i = 0; i < n; ++i) {
    bytes_ -= entries_[head_].msg->bytes;
    entries_[head_].msg.reset();
    ++head_;
  }
  if (head_ == entries_.size()) {
    clear();
  } else if (head_ > 64 && head_ * 2 > entries_.size()) {
    entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
}

void SendQueue::clear() {
  // Release the storage too: an idle connection should own no queue memory.
  std::vector<Entry>().swap(entries_);
  head_ = 0;
  bytes_ = 0;
}

}  // namespace wsgw::session
