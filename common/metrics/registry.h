#pragma once

// Prometheus metrics with text exposition format 0.0.4 (no prometheus-cpp).
//
// Design
// - Registry owns Families by name; a Family owns its children (one per label-value
//   combination). Children are heap objects that never move or die before the Registry,
//   so hot-path code resolves `family.with({...})` once, keeps the `Counter&`, and from
//   then on pays relaxed atomics only (a fetch_add for counts, a CAS loop for doubles):
//   no lookup, no lock, no allocation. Each child is cache-line aligned against false
//   sharing between cores.
// - Locks exist only off the hot path: child creation (Family mutex) and registration /
//   render (Registry mutex). A scrape reads the atomics relaxed, so a sample may miss
//   updates racing with it but is never torn; a histogram's +Inf bucket always equals
//   its _count (both come from one pass over the buckets).
// - Registration errors (bad names, bad buckets, a name reused with another type,
//   label set or bucket layout) are programming errors found at startup: they throw
//   std::invalid_argument. Re-registering an identical family returns the existing one
//   (its first help text is kept).
// - A wrong number of label values passed to with() asserts in debug builds; in release
//   builds missing values are filled with "" and extra values are dropped, so the data
//   still shows up (visibly odd) instead of crashing the gateway. Label values that are
//   not valid UTF-8 get each bad byte replaced by U+FFFD, because Prometheus rejects the
//   whole scrape over one such value.
// - Callback metrics (gauge_callback, counter_callback) are computed at scrape time, on
//   the scraping thread, under the Registry mutex: the function must be thread-safe,
//   must not call back into the Registry, and must stay callable for the Registry's
//   lifetime. Re-registering a callback name with the same type replaces the function.
//   A callback that throws is rendered as NaN.
// - Output is sorted by metric name, then by label values, so it is deterministic.

#include <algorithm>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/metrics/metric.h"

namespace wsgw::metrics {

inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool is_valid_metric_name(std::string_view name) noexcept;
// [a-zA-Z_][a-zA-Z0-9_]* and not starting with "__" (reserved for Prometheus itself).
bool is_valid_label_name(std::string_view name) noexcept;

// Formats a sample value the way Prometheus parses it: exact integers without exponent
// ("3", "-7"), other values in shortest round-trip form ("0.25", "1e+300"), and
// "+Inf", "-Inf", "NaN".
std::string format_value(double v);

// start, start*factor, ... (`count` bounds). Throws std::invalid_argument unless
// start > 0, factor > 1 and count >= 1.
std::vector<double> exponential_buckets(double start, double factor, int count);
// start, start+width, ... (`count` bounds). Throws unless width > 0 and count >= 1.
std::vector<double> linear_buckets(double start, double width, int count);

class FamilyBase {
 public:
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  const std::string& name() const noexcept { return name_; }
  std::string_view type() const noexcept { return type_; }
  // Appends "# HELP", "# TYPE" and the samples to `out`.
  virtual void render(std::string& out) const = 0;

 protected:
  FamilyBase(std::string name, std::string help, std::string_view type)
      : name_(std::move(name)), help_(std::move(help)), type_(type) {}
  void render_header(std::string& out) const;

  std::string name_;
  std::string help_;
  std::string_view type_;  // "counter", "gauge" or "histogram"
};

namespace detail {
// Orders label-value tuples so a lookup can use the caller's string_views as they are.
struct LabelValuesLess {
  using is_transparent = void;
  template <class A, class B>
  bool operator()(const A& a, const B& b) const noexcept {
    return std::lexicographical_compare(
        a.begin(), a.end(), b.begin(), b.end(),
        [](const auto& x, const auto& y) { return std::string_view(x) < std::string_view(y); });
  }
};
}  // namespace detail

// All children of one metric name; M is Counter, Gauge or Histogram.
template <class M>
class Family final : public FamilyBase {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::vector<double> bucket_bounds = {});

  // The child for these label values (in label_names order), created on first use.
  // The reference stays valid for the Registry's lifetime: cache it.
  M& with(std::initializer_list<std::string_view> label_values);
  M& with(const std::vector<std::string>& label_values);

  const std::vector<std::string>& label_names() const noexcept { return label_names_; }
  const std::vector<double>& bucket_bounds() const noexcept { return bucket_bounds_; }
  void render(std::string& out) const override;

 private:
  template <class Range>
  M& find_or_create(const Range& label_values);

  const std::vector<std::string> label_names_;
  const std::vector<double> bucket_bounds_;  // histograms only; children point into it
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<M>, detail::LabelValuesLess> children_;
};

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;
  ~Registry();

  Family<Counter>& counter(std::string name, std::string help,
                           std::vector<std::string> label_names = {});
  Family<Gauge>& gauge(std::string name, std::string help,
                       std::vector<std::string> label_names = {});
  // `bucket_bounds`: strictly increasing, no NaN; a trailing +Inf is accepted and dropped
  // (+Inf is always implicit). "le" is not allowed as a label name.
  Family<Histogram>& histogram(std::string name, std::string help,
                               std::vector<std::string> label_names,
                               std::vector<double> bucket_bounds);

  // Unlabelled metrics whose value `fn` computes at scrape time (see design notes above).
  void gauge_callback(std::string name, std::string help, std::function<double()> fn);
  void counter_callback(std::string name, std::string help, std::function<double()> fn);

  // The whole exposition, ready to serve with Content-Type kContentType.
  std::string render() const;

 private:
  template <class M>
  Family<M>& add_family(std::string name, std::string help, std::vector<std::string> label_names,
                        std::vector<double> bucket_bounds);
  void add_callback(std::string name, std::string help, std::string_view type,
                    std::function<double()> fn);

  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<FamilyBase>, std::less<>> families_;
};

// Standard process_* metrics read from /proc at scrape time: resident and virtual
// memory, open fds, CPU seconds, start time. Safe to call more than once.
void register_process_metrics(Registry& registry);

}  // namespace wsgw::metrics
