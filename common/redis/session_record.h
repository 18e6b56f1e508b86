#pragma once
// One Socket.IO socket's entry in the cluster registry.
#include <cstdint>
#include <string>
#include <vector>

#include "common/redis/reply.h"

namespace wsgw::redis {

struct SessionRecord {
  std::string sid;   // Socket.IO socket id (encoded Snowflake)
  std::string node;  // gateway node that owns the connection
  std::string uid;   // authenticated user id; empty for anonymous sockets (no user index)
  std::string nsp;   // Socket.IO namespace
  std::vector<std::string> rooms;
  int64_t connected_at_ms = 0;
  int64_t last_seen_ms = 0;  // filled by reads; a new registration starts at connected_at_ms

  friend bool operator==(const SessionRecord&, const SessionRecord&) = default;
};

// Decodes the scripts' record shape {sid, node, uid, nsp, connected_at, last_seen, {rooms}}.
// False (record untouched) for anything else.
bool decode_session_record(const Reply& reply, SessionRecord& record);

}  // namespace wsgw::redis
