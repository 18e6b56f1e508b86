#include "common/kafka/message.h"

#include <librdkafka/rdkafka.h>


namespace wsgw::kafka {

MessageHeaders::MessageHeaders(const rd_kafka_headers_s* headers)
    : headers_(headers), count_(headers != nullptr ? rd_kafka_header_cnt(headers) : 0) {}

Header MessageHeaders::operator[](size_t index) const {
  const char* name = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  if (rd_kafka_header_get_all(headers_, index, &name, &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR) return {};
  return {std::string_view(name), value != nullptr ? std::string_view(static_cast<const char*>(value), size)
                                                   : std::string_view()};
}

std::optional<std::string_view> MessageHeaders::get(std::string_view name) const {
  // Iterating instead of rd_kafka_header_get_last(): that one needs a NUL-terminated name.
  for (size_t index = count_; index-- > 0;) {
    const Header header = (*this)[index];
    if (header.name == name) return header.value;
  }
  return std::nullopt;
}

std::string_view Message::topic() const {
  if (message_ == nullptr || message_->rkt == nullptr) return {};
  return rd_kafka_topic_name(message_->rkt);
}

int32_t Message::partition() const { return message_ != nullptr ? message_->partition : -1; }

int64_t Message::offset() const { return message_ != nullptr ? message_->offset : -1; }

std::string_view Message::key() const {
  if (message_ == nullptr || message_->key == nullptr) return {};
  return {static_cast<const char*>(message_->key), message_->key_len};
}

std::string_view Message::value() const {
  if (message_ == nullptr || message_->payload == nullptr) return {};
  return {static_cast<const char*>(message_->payload), message_->len};
}

MessageHeaders Message::headers() const {
  if (message_ == nullptr) return {};
  rd_kafka_headers_t* headers = nullptr;
  // Parses the wire headers on first use and caches them in the message; const-safe per its docs.
  if (rd_kafka_message_headers(message_, &headers) != RD_KAFKA_RESP_ERR_NO_ERROR) return {};
  return MessageHeaders(headers);
}

int64_t Message::timestamp_ms() const {
  if (message_ == nullptr) return -1;
  rd_kafka_timestamp_type_t type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
  return rd_kafka_message_timestamp(message_, &type);
}

}  // namespace wsgw::kafka
