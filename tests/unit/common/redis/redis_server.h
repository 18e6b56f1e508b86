#pragma once
// A real redis-server for the integration tests: started once per test binary on a free
// loopback port in a temporary directory (no persistence), killable and restartable on the
// same port to test reconnects. Tests skip when redis-server is not installed.
#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>

#include "common/redis/client.h"
#include "common/redis/result.h"
#include "common/redis/subscriber.h"

namespace wsgw::redis::testing {

class RedisServer {
 public:
  static RedisServer& instance();

  bool start();      // picks a free port on first start
  void stop();       // SIGTERM and wait
  void kill_hard();  // SIGKILL and wait (a crash)
  bool restart();    // same port
  void remove_directory();  // after the final stop()
  bool running() const { return pid_ > 0; }
  bool available() const { return available_; }
  uint16_t port() const { return port_; }

  ClientOptions client_options() const;
  SubscriberOptions subscriber_options() const;
  // FLUSHALL + SCRIPT FLUSH through a short-lived connection; false when the server is down.
  bool flush_all();

 private:
  bool launch();
  bool wait_ready(std::chrono::milliseconds timeout);

  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string dir_;
  bool available_ = false;
};

// Fixture: skips when no server, flushes Redis before each test, restarts a server a failed
// test left down.
class RedisTest : public ::testing::Test {
 protected:
  void SetUp() override;
  RedisServer& server() { return RedisServer::instance(); }
};

// Runs an asynchronous registry call and waits for its callback.
template <class T, class Start>
Result<T> await(Start&& start, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  auto promise = std::make_shared<std::promise<Result<T>>>();
  auto future = promise->get_future();
  if (!start([promise](Result<T> r) { promise->set_value(std::move(r)); })) {
    return Result<T>::failure("not submitted");
  }
  if (future.wait_for(timeout) != std::future_status::ready) return Result<T>::failure("timed out");
  return future.get();
}

// Polls `condition` every 5 ms until true or `timeout`.
template <class Condition>
bool eventually(Condition&& condition, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return condition();
}

}  // namespace wsgw::redis::testing
