#include "bench/loadgen/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>

namespace wsgw::loadgen {

namespace {
constexpr unsigned kSubBuckets = 1u << LatencyHistogram::kSubBucketBits;
constexpr unsigned kFirstExponent = 6;  // 2^6 == kExactBelow
static_assert(LatencyHistogram::kExactBelow == (1u << kFirstExponent));
}  // namespace

size_t LatencyHistogram::bucket_index(uint64_t v) {
  if (v < kExactBelow) return static_cast<size_t>(v);
  const unsigned e = 63u - static_cast<unsigned>(std::countl_zero(v));
  if (e > kMaxExponent) return kBuckets - 1;
  const uint64_t top = v >> (e - kSubBucketBits);  // in [32, 64)
  return kExactBelow + (e - kFirstExponent) * kSubBuckets + static_cast<size_t>(top - kSubBuckets);
}

uint64_t LatencyHistogram::bucket_lower(size_t index) {
  if (index < kExactBelow) return index;
  const size_t j = index - kExactBelow;
  const unsigned e = kFirstExponent + static_cast<unsigned>(j / kSubBuckets);
  const uint64_t top = kSubBuckets + j % kSubBuckets;
  return top << (e - kSubBucketBits);
}

uint64_t LatencyHistogram::bucket_width(size_t index) {
  if (index < kExactBelow) return 1;
  const unsigned e = kFirstExponent + static_cast<unsigned>((index - kExactBelow) / kSubBuckets);
  return uint64_t{1} << (e - kSubBucketBits);
}

void LatencyHistogram::record(uint64_t value_us) {
  ++buckets_[bucket_index(value_us)];
  ++count_;
  sum_ += value_us;
  min_ = std::min(min_, value_us);
  max_ = std::max(max_, value_us);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < kBuckets; ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

uint64_t LatencyHistogram::percentile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  // The rank of the value asked for, 1-based: the smallest value with at least q of all at or below it.
  const auto rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_))));
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      if (i == kBuckets - 1) return max_;  // holds everything above the last octave too
      const uint64_t upper = bucket_lower(i) + bucket_width(i) - 1;
      return std::clamp(upper, min_, max_);
    }
  }
  return max_;
}

std::string LatencyHistogram::to_json() const {
  std::string out;
  char buf[160];
  std::snprintf(buf, sizeof buf, "{\"count\": %llu, \"min\": %llu, \"mean\": %.1f",
                static_cast<unsigned long long>(count_), static_cast<unsigned long long>(min()), mean());
  out.append(buf);
  constexpr std::pair<const char*, double> kQuantiles[] = {
      {"p50", 0.50}, {"p90", 0.90}, {"p99", 0.99}, {"p999", 0.999}};
  for (const auto& [name, q] : kQuantiles) {
    std::snprintf(buf, sizeof buf, ", \"%s\": %llu", name, static_cast<unsigned long long>(percentile(q)));
    out.append(buf);
  }
  std::snprintf(buf, sizeof buf, ", \"max\": %llu, \"buckets\": [", static_cast<unsigned long long>(max_));
  out.append(buf);
  bool first = true;
  for (size_t i = 0; i < kBuckets; ++i) {
    if (buckets_[i] == 0) continue;
    std::snprintf(buf, sizeof buf, "%s[%llu, %llu, %llu]", first ? "" : ", ",
                  static_cast<unsigned long long>(bucket_lower(i)),
                  static_cast<unsigned long long>(bucket_width(i)),
                  static_cast<unsigned long long>(buckets_[i]));
    out.append(buf);
    first = false;
  }
  out.append("]}");
  return out;
}

}  // namespace wsgw::loadgen
