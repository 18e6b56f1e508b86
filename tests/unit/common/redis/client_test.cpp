// Client against a real redis-server: round trips, pipelining and ordering, the bounded queue,
// sync calls, scripts with the NOSCRIPT fallback, outages and reconnects, shutdown.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "common/redis/client.h"
#include "redis_server.h"

namespace wsgw::redis::testing {
namespace {

using namespace std::chrono_literals;

class ClientTest : public RedisTest {};

// Blocks the client thread inside a callback until released, so tests can fill the queue.
class Latch {
 public:
  Client::Callback blocker() {
    return [this](Reply) {
      entered_.set_value();
      release_future_.wait();
    };
  }
  void wait_entered() { entered_.get_future().wait(); }
  void release() { release_.set_value(); }

 private:
  std::promise<void> entered_;
  std::promise<void> release_;
  std::shared_future<void> release_future_ = release_.get_future().share();
};

TEST_F(ClientTest, RoundTripsEveryReplyKind) {
  Client client(server().client_options());
  ASSERT_TRUE(client.wait_connected(2s)) << client.last_error();
  EXPECT_TRUE(client.command_sync({"SET", "k", "v"}, 2s).is_ok());
  EXPECT_EQ(client.command_sync({"GET", "k"}, 2s), Reply::make_string("v"));
  EXPECT_TRUE(client.command_sync({"GET", "missing"}, 2s).is_nil());
  EXPECT_EQ(client.command_sync({"INCRBY", "n", "41"}, 2s), Reply::make_integer(41));
  Reply wrong_type = client.command_sync({"LPUSH", "k", "x"}, 2s);
  ASSERT_TRUE(wrong_type.is_error());
  EXPECT_FALSE(wrong_type.is_local_error());
  EXPECT_TRUE(wrong_type.str().starts_with("WRONGTYPE")) << wrong_type.str();
  client.command_sync({"RPUSH", "l", "a", "b", "c"}, 2s);
  EXPECT_EQ(client.command_sync({"LRANGE", "l", "0", "-1"}, 2s),
            Reply::make_array({Reply::make_string("a"), Reply::make_string("b"), Reply::make_string("c")}));
  // Binary-safe arguments and replies.
  const std::string binary("a\0b\r\n$3\r\n", 10);
  ASSERT_TRUE(client.command_sync(Command{"SET"}.arg(binary).arg(binary), 2s).is_ok());
  EXPECT_EQ(client.command_sync(Command{"GET"}.arg(binary), 2s), Reply::make_string(binary));
  // An empty command never reaches the wire.
  Reply empty = client.command_sync(Command{}, 2s);
  EXPECT_TRUE(empty.is_local_error());
  EXPECT_TRUE(client.command_sync({"PING"}, 2s).is_status());
}

TEST_F(ClientTest, PipelinesInSubmissionOrder) {
  ClientOptions options = server().client_options();
  options.max_batch = 256;
  Client client(options);
  ASSERT_TRUE(client.wait_connected(2s));
  constexpr int kCount = 20000;
  std::vector<int64_t> seen;
  seen.reserve(kCount);
  std::promise<void> done;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kCount; ++i) {
    ASSERT_TRUE(client.submit({"INCR", "counter"}, [&, i](Reply r) {
      seen.push_back(r.integer());  // callbacks run on one thread, in order
      if (i == kCount - 1) done.set_value();
    }));
  }
  ASSERT_EQ(done.get_future().wait_for(10s), std::future_status::ready);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(seen.size(), static_cast<size_t>(kCount));
  for (int i = 0; i < kCount; ++i) ASSERT_EQ(seen[i], i + 1) << "at " << i;
  const auto stats = client.stats();
  EXPECT_EQ(stats.executed, static_cast<uint64_t>(kCount));
  // Pipelined: far fewer round trips than commands.
  EXPECT_LT(stats.batches, static_cast<uint64_t>(kCount / 10));
  std::printf("[ info     ] %d pipelined INCRs in %lld ms, %llu batches\n", kCount,
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()),
              static_cast<unsigned long long>(stats.batches));
}

