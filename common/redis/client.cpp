#include "common/redis/client.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <future>
#include <random>

#include "common/redis/hiredis_glue.h"

namespace wsgw::redis {
namespace {

ClientOptions sanitize(ClientOptions o) {
  o.queue_capacity = std::max<size_t>(o.queue_capacity, 1);
  o.max_batch = std::max<size_t>(o.max_batch, 1);
  o.reconnect_min_backoff = std::max(o.reconnect_min_backoff, std::chrono::milliseconds(1));
  o.reconnect_max_backoff = std::max(o.reconnect_max_backoff, o.reconnect_min_backoff);
  return o;
}

}  // namespace

Client::Client(ClientOptions options) : options_(sanitize(std::move(options))) {
  thread_ = std::thread([this] { run(); });
}

Client::~Client() { stop(); }

void Client::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  connected_cv_.notify_all();
  if (on_client_thread()) return;  // cannot join ourselves; run() exits after this callback
  if (thread_.joinable()) thread_.join();
}

size_t Client::weight(const Command& c) {
  size_t bytes = 16;  // per-command overhead, so that empty arguments still count
  for (const auto& a : c.args()) bytes += a.size() + 8;
  return bytes;
}

bool Client::enqueue(std::vector<Pending>& items) {
  size_t bytes = 0;
  for (const auto& p : items) bytes += weight(p.command);
  bool was_empty = false;
  {
    std::lock_guard lock(mutex_);
    // A single command larger than the byte budget still goes in when the queue is empty;
    // otherwise it could never be sent at all.
    const bool over_bytes = !queue_.empty() && queued_bytes_ + bytes > options_.queue_capacity_bytes;
    if (stopping_ || queue_.size() + items.size() > options_.queue_capacity || over_bytes) {
      rejected_full_.fetch_add(items.size(), std::memory_order_relaxed);
      return false;
    }
    was_empty = queue_.empty();
    queued_bytes_ += bytes;
    for (auto& p : items) {
      if (p.script && known_scripts_.insert(p.script.get()).second) scripts_.push_back(p.script);
      queue_.push_back(std::move(p));
    }
  }
  submitted_.fetch_add(items.size(), std::memory_order_relaxed);
  // The client thread only sleeps on an empty queue, so only that transition needs a wake-up.
  if (was_empty) wake_.notify_one();
  return true;
}

bool Client::submit(Command command, Callback done) {
  std::vector<Pending> items;
  items.push_back(Pending{std::move(command), std::move(done), nullptr});
  return enqueue(items);
}

bool Client::submit_many(std::vector<Command> commands, BatchCallback done) {
  if (commands.empty()) {
    // Nothing to wait for, but the contract is one callback per accepted call.
    if (done) done({});
    return true;
  }
  struct Gather {
    std::vector<Reply> replies;
    size_t remaining;
    BatchCallback done;
  };
  auto gather = std::make_shared<Gather>();
  gather->replies.resize(commands.size());
  gather->remaining = commands.size();
  gather->done = std::move(done);
  std::vector<Pending> items;
  items.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    // Every callback runs on the client thread, so the counter needs no atomics.
    items.push_back(Pending{std::move(commands[i]),
                            [gather, i](Reply r) {
                              gather->replies[i] = std::move(r);
                              if (--gather->remaining == 0 && gather->done) {
                                gather->done(std::move(gather->replies));
                              }
                            },
                            nullptr});
  }
  return enqueue(items);
}

bool Client::submit_script(const ScriptPtr& script, Command keys_then_args, size_t key_count,
                           Callback done) {
  Command call;
  call.reserve(keys_then_args.size() + 3);
  call.arg("EVALSHA").arg(script->sha1()).arg(static_cast<uint64_t>(key_count));
  for (auto& a : keys_then_args.args()) call.arg(std::move(a));
  std::vector<Pending> items;
  items.push_back(Pending{std::move(call), std::move(done), script});
  return enqueue(items);
}

Reply Client::command_sync(Command command, std::chrono::milliseconds timeout) {
  if (on_client_thread()) {
    return Reply::make_error(std::string(kErrorBadCommand) + ": command_sync inside a callback");
  }
  auto promise = std::make_shared<std::promise<Reply>>();
  auto future = promise->get_future();
  if (!submit(std::move(command), [promise](Reply r) { promise->set_value(std::move(r)); })) {
    return Reply::make_error(std::string(kErrorQueueFull));
  }
  if (future.wait_for(timeout) != std::future_status::ready) {
    return Reply::make_error(std::string(kErrorTimeout));
  }
  return future.get();
}

Reply Client::script_sync(const ScriptPtr& script, Command keys_then_args, size_t key_count,
                          std::chrono::milliseconds timeout) {
  if (on_client_thread()) {
    return Reply::make_error(std::string(kErrorBadCommand) + ": script_sync inside a callback");
  }
  auto promise = std::make_shared<std::promise<Reply>>();
  auto future = promise->get_future();
  if (!submit_script(script, std::move(keys_then_args), key_count,
                     [promise](Reply r) { promise->set_value(std::move(r)); })) {
    return Reply::make_error(std::string(kErrorQueueFull));
  }
  if (future.wait_for(timeout) != std::future_status::ready) {
    return Reply::make_error(std::string(kErrorTimeout));
  }
  return future.get();
}

