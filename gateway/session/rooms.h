#pragma once
// Local room membership of one worker: which of its namespace sockets are in which room.
// A broadcast to a room visits exactly its members; every socket leaves all its rooms when it
// disconnects. Not thread-safe by design (one per worker).
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace wsgw::session {

class NamespaceSocket;

class RoomIndex {
 public:
  using Members = std::unordered_set<NamespaceSocket*>;

  // Returns false when the socket was already a member.
  bool join(std::string_view nsp, std::string_view room, NamespaceSocket* s);
  bool leave(std::string_view nsp, std::string_view room, NamespaceSocket* s);
  // Members of a room, or null when nobody on this worker is in it.
  const Members* members(std::string_view nsp, std::string_view room) const;
  size_t room_count() const { return rooms_.size(); }

 private:
  static std::string key(std::string_view nsp, std::string_view room);
  std::unordered_map<std::string, Members> rooms_;
};

}  // namespace wsgw::session
