#include "common/redis/subscriber.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <random>
#include <system_error>

#include "common/redis/hiredis_glue.h"

namespace wsgw::redis {
namespace {

using Clock = std::chrono::steady_clock;

bool flush_output(redisContext* c) {
  int done = 0;
  do {
    if (redisBufferWrite(c, &done) != REDIS_OK) return false;
  } while (done == 0);
  return true;
}

std::string_view text_of(const redisReply* r) {
  if (r == nullptr || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS)) return {};
  return std::string_view(r->str, r->len);
}

}  // namespace

Subscriber::Subscriber(SubscriberOptions options, MessageCallback on_message, StateCallback on_state)
    : options_(std::move(options)), on_message_(std::move(on_message)), on_state_(std::move(on_state)) {
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) {
    // Start-up only, and only when the process is out of file descriptors.
    throw std::system_error(errno, std::generic_category(), "eventfd for the Redis subscriber");
  }
  thread_ = std::thread([this] { run(); });
}

Subscriber::~Subscriber() {
  stop();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void Subscriber::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void Subscriber::wake() {
  const uint64_t one = 1;
  // EAGAIN means the counter is already non-zero: the thread will wake anyway.
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
}

void Subscriber::subscribe(std::string channel) { change(OpKind::subscribe, std::move(channel)); }
void Subscriber::unsubscribe(std::string channel) { change(OpKind::unsubscribe, std::move(channel)); }
void Subscriber::psubscribe(std::string pattern) { change(OpKind::psubscribe, std::move(pattern)); }
void Subscriber::punsubscribe(std::string pattern) { change(OpKind::punsubscribe, std::move(pattern)); }

void Subscriber::change(OpKind kind, std::string name) {
  {
    std::lock_guard lock(mutex_);
    bool changed = false;
    switch (kind) {
      case OpKind::subscribe:
        changed = channels_.insert(name).second;
        break;
      case OpKind::unsubscribe:
        changed = channels_.erase(name) > 0;
        break;
      case OpKind::psubscribe:
        changed = patterns_.insert(name).second;
        break;
      case OpKind::punsubscribe:
        changed = patterns_.erase(name) > 0;
        break;
    }
    if (!changed) return;
    ops_.push_back(Op{kind, std::move(name)});
  }
  wake();
}

bool Subscriber::wait_backoff() {
  backoff_ = backoff_.count() == 0 ? options_.reconnect_min_backoff
                                   : std::min(backoff_ * 2, options_.reconnect_max_backoff);
  backoff_ = std::max(backoff_, std::chrono::milliseconds(1));
  thread_local std::minstd_rand rng{std::random_device{}()};
  std::uniform_int_distribution<long> jitter(0, backoff_.count() / 2);
  const auto deadline = Clock::now() + backoff_ - std::chrono::milliseconds(jitter(rng));
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return false;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return true;
    pollfd p{wake_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) > 0) {
      uint64_t drained;
      [[maybe_unused]] auto n = ::read(wake_fd_, &drained, sizeof drained);
    }
  }
}

void Subscriber::run() {
  detail::ConnectSettings settings;
  settings.host = options_.host;
  settings.port = options_.port;
  settings.username = options_.username;
  settings.password = options_.password;
  settings.client_name = options_.client_name;
  settings.connect_timeout = options_.connect_timeout;
  settings.io_timeout = std::max(options_.ping_interval, std::chrono::milliseconds(100));
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    std::string error;
    redisContext* c = detail::connect(settings, error);
    if (c == nullptr) {
      if (backoff_.count() == 0) {
        spdlog::warn("redis bus: cannot connect to {}:{}: {}", options_.host, options_.port, error);
      }
      if (!wait_backoff()) return;
      continue;
    }
    if (backoff_.count() != 0 || connects_.load() != 0) {
      spdlog::info("redis bus: connected to {}:{}", options_.host, options_.port);
    }
    backoff_ = std::chrono::milliseconds(0);
    connects_.fetch_add(1);
    const bool keep_running = session(c);
    redisFree(c);
    active_ = 0;
    if (connected_.exchange(false) && on_state_) {
      try {
        on_state_(false);
      } catch (...) {
        spdlog::error("redis bus: the state callback threw");
      }
    }
    if (!keep_running) return;
  }
}

