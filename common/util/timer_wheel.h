#pragma once

// A hashed timing wheel: one per thread (deliberately not thread-safe) so 100k+ sessions
// get heartbeats and timeouts without an OS timer each.
//
// Time is whatever the owner passes in (milliseconds, usually a steady clock), which
// makes the wheel testable with an injected time. Nodes are intrusive: scheduling never
// allocates, and schedule/cancel are O(1). advance() visits each elapsed tick's slot once
// (at most one full revolution however much time passed) and fires the due nodes there;
// nodes due in a later revolution stay in their slot, so any deadline works.
//
// Firing order: by deadline tick; within one tick, in the order the nodes were scheduled.
// After a pause longer than one revolution every due node still fires in that advance(),
// but only roughly in order (each slot is visited once, oldest tick first).

#include <cstddef>
#include <cstdint>
#include <memory>

namespace wsgw::util {

class TimerWheel;

namespace detail {
// The list links, separate from TimerNode so that slot heads can be plain sentinels.
// Distinct names: classes deriving from TimerNode still see these in name lookup.
struct TimerLink {
  TimerLink* wheel_prev = nullptr;
  TimerLink* wheel_next = nullptr;
};
}  // namespace detail

class TimerNode : private detail::TimerLink {
 public:
  TimerNode() = default;
  TimerNode(const TimerNode&) = delete;
  TimerNode& operator=(const TimerNode&) = delete;
  virtual ~TimerNode();  // unlinks itself if armed

  bool armed() const { return wheel_ != nullptr; }
  uint64_t deadline_ms() const { return deadline_ms_; }

 protected:
  // Called once per arming when the deadline has passed; the node is already disarmed, so
  // it may schedule itself again. It may also schedule, cancel or destroy other nodes.
  virtual void on_timer(uint64_t now_ms) = 0;

 private:
  friend class TimerWheel;
  uint64_t deadline_ms_ = 0;
  TimerWheel* wheel_ = nullptr;
};

class TimerWheel {
 public:
  // Throws std::invalid_argument for a zero tick or slot count (startup configuration).
  explicit TimerWheel(uint64_t now_ms, uint32_t tick_ms = 10, uint32_t slot_count = 4096);
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;
  ~TimerWheel();  // disarms nodes still scheduled; their callbacks never run

  // Arms the node (re-arms it if already armed, in this wheel or another). A deadline at or
  // before now_ms() fires on the next advance().
  void schedule(TimerNode& node, uint64_t deadline_ms);
  void cancel(TimerNode& node) noexcept;  // no-op when not armed

  // Fires every armed node whose deadline is <= now_ms (time never moves backwards: an
  // earlier now_ms counts as now_ms()). Returns how many fired. Not reentrant: a call from
  // inside a callback does nothing and returns 0. Callbacks must not throw (noexcept: a
  // throwing callback terminates rather than leaving the wheel half-updated).
  size_t advance(uint64_t now_ms) noexcept;

  size_t size() const { return size_; }
  uint64_t now_ms() const { return now_ms_; }
  uint32_t tick_ms() const { return tick_ms_; }

 private:
  using Link = detail::TimerLink;

  Link& slot_for_tick(uint64_t tick) { return slots_[tick % slot_count_]; }
  static void link_before(Link& head, Link& link);
  static void unlink(Link& link);
  void insert(TimerNode& node);

  std::unique_ptr<Link[]> slots_;
  uint32_t slot_count_;
  uint32_t tick_ms_;
  uint64_t now_ms_;
  // The tick of now_ms_: advance() starts at its slot, since it may hold nodes due later
  // within that tick, and nodes that were already due when scheduled.
  uint64_t cursor_tick_;
  size_t size_ = 0;
  bool advancing_ = false;
};

}  // namespace wsgw::util
