#include "common/redis/node_registry.h"

#include <algorithm>
#include <memory>

#include "common/redis/lua_scripts.h"
#include "common/redis/session_registry.h"

namespace wsgw::redis {
namespace {

// One reap in progress: submits the next batch from the previous batch's callback. Captures
// only the client, never the registry, so the registry may go away mid-reap.
struct ReapJob : std::enable_shared_from_this<ReapJob> {
  Client* client;
  std::string prefix;
  std::string node;
  int64_t now_ms;
  int64_t timeout_ms;
  size_t batch_size;
  NodeRegistry::ReapCallback on_batch;

  bool submit_next() {
    Command args{"reap", prefix, node};
    args.arg(now_ms).arg(timeout_ms).arg(static_cast<uint64_t>(batch_size));
    return client->submit_script(lua::registry_script(), std::move(args), 0,
                                 [self = shared_from_this()](Reply r) { self->on_reply(r); });
  }

  void on_reply(const Reply& r) {
    const auto& e = r.elements();
    ReapBatch batch;
    if (!r.is_array() || e.size() != 2 || !e[0].is_integer() || e[0].integer() < 0 ||
        e[0].integer() > 2 || !detail::decode_record_list(e[1], batch.sessions)) {
      on_batch(Result<ReapBatch>::failure(detail::reply_error(r)));
      return;
    }
    batch.node_alive = e[0].integer() == 0;
    batch.finished = e[0].integer() == 2;
    const bool more = !batch.node_alive && !batch.finished;
    on_batch(Result<ReapBatch>::success(std::move(batch)));
    if (more && !submit_next()) {
      on_batch(Result<ReapBatch>::failure(std::string(kErrorQueueFull) + ": reap of " + node + " stopped"));
    }
  }
};

}  // namespace

NodeRegistry::NodeRegistry(Client& client, std::string key_prefix)
    : client_(client), keys_(std::move(key_prefix)) {}

bool NodeRegistry::heartbeat(std::string_view node, int64_t now_ms, ResultCallback<std::optional<int64_t>> done) {
  using R = Result<std::optional<int64_t>>;
  Command args{"heartbeat", keys_.prefix(), node};
  args.arg(now_ms);
  return client_.submit_script(lua::registry_script(), std::move(args), 0, [done = std::move(done)](Reply r) {
    if (!done) return;
    if (r.is_nil()) return done(R::success(std::nullopt));
    auto previous = r.to_integer();
    if (!previous) return done(R::failure(detail::reply_error(r)));
    done(R::success(*previous));
  });
}

namespace {
bool node_range(Client& client, Command command, ResultCallback<std::vector<std::string>> done) {
  using R = Result<std::vector<std::string>>;
  return client.submit(std::move(command), [done = std::move(done)](Reply r) {
    if (!done) return;
    std::vector<std::string> nodes;
    if (!detail::decode_string_list(r, nodes)) return done(R::failure(detail::reply_error(r)));
    done(R::success(std::move(nodes)));
  });
}
}  // namespace

bool NodeRegistry::dead_nodes(int64_t now_ms, int64_t timeout_ms, ResultCallback<std::vector<std::string>> done) {
  Command cmd{"ZRANGEBYSCORE", keys_.nodes(), "-inf"};
  cmd.arg(now_ms - timeout_ms);
  return node_range(client_, std::move(cmd), std::move(done));
}

bool NodeRegistry::live_nodes(int64_t now_ms, int64_t timeout_ms, ResultCallback<std::vector<std::string>> done) {
  Command cmd{"ZRANGEBYSCORE", keys_.nodes()};
  cmd.arg("(" + std::to_string(now_ms - timeout_ms)).arg("+inf");
  return node_range(client_, std::move(cmd), std::move(done));
}

bool NodeRegistry::reap(std::string node, int64_t now_ms, int64_t timeout_ms, ReapCallback on_batch,
                        size_t batch_size) {
  auto job = std::make_shared<ReapJob>();
  job->client = &client_;
  job->prefix = keys_.prefix();
  job->node = std::move(node);
  job->now_ms = now_ms;
  job->timeout_ms = timeout_ms;
  job->batch_size = std::max<size_t>(batch_size, 1);
  job->on_batch = std::move(on_batch);
  return job->submit_next();
}

}  // namespace wsgw::redis
