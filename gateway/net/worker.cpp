#include "gateway/net/worker.h"

#include <algorithm>

#include "common/util/snowflake.h"
#include "gateway/net/server_context.h"
#include "gateway/session/socketio_session.h"

namespace wsgw::net {

namespace {
uint64_t steady_ms() {
  using namespace std::chrono;
  return static_cast<uint64_t>(
      duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count());
}
}  // namespace

Worker::Worker(ServerContext& ctx, uint32_t index)
    : ctx_(ctx),
      index_(index),
      tick_(io_),
      wheel_(steady_ms(), kTickMs),
      read_buffer_(new char[kReadBufferSize]),
      write_scratch_(new char[kWriteScratchSize]),
      ping_(session::make_message(session::make_text_packet(eio::PacketType::ping, {}))) {}

Worker::~Worker() {
  // Sessions first: their timer nodes unlink from the wheel, their links are gone with io_.
  sessions_.clear();
}

uint64_t Worker::now_ms() { return steady_ms(); }

void Worker::start() {
  tick_.expires_after(std::chrono::milliseconds(kTickMs));
  tick_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) on_tick();
  });
}

void Worker::on_tick() {
  wheel_.advance(now_ms());
  start();
}

void Worker::defer(std::function<void()> fn) {
  deferred_.push_back(std::move(fn));
  if (deferred_posted_) return;
  deferred_posted_ = true;
  boost::asio::post(io_, [this] { run_deferred(); });
}

void Worker::run_deferred() {
  // Work deferred while running these runs in the next batch, keeping FIFO order.
  std::vector<std::function<void()>> batch;
  batch.swap(deferred_);
  deferred_posted_ = false;
  for (auto& fn : batch) fn();
  if (!deferred_.empty() && !deferred_posted_) {
    deferred_posted_ = true;
    boost::asio::post(io_, [this] { run_deferred(); });
  }
}

session::EngineSession* Worker::find_session(uint64_t id) {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second.get();
}

session::EngineSession& Worker::add_session(std::unique_ptr<session::EngineSession> s) {
  auto& ref = *s;
  ctx_.directory.add(ref.id(), index_);
  sessions_.emplace(ref.id(), std::move(s));
  live_sessions_.fetch_add(1, std::memory_order_relaxed);
  return ref;
}

void Worker::for_each_session(const std::function<void(session::EngineSession&)>& fn) {
  std::vector<session::EngineSession*> all;
  all.reserve(sessions_.size());
  for (auto& [id, s] : sessions_) all.push_back(s.get());
  for (auto* s : all)
    if (!s->closed()) fn(*s);
}

void Worker::session_closed(session::EngineSession& s, session::Disconnect) {
  ctx_.directory.remove(s.id());
  auto it = sessions_.find(s.id());
  if (it == sessions_.end()) return;
  // Destroy after the current call stack unwinds (the session is still executing).
  std::shared_ptr<session::EngineSession> doomed(std::move(it->second));
  sessions_.erase(it);
  live_sessions_.fetch_sub(1, std::memory_order_relaxed);
  defer([doomed] {});
}

void Worker::for_each_target(const session::Delivery& d,
                             const std::function<void(session::NamespaceSocket&)>& fn) {
  using Target = session::Delivery::Target;
  auto selected = [&](const session::NamespaceSocket* s) {
    return s->nsp() == d.nsp &&
           !std::binary_search(d.except.begin(), d.except.end(), s->id());
  };
  auto visit = [&](const session::LocalIndex::Members* members) {
    if (!members) return;
    // Copy: fn can close a session (slow consumer, kick), which edits the member set and
    // destroys the session's sockets — possibly others on this list (the connection's other
    // namespaces): once anything was removed, each pointer is checked again by its id.
    std::vector<std::pair<session::NamespaceSocket*, uint64_t>> targets;
    targets.reserve(members->size());
    for (auto* s : *members) targets.emplace_back(s, s->id());
    const uint64_t removals = local_index_.removals();
    for (auto [s, id] : targets) {
      if (local_index_.removals() != removals && local_index_.find_socket(id) != s) continue;
      if (selected(s)) fn(*s);
    }
  };
  switch (d.target) {
    case Target::room:
      return visit(local_index_.members(d.nsp, d.key));
    case Target::user:
      return visit(local_index_.user_sockets(d.key));
    case Target::socket: {
      uint64_t id = 0;
      if (!util::decode_id(d.key, id)) return;
      if (auto* s = local_index_.find_socket(id); s && selected(s)) fn(*s);
      return;
    }
    case Target::everyone:
      for_each_session([&](session::EngineSession& s) {
        auto* sio = dynamic_cast<session::SocketIoSession*>(s.handler());
        if (!sio) return;
        if (auto* sock = sio->find(d.nsp); sock && selected(sock)) fn(*sock);
      });
      return;
  }
}

size_t Worker::deliver(const session::Delivery& d) {
  // The same WireMessage (one encoding, one allocation) is queued for every target.
  // Each socket writes once, after this and any broadcast queued behind it on this thread
  // (sessions defer their writes: the flushes run as deferred work, after the handlers
  // already waiting), like uWebSockets' cork.
  size_t n = 0;
  for_each_target(d, [&](session::NamespaceSocket& s) { n += s.send(d.msg, d.is_volatile) ? 1 : 0; });
  return n;
}

const session::SessionConfig& Worker::session_config() { return ctx_.session_cfg; }
session::GatewayMetrics* Worker::metrics() { return ctx_.metrics; }

}  // namespace wsgw::net
