#include "common/socketio/binary.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "common/socketio/json_sax.h"

namespace wsgw::sio {
namespace {

// Walks the JSON keeping, for each open object, what its "_placeholder" and "num" members were
// (the last occurrence wins, as with JSON.parse). A placeholder object is judged on its own;
// any other container passes up whether something invalid was found inside it.
class PlaceholderHandler
    : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, PlaceholderHandler> {
 public:
  explicit PlaceholderHandler(uint32_t attachments) : attachments_(attachments) {}

  bool all_valid() const { return !root_invalid_; }

  bool Null() { return on_scalar(false, std::nullopt); }
  bool Bool(bool b) { return on_scalar(b, std::nullopt); }
  bool Int(int) { return on_scalar(false, std::nullopt); }
  bool Uint(unsigned) { return on_scalar(false, std::nullopt); }
  bool Int64(int64_t) { return on_scalar(false, std::nullopt); }
  bool Uint64(uint64_t) { return on_scalar(false, std::nullopt); }
  bool Double(double) { return on_scalar(false, std::nullopt); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
    return on_scalar(false, index_from_number(std::string_view(s, n)));
  }
  bool String(const char*, rapidjson::SizeType, bool) { return on_scalar(false, std::nullopt); }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    const std::string_view key(s, n);
    stack_.back().pending = key == "_placeholder" ? Member::placeholder
                            : key == "num"        ? Member::num
                                                  : Member::other;
    return true;
  }
  bool StartObject() { return open(true); }
  bool EndObject(rapidjson::SizeType) { return close(); }
  bool StartArray() { return open(false); }
  bool EndArray(rapidjson::SizeType) { return close(); }

  void reset() {
    stack_.clear();
    root_invalid_ = false;
  }

 private:
  enum class Member : uint8_t { other, placeholder, num };
  struct Frame {
    bool is_object = false;
    Member pending = Member::other;  // the member whose value comes next
    bool placeholder_true = false;
    std::optional<uint32_t> num;  // set when "num" is a valid attachment index
    bool contains_invalid = false;
  };

  std::optional<uint32_t> index_from_number(std::string_view text) const {
    // Only a plain non-negative integer names an attachment; "1.0" or "1e0" do not arrive from
    // real clients, and refusing them costs nothing.
    if (text.empty() || text.size() > 10) return std::nullopt;
    uint64_t v = 0;
    for (char c : text) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    if (v >= attachments_) return std::nullopt;
    return static_cast<uint32_t>(v);
  }

  // A value seen as a member of the innermost object updates that object's record.
  void record_member(bool is_true, std::optional<uint32_t> index) {
    if (stack_.empty() || !stack_.back().is_object) return;
    Frame& f = stack_.back();
    if (f.pending == Member::placeholder) f.placeholder_true = is_true;
    else if (f.pending == Member::num) f.num = index;
  }

  bool on_scalar(bool is_true, std::optional<uint32_t> index) {
    record_member(is_true, index);
    return true;
  }

  bool open(bool is_object) {
    record_member(false, std::nullopt);
    if (stack_.size() >= kMaxJsonDepth) return false;
    Frame frame;
    frame.is_object = is_object;
    stack_.push_back(frame);
    return true;
  }

  bool close() {
    const Frame f = stack_.back();
    stack_.pop_back();
    const bool invalid = f.placeholder_true ? !f.num.has_value() : f.contains_invalid;
    if (stack_.empty()) root_invalid_ = invalid;
    else stack_.back().contains_invalid |= invalid;
    return true;
  }

  uint32_t attachments_;
  std::vector<Frame> stack_;
  bool root_invalid_ = false;
};

}  // namespace

bool placeholders_valid(std::string_view json, uint32_t attachments) {
  PlaceholderHandler handler(attachments);
  return detail::sax_parse(json, handler) == detail::SaxResult::ok && handler.all_valid();
}

BinaryAssembler::BinaryAssembler(std::size_t max_total_bytes) : max_total_bytes_(max_total_bytes) {}

bool BinaryAssembler::start(Packet header) {
  if (active_ || !is_binary(header.type) || header.attachments == 0) return false;
  if (!placeholders_valid(header.data, header.attachments)) return false;
  header_ = std::move(header);
  attachments_.clear();
  // The count comes from the peer: reserve a little, let real arrivals grow the vector.
  attachments_.reserve(std::min<uint32_t>(header_.attachments, 16));
  total_bytes_ = 0;
  active_ = true;
  return true;
}

BinaryAssembler::Status BinaryAssembler::add(std::string_view attachment) {
  if (!active_) return Status::error;
  if (attachment.size() > max_total_bytes_ - total_bytes_) {
    reset();
    return Status::error;
  }
  total_bytes_ += attachment.size();
  attachments_.emplace_back(attachment);
  if (attachments_.size() < header_.attachments) return Status::need_more;
  active_ = false;
  return Status::complete;
}

void BinaryAssembler::reset() {
  active_ = false;
  total_bytes_ = 0;
  header_ = Packet{};
  attachments_.clear();
}

}  // namespace wsgw::sio
