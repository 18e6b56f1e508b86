#include "common/redis/session_registry.h"

#include <algorithm>
#include <memory>

#include "common/redis/lua_scripts.h"

namespace wsgw::redis {

bool decode_session_record(const Reply& reply, SessionRecord& record) {
  if (!reply.is_array() || reply.elements().size() != 7) return false;
  const auto& e = reply.elements();
  for (size_t i = 0; i < 6; ++i) {
    if (!e[i].is_string()) return false;
  }
  SessionRecord r;
  auto connected = e[4].to_integer();
  auto seen = e[5].to_integer();
  if (!connected || !seen) return false;
  if (!detail::decode_string_list(e[6], r.rooms)) return false;
  r.sid = e[0].str();
  r.node = e[1].str();
  r.uid = e[2].str();
  r.nsp = e[3].str();
  r.connected_at_ms = *connected;
  r.last_seen_ms = *seen;
  std::sort(r.rooms.begin(), r.rooms.end());  // sets come back in no particular order
  record = std::move(r);
  return true;
}

namespace detail {

bool decode_string_list(const Reply& reply, std::vector<std::string>& out) {
  if (reply.is_nil()) {
    out.clear();
    return true;
  }
  if (!reply.is_array()) return false;
  std::vector<std::string> list;
  list.reserve(reply.elements().size());
  for (const auto& e : reply.elements()) {
    if (!e.is_string() && !e.is_status()) return false;
    list.push_back(e.str());
  }
  out = std::move(list);
  return true;
}

bool decode_record_list(const Reply& reply, std::vector<SessionRecord>& out) {
  if (!reply.is_array()) return false;
  std::vector<SessionRecord> records(reply.elements().size());
  for (size_t i = 0; i < records.size(); ++i) {
    if (!decode_session_record(reply.elements()[i], records[i])) return false;
  }
  out = std::move(records);
  return true;
}

std::string reply_error(const Reply& reply) {
  if (reply.is_error()) return reply.str();
  return "unexpected reply: " + reply.debug_string().substr(0, 200);
}

}  // namespace detail

SessionRegistry::SessionRegistry(Client& client, std::string key_prefix, size_t touch_chunk)
    : client_(client), keys_(std::move(key_prefix)), touch_chunk_(std::max<size_t>(touch_chunk, 1)) {}

bool SessionRegistry::run_script(Command args, std::function<void(Reply)> on_reply) {
  return client_.submit_script(lua::registry_script(), std::move(args), 0, std::move(on_reply));
}

bool SessionRegistry::register_session(const SessionRecord& record, ResultCallback<bool> done) {
  Command args;
  args.reserve(7 + record.rooms.size());
  args.arg("register").arg(keys_.prefix()).arg(record.sid).arg(record.node).arg(record.uid)
      .arg(record.nsp).arg(record.connected_at_ms);
  for (const auto& room : record.rooms) args.arg(room);
  return run_script(std::move(args), [done = std::move(done)](Reply r) {
    if (!done) return;
    if (!r.is_integer()) return done(Result<bool>::failure(detail::reply_error(r)));
    done(Result<bool>::success(r.integer() == 1));
  });
}

bool SessionRegistry::unregister_session(std::string_view sid, ResultCallback<bool> done) {
  return run_script(Command{"unregister", keys_.prefix(), sid}, [done = std::move(done)](Reply r) {
    if (!done) return;
    if (!r.is_integer()) return done(Result<bool>::failure(detail::reply_error(r)));
    done(Result<bool>::success(r.integer() == 1));
  });
}

bool SessionRegistry::membership(std::string_view op, std::string_view sid, std::string_view room,
                                 ResultCallback<Membership> done) {
  return run_script(Command{op, keys_.prefix(), sid, room}, [done = std::move(done)](Reply r) {
    if (!done) return;
    if (!r.is_integer()) return done(Result<Membership>::failure(detail::reply_error(r)));
    const Membership m = r.integer() < 0   ? Membership::no_session
                         : r.integer() > 0 ? Membership::changed
                                           : Membership::unchanged;
    done(Result<Membership>::success(m));
  });
}

bool SessionRegistry::join(std::string_view sid, std::string_view room, ResultCallback<Membership> done) {
  return membership("join", sid, room, std::move(done));
}

bool SessionRegistry::leave(std::string_view sid, std::string_view room, ResultCallback<Membership> done) {
  return membership("leave", sid, room, std::move(done));
}

bool SessionRegistry::touch_batch(std::span<const std::pair<std::string, int64_t>> entries,
                                  ResultCallback<int64_t> done) {
  if (entries.empty()) {
    if (done) done(Result<int64_t>::success(0));
    return true;
  }
  std::vector<Command> commands;
  commands.reserve((entries.size() + touch_chunk_ - 1) / touch_chunk_);
  const std::string key = keys_.last_seen();
  for (size_t start = 0; start < entries.size(); start += touch_chunk_) {
    const size_t end = std::min(entries.size(), start + touch_chunk_);
    Command zadd;
    zadd.reserve(4 + 2 * (end - start));
    // XX: only sessions still registered; a late flush never resurrects a reaped one.
    zadd.arg("ZADD").arg(key).arg("XX").arg("CH");
    for (size_t i = start; i < end; ++i) zadd.arg(entries[i].second).arg(entries[i].first);
    commands.push_back(std::move(zadd));
  }
  return client_.submit_many(std::move(commands), [done = std::move(done)](std::vector<Reply> replies) {
    if (!done) return;
    int64_t changed = 0;
    for (const auto& r : replies) {
      if (!r.is_integer()) return done(Result<int64_t>::failure(detail::reply_error(r)));
      changed += r.integer();
    }
    done(Result<int64_t>::success(changed));
  });
}

bool SessionRegistry::reap_idle_sessions(int64_t now_ms, int64_t idle_timeout_ms, size_t limit,
                                         ResultCallback<std::vector<SessionRecord>> done) {
  Command args{"expire", keys_.prefix()};
  args.arg(now_ms).arg(idle_timeout_ms).arg(static_cast<uint64_t>(std::max<size_t>(limit, 1)));
  return run_script(std::move(args), [done = std::move(done)](Reply r) {
    if (!done) return;
    std::vector<SessionRecord> records;
    if (!detail::decode_record_list(r, records)) {
      return done(Result<std::vector<SessionRecord>>::failure(detail::reply_error(r)));
    }
    done(Result<std::vector<SessionRecord>>::success(std::move(records)));
  });
}

bool SessionRegistry::session(std::string_view sid, ResultCallback<std::optional<SessionRecord>> done) {
  using R = Result<std::optional<SessionRecord>>;
  return run_script(Command{"get", keys_.prefix(), sid}, [done = std::move(done)](Reply r) {
    if (!done) return;
    if (r.is_nil()) return done(R::success(std::nullopt));
    SessionRecord record;
    if (!decode_session_record(r, record)) return done(R::failure(detail::reply_error(r)));
    done(R::success(std::move(record)));
  });
}

bool SessionRegistry::node_of(std::string_view sid, ResultCallback<std::optional<std::string>> done) {
  using R = Result<std::optional<std::string>>;
  return client_.submit(Command{"HGET", keys_.session(sid), "node"}, [done = std::move(done)](Reply r) {
    if (!done) return;
    if (r.is_nil()) return done(R::success(std::nullopt));
    if (!r.is_string()) return done(R::failure(detail::reply_error(r)));
    done(R::success(r.str()));
  });
}

bool SessionRegistry::string_list(Command command, ResultCallback<std::vector<std::string>> done) {
  using R = Result<std::vector<std::string>>;
  return client_.submit(std::move(command), [done = std::move(done)](Reply r) {
    if (!done) return;
    std::vector<std::string> list;
    if (!detail::decode_string_list(r, list)) return done(R::failure(detail::reply_error(r)));
    done(R::success(std::move(list)));
  });
}

bool SessionRegistry::integer(Command command, ResultCallback<int64_t> done) {
  return client_.submit(std::move(command), [done = std::move(done)](Reply r) {
    if (!done) return;
    if (!r.is_integer()) return done(Result<int64_t>::failure(detail::reply_error(r)));
    done(Result<int64_t>::success(r.integer()));
  });
}

bool SessionRegistry::nodes_for_room(std::string_view nsp, std::string_view room,
                                     ResultCallback<std::vector<std::string>> done) {
  return string_list(Command{"HKEYS", keys_.room_nodes(nsp, room)}, std::move(done));
}

bool SessionRegistry::room_node_counts(std::string_view nsp, std::string_view room,
                                       ResultCallback<std::vector<std::pair<std::string, int64_t>>> done) {
  using R = Result<std::vector<std::pair<std::string, int64_t>>>;
  return client_.submit(Command{"HGETALL", keys_.room_nodes(nsp, room)}, [done = std::move(done)](Reply r) {
    if (!done) return;
    std::vector<std::string> flat;
    if (!detail::decode_string_list(r, flat) || flat.size() % 2 != 0) {
      return done(R::failure(detail::reply_error(r)));
    }
    std::vector<std::pair<std::string, int64_t>> counts;
    counts.reserve(flat.size() / 2);
    for (size_t i = 0; i < flat.size(); i += 2) {
      int64_t n = 0;
      if (!parse_integer(flat[i + 1], n)) return done(R::failure("bad count for node " + flat[i]));
      counts.emplace_back(std::move(flat[i]), n);
    }
    done(R::success(std::move(counts)));
  });
}

bool SessionRegistry::nodes_for_user(std::string_view uid, ResultCallback<std::vector<std::string>> done) {
  using R = Result<std::vector<std::string>>;
  return run_script(Command{"user-nodes", keys_.prefix(), uid}, [done = std::move(done)](Reply r) {
    if (!done) return;
    std::vector<std::string> list;
    if (!detail::decode_string_list(r, list)) return done(R::failure(detail::reply_error(r)));
    done(R::success(std::move(list)));
  });
}

bool SessionRegistry::sockets_in_room(std::string_view nsp, std::string_view room,
                                      ResultCallback<std::vector<std::string>> done) {
  return string_list(Command{"SMEMBERS", keys_.room_sessions(nsp, room)}, std::move(done));
}

bool SessionRegistry::sockets_of_user(std::string_view uid, ResultCallback<std::vector<std::string>> done) {
  return string_list(Command{"SMEMBERS", keys_.user_sessions(uid)}, std::move(done));
}

bool SessionRegistry::sockets_on_node(std::string_view node, ResultCallback<std::vector<std::string>> done) {
  return string_list(Command{"SMEMBERS", keys_.node_sessions(node)}, std::move(done));
}

bool SessionRegistry::count_in_room(std::string_view nsp, std::string_view room, ResultCallback<int64_t> done) {
  return integer(Command{"SCARD", keys_.room_sessions(nsp, room)}, std::move(done));
}

bool SessionRegistry::count_of_user(std::string_view uid, ResultCallback<int64_t> done) {
  return integer(Command{"SCARD", keys_.user_sessions(uid)}, std::move(done));
}

bool SessionRegistry::count_on_node(std::string_view node, ResultCallback<int64_t> done) {
  return integer(Command{"SCARD", keys_.node_sessions(node)}, std::move(done));
}

bool SessionRegistry::count_sessions(ResultCallback<int64_t> done) {
  return integer(Command{"ZCARD", keys_.last_seen()}, std::move(done));
}

}  // namespace wsgw::redis