TEST_F(ClientTest, SubmitManyGathersRepliesInOrder) {
  Client client(server().client_options());
  std::promise<std::vector<Reply>> p;
  ASSERT_TRUE(client.submit_many({{"SET", "a", "1"}, {"INCR", "a"}, {"GET", "a"}, {"NOSUCHCMD"}},
                                 [&](std::vector<Reply> r) { p.set_value(std::move(r)); }));
  auto f = p.get_future();
  ASSERT_EQ(f.wait_for(3s), std::future_status::ready);
  auto replies = f.get();
  ASSERT_EQ(replies.size(), 4u);
  EXPECT_TRUE(replies[0].is_ok());
  EXPECT_EQ(replies[1], Reply::make_integer(2));
  EXPECT_EQ(replies[2], Reply::make_string("2"));
  EXPECT_TRUE(replies[3].is_error());
  EXPECT_FALSE(replies[3].is_local_error());
}

TEST_F(ClientTest, BoundedQueueRejectsWhenFull) {
  ClientOptions options = server().client_options();
  options.queue_capacity = 8;
  Client client(options);
  ASSERT_TRUE(client.wait_connected(2s));
  Latch latch;
  ASSERT_TRUE(client.submit({"PING"}, latch.blocker()));
  latch.wait_entered();  // the client thread is now stuck in that callback
  std::atomic<int> answered{0};
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(client.submit({"INCR", "q"}, [&](Reply r) {
      if (r.is_integer()) ++answered;
    })) << i;
  }
  EXPECT_EQ(client.queued(), 8u);
  EXPECT_FALSE(client.submit({"INCR", "q"}, [&](Reply) { ADD_FAILURE() << "rejected command ran"; }));
  EXPECT_FALSE(client.submit_many({{"PING"}, {"PING"}}));  // all-or-nothing
  EXPECT_EQ(client.stats().rejected_full, 3u);
  // command_sync cannot get in either, and says so instead of waiting.
  EXPECT_EQ(client.command_sync({"PING"}, 1s).str(), kErrorQueueFull);
  latch.release();
  EXPECT_TRUE(eventually([&] { return answered.load() == 8; }));
  EXPECT_EQ(client.command_sync({"GET", "q"}, 2s), Reply::make_string("8"));
}

TEST_F(ClientTest, BoundedQueueCountsBytesToo) {
  ClientOptions options = server().client_options();
  options.queue_capacity_bytes = 10000;
  Client client(options);
  ASSERT_TRUE(client.wait_connected(2s));
  Latch latch;
  ASSERT_TRUE(client.submit({"PING"}, latch.blocker()));
  latch.wait_entered();
  const std::string big(4000, 'x');
  EXPECT_TRUE(client.submit(Command{"SET", "b1"}.arg(big)));
  EXPECT_TRUE(client.submit(Command{"SET", "b2"}.arg(big)));
  EXPECT_FALSE(client.submit(Command{"SET", "b3"}.arg(big)));  // would pass 10,000 bytes
  EXPECT_TRUE(client.submit({"SET", "small", "1"}));
  latch.release();
  EXPECT_EQ(client.command_sync({"EXISTS", "b1", "b2", "b3", "small"}, 2s), Reply::make_integer(3));
  // One command above the whole budget still goes through an empty queue.
  EXPECT_TRUE(client.command_sync(Command{"SET", "huge"}.arg(std::string(20000, 'y')), 2s).is_ok());
}

