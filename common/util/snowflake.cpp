#include "common/util/snowflake.h"

#include <chrono>
#include <stdexcept>

namespace wsgw::util {
namespace {

constexpr uint64_t kSequenceMask = (uint64_t{1} << Snowflake::kSequenceBits) - 1;
constexpr uint64_t kWorkerMask = (uint64_t{1} << Snowflake::kWorkerBits) - 1;
constexpr int kTimestampShift = Snowflake::kWorkerBits + Snowflake::kSequenceBits;

// Ordered by ASCII value so that fixed-width strings sort like the numbers they encode.
constexpr std::string_view kSortableAlphabet =
    "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
static_assert(kSortableAlphabet.size() == 64);

int sortable_value(char c) {
  if (c == '-') return 0;
  if (c >= '0' && c <= '9') return 1 + (c - '0');
  if (c >= 'A' && c <= 'Z') return 11 + (c - 'A');
  if (c == '_') return 37;
  if (c >= 'a' && c <= 'z') return 38 + (c - 'a');
  return -1;
}

}  // namespace

uint64_t system_now_ms() noexcept {
  using namespace std::chrono;
  return static_cast<uint64_t>(
      duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

Snowflake::Snowflake(uint16_t worker_id, Clock now_ms, uint64_t epoch_ms)
    : clock_(now_ms), epoch_ms_(epoch_ms), worker_id_(worker_id) {
  if (worker_id > kMaxWorkerId) {
    throw std::invalid_argument("snowflake worker id must be at most 1023");
  }
  if (clock_ == nullptr) throw std::invalid_argument("snowflake clock must not be null");
}

uint64_t Snowflake::next() noexcept {
  const uint64_t now = clock_();
  const uint64_t elapsed_ms = now > epoch_ms_ ? now - epoch_ms_ : 0;
  const uint64_t from_clock = elapsed_ms << kSequenceBits;
  uint64_t previous = state_.load(std::memory_order_relaxed);
  uint64_t state;
  do {
    // previous + 1 either bumps the sequence or, after 4095, carries into the next
    // (logical) millisecond; a clock behind our last timestamp is simply ignored.
    state = std::max(from_clock, previous + 1);
  } while (!state_.compare_exchange_weak(previous, state, std::memory_order_relaxed));
  const uint64_t timestamp = state >> kSequenceBits;
  return (timestamp << kTimestampShift) | (uint64_t{worker_id_} << kSequenceBits) |
         (state & kSequenceMask);
}

Snowflake::Parts Snowflake::decode(uint64_t id, uint64_t epoch_ms) noexcept {
  return Parts{
      .timestamp_ms = (id >> kTimestampShift) + epoch_ms,
      .worker_id = static_cast<uint16_t>((id >> kSequenceBits) & kWorkerMask),
      .sequence = static_cast<uint16_t>(id & kSequenceMask),
  };
}

std::string encode_id(uint64_t id) {
  // 11 symbols of 6 bits cover 66 bits; the first symbol carries only the top 4.
  std::string text(kEncodedIdSize, '-');
  for (size_t i = kEncodedIdSize; i-- > 0;) {
    text[i] = kSortableAlphabet[id & 0x3F];
    id >>= 6;
  }
  return text;
}

bool decode_id(std::string_view text, uint64_t& id) {
  if (text.size() != kEncodedIdSize) return false;
  uint64_t value = 0;
  for (size_t i = 0; i < kEncodedIdSize; ++i) {
    const int digit = sortable_value(text[i]);
    if (digit < 0) return false;
    if (i == 0 && digit > 0x0F) return false;  // would overflow 64 bits
    value = (value << 6) | static_cast<uint64_t>(digit);
  }
  id = value;
  return true;
}

}  // namespace wsgw::util
