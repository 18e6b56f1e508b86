#include "common/metrics/registry.h"

#include <cassert>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <stdexcept>

#include "common/codec/utf8.h"

namespace wsgw::metrics {
namespace {

bool is_name_start(char c, bool allow_colon) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (allow_colon && c == ':');
}
bool is_name_char(char c, bool allow_colon) noexcept {
  return is_name_start(c, allow_colon) || (c >= '0' && c <= '9');
}
bool matches_name_pattern(std::string_view name, bool allow_colon) noexcept {
  if (name.empty() || !is_name_start(name.front(), allow_colon)) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return is_name_char(c, allow_colon); });
}

// HELP text escapes backslash and newline; label values additionally the double quote.
void append_escaped(std::string& out, std::string_view text, bool escape_quote) {
  for (char c : text) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '"':
        if (escape_quote) {
          out += "\\\"";
        } else {
          out += c;
        }
        break;
      default: out += c;
    }
  }
}

// Appends `{a="x",b="y"}` (plus an optional trailing extra label such as le), or nothing
// when there are no labels at all.
void append_labels(std::string& out, const std::vector<std::string>& names,
                   const std::vector<std::string>& values, std::string_view extra_name = {},
                   std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return;
  out += '{';
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i];
    out += "=\"";
    append_escaped(out, values[i], true);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!names.empty()) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;  // produced by format_value: never needs escaping
    out += '"';
  }
  out += '}';
}

void append_sample(std::string& out, std::string_view name, std::string_view suffix,
                   const std::vector<std::string>& names, const std::vector<std::string>& values,
                   std::string_view value, std::string_view extra_name = {},
                   std::string_view extra_value = {}) {
  out += name;
  out += suffix;
  append_labels(out, names, values, extra_name, extra_value);
  out += ' ';
  out += value;
  out += '\n';
}

// Prometheus rejects a whole scrape over one label value that is not UTF-8, so a value
// that came from outside cannot be allowed to break every other metric.
std::string with_invalid_utf8_replaced(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = codec::utf8_sequence_length(text, i);
    if (length == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
      ++i;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  return out;
}

template <class M>
constexpr std::string_view type_name_of() {
  if constexpr (std::is_same_v<M, Counter>) return "counter";
  if constexpr (std::is_same_v<M, Gauge>) return "gauge";
  if constexpr (std::is_same_v<M, Histogram>) return "histogram";
}

void require(bool condition, std::string_view metric_name, std::string_view what) {
  if (!condition) {
    throw std::invalid_argument("metric '" + std::string(metric_name) + "': " + std::string(what));
  }
}

void validate_label_names(std::string_view metric_name, const std::vector<std::string>& labels,
                          bool is_histogram) {
  std::set<std::string_view> seen;
  for (const auto& label : labels) {
    require(is_valid_label_name(label), metric_name, "invalid label name '" + label + "'");
    require(seen.insert(label).second, metric_name, "duplicate label name '" + label + "'");
    require(!(is_histogram && label == "le"), metric_name, "histograms cannot use label 'le'");
  }
}

std::vector<double> validated_bounds(std::string_view metric_name, std::vector<double> bounds) {
  if (!bounds.empty() && bounds.back() == std::numeric_limits<double>::infinity()) bounds.pop_back();  // +Inf is implicit
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    require(std::isfinite(bounds[i]), metric_name, "bucket bounds must be finite");
    require(i == 0 || bounds[i - 1] < bounds[i], metric_name,
            "bucket bounds must be strictly increasing");
  }
  return bounds;
}

// An unlabelled metric whose value is computed at scrape time.
class CallbackFamily final : public FamilyBase {
 public:
  CallbackFamily(std::string name, std::string help, std::string_view type,
                 std::function<double()> fn)
      : FamilyBase(std::move(name), std::move(help), type), fn_(std::move(fn)) {}

  void replace(std::function<double()> fn) { fn_ = std::move(fn); }