TEST_F(ClientTest, CommandSyncTimesOutAndRefusesCallbacks) {
  Client client(server().client_options());
  ASSERT_TRUE(client.wait_connected(2s));
  Latch latch;
  ASSERT_TRUE(client.submit({"PING"}, latch.blocker()));
  latch.wait_entered();
  const auto start = std::chrono::steady_clock::now();
  Reply r = client.command_sync({"PING"}, 100ms);
  EXPECT_EQ(r.str(), kErrorTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  latch.release();

  std::promise<Reply> inner;
  ASSERT_TRUE(client.submit({"PING"}, [&](Reply) { inner.set_value(client.command_sync({"PING"}, 1s)); }));
  auto f = inner.get_future();
  ASSERT_EQ(f.wait_for(2s), std::future_status::ready);
  EXPECT_TRUE(f.get().str().starts_with(kErrorBadCommand));
}

TEST_F(ClientTest, ThrowingCallbackDoesNotStopTheClient) {
  Client client(server().client_options());
  ASSERT_TRUE(client.submit({"PING"}, [](Reply) { throw std::runtime_error("boom"); }));
  EXPECT_TRUE(client.command_sync({"PING"}, 2s).is_status());
}

TEST_F(ClientTest, ScriptsRunByShaAndSurviveScriptFlush) {
  Client client(server().client_options());
  ASSERT_TRUE(client.wait_connected(2s));
  auto script = make_script("return {KEYS[1], ARGV[1], redis.call('INCR', KEYS[1])}");
  Reply first = client.script_sync(script, Command{"cnt", "arg"}, 1, 2s);
  EXPECT_EQ(first, Reply::make_array({Reply::make_string("cnt"), Reply::make_string("arg"),
                                      Reply::make_integer(1)}));
  // Loaded under the digest computed locally.
  EXPECT_EQ(client.command_sync(Command{"SCRIPT", "EXISTS"}.arg(script->sha1()), 2s),
            Reply::make_array({Reply::make_integer(1)}));
  // After SCRIPT FLUSH, EVALSHA answers NOSCRIPT; the client falls back to EVAL transparently.
  ASSERT_TRUE(client.command_sync({"SCRIPT", "FLUSH"}, 2s).is_ok());
  Reply again = client.script_sync(script, Command{"cnt", "arg"}, 1, 2s);
  EXPECT_EQ(again.elements().size(), 3u) << again.debug_string();
  EXPECT_EQ(again.elements().at(2), Reply::make_integer(2));
  EXPECT_EQ(client.stats().script_fallbacks, 1u);
  // A broken script reports its compile error.
  Reply bad = client.script_sync(make_script("this is not lua"), Command{}, 0, 2s);
  EXPECT_TRUE(bad.is_error());
  EXPECT_FALSE(bad.is_local_error());
}

TEST_F(ClientTest, ScriptsAreReloadedAfterRestartWithoutBreakingOrder) {
  Client client(server().client_options());
  ASSERT_TRUE(client.wait_connected(2s));
  auto append = make_script("return redis.call('RPUSH', KEYS[1], ARGV[1])");
  ASSERT_EQ(client.script_sync(append, Command{"order", "0"}, 1, 2s), Reply::make_integer(1));
  server().kill_hard();
  ASSERT_TRUE(server().restart());
  // The first command after the restart notices the dead socket and reconnects; scripts are
  // loaded before the pipeline runs, so no EVALSHA in it meets NOSCRIPT.
  std::promise<void> done;
  std::vector<Reply> replies;
  for (int i = 1; i <= 50; ++i) {
    ASSERT_TRUE(client.submit_script(append, Command{"order"}.arg(int64_t{i}), 1, [&, i](Reply r) {
      replies.push_back(std::move(r));
      if (i == 50) done.set_value();
    }));
  }
  ASSERT_EQ(done.get_future().wait_for(5s), std::future_status::ready);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(replies[i], Reply::make_integer(i + 1)) << replies[i].debug_string();
  EXPECT_EQ(client.stats().script_fallbacks, 0u);  // reloaded on connect, not rescued by EVAL
  EXPECT_EQ(client.stats().connects, 2u);
}

TEST_F(ClientTest, FailsFastDuringAnOutageAndRecovers) {
  ClientOptions options = server().client_options();
  std::mutex changes_mutex;
  std::vector<bool> changes;
  options.on_connection_change = [&](bool up) {
    std::lock_guard lock(changes_mutex);
    changes.push_back(up);
  };
  Client client(options);
  ASSERT_TRUE(client.wait_connected(2s));
  ASSERT_TRUE(client.command_sync({"SET", "before", "1"}, 2s).is_ok());
  server().kill_hard();

  // Commands during the outage fail quickly with a local error, none hangs or is lost.
  const auto start = std::chrono::steady_clock::now();
  Reply r = client.command_sync({"GET", "before"}, 3s);
  EXPECT_TRUE(r.is_local_error()) << r.debug_string();
  EXPECT_TRUE(r.str().starts_with(kErrorDisconnected)) << r.str();
  std::atomic<int> failed{0};
  for (int i = 0; i < 100; ++i) {
    client.submit({"PING"}, [&](Reply x) {
      if (x.is_local_error()) ++failed;
    });
  }
  EXPECT_TRUE(eventually([&] { return failed.load() == 100; }, 2s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2500ms);
  EXPECT_FALSE(client.connected());
  EXPECT_FALSE(client.last_error().empty());

  ASSERT_TRUE(server().restart());
  ASSERT_TRUE(client.wait_connected(3s)) << client.last_error();
  EXPECT_TRUE(client.command_sync({"SET", "after", "1"}, 2s).is_ok());
  EXPECT_GE(client.stats().connects, 2u);
  EXPECT_GE(client.stats().failed_local, 101u);
  std::lock_guard lock(changes_mutex);
  EXPECT_EQ(changes, (std::vector<bool>{true, false, true}));
}

TEST_F(ClientTest, ConnectFailureIsReported) {
  ClientOptions options = server().client_options();
  options.port = 1;  // nothing listens there
  Client client(options);
  Reply r = client.command_sync({"PING"}, 3s);
  EXPECT_TRUE(r.str().starts_with(kErrorDisconnected)) << r.debug_string();
  EXPECT_FALSE(client.wait_connected(50ms));
  EXPECT_FALSE(client.last_error().empty());
  EXPECT_GE(client.stats().connect_failures, 1u);
}

TEST_F(ClientTest, StopRunsWhatIsQueuedWhenConnected) {
  std::atomic<int> ok{0};
  {
    Client client(server().client_options());
    ASSERT_TRUE(client.wait_connected(2s));
    for (int i = 0; i < 1000; ++i) {
      client.submit({"INCR", "drained"}, [&](Reply r) {
        if (r.is_integer()) ++ok;
      });
    }
  }  // destructor: drains
  EXPECT_EQ(ok.load(), 1000);
  Client check(server().client_options());
  EXPECT_EQ(check.command_sync({"GET", "drained"}, 2s), Reply::make_string("1000"));
  check.stop();
  EXPECT_FALSE(check.submit({"PING"}));
  check.stop();  // idempotent
}

TEST_F(ClientTest, StopWhileDisconnectedAnswersEveryCommand) {
  ClientOptions options = server().client_options();
  options.port = 1;
  options.reconnect_min_backoff = 5s;  // stuck in backoff when stopped
  options.reconnect_max_backoff = 5s;
  std::atomic<int> answered{0};
  const auto start = std::chrono::steady_clock::now();
  {
    Client client(options);
    for (int i = 0; i < 10; ++i) client.submit({"PING"}, [&](Reply r) {
      if (r.is_local_error()) ++answered;
    });
  }
  EXPECT_EQ(answered.load(), 10);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);  // stop does not wait out the backoff
}

TEST_F(ClientTest, ManyThreadsSubmitConcurrently) {
  Client client(server().client_options());
  ASSERT_TRUE(client.wait_connected(2s));
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        while (!client.submit({"INCR", "mt"}, [&](Reply r) {
          if (r.is_integer()) ++ok;
        })) {
          std::this_thread::yield();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_TRUE(eventually([&] { return ok.load() == 8000; }));
  EXPECT_EQ(client.command_sync({"GET", "mt"}, 2s), Reply::make_string("8000"));
}

}  // namespace
}  // namespace wsgw::redis::testing
