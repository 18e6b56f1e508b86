#include "gateway/session/rooms.h"

namespace wsgw::session {

std::string RoomIndex::key(std::string_view nsp, std::string_view room) {
  std::string k;
  k.reserve(nsp.size() + 1 + room.size());
  k.append(nsp);
  k.push_back('\0');  // cannot appear in a namespace name, so keys never collide
  k.append(room);
  return k;
}

bool RoomIndex::join(std::string_view nsp, std::string_view room, NamespaceSocket* s) {
  return rooms_[key(nsp, room)].insert(s).second;
}

bool RoomIndex::leave(std::string_view nsp, std::string_view room, NamespaceSocket* s) {
  auto it = rooms_.find(key(nsp, room));
  if (it == rooms_.end() || it->second.erase(s) == 0) return false;
  if (it->second.empty()) rooms_.erase(it);
  return true;
}

const RoomIndex::Members* RoomIndex::members(std::string_view nsp, std::string_view room) const {
  auto it = rooms_.find(key(nsp, room));
  return it == rooms_.end() ? nullptr : &it->second;
}

}  // namespace wsgw::session
