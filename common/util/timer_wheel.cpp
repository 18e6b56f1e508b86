#include "common/util/timer_wheel.h"

#include <algorithm>
#include <stdexcept>

namespace wsgw::util {

TimerNode::~TimerNode() {
  if (wheel_ != nullptr) wheel_->cancel(*this);
}

TimerWheel::TimerWheel(uint64_t now_ms, uint32_t tick_ms, uint32_t slot_count)
    : slot_count_(slot_count), tick_ms_(tick_ms), now_ms_(now_ms) {
  if (tick_ms == 0) throw std::invalid_argument("timer wheel tick must be at least 1 ms");
  if (slot_count == 0) throw std::invalid_argument("timer wheel needs at least one slot");
  slots_ = std::make_unique<Link[]>(slot_count);
  for (uint32_t i = 0; i < slot_count; ++i) {
    slots_[i].wheel_prev = &slots_[i];
    slots_[i].wheel_next = &slots_[i];
  }
  cursor_tick_ = now_ms / tick_ms;
}

TimerWheel::~TimerWheel() {
  for (uint32_t i = 0; i < slot_count_; ++i) {
    Link& slot = slots_[i];
    while (slot.wheel_next != &slot) {
      auto& node = static_cast<TimerNode&>(*slot.wheel_next);
      unlink(node);
      node.wheel_ = nullptr;
    }
  }
}

void TimerWheel::link_before(Link& head, Link& link) {
  link.wheel_prev = head.wheel_prev;
  link.wheel_next = &head;
  head.wheel_prev->wheel_next = &link;
  head.wheel_prev = &link;
}

void TimerWheel::unlink(Link& link) {
  link.wheel_prev->wheel_next = link.wheel_next;
  link.wheel_next->wheel_prev = link.wheel_prev;
  link.wheel_prev = nullptr;
  link.wheel_next = nullptr;
}

void TimerWheel::insert(TimerNode& node) {
  // A node that is already due goes to the slot of the current tick, which the next
  // advance() visits first (or this one still visits, if it is running). A node not yet
  // due always sits in the slot of its own deadline tick.
  const uint64_t tick = std::max(node.deadline_ms_ / tick_ms_, now_ms_ / tick_ms_);
  link_before(slot_for_tick(tick), node);
}

void TimerWheel::schedule(TimerNode& node, uint64_t deadline_ms) {
  if (node.wheel_ != nullptr) node.wheel_->cancel(node);
  node.deadline_ms_ = deadline_ms;
  node.wheel_ = this;
  insert(node);
  ++size_;
}

void TimerWheel::cancel(TimerNode& node) noexcept {
  if (node.wheel_ != this) {
    if (node.wheel_ != nullptr) node.wheel_->cancel(node);
    return;
  }
  unlink(node);
  node.wheel_ = nullptr;
  --size_;
}

size_t TimerWheel::advance(uint64_t now_ms) noexcept {
  if (advancing_) return 0;
  advancing_ = true;
  now_ms = std::max(now_ms, now_ms_);
  now_ms_ = now_ms;
  const uint64_t now_tick = now_ms / tick_ms_;
  // After a pause longer than one revolution, each slot is visited once, oldest tick
  // first: deadlines are compared exactly, so one visit per slot finds all that is due.
  const uint64_t last_tick = std::min(now_tick, cursor_tick_ + slot_count_ - 1);

  size_t fired = 0;
  Link due;  // the slot's nodes are moved here so callbacks can change the slot safely
  for (uint64_t tick = cursor_tick_; tick <= last_tick; ++tick) {
    Link& slot = slot_for_tick(tick);
    if (slot.wheel_next == &slot) continue;
    due.wheel_next = slot.wheel_next;
    due.wheel_prev = slot.wheel_prev;
    due.wheel_next->wheel_prev = &due;
    due.wheel_prev->wheel_next = &due;
    slot.wheel_next = &slot;
    slot.wheel_prev = &slot;
    // One node at a time: a callback may cancel, reschedule or destroy any node still here.
    while (due.wheel_next != &due) {
      auto& node = static_cast<TimerNode&>(*due.wheel_next);
      unlink(node);
      if (node.deadline_ms_ > now_ms) {
        link_before(slot, node);  // due in a later revolution
        continue;
      }
      node.wheel_ = nullptr;
      --size_;
      ++fired;
      node.on_timer(now_ms);  // may destroy the node: do not touch it afterwards
    }
  }
  // The current tick's slot can still receive nodes due later within this tick.
  cursor_tick_ = now_tick;
  advancing_ = false;
  return fired;
}

}  // namespace wsgw::util
