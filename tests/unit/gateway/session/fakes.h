#pragma once
// Test doubles for the session layer: a host with a manual clock and a deferred-work queue
// that the test runs explicitly, and links that record what the session sends them.
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/util/timer_wheel.h"
#include "gateway/session/engine_session.h"
#include "gateway/session/local_index.h"

namespace wsgw::session::testing {

class FakeHost : public SessionHost {
 public:
  FakeHost() : wheel_(1000, 10) { cfg.heartbeat = HeartbeatParams{1000, 4000, 1000, 500, 2}; }

  uint64_t now = 1000;
  SessionConfig cfg;
  std::vector<std::pair<EngineSession*, Disconnect>> closed;
  std::vector<std::unique_ptr<EngineSession>> graveyard;

  uint64_t now_ms() override { return now; }
  util::TimerWheel& timers() override { return wheel_; }
  void defer(std::function<void()> fn) override { deferred_.push_back(std::move(fn)); }
  void post(std::function<void()> fn) override { deferred_.push_back(std::move(fn)); }
  void session_closed(EngineSession& s, Disconnect why) override { closed.emplace_back(&s, why); }
  const SessionConfig& session_config() override { return cfg; }
  GatewayMetrics* metrics() override { return nullptr; }
  const WireMessagePtr& ping_message() override { return ping_; }
  LocalIndex* local_index() override { return &local_index_store; }
  LocalIndex local_index_store;

  // Moves the clock and fires due timers, then runs deferred work.
  void advance(uint64_t ms) {
    now += ms;
    wheel_.advance(now);
    run_deferred();
  }
  void run_deferred() {
    while (!deferred_.empty()) {
      auto fn = std::move(deferred_.front());
      deferred_.pop_front();
      fn();
    }
  }

 private:
  util::TimerWheel wheel_;
  std::deque<std::function<void()>> deferred_;
  WireMessagePtr ping_ = make_message(make_text_packet(eio::PacketType::ping, {}));
};

// Records frames as Engine.IO text (or "<bin:...>") in order; flushes the session queue at once.
class FakeWs : public WsLink {
 public:
  EngineSession* session = nullptr;
  std::vector<std::string> sent;
  std::vector<std::string> direct;
  bool detached = false;
  Disconnect detach_code = Disconnect::internal_error;
  bool close_frame = false;
  int flushes = 0;

  void ws_flush() override {
    ++flushes;
    if (!session) return;
    auto& q = session->queue();
    for (auto& e : q.pending())
      for (const auto& p : e.msg->packets)
        sent.push_back(p.binary ? "<bin:" + std::string(p.data()) + ">"
                                : std::string(1, char('0' + int(p.type))) + std::string(p.data()));
    q.pop_front(q.size());
  }
  void ws_send_direct(std::string frame) override { direct.push_back(std::move(frame)); }
  void ws_detach(Disconnect code, bool send_close_frame, SendQueue&& rest) override {
    detached = true;
    detach_code = code;
    close_frame = send_close_frame;
    for (auto& e : rest.pending())
      for (const auto& p : e.msg->packets)
        sent.push_back(std::string(1, char('0' + int(p.type))) + std::string(p.data()));
  }
};

class FakePoll : public PollLink {
 public:
  std::vector<std::string> bodies;
  void poll_respond(std::string body, bool) override { bodies.push_back(std::move(body)); }
};

}  // namespace wsgw::session::testing
