#pragma once
// Zero-copy views of a record that librdkafka holds: a consumed record (Consumer::poll) or a record
// whose delivery is being reported (ProducerConfig::on_delivery).
//
// Lifetime: a Message and everything read from it (key, value, topic, header names and values) point
// into librdkafka's buffer. For a consumed record they stay valid until the next Consumer::poll,
// Consumer::close or the consumer's destruction; for a delivery report, until the callback returns.
// Copy out what must live longer (std::string, OwnedHeaders::copy_of(message.headers())).
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string_view>

#include "common/kafka/headers.h"

// librdkafka's opaque types, declared here so its header stays out of ours.
struct rd_kafka_message_s;
struct rd_kafka_headers_s;

namespace wsgw::kafka {

// The headers of one record, read in place: neither names nor values are copied.
class MessageHeaders {
 public:
  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = Header;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = Header;

    Iterator() = default;
    Iterator(const MessageHeaders* owner, size_t index) : owner_(owner), index_(index) {}
    Header operator*() const { return (*owner_)[index_]; }
    Iterator& operator++() {
      ++index_;
      return *this;
    }
    Iterator operator++(int) {
      Iterator before = *this;
      ++index_;
      return before;
    }
    bool operator==(const Iterator& other) const { return index_ == other.index_; }

   private:
    const MessageHeaders* owner_ = nullptr;
    size_t index_ = 0;
  };

  MessageHeaders() = default;
  explicit MessageHeaders(const rd_kafka_headers_s* headers);

  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  // Precondition: index < size(). A null value on the wire reads as an empty value.
  Header operator[](size_t index) const;
  // The value of the LAST header with this name (Kafka allows duplicates), without copying it.
  // Linear scan: records carry a dozen headers at most.
  std::optional<std::string_view> get(std::string_view name) const;

  Iterator begin() const { return Iterator(this, 0); }
  Iterator end() const { return Iterator(this, count_); }

 private:
  const rd_kafka_headers_s* headers_ = nullptr;
  size_t count_ = 0;
};

class Message {
 public:
  Message() = default;
  explicit Message(const rd_kafka_message_s* message) : message_(message) {}

  // False for a default-constructed Message, or after a Consumer::poll that returned false.
  bool valid() const { return message_ != nullptr; }
  std::string_view topic() const;
  int32_t partition() const;
  int64_t offset() const;  // negative when unknown (e.g. a failed delivery)
  std::string_view key() const;    // empty for a null key
  std::string_view value() const;  // empty for a null value
  MessageHeaders headers() const;  // librdkafka parses the headers once, on first access
  // Record timestamp in milliseconds since the Unix epoch (producer create time by default),
  // or -1 when the record has none.
  int64_t timestamp_ms() const;

 private:
  const rd_kafka_message_s* message_ = nullptr;
};

}  // namespace wsgw::kafka
