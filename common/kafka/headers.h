#pragma once
// Record headers: Kafka records carry all routing data (common/cluster/contract.h) in headers, so a
// reader never decodes a body.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wsgw::kafka {

// A non-owning header, the input of Producer::send and the element of MessageHeaders.
// Values are arbitrary bytes (binary is fine); an empty value is sent as an empty, non-null value.
struct Header {
  std::string_view name;
  std::string_view value;
};

// Owning copy of a header list, for records that must outlive the consumer's buffer (e.g. handed to
// another thread) or be built up before sending. Duplicate names are kept; get() returns the last one,
// like librdkafka's rd_kafka_header_get_last and Kafka's Java client.
class OwnedHeaders {
 public:
  struct Entry {
    std::string name;
    std::string value;
  };

  OwnedHeaders() = default;
  // Copies any range of Header-like elements (a std::span<const Header>, MessageHeaders, ...).
  template <typename HeaderRange>
  static OwnedHeaders copy_of(const HeaderRange& headers) {
    OwnedHeaders owned;
    for (const Header& header : headers) owned.add(header.name, header.value);
    return owned;
  }

  void add(std::string_view name, std::string_view value) {
    entries_.push_back({std::string(name), std::string(value)});
  }
  std::optional<std::string_view> get(std::string_view name) const {
    for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
      if (it->name == name) return std::string_view(it->value);
    }
    return std::nullopt;
  }
  // Non-owning views for Producer::send; valid while this object is unchanged.
  std::vector<Header> view() const {
    std::vector<Header> headers;
    headers.reserve(entries_.size());
    for (const Entry& entry : entries_) headers.push_back({entry.name, entry.value});
    return headers;
  }

  const std::vector<Entry>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  void clear() { entries_.clear(); }

 private:
  std::vector<Entry> entries_;
};

}  // namespace wsgw::kafka