  void render(std::string& out) const override {
    double value = std::nan("");
    try {
      value = fn_();
    } catch (...) {
      // A broken callback must not take the whole scrape down; NaN flags it.
    }
    render_header(out);
    static const std::vector<std::string> kNoLabels;
    append_sample(out, name_, "", kNoLabels, kNoLabels, format_value(value));
  }

 private:
  std::function<double()> fn_;
};

}  // namespace

bool is_valid_metric_name(std::string_view name) noexcept {
  return matches_name_pattern(name, true);
}

bool is_valid_label_name(std::string_view name) noexcept {
  return matches_name_pattern(name, false) && !name.starts_with("__");
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Below 2^53 every integral double is an exact int64: print it plainly.
  if (v == std::trunc(v) && std::fabs(v) < 9007199254740992.0) {
    return std::to_string(static_cast<std::int64_t>(v));
  }
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), v);
  return std::string(buffer, result.ptr);
}

std::vector<double> exponential_buckets(double start, double factor, int count) {
  if (!(start > 0) || !(factor > 1) || count < 1) {
    throw std::invalid_argument("exponential_buckets: need start > 0, factor > 1, count >= 1");
  }
  std::vector<double> bounds;
  bounds.reserve(static_cast<std::size_t>(count));
  for (double bound = start; count-- > 0; bound *= factor) bounds.push_back(bound);
  return bounds;
}

std::vector<double> linear_buckets(double start, double width, int count) {
  if (!(width > 0) || count < 1) {
    throw std::invalid_argument("linear_buckets: need width > 0, count >= 1");
  }
  std::vector<double> bounds;
  bounds.reserve(static_cast<std::size_t>(count));
  // Multiply rather than accumulate so rounding errors do not pile up.
  for (int i = 0; i < count; ++i) bounds.push_back(start + width * i);
  return bounds;
}

void FamilyBase::render_header(std::string& out) const {
  out += "# HELP ";
  out += name_;
  out += ' ';
  append_escaped(out, help_, false);
  out += "\n# TYPE ";
  out += name_;
  out += ' ';
  out += type_;
  out += '\n';
}

template <class M>
Family<M>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                  std::vector<double> bucket_bounds)
    : FamilyBase(std::move(name), std::move(help), type_name_of<M>()),
      label_names_(std::move(label_names)),
      bucket_bounds_(std::move(bucket_bounds)) {
  // An unlabelled metric exists from the start, so it is scraped as 0 before first use.
  if (label_names_.empty()) with({});
}

template <class M>
M& Family<M>::with(std::initializer_list<std::string_view> label_values) {
  return find_or_create(label_values);
}

template <class M>
M& Family<M>::with(const std::vector<std::string>& label_values) {
  return find_or_create(label_values);
}

template <class M>
template <class Range>
M& Family<M>::find_or_create(const Range& label_values) {
  if (label_values.size() != label_names_.size()) {
    assert(label_values.size() == label_names_.size() && "wrong number of label values");
    // Release builds: pad with "" / drop extras (documented in registry.h).
    std::vector<std::string> fitted(label_names_.size());
    std::copy_n(label_values.begin(), std::min(label_values.size(), fitted.size()), fitted.begin());
    return find_or_create(fitted);
  }
  if (!std::all_of(label_values.begin(), label_values.end(),
                   [](const auto& value) { return codec::is_valid_utf8(value); })) {
    std::vector<std::string> sanitized;
    for (const auto& value : label_values) sanitized.push_back(with_invalid_utf8_replaced(value));
    return find_or_create(sanitized);
  }
  std::lock_guard lock(mutex_);
  if (auto it = children_.find(label_values); it != children_.end()) return *it->second;
  std::unique_ptr<M> child;
  if constexpr (std::is_same_v<M, Histogram>) {
    child = std::make_unique<Histogram>(std::span<const double>(bucket_bounds_));
  } else {
    child = std::make_unique<M>();
  }
  M& result = *child;
  children_.emplace(std::vector<std::string>(label_values.begin(), label_values.end()),
                    std::move(child));
  return result;
}

