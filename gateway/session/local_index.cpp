#include "gateway/session/local_index.h"

#include "gateway/session/socketio_session.h"

namespace wsgw::session {

void LocalIndex::add_socket(NamespaceSocket* s) {
  by_id_[s->id()] = s;
  if (!s->user_id().empty()) by_user_[s->user_id()].insert(s);
}

void LocalIndex::remove_socket(NamespaceSocket* s) {
  ++removals_;
  by_id_.erase(s->id());
  if (s->user_id().empty()) return;
  auto it = by_user_.find(s->user_id());
  if (it == by_user_.end()) return;
  it->second.erase(s);
  if (it->second.empty()) by_user_.erase(it);
}

NamespaceSocket* LocalIndex::find_socket(uint64_t socket_id) const {
  auto it = by_id_.find(socket_id);
  return it == by_id_.end() ? nullptr : it->second;
}

const LocalIndex::Members* LocalIndex::user_sockets(std::string_view user_id) const {
  auto it = by_user_.find(std::string(user_id));
  return it == by_user_.end() ? nullptr : &it->second;
}

std::string LocalIndex::room_key(std::string_view nsp, std::string_view room) {
  std::string k;
  k.reserve(nsp.size() + 1 + room.size());
  k.append(nsp);
  k.push_back('\0');  // cannot appear in a namespace name, so keys never collide
  k.append(room);
  return k;
}

bool LocalIndex::join(std::string_view nsp, std::string_view room, NamespaceSocket* s) {
  return rooms_[room_key(nsp, room)].insert(s).second;
}

bool LocalIndex::leave(std::string_view nsp, std::string_view room, NamespaceSocket* s) {
  auto it = rooms_.find(room_key(nsp, room));
  if (it == rooms_.end() || it->second.erase(s) == 0) return false;
  if (it->second.empty()) rooms_.erase(it);
  return true;
}

const LocalIndex::Members* LocalIndex::members(std::string_view nsp, std::string_view room) const {
  auto it = rooms_.find(room_key(nsp, room));
  return it == rooms_.end() ? nullptr : &it->second;
}

}  // namespace wsgw::session