bool Client::wait_connected(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return connected_cv_.wait_for(lock, timeout, [&] { return connected_.load() || stopping_; }) &&
         connected_.load();
}

size_t Client::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

std::string Client::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

Client::Stats Client::stats() const {
  Stats s;
  s.submitted = submitted_.load(std::memory_order_relaxed);
  s.rejected_full = rejected_full_.load(std::memory_order_relaxed);
  s.executed = executed_.load(std::memory_order_relaxed);
  s.failed_local = failed_local_.load(std::memory_order_relaxed);
  s.batches = batches_.load(std::memory_order_relaxed);
  s.connects = connects_.load(std::memory_order_relaxed);
  s.connect_failures = connect_failures_.load(std::memory_order_relaxed);
  s.script_fallbacks = script_fallbacks_.load(std::memory_order_relaxed);
  return s;
}

void Client::invoke(Pending& p, Reply reply) {
  if (!p.done) return;
  try {
    p.done(std::move(reply));
  } catch (const std::exception& e) {
    // A throwing callback must not take the client thread (and every later callback) down.
    spdlog::error("redis: a command callback threw: {}", e.what());
  } catch (...) {
    spdlog::error("redis: a command callback threw");
  }
}

void Client::fail_all(std::vector<Pending>& items, std::string_view error) {
  failed_local_.fetch_add(items.size(), std::memory_order_relaxed);
  for (auto& p : items) invoke(p, Reply::make_error(std::string(error)));
  items.clear();
}

std::chrono::milliseconds Client::next_backoff() {
  backoff_ = backoff_.count() == 0 ? options_.reconnect_min_backoff
                                   : std::min(backoff_ * 2, options_.reconnect_max_backoff);
  // Jitter in [backoff/2, backoff], so that every gateway does not reconnect in the same tick.
  thread_local std::minstd_rand rng{std::random_device{}()};
  const auto half = backoff_.count() / 2;
  std::uniform_int_distribution<long> jitter(0, half);
  return std::chrono::milliseconds(backoff_.count() - half + jitter(rng));
}

bool Client::connect_once() {
  detail::ConnectSettings settings{options_.host,         options_.port,
                                   options_.username,     options_.password,
                                   options_.database,     options_.client_name,
                                   options_.connect_timeout, options_.command_timeout};
  std::string error;
  redisContext* c = detail::connect(settings, error);
  if (c != nullptr) {
    context_ = c;
    {
      std::lock_guard lock(mutex_);
      scripts_loaded_ = 0;
    }
    if (!load_new_scripts()) {
      error = "SCRIPT LOAD failed: " + std::string(context_->errstr);
      redisFree(context_);
      context_ = nullptr;
    }
  }
  if (context_ == nullptr) {
    connect_failures_.fetch_add(1);
    if (backoff_.count() == 0) {  // log the first failure of an outage, not every retry
      spdlog::warn("redis: cannot connect to {}:{}: {}", options_.host, options_.port, error);
    }
    std::lock_guard lock(mutex_);
    last_error_ = std::move(error);
    return false;
  }
  if (backoff_.count() != 0 || connects_.load() != 0) {
    spdlog::info("redis: connected to {}:{}", options_.host, options_.port);
  }
  backoff_ = std::chrono::milliseconds(0);
  connects_.fetch_add(1);
  {
    std::lock_guard lock(mutex_);
    connected_ = true;
  }
  connected_cv_.notify_all();
  notify_connection_change(true);
  return true;
}

void Client::notify_connection_change(bool connected) {
  if (!options_.on_connection_change) return;
  try {
    options_.on_connection_change(connected);
  } catch (...) {
    spdlog::error("redis: the connection-change callback threw");
  }
}

void Client::disconnect(std::string_view why) {
  if (context_ == nullptr) return;
  spdlog::warn("redis: connection to {}:{} lost: {}", options_.host, options_.port, why);
  redisFree(context_);
  context_ = nullptr;
  {
    std::lock_guard lock(mutex_);
    connected_ = false;
    last_error_ = std::string(why);
  }
  notify_connection_change(false);
}

bool Client::load_new_scripts() {
  std::vector<ScriptPtr> pending;
  {
    std::lock_guard lock(mutex_);
    if (scripts_loaded_ == scripts_.size()) return true;
    pending.assign(scripts_.begin() + static_cast<std::ptrdiff_t>(scripts_loaded_), scripts_.end());
  }
  for (const auto& s : pending) {
    Reply r = detail::run_command(context_, Command{"SCRIPT", "LOAD"}.arg(s->source()));
    if (context_->err != 0) return false;
    // A script Redis refuses (syntax error) stays "loaded": its EVALSHA gets NOSCRIPT, the EVAL
    // fallback then returns the compile error to the caller, which is the useful place for it.
    if (r.is_error()) spdlog::error("redis: SCRIPT LOAD {} failed: {}", s->sha1(), r.str());
  }
  std::lock_guard lock(mutex_);
  scripts_loaded_ += pending.size();
  return true;
}

