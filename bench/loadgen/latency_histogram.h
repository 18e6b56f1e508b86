#pragma once
// A fixed-size log-linear histogram of latencies in microseconds: exact below 64 µs, then 32
// buckets per power of two (each at most 1/32 = 3.1 % wide), up to 2^41 µs (about 25 days).
// Constant memory however many deliveries a run sees, cheap to record, and mergeable by the
// driver across processes (it gets every non-empty bucket's bounds in the report).
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace wsgw::loadgen {

class LatencyHistogram {
 public:
  static constexpr unsigned kExactBelow = 64;       // values 0..63 have a bucket each
  static constexpr unsigned kSubBucketBits = 5;     // 32 buckets per power of two above that
  static constexpr unsigned kMaxExponent = 40;      // the last octave is [2^40, 2^41)
  static constexpr size_t kBuckets =
      kExactBelow + (kMaxExponent - 5) * (size_t{1} << kSubBucketBits);

  // Values above the last octave land in the last bucket; max() stays exact.
  void record(uint64_t value_us);
  void merge(const LatencyHistogram& other);

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ ? min_ : 0; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0; }

  // The smallest recorded-bucket upper bound below which a fraction q (0..1) of the values
  // lie, capped at max(): at most one bucket width (3.1 %) above the true quantile. 0 when empty.
  uint64_t percentile(double q) const;

  static size_t bucket_index(uint64_t value_us);
  static uint64_t bucket_lower(size_t index);
  static uint64_t bucket_width(size_t index);
  uint64_t bucket_count(size_t index) const { return index < kBuckets ? buckets_[index] : 0; }

  // {"count":..,"min":..,"mean":..,"p50":..,"p90":..,"p99":..,"p999":..,"max":..,
  //  "buckets":[[lower,width,count],...]} with only the non-empty buckets.
  std::string to_json() const;

 private:
  std::array<uint64_t, kBuckets> buckets_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

}  // namespace wsgw::loadgen
