#pragma once
// Dynamic heartbeat (ARCHITECTURE.md, flow 4; the seed article's x/a/y scheme).
// The server pings an EIO4 client every `interval`. After `healthy_pongs_to_grow` pongs in a row
// that arrive within half the ping timeout, the interval grows by `step` up to `max` (the value
// announced to clients as pingInterval, so stock clients never time out early). A slow pong
// (a "miss") drops the interval back to `min`. A pong that never comes closes the session.
#include <algorithm>
#include <cstdint>

namespace wsgw::session {

struct HeartbeatParams {
  uint32_t min_interval_ms = 10000;
  uint32_t max_interval_ms = 25000;  // announced pingInterval
  uint32_t step_ms = 5000;
  uint32_t timeout_ms = 20000;       // announced pingTimeout
  uint8_t healthy_pongs_to_grow = 3;

  HeartbeatParams normalized() const {
    HeartbeatParams p = *this;
    p.max_interval_ms = std::max<uint32_t>(p.max_interval_ms, 1);
    p.min_interval_ms = std::clamp<uint32_t>(p.min_interval_ms, 1, p.max_interval_ms);
    p.healthy_pongs_to_grow = std::max<uint8_t>(p.healthy_pongs_to_grow, 1);
    return p;
  }
};

// Per-session state: 5 bytes that live in every session, parameters are shared per worker.
class Heartbeat {
 public:
  explicit Heartbeat(const HeartbeatParams& p) : interval_ms_(p.min_interval_ms) {}

  uint32_t interval_ms() const { return interval_ms_; }

  // Returns true when the pong counted as healthy.
  bool on_pong(const HeartbeatParams& p, uint32_t rtt_ms) {
    if (rtt_ms * 2 > p.timeout_ms) {  // a miss: fall back to the fast interval
      interval_ms_ = p.min_interval_ms;
      healthy_streak_ = 0;
      return false;
    }
    if (++healthy_streak_ >= p.healthy_pongs_to_grow) {
      healthy_streak_ = 0;
      interval_ms_ = std::min<uint32_t>(interval_ms_ + p.step_ms, p.max_interval_ms);
    }
    return true;
  }

 private:
  uint32_t interval_ms_;
  uint8_t healthy_streak_ = 0;
};

}  // namespace wsgw::session