template <class M>
void Family<M>::render(std::string& out) const {
  std::lock_guard lock(mutex_);
  if (children_.empty()) return;  // nothing observed yet for any label combination
  render_header(out);
  for (const auto& [values, child] : children_) {
    if constexpr (std::is_same_v<M, Counter>) {
      append_sample(out, name_, "", label_names_, values, std::to_string(child->value()));
    } else if constexpr (std::is_same_v<M, Gauge>) {
      append_sample(out, name_, "", label_names_, values, format_value(child->value()));
    } else {
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i <= bucket_bounds_.size(); ++i) {
        cumulative += child->bucket_count(i);
        const std::string le = i < bucket_bounds_.size() ? format_value(bucket_bounds_[i]) : "+Inf";
        append_sample(out, name_, "_bucket", label_names_, values, std::to_string(cumulative),
                      "le", le);
      }
      append_sample(out, name_, "_sum", label_names_, values, format_value(child->sum()));
      append_sample(out, name_, "_count", label_names_, values, std::to_string(cumulative));
    }
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

Registry::~Registry() = default;

template <class M>
Family<M>& Registry::add_family(std::string name, std::string help,
                                std::vector<std::string> label_names,
                                std::vector<double> bucket_bounds) {
  constexpr bool kIsHistogram = std::is_same_v<M, Histogram>;
  require(is_valid_metric_name(name), name, "invalid metric name");
  validate_label_names(name, label_names, kIsHistogram);
  if constexpr (kIsHistogram) bucket_bounds = validated_bounds(name, std::move(bucket_bounds));

  std::lock_guard lock(mutex_);
  if (auto it = families_.find(name); it != families_.end()) {
    auto* existing = dynamic_cast<Family<M>*>(it->second.get());
    require(existing != nullptr, name, "already registered with another type");
    require(existing->label_names() == label_names, name,
            "already registered with other label names");
    require(existing->bucket_bounds() == bucket_bounds, name,
            "already registered with other bucket bounds");
    return *existing;
  }
  auto family = std::make_unique<Family<M>>(name, std::move(help), std::move(label_names),
                                            std::move(bucket_bounds));
  Family<M>& result = *family;
  families_.emplace(std::move(name), std::move(family));
  return result;
}

Family<Counter>& Registry::counter(std::string name, std::string help,
                                   std::vector<std::string> label_names) {
  return add_family<Counter>(std::move(name), std::move(help), std::move(label_names), {});
}

Family<Gauge>& Registry::gauge(std::string name, std::string help,
                               std::vector<std::string> label_names) {
  return add_family<Gauge>(std::move(name), std::move(help), std::move(label_names), {});
}

Family<Histogram>& Registry::histogram(std::string name, std::string help,
                                       std::vector<std::string> label_names,
                                       std::vector<double> bucket_bounds) {
  return add_family<Histogram>(std::move(name), std::move(help), std::move(label_names),
                               std::move(bucket_bounds));
}

void Registry::add_callback(std::string name, std::string help, std::string_view type,
                            std::function<double()> fn) {
  require(is_valid_metric_name(name), name, "invalid metric name");
  require(static_cast<bool>(fn), name, "empty callback");
  std::lock_guard lock(mutex_);
  if (auto it = families_.find(name); it != families_.end()) {
    auto* existing = dynamic_cast<CallbackFamily*>(it->second.get());
    require(existing != nullptr && existing->type() == type, name,
            "already registered as another kind of metric");
    existing->replace(std::move(fn));
    return;
  }
  auto family = std::make_unique<CallbackFamily>(name, std::move(help), type, std::move(fn));
  families_.emplace(std::move(name), std::move(family));
}

void Registry::gauge_callback(std::string name, std::string help, std::function<double()> fn) {
  add_callback(std::move(name), std::move(help), "gauge", std::move(fn));
}

void Registry::counter_callback(std::string name, std::string help, std::function<double()> fn) {
  add_callback(std::move(name), std::move(help), "counter", std::move(fn));
}

std::string Registry::render() const {
  std::string out;
  std::lock_guard lock(mutex_);
  for (const auto& [name, family] : families_) family->render(out);
  return out;
}

}  // namespace wsgw::metrics
