#pragma once
// The cluster-wide session registry in Redis: which node holds a socket, a user's sockets, a
// room's sockets and the nodes that hold them (with per-node counts, so a node leaves a room's
// node set when its last member there leaves), and each socket's last-seen time.
// Key schema: KEYS.md. Every multi-key change is one Lua script, so readers never see a half
// registered session and two writers never leave counts wrong.
//
// All methods are asynchronous and thread-safe. They return false when the client's queue is
// full or the client is stopping — `done` is then never called and the caller counts the drop —
// and otherwise call `done` exactly once ON THE REDIS CLIENT THREAD (post it to your own
// executor). `done` may be empty for fire-and-forget writes.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/redis/client.h"
#include "common/redis/keys.h"
#include "common/redis/result.h"
#include "common/redis/session_record.h"

namespace wsgw::redis {

enum class Membership : uint8_t {
  changed,     // joined / left
  unchanged,   // was already in / not in the room
  no_session,  // the sid is not registered (never was, or already reaped)
};

class SessionRegistry {
 public:
  // `touch_chunk`: sessions per ZADD in touch_batch (bounds how long one command holds Redis).
  explicit SessionRegistry(Client& client, std::string key_prefix = std::string(kDefaultKeyPrefix),
                           size_t touch_chunk = 1000);

  // --- writes (the gateway that owns the socket) ---

  // Registers a socket with its initial rooms; last-seen starts at connected_at_ms. Registering
  // a sid again replaces the old record atomically (value: true when it replaced one).
  bool register_session(const SessionRecord& record, ResultCallback<bool> done = {});
  // value: true when the sid was registered.
  bool unregister_session(std::string_view sid, ResultCallback<bool> done = {});
  // Rooms are per namespace: the room is joined in the namespace the sid was registered with.
  bool join(std::string_view sid, std::string_view room, ResultCallback<Membership> done = {});
  bool leave(std::string_view sid, std::string_view room, ResultCallback<Membership> done = {});
  // Flushes last-seen times of many sockets at once: pipelined "ZADD XX" commands of
  // `touch_chunk` sessions each, so thousands cost one round trip and unregistered (reaped)
  // sids are never resurrected. value: how many timestamps changed. An empty batch completes
  // at once, on the calling thread.
  bool touch_batch(std::span<const std::pair<std::string, int64_t>> entries,
                   ResultCallback<int64_t> done = {});
  // Removes up to `limit` sessions idle for more than `idle_timeout_ms` (last-seen older than
  // now - timeout), whatever their node, and returns them so the caller emits disconnects.
  // The timeout must be well above the gateways' touch flush period.
  bool reap_idle_sessions(int64_t now_ms, int64_t idle_timeout_ms, size_t limit,
                          ResultCallback<std::vector<SessionRecord>> done);

  // --- reads (ws-api) ---

  bool session(std::string_view sid, ResultCallback<std::optional<SessionRecord>> done);
  bool node_of(std::string_view sid, ResultCallback<std::optional<std::string>> done);
  bool nodes_for_room(std::string_view nsp, std::string_view room,
                      ResultCallback<std::vector<std::string>> done);
  // node -> number of the room's sockets on that node.
  bool room_node_counts(std::string_view nsp, std::string_view room,
                        ResultCallback<std::vector<std::pair<std::string, int64_t>>> done);
  bool nodes_for_user(std::string_view uid, ResultCallback<std::vector<std::string>> done);
  // Whole-set reads (SMEMBERS): fine for targeting; a room of millions wants the counts.
  bool sockets_in_room(std::string_view nsp, std::string_view room,
                       ResultCallback<std::vector<std::string>> done);
  bool sockets_of_user(std::string_view uid, ResultCallback<std::vector<std::string>> done);
  bool sockets_on_node(std::string_view node, ResultCallback<std::vector<std::string>> done);
  bool count_in_room(std::string_view nsp, std::string_view room, ResultCallback<int64_t> done);
  bool count_of_user(std::string_view uid, ResultCallback<int64_t> done);
  bool count_on_node(std::string_view node, ResultCallback<int64_t> done);
  bool count_sessions(ResultCallback<int64_t> done);

  const KeySchema& keys() const { return keys_; }

 private:
  bool run_script(Command args, std::function<void(Reply)> on_reply);
  bool membership(std::string_view op, std::string_view sid, std::string_view room,
                  ResultCallback<Membership> done);
  bool string_list(Command command, ResultCallback<std::vector<std::string>> done);
  bool integer(Command command, ResultCallback<int64_t> done);

  Client& client_;
  KeySchema keys_;
  size_t touch_chunk_;
};

// Helpers shared with NodeRegistry (and tested directly).
namespace detail {
// Array of bulk strings -> strings; nil -> empty list; false for anything else.
bool decode_string_list(const Reply& reply, std::vector<std::string>& out);
bool decode_record_list(const Reply& reply, std::vector<SessionRecord>& out);
std::string reply_error(const Reply& reply);  // text for a Result failure
}  // namespace detail

}  // namespace wsgw::redis
