#pragma once
// The Lua scripts behind the registries and the worker-id lease: where several keys must
// change together, one script does it atomically. Each script is a small library whose first
// argument names the operation, so one EVALSHA cache entry serves all of them.
#include "common/redis/script.h"

namespace wsgw::redis::lua {

// Sessions, rooms, users, nodes: ARGV = {op, key_prefix, op arguments...}.
const ScriptPtr& registry_script();
// Worker-id leases: ARGV = {op, key_prefix, node_name, op arguments...}.
const ScriptPtr& worker_id_script();

}  // namespace wsgw::redis::lua
