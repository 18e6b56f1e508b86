#pragma once
// Reassembly of incoming BINARY_EVENT / BINARY_ACK packets: a text header packet announcing N
// attachments, then N binary Engine.IO messages. Attachments stay opaque bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/socketio/packet.h"

namespace wsgw::sio {

// True if every {"_placeholder":true,"num":N} object in `json` has an integer N in
// [0, attachments), which is what the reference parser checks when it puts buffers back.
// Objects nested inside a placeholder are not looked at (the reference replaces the whole object).
// False as well if `json` is not valid JSON.
bool placeholders_valid(std::string_view json, uint32_t attachments);

class BinaryAssembler {
 public:
  // `max_total_bytes` bounds the sum of attachment sizes of one packet.
  explicit BinaryAssembler(std::size_t max_total_bytes);

  // Begins a packet. False (and stays inactive) unless `header` is a binary type with at least
  // one attachment and valid placeholders, and no packet is in progress.
  bool start(Packet header);

  enum class Status { need_more, complete, error };
  // Takes the next attachment. `error` (and reset) when inactive or the byte budget is exceeded.
  Status add(std::string_view attachment);

  bool active() const { return active_; }
  // The header packet and attachments; complete after add() returned `complete`.
  Packet& packet() { return header_; }
  std::vector<std::string>& attachments() { return attachments_; }
  void reset();

 private:
  std::size_t max_total_bytes_;
  std::size_t total_bytes_ = 0;
  bool active_ = false;
  Packet header_;
  std::vector<std::string> attachments_;
};

}  // namespace wsgw::sio
