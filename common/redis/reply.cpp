#include "common/redis/reply.h"

#include <charconv>
#include <cmath>
#include <limits>

namespace wsgw::redis {

Reply Reply::make_integer(int64_t value) {
  Reply r;
  r.type_ = Type::integer;
  r.integer_ = value;
  return r;
}

Reply Reply::make_string(std::string value) {
  Reply r;
  r.type_ = Type::string;
  r.text_ = std::move(value);
  return r;
}

Reply Reply::make_status(std::string value) {
  Reply r;
  r.type_ = Type::status;
  r.text_ = std::move(value);
  return r;
}

Reply Reply::make_error(std::string value) {
  Reply r;
  r.type_ = Type::error;
  r.text_ = std::move(value);
  return r;
}

Reply Reply::make_array(std::vector<Reply> elements) {
  Reply r;
  r.type_ = Type::array;
  r.elements_ = std::move(elements);
  return r;
}

bool Reply::is_local_error() const {
  return type_ == Type::error && std::string_view(text_).starts_with("WSGW_");
}

bool Reply::is_noscript_error() const {
  return type_ == Type::error && std::string_view(text_).starts_with("NOSCRIPT");
}

bool parse_integer(std::string_view text, int64_t& out) {
  if (text.empty()) return false;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc() && end == text.data() + text.size()) {
    out = value;
    return true;
  }
  // Sorted-set scores are doubles; Redis may print them in exponent form.
  double d = 0;
  auto [dend, dec] = std::from_chars(text.data(), text.data() + text.size(), d);
  if (dec != std::errc() || dend != text.data() + text.size()) return false;
  // 2^63 is exactly representable; anything at or beyond it does not fit.
  constexpr double kLimit = 9223372036854775808.0;
  if (!std::isfinite(d) || d != std::trunc(d) || d >= kLimit || d < -kLimit) return false;
  out = static_cast<int64_t>(d);
  return true;
}

std::optional<int64_t> Reply::to_integer() const {
  if (type_ == Type::integer) return integer_;
  if (type_ != Type::string) return std::nullopt;
  int64_t value = 0;
  if (!parse_integer(text_, value)) return std::nullopt;
  return value;
}

std::string Reply::debug_string() const {
  switch (type_) {
    case Type::nil:
      return "(nil)";
    case Type::integer:
      return "(integer) " + std::to_string(integer_);
    case Type::string:
      return '"' + text_ + '"';
    case Type::status:
      return "+" + text_;
    case Type::error:
      return "(error) " + text_;
    case Type::array: {
      std::string out = "[";
      for (size_t i = 0; i < elements_.size(); ++i) {
        if (i) out += ", ";
        out += elements_[i].debug_string();
      }
      return out + "]";
    }
  }
  return {};
}

}  // namespace wsgw::redis