bool Subscriber::send_pending(redisContext* c) {
  std::vector<Op> ops;
  {
    std::lock_guard lock(mutex_);
    ops.swap(ops_);
  }
  if (ops.empty()) return true;
  static constexpr const char* kVerb[] = {"SUBSCRIBE", "UNSUBSCRIBE", "PSUBSCRIBE", "PUNSUBSCRIBE"};
  for (const auto& op : ops) {
    if (!detail::append_command(c, Command{kVerb[static_cast<int>(op.kind)]}.arg(op.name))) return false;
  }
  return flush_output(c);
}

bool Subscriber::session(redisContext* c) {
  std::vector<std::string> channels, patterns;
  {
    std::lock_guard lock(mutex_);
    ops_.clear();  // superseded by the full snapshot below
    channels.assign(channels_.begin(), channels_.end());
    patterns.assign(patterns_.begin(), patterns_.end());
  }
  // One command per kind; Redis takes any number of names.
  for (auto [verb, names] : {std::pair{"SUBSCRIBE", &channels}, std::pair{"PSUBSCRIBE", &patterns}}) {
    if (names->empty()) continue;
    Command cmd{verb};
    for (auto& n : *names) cmd.arg(std::move(n));
    if (!detail::append_command(c, cmd)) return true;
  }
  if (!flush_output(c)) return true;
  connected_ = true;
  if (on_state_) {
    try {
      on_state_(true);
    } catch (...) {
      spdlog::error("redis bus: the state callback threw");
    }
  }

  const auto ping_every = std::max(options_.ping_interval, std::chrono::milliseconds(10));
  auto last_received = Clock::now();
  auto last_ping = Clock::now();
  for (;;) {
    if (!send_pending(c)) return true;
    const auto now = Clock::now();
    const auto until_ping = std::chrono::duration_cast<std::chrono::milliseconds>(last_ping + ping_every - now);
    pollfd fds[2] = {{c->fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    const int ready = ::poll(fds, 2, static_cast<int>(std::max<long>(until_ping.count(), 0)));
    if (ready < 0 && errno != EINTR) return true;
    if (fds[1].revents & POLLIN) {
      uint64_t drained;
      [[maybe_unused]] auto n = ::read(wake_fd_, &drained, sizeof drained);
    }
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return false;
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      if (redisBufferRead(c) != REDIS_OK) {
        spdlog::warn("redis bus: connection lost: {}", c->errstr);
        return true;
      }
      last_received = Clock::now();
      for (;;) {
        void* raw = nullptr;
        if (redisGetReplyFromReader(c, &raw) != REDIS_OK) {
          spdlog::warn("redis bus: protocol error: {}", c->errstr);
          return true;
        }
        if (raw == nullptr) break;
        handle(static_cast<redisReply*>(raw));
        freeReplyObject(raw);
      }
    }
    const auto after = Clock::now();
    if (after - last_received > 2 * ping_every) {
      spdlog::warn("redis bus: no answer for {} ms, reconnecting",
                   std::chrono::duration_cast<std::chrono::milliseconds>(after - last_received).count());
      return true;
    }
    if (after - last_ping >= ping_every) {
      if (!detail::append_command(c, Command{"PING"}) || !flush_output(c)) return true;
      last_ping = after;
    }
  }
}

void Subscriber::handle(const redisReply* r) {
  if (r->type == REDIS_REPLY_ERROR) {
    spdlog::warn("redis bus: server error: {}", std::string_view(r->str, r->len));
    return;
  }
  if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) return;
  const std::string_view kind = text_of(r->element[0]);
  if (kind == "message" && r->elements == 3) {
    Message m{std::string(text_of(r->element[1])), {}, std::string(text_of(r->element[2]))};
    messages_.fetch_add(1, std::memory_order_relaxed);
    if (on_message_) {
      try {
        on_message_(m);
      } catch (...) {
        spdlog::error("redis bus: the message callback threw");
      }
    }
  } else if (kind == "pmessage" && r->elements == 4) {
    Message m{std::string(text_of(r->element[2])), std::string(text_of(r->element[1])),
              std::string(text_of(r->element[3]))};
    messages_.fetch_add(1, std::memory_order_relaxed);
    if (on_message_) {
      try {
        on_message_(m);
      } catch (...) {
        spdlog::error("redis bus: the message callback threw");
      }
    }
  } else if ((kind == "subscribe" || kind == "unsubscribe" || kind == "psubscribe" ||
              kind == "punsubscribe") &&
             r->elements == 3 && r->element[2]->type == REDIS_REPLY_INTEGER) {
    active_ = static_cast<size_t>(std::max<long long>(r->element[2]->integer, 0));
  }
  // "pong" needs nothing: receiving it already refreshed the liveness clock.
}

}  // namespace wsgw::redis
