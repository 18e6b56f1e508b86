#pragma once
// What one worker knows about its own Socket.IO sockets: by socket id, by user id, and by room.
// Deliveries from the cluster (emit to a socket, a user, a room) and joins/leaves look sockets
// up here. Every socket is removed from all of it when it disconnects. Not thread-safe by
// design: one per worker.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace wsgw::session {

class NamespaceSocket;

class LocalIndex {
 public:
  using Members = std::unordered_set<NamespaceSocket*>;

  // Sockets by id and by user (call add when a socket connects, remove when it goes).
  void add_socket(NamespaceSocket* s);
  void remove_socket(NamespaceSocket* s);
  NamespaceSocket* find_socket(uint64_t socket_id) const;
  const Members* user_sockets(std::string_view user_id) const;
  size_t socket_count() const { return by_id_.size(); }
  // Calls fn(NamespaceSocket&) for every socket; fn must not add or remove sockets.
  template <class Fn>
  void for_each_socket(Fn&& fn) const {
    for (const auto& [id, s] : by_id_) fn(*s);
  }
  // How many sockets were ever removed: a caller holding pointers across calls that may close
  // sockets checks them again (find_socket) once this has moved.
  uint64_t removals() const { return removals_; }

  // Rooms. join returns false when the socket was already a member.
  bool join(std::string_view nsp, std::string_view room, NamespaceSocket* s);
  bool leave(std::string_view nsp, std::string_view room, NamespaceSocket* s);
  // Members of a room, or null when nobody on this worker is in it.
  const Members* members(std::string_view nsp, std::string_view room) const;
  size_t room_count() const { return rooms_.size(); }

 private:
  static std::string room_key(std::string_view nsp, std::string_view room);
  std::unordered_map<uint64_t, NamespaceSocket*> by_id_;
  std::unordered_map<std::string, Members> by_user_;
  std::unordered_map<std::string, Members> rooms_;
  uint64_t removals_ = 0;
};

}  // namespace wsgw::session
