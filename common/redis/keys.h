#pragma once
// The Redis key schema (documented in KEYS.md). Every key starts with a configurable prefix
// (default "wsgw:") so several clusters can share one Redis. The variable part (sid, uid, node,
// room) always comes LAST, after a fixed type word, so no two kinds of key can collide whatever
// bytes an id contains. A room is qualified by its namespace with a length prefix
// ("<len(nsp)>:<nsp>:<room>") because both are free text. The Lua scripts build the same names
// (lua_scripts.cpp); change both together.
#include <cstdint>
#include <string>
#include <string_view>

namespace wsgw::redis {

inline constexpr std::string_view kDefaultKeyPrefix = "wsgw:";

class KeySchema {
 public:
  explicit KeySchema(std::string prefix = std::string(kDefaultKeyPrefix)) : prefix_(std::move(prefix)) {}

  const std::string& prefix() const { return prefix_; }

  std::string session(std::string_view sid) const { return join("sess:", sid); }
  std::string session_rooms(std::string_view sid) const { return join("sess-rooms:", sid); }
  std::string user_sessions(std::string_view uid) const { return join("user-sids:", uid); }
  std::string node_sessions(std::string_view node) const { return join("node-sids:", node); }
  std::string room_sessions(std::string_view nsp, std::string_view room) const {
    return join("room-sids:", qualified_room(nsp, room));
  }
  std::string room_nodes(std::string_view nsp, std::string_view room) const {
    return join("room-nodes:", qualified_room(nsp, room));
  }
  std::string last_seen() const { return prefix_ + "seen"; }
  std::string nodes() const { return prefix_ + "nodes"; }
  std::string worker_id(uint32_t id) const { return join("worker-id:", std::to_string(id)); }
  std::string worker_id_of(std::string_view node) const { return join("worker-id-of:", node); }

  static std::string qualified_room(std::string_view nsp, std::string_view room) {
    std::string out = std::to_string(nsp.size());
    out += ':';
    out += nsp;
    out += ':';
    out += room;
    return out;
  }

 private:
  std::string join(std::string_view kind, std::string_view id) const {
    std::string out;
    out.reserve(prefix_.size() + kind.size() + id.size());
    out += prefix_;
    out += kind;
    out += id;
    return out;
  }

  std::string prefix_;
};

}  // namespace wsgw::redis
