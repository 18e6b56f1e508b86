#pragma once
// The Redis command client: one dedicated thread owning one blocking hiredis connection, fed by
// a bounded queue, executing commands in pipelined batches.
//
// Why a thread and a blocking context: the I/O threads must never block on Redis, and one
// thread that drains the queue, writes up to `max_batch` commands at once and then reads their
// replies gives pipelining (thousands of commands per round trip) with the simplest possible
// error handling. Results come back through callbacks ON THE CLIENT THREAD; a caller that owns
// an io_context posts the result to it. Callbacks must be quick and must not throw; they may
// submit more commands (submit never blocks).
//
// Outage policy (fail fast, never retry): when the connection drops, the commands whose replies
// were outstanding fail with WSGW_DISCONNECTED — they are NOT retried, because they may already
// have run (HINCRBY twice is wrong). The client reconnects at once; if that attempt fails,
// every queued command and every command submitted until a connection is back fails at once
// with WSGW_DISCONNECTED, and attempts continue with exponential backoff and jitter. Callers
// that keep state in Redis re-sync after an outage instead of relying on replays. A command
// submitted while a connection attempt is in progress waits for that attempt.
//
// Commands taken from the queue but not yet written when the connection turns out to be dead
// (checked before each batch) are never lost: they run on the next connection if the
// immediate reconnect succeeds.
//
// Ordering: callbacks run in submission order. Every command gets exactly one callback, also
// at shutdown (WSGW_STOPPED for what could not run).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "common/redis/command.h"
#include "common/redis/reply.h"
#include "common/redis/script.h"

struct redisContext;

namespace wsgw::redis {

struct ClientOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 6379;
  std::string username;  // ACL user (Redis 6+); empty means AUTH <password> alone
  std::string password;  // empty: no AUTH
  int database = 0;
  std::string client_name = "wsgw";  // CLIENT SETNAME, visible in CLIENT LIST
  size_t queue_capacity = 65536;     // commands waiting; submit() fails beyond this
  size_t queue_capacity_bytes = 64 << 20;  // ... or beyond this many argument bytes waiting
  size_t max_batch = 512;            // commands written before their replies are read
  std::chrono::milliseconds connect_timeout{1000};
  // Socket read/write timeout for one batch; a reply slower than this counts as a dead
  // connection. Keep it above the slowest script (a reap of one batch of sessions).
  std::chrono::milliseconds command_timeout{3000};
  std::chrono::milliseconds reconnect_min_backoff{50};
  std::chrono::milliseconds reconnect_max_backoff{2000};
  // Called on the client thread with true after every successful (re)connection and false
  // when a connection is lost, so an owner can re-sync what an outage may have dropped.
  std::function<void(bool connected)> on_connection_change;
};

class Client {
 public:
  using Callback = std::function<void(Reply)>;
  using BatchCallback = std::function<void(std::vector<Reply>)>;

  struct Stats {
    uint64_t submitted = 0;        // commands accepted into the queue
    uint64_t rejected_full = 0;    // commands refused: queue full (count or bytes) or stopped
    uint64_t executed = 0;         // commands Redis answered (errors included)
    uint64_t failed_local = 0;     // commands answered with a WSGW_* error
    uint64_t batches = 0;          // pipelined round trips
    uint64_t connects = 0;         // successful connections, the first one included
    uint64_t connect_failures = 0;
    uint64_t script_fallbacks = 0;  // EVALSHA answered NOSCRIPT and was re-sent as EVAL
  };

  explicit Client(ClientOptions options);
  ~Client();  // stop()
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Queues one command. Returns false (and never calls `done`) when the queue is full or the
  // client is stopping; the caller counts the drop. Thread-safe, never blocks on I/O.
  bool submit(Command command, Callback done = {});
  // Queues several commands all-or-nothing; `done` gets their replies in order once the last
  // one is answered.
  bool submit_many(std::vector<Command> commands, BatchCallback done = {});
  // EVALSHA <sha> <key_count> <keys_then_args...>, re-sent as EVAL on NOSCRIPT. The first
  // `key_count` arguments are keys.
  bool submit_script(const ScriptPtr& script, Command keys_then_args, size_t key_count,
                     Callback done = {});

  // Blocks until the reply or `timeout` (then WSGW_TIMEOUT; the command may still run later).
  // For start-up and shutdown only — never on an I/O thread, and never from a callback
  // (that would deadlock; it returns a WSGW_BAD_COMMAND error there instead).
  Reply command_sync(Command command, std::chrono::milliseconds timeout);
  Reply script_sync(const ScriptPtr& script, Command keys_then_args, size_t key_count,
                    std::chrono::milliseconds timeout);

  // Start-up helper: waits until a connection is established (true) or `timeout` passes.
  bool wait_connected(std::chrono::milliseconds timeout);
  bool connected() const { return connected_.load(std::memory_order_relaxed); }
  size_t queued() const;
  Stats stats() const;
  std::string last_error() const;  // why the last connection attempt or connection failed
  const ClientOptions& options() const { return options_; }

  // Stops accepting commands. While connected, what is queued still runs (a graceful
  // shutdown keeps its final writes); otherwise it fails with WSGW_STOPPED. Joins the thread.
  // Idempotent. From a callback it only stops accepting commands (a thread cannot join
  // itself); never destroy a Client from its own callback.
  void stop();

 private:
  struct Pending {
    Command command;
    Callback done;
    ScriptPtr script;  // set for EVALSHA calls, for the NOSCRIPT fallback
  };

  static size_t weight(const Command& c);
  bool enqueue(std::vector<Pending>& items);
  void run();
  bool connect_once();
  void disconnect(std::string_view why);
  void notify_connection_change(bool connected);
  bool load_new_scripts();
  void execute_batch(std::vector<Pending>& batch);
  void fail_all(std::vector<Pending>& items, std::string_view error);
  static void invoke(Pending& p, Reply reply);
  bool connection_looks_closed() const;
  std::chrono::milliseconds next_backoff();
  bool on_client_thread() const { return std::this_thread::get_id() == thread_id_.load(); }

  const ClientOptions options_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable connected_cv_;
  std::deque<Pending> queue_;
  size_t queued_bytes_ = 0;
  bool stopping_ = false;
  std::vector<ScriptPtr> scripts_;          // every script ever submitted
  std::unordered_set<const Script*> known_scripts_;
  size_t scripts_loaded_ = 0;               // prefix of scripts_ loaded on this connection
  std::string last_error_;

  redisContext* context_ = nullptr;  // client thread only
  std::atomic<bool> connected_{false};
  std::chrono::milliseconds backoff_{0};
  std::atomic<std::thread::id> thread_id_{};

  std::atomic<uint64_t> submitted_{0}, rejected_full_{0}, executed_{0}, failed_local_{0},
      batches_{0}, connects_{0}, connect_failures_{0}, script_fallbacks_{0};

  std::thread thread_;
};

}  // namespace wsgw::redis
