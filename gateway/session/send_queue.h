#pragma once
// A per-session outbound queue bounded in bytes. Overflow policy (named, documented in
// docs/design.md): a volatile message that does not fit is dropped; a non-volatile one first
// evicts queued volatile messages (never the one being written), and if it still does not fit
// the caller must disconnect the session with Disconnect::slow_consumer.
// Storage is a vector with a moving head: no allocation while empty, released when drained.
#include <cstddef>
#include <span>
#include <vector>

#include "gateway/session/wire.h"

namespace wsgw::session {

class SendQueue {
 public:
  struct Entry {
    WireMessagePtr msg;
    bool is_volatile = false;
  };
  enum class PushResult { queued, dropped, overflow };

  // `pinned` = number of entries at the front that a writer has started and must not be evicted.
  PushResult push(WireMessagePtr msg, bool is_volatile, size_t limit_bytes, size_t pinned = 0,
                  size_t* evicted = nullptr);

  bool empty() const { return head_ == entries_.size(); }
  size_t size() const { return entries_.size() - head_; }
  size_t bytes() const { return bytes_; }
  std::span<Entry> pending() { return {entries_.data() + head_, entries_.size() - head_}; }
  void pop_front(size_t n);
  void clear();

 private:
  std::vector<Entry> entries_;
  size_t head_ = 0;
  size_t bytes_ = 0;
};

}  // namespace wsgw::session
