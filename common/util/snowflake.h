#pragma once

// Snowflake ids: 64-bit, unique across the cluster (the worker id is the node's) and
// increasing over time, so they double as rough creation timestamps.
//
//   bit 63..22: milliseconds since the epoch (41 bits, about 69 years)
//   bit 21..12: worker id (10 bits)
//   bit 11..0 : sequence within the millisecond (12 bits)

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace wsgw::util {

// Milliseconds since the Unix epoch from the system clock.
uint64_t system_now_ms() noexcept;

class Snowflake {
 public:
  static constexpr int kWorkerBits = 10;
  static constexpr int kSequenceBits = 12;
  static constexpr int kTimestampBits = 64 - kWorkerBits - kSequenceBits;
  static constexpr uint16_t kMaxWorkerId = (1u << kWorkerBits) - 1;
  static constexpr uint64_t kDefaultEpochMs = 1735689600000;  // 2025-01-01T00:00:00Z

  using Clock = uint64_t (*)();

  struct Parts {
    uint64_t timestamp_ms;  // Unix milliseconds (the epoch given to decode() added back)
    uint16_t worker_id;
    uint16_t sequence;
  };

  // Throws std::invalid_argument when worker_id > kMaxWorkerId: a configuration error.
  explicit Snowflake(uint16_t worker_id, Clock now_ms = &system_now_ms,
                     uint64_t epoch_ms = kDefaultEpochMs);

  // Thread-safe and lock-free; every id is greater than all ids this generator returned
  // before. A clock that steps back does not make ids go back: the generator keeps counting
  // from its last timestamp, and moves to the next millisecond when 4096 ids used one up.
  uint64_t next() noexcept;

  uint16_t worker_id() const { return worker_id_; }

  static Parts decode(uint64_t id, uint64_t epoch_ms = kDefaultEpochMs) noexcept;

 private:
  // (milliseconds since epoch << kSequenceBits) | sequence of the last id handed out.
  std::atomic<uint64_t> state_{0};
  Clock clock_;
  uint64_t epoch_ms_;
  uint16_t worker_id_;
};

// Fixed-width 11-character text form of an id. The alphabet is the base64url character set
// in ASCII order ("-0-9A-Z_a-z"), so the strings compare like the numbers and need no
// escaping in URLs, cookies or JSON.
inline constexpr size_t kEncodedIdSize = 11;
std::string encode_id(uint64_t id);
// Accepts exactly what encode_id produces; returns false (and leaves `id` alone) otherwise.
bool decode_id(std::string_view text, uint64_t& id);

}  // namespace wsgw::util
