#pragma once
// One message for the local sockets of a target: everyone in a namespace, a room, one socket or
// all sockets of a user. The message is encoded once (WireMessage) and shared by every target.
// Produced by the admin endpoint today and by the Kafka downstream consumer in cluster mode.
#include <cstdint>
#include <string>
#include <vector>

#include "gateway/session/wire.h"

namespace wsgw::session {

struct Delivery {
  enum class Target : uint8_t { everyone, room, socket, user };
  Target target = Target::everyone;
  std::string nsp = "/";
  std::string key;                // room name, encoded socket id, or user id
  std::vector<uint64_t> except;   // socket ids that must not receive it, sorted ascending
  bool is_volatile = false;
  WireMessagePtr msg;
};

}  // namespace wsgw::session
