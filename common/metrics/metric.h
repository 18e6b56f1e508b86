#pragma once

// The three metric kinds a Family hands out. Each is one child (one label combination);
// hot-path code keeps a reference to it and only ever touches relaxed atomics.
// See registry.h for the overall design.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>

namespace wsgw::metrics {

// Children of different families are separate heap objects; aligning each to a cache
// line keeps two hot counters updated by different cores from sharing one.
inline constexpr std::size_t kCacheLine = 64;

namespace detail {
// Written as an explicit CAS loop (what fetch_add on a double amounts to anyway) so the
// cost under contention is visible: a retry per concurrent writer, never a lock.
inline void atomic_add(std::atomic<double>& target, double delta) noexcept {
  double current = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(current, current + delta, std::memory_order_relaxed)) {
  }
}
}  // namespace detail

// Monotonic count. Relaxed ordering: a scrape needs an eventually-exact total, not a
// happens-before relation with anything else.
class alignas(kCacheLine) Counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// A value that goes up and down (connections open, queue depth).
class alignas(kCacheLine) Gauge {
 public:
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void inc(double delta = 1) noexcept { detail::atomic_add(value_, delta); }
  void dec(double delta = 1) noexcept { detail::atomic_add(value_, -delta); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// Fixed-bucket histogram. Buckets are stored non-cumulative (one increment per
// observation) and summed at render time; _count is derived from the same sum, so the
// +Inf bucket always equals _count even while observations race with a scrape.
class alignas(kCacheLine) Histogram {
 public:
  // `upper_bounds` must be strictly increasing and finite, and must outlive the
  // histogram (the owning Family keeps them); +Inf is implicit.
  explicit Histogram(std::span<const double> upper_bounds)
      : upper_bounds_(upper_bounds),
        bucket_counts_(std::make_unique<std::atomic<std::uint64_t>[]>(upper_bounds.size() + 1)) {}

  // A value equal to a bound lands in that bound's bucket (Prometheus "le").
  // NaN compares false with every bound and is counted in the +Inf bucket only.
  void observe(double v) noexcept {
    const auto bucket = static_cast<std::size_t>(
        std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), v) - upper_bounds_.begin());
    const std::size_t index = (v != v) ? upper_bounds_.size() : bucket;
    bucket_counts_[index].fetch_add(1, std::memory_order_relaxed);
    detail::atomic_add(sum_, v);
  }

  std::span<const double> upper_bounds() const noexcept { return upper_bounds_; }
  // Non-cumulative count of bucket `index`; index == upper_bounds().size() is +Inf.
  std::uint64_t bucket_count(std::size_t index) const noexcept {
    return bucket_counts_[index].load(std::memory_order_relaxed);
  }
  double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }

 private:
  std::span<const double> upper_bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> bucket_counts_;
  std::atomic<double> sum_{0.0};
};

}  // namespace wsgw::metrics
