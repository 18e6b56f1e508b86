#pragma once
// One I/O thread: its io_context, its timer wheel, its read buffer and the sessions it owns.
// Every connection and session is pinned to one worker for life (ARCHITECTURE.md, "thread per
// core"); other threads reach them only by posting to `io()`.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/util/timer_wheel.h"
#include "gateway/session/delivery.h"
#include "gateway/session/engine_session.h"
#include "gateway/session/local_index.h"

namespace wsgw::net {

class ServerContext;

class Worker final : public session::SessionHost {
 public:
  Worker(ServerContext& ctx, uint32_t index);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  boost::asio::io_context& io() { return io_; }
  uint32_t index() const { return index_; }
  ServerContext& server() { return ctx_; }
  // One buffer per thread that every readable socket is drained into (uWebSockets' idea):
  // an idle connection owns no read buffer.
  std::span<char> read_buffer() { return {read_buffer_.get(), kReadBufferSize}; }
  std::span<char> write_scratch() { return {write_scratch_.get(), kWriteScratchSize}; }

  // Sessions owned by this worker.
  session::EngineSession* find_session(uint64_t id);
  session::EngineSession& add_session(std::unique_ptr<session::EngineSession> s);
  // Safe to read from any thread (shutdown watches it).
  size_t session_count() const { return live_sessions_.load(std::memory_order_relaxed); }
  // Calls fn for every live session (used by shutdown); fn may close sessions.
  void for_each_session(const std::function<void(session::EngineSession&)>& fn);

  void start();  // arms the timer tick; call from the worker's thread or before run()

  // Queues one pre-encoded message for this worker's sockets of the delivery's target.
  // Call on this worker's thread. Returns the number of sockets it was queued for.
  size_t deliver(const session::Delivery& d);
  // Calls fn for every local socket the delivery's target and `except` list select (the message
  // is not used). fn may close sessions.
  void for_each_target(const session::Delivery& d,
                       const std::function<void(session::NamespaceSocket&)>& fn);

  // session::SessionHost
  uint64_t now_ms() override;
  util::TimerWheel& timers() override { return wheel_; }
  void defer(std::function<void()> fn) override;
  void post(std::function<void()> fn) override { boost::asio::post(io_, std::move(fn)); }
  void session_closed(session::EngineSession& s, session::Disconnect why) override;
  const session::SessionConfig& session_config() override;
  session::GatewayMetrics* metrics() override;
  const session::WireMessagePtr& ping_message() override { return ping_; }
  session::LocalIndex* local_index() override { return &local_index_; }

  static constexpr size_t kReadBufferSize = 64 * 1024;
  static constexpr size_t kWriteScratchSize = 16 * 1024;  // one TLS record of coalesced frames
  static constexpr uint32_t kTickMs = 10;

 private:
  void on_tick();
  void run_deferred();

  ServerContext& ctx_;
  uint32_t index_;
  boost::asio::io_context io_{1};
  boost::asio::steady_timer tick_;
  util::TimerWheel wheel_;
  std::unique_ptr<char[]> read_buffer_;
  std::unique_ptr<char[]> write_scratch_;
  std::unordered_map<uint64_t, std::unique_ptr<session::EngineSession>> sessions_;
  std::vector<std::function<void()>> deferred_;
  bool deferred_posted_ = false;
  std::atomic<size_t> live_sessions_{0};
  session::WireMessagePtr ping_;
  session::LocalIndex local_index_;
};

}  // namespace wsgw::net