bool Client::connection_looks_closed() const {
  // Between batches nothing is outstanding, so a readable socket means the server closed it
  // (restart, idle timeout, CLIENT KILL). Noticing now lets the batch go to a fresh connection
  // instead of failing on the dead one.
  pollfd p{context_->fd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)) != 0;
}

void Client::execute_batch(std::vector<Pending>& batch) {
  enum class State : uint8_t { pending, written, answered };
  const size_t n = batch.size();
  std::vector<Reply> replies(n);
  std::vector<State> state(n, State::pending);
  bool broken = false;
  for (size_t i = 0; i < n && !broken; ++i) {
    if (batch[i].command.empty()) {
      replies[i] = Reply::make_error(std::string(kErrorBadCommand) + ": empty command");
      state[i] = State::answered;
    } else if (detail::append_command(context_, batch[i].command)) {
      state[i] = State::written;
    } else {
      broken = true;
    }
  }
  size_t answered = 0;
  // The first redisGetReply writes the whole pipeline, then replies are read in order.
  for (size_t i = 0; i < n && !broken; ++i) {
    if (state[i] != State::written) continue;
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
      broken = true;
      break;
    }
    replies[i] = detail::convert_reply(static_cast<redisReply*>(raw));
    freeReplyObject(raw);
    state[i] = State::answered;
    ++answered;
  }
  // NOSCRIPT after our per-connection SCRIPT LOAD means someone flushed the script cache;
  // EVAL both runs the call and caches the script again.
  for (size_t i = 0; i < n && !broken; ++i) {
    if (!batch[i].script || !replies[i].is_noscript_error()) continue;
    script_fallbacks_.fetch_add(1, std::memory_order_relaxed);
    Command eval = batch[i].command;
    eval.args()[0] = "EVAL";
    eval.args()[1] = batch[i].script->source();
    state[i] = State::written;
    replies[i] = detail::run_command(context_, eval);
    if (context_->err != 0) {
      broken = true;
    } else {
      state[i] = State::answered;
    }
  }
  if (broken) {
    const std::string error = detail::connection_error_text(context_);
    size_t failed = 0;
    for (size_t i = 0; i < n; ++i) {
      // Unanswered: it may have run, so it is reported, never retried.
      if (state[i] == State::answered) continue;
      replies[i] = Reply::make_error(error);
      ++failed;
    }
    failed_local_.fetch_add(failed, std::memory_order_relaxed);
    disconnect(error);
  }
  executed_.fetch_add(answered, std::memory_order_relaxed);
  batches_.fetch_add(1, std::memory_order_relaxed);
  for (size_t i = 0; i < n; ++i) invoke(batch[i], std::move(replies[i]));
  batch.clear();
}

void Client::run() {
  thread_id_.store(std::this_thread::get_id());
  std::vector<Pending> batch;  // taken from the queue and not yet written
  for (;;) {
    if (context_ == nullptr) {
      {
        std::lock_guard lock(mutex_);
        if (stopping_) break;
      }
      if (!connect_once()) {
        // Fail fast: nothing waits for a server that is known to be down.
        const std::string error = std::string(kErrorDisconnected) + ": " + last_error();
        fail_all(batch, error);
        const auto deadline = std::chrono::steady_clock::now() + next_backoff();
        std::unique_lock lock(mutex_);
        bool stop = false;
        for (;;) {
          if (stopping_) {
            stop = true;
            break;
          }
          if (!queue_.empty()) {
            std::vector<Pending> failed(std::make_move_iterator(queue_.begin()),
                                        std::make_move_iterator(queue_.end()));
            queue_.clear();
            queued_bytes_ = 0;
            lock.unlock();
            fail_all(failed, error);
            lock.lock();
            continue;
          }
          if (std::chrono::steady_clock::now() >= deadline) break;
          wake_.wait_until(lock, deadline);
        }
        if (stop) break;
        continue;
      }
    }
    if (batch.empty()) {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) break;  // stopping, and everything queued has run
      const size_t take = std::min(queue_.size(), options_.max_batch);
      batch.reserve(take);
      for (size_t i = 0; i < take; ++i) {
        queued_bytes_ -= std::min(queued_bytes_, weight(queue_.front().command));
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    if (!load_new_scripts()) {
      disconnect(detail::connection_error_text(context_));
      continue;  // the batch was not written: it is safe to run on the next connection
    }
    if (connection_looks_closed()) {
      disconnect("closed by the server");
      continue;
    }
    execute_batch(batch);
  }
  std::vector<Pending> rest = std::move(batch);
  {
    std::lock_guard lock(mutex_);
    for (auto& p : queue_) rest.push_back(std::move(p));
    queue_.clear();
    queued_bytes_ = 0;
  }
  fail_all(rest, kErrorStopped);
  if (context_ != nullptr) {
    redisFree(context_);
    context_ = nullptr;
  }
  std::lock_guard lock(mutex_);
  connected_ = false;
}

}  // namespace wsgw::redis
