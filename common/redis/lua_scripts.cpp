#include "common/redis/lua_scripts.h"

namespace wsgw::redis::lua {
namespace {

// Key names must match KeySchema (keys.h) and KEYS.md. Keys are built inside the scripts
// rather than passed as KEYS because most depend on stored data (a session's node, namespace
// and rooms); the scripts therefore need one Redis primary, not Redis Cluster.
constexpr const char* kRegistrySource = R"lua(
-- wsgw registry: sessions, rooms, users, nodes (see common/redis/KEYS.md)
if redis.replicate_commands then pcall(redis.replicate_commands) end  -- SPOP before writes on Redis < 5
local op, P = ARGV[1], ARGV[2]

local function room_part(nsp, room) return #nsp .. ':' .. nsp .. ':' .. room end
local function k_sess(sid) return P .. 'sess:' .. sid end
local function k_sess_rooms(sid) return P .. 'sess-rooms:' .. sid end
local function k_user(uid) return P .. 'user-sids:' .. uid end
local function k_node(node) return P .. 'node-sids:' .. node end
local function k_room_sids(nsp, room) return P .. 'room-sids:' .. room_part(nsp, room) end
local function k_room_nodes(nsp, room) return P .. 'room-nodes:' .. room_part(nsp, room) end
local K_SEEN = P .. 'seen'
local K_NODES = P .. 'nodes'

local function add_to_room(sid, node, nsp, room)
  if redis.call('SADD', k_sess_rooms(sid), room) == 0 then return 0 end
  redis.call('SADD', k_room_sids(nsp, room), sid)
  redis.call('HINCRBY', k_room_nodes(nsp, room), node, 1)
  return 1
end

-- The room's node count drops with its last socket on that node, so room-nodes lists exactly
-- the nodes that hold at least one member.
local function drop_room_entries(sid, node, nsp, room)
  redis.call('SREM', k_room_sids(nsp, room), sid)
  if redis.call('HINCRBY', k_room_nodes(nsp, room), node, -1) <= 0 then
    redis.call('HDEL', k_room_nodes(nsp, room), node)
  end
end

local function remove_from_room(sid, node, nsp, room)
  if redis.call('SREM', k_sess_rooms(sid), room) == 0 then return 0 end
  drop_room_entries(sid, node, nsp, room)
  return 1
end

-- {sid, node, uid, nsp, connected_at, last_seen, {rooms...}} or nil
local function read_session(sid)
  local f = redis.call('HMGET', k_sess(sid), 'node', 'uid', 'nsp', 'connected_at')
  if not f[1] then return nil end
  local rooms = redis.call('SMEMBERS', k_sess_rooms(sid))
  local seen = redis.call('ZSCORE', K_SEEN, sid)
  return {sid, f[1], f[2] or '', f[3] or '', f[4] or '0', seen or '0', rooms}
end

local function remove_session(sid)
  local rec = read_session(sid)
  if not rec then return nil end
  local node, uid, nsp = rec[2], rec[3], rec[4]
  for _, room in ipairs(rec[7]) do drop_room_entries(sid, node, nsp, room) end
  redis.call('ZREM', K_SEEN, sid)
  redis.call('SREM', k_node(node), sid)
  if uid ~= '' then redis.call('SREM', k_user(uid), sid) end
  redis.call('DEL', k_sess(sid), k_sess_rooms(sid))
  return rec
end

if op == 'register' then
  local sid, node, uid, nsp, at = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
  local replaced = remove_session(sid) and 1 or 0
  redis.call('HSET', k_sess(sid), 'node', node, 'uid', uid, 'nsp', nsp, 'connected_at', at)
  redis.call('ZADD', K_SEEN, at, sid)
  redis.call('SADD', k_node(node), sid)
  if uid ~= '' then redis.call('SADD', k_user(uid), sid) end
  -- A node that registers sessions before its first heartbeat is still visible to reapers.
  redis.call('ZADD', K_NODES, 'NX', at, node)
  for i = 8, #ARGV do add_to_room(sid, node, nsp, ARGV[i]) end
  return replaced
elseif op == 'unregister' then
  return remove_session(ARGV[3]) and 1 or 0
elseif op == 'join' or op == 'leave' then
  local sid, room = ARGV[3], ARGV[4]
  local f = redis.call('HMGET', k_sess(sid), 'node', 'nsp')
  if not f[1] then return -1 end
  if op == 'join' then return add_to_room(sid, f[1], f[2] or '', room) end
  return remove_from_room(sid, f[1], f[2] or '', room)
elseif op == 'get' then
  return read_session(ARGV[3])
elseif op == 'user-nodes' then
  local seen, out = {}, {}
  for _, sid in ipairs(redis.call('SMEMBERS', k_user(ARGV[3]))) do
    local node = redis.call('HGET', k_sess(sid), 'node')
    if node and not seen[node] then
      seen[node] = true
      out[#out + 1] = node
    end
  end
  return out
elseif op == 'heartbeat' then
  local previous = redis.call('ZSCORE', K_NODES, ARGV[3])
  redis.call('ZADD', K_NODES, ARGV[4], ARGV[3])
  return previous
elseif op == 'reap' then
  -- {0, {}}: the node heart-beat again, nothing reaped; {1, records}: more to come;
  -- {2, records}: done, the node is forgotten. SPOP hands each session to exactly one reaper.
  local node, now, timeout, limit = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
  local beat = redis.call('ZSCORE', K_NODES, node)
  if beat and tonumber(beat) > now - timeout then return {0, {}} end
  local out = {}
  for _, sid in ipairs(redis.call('SPOP', k_node(node), limit)) do
    local rec = remove_session(sid)
    if rec then out[#out + 1] = rec end
  end
  if redis.call('EXISTS', k_node(node)) == 0 then
    redis.call('ZREM', K_NODES, node)
    return {2, out}
  end
  return {1, out}
elseif op == 'expire' then
  local now, timeout, limit = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
  local out = {}
  local idle = redis.call('ZRANGEBYSCORE', K_SEEN, '-inf', string.format('%.0f', now - timeout),
                          'LIMIT', 0, limit)
  for _, sid in ipairs(idle) do
    local rec = remove_session(sid)
    if rec then out[#out + 1] = rec else redis.call('ZREM', K_SEEN, sid) end
  end
  return out
end
return redis.error_reply('ERR unknown registry operation ' .. tostring(op))
)lua";

constexpr const char* kWorkerIdSource = R"lua(
-- wsgw worker-id leases (see common/redis/KEYS.md). A lease is worker-id:<id> = node name with
-- a TTL; worker-id-of:<node> remembers the node's last id so that a restart keeps it.
local op, P, node = ARGV[1], ARGV[2], ARGV[3]
local function k_id(id) return P .. 'worker-id:' .. id end
local k_of = P .. 'worker-id-of:' .. node

if op == 'acquire' then
  local ttl, remember, max_id = ARGV[4], ARGV[5], tonumber(ARGV[6])
  local function take(id)
    redis.call('SET', k_id(id), node, 'PX', ttl)
    redis.call('SET', k_of, id, 'PX', remember)
    return id
  end
  -- Free or expired, or still ours (a restart before the old lease ran out): keep it.
  local previous = tonumber(redis.call('GET', k_of) or '')
  if previous and previous >= 0 and previous <= max_id and previous == math.floor(previous) then
    local holder = redis.call('GET', k_id(previous))
    if not holder or holder == node then return take(previous) end
  end
  for id = 0, max_id do
    local holder = redis.call('GET', k_id(id))
    if not holder or holder == node then return take(id) end
  end
  return -1
elseif op == 'renew' then
  local id, ttl, remember = ARGV[4], ARGV[5], ARGV[6]
  if redis.call('GET', k_id(id)) ~= node then return 0 end
  redis.call('PEXPIRE', k_id(id), ttl)
  redis.call('SET', k_of, id, 'PX', remember)
  return 1
elseif op == 'release' then
  if redis.call('GET', k_id(ARGV[4])) ~= node then return 0 end
  redis.call('DEL', k_id(ARGV[4]))
  return 1
end
return redis.error_reply('ERR unknown worker-id operation ' .. tostring(op))
)lua";

}  // namespace

const ScriptPtr& registry_script() {
  static const ScriptPtr script = make_script(kRegistrySource);
  return script;
}

const ScriptPtr& worker_id_script() {
  static const ScriptPtr script = make_script(kWorkerIdSource);
  return script;
}

}  // namespace wsgw::redis::lua
