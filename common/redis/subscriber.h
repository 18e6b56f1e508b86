#pragma once
// Redis pub/sub for the node bus: a second connection with its own thread, because a
// connection in subscribed mode can run nothing but (P)(UN)SUBSCRIBE and PING.
//
// The thread waits with poll() on the socket and on an eventfd, so subscription changes made
// from other threads go out at once. It PINGs every `ping_interval` and treats a connection
// that answers nothing for two intervals as dead (a silent network partition would otherwise
// go unnoticed on an idle bus). After a reconnect it subscribes to every channel and pattern
// again. Messages published while it was disconnected are lost (that is pub/sub); the state
// callback tells the owner, which re-syncs whatever it derives from the bus.
//
// Publishing goes through Client::submit(Command{"PUBLISH", channel, payload}).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

struct redisContext;
struct redisReply;

namespace wsgw::redis {

struct SubscriberOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 6379;
  std::string username;
  std::string password;
  std::string client_name = "wsgw-bus";
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds ping_interval{5000};
  std::chrono::milliseconds reconnect_min_backoff{50};
  std::chrono::milliseconds reconnect_max_backoff{2000};
};

struct Message {
  std::string channel;
  std::string pattern;  // the matching pattern for PSUBSCRIBE deliveries, empty otherwise
  std::string payload;
};

class Subscriber {
 public:
  // Both run ON THE SUBSCRIBER THREAD; they must be quick (post elsewhere) and not throw.
  using MessageCallback = std::function<void(const Message&)>;
  // true once (re)connected with the (re)subscriptions sent (active_subscriptions() tells when
  // the server confirmed them), false when the connection is lost.
  using StateCallback = std::function<void(bool connected)>;

  Subscriber(SubscriberOptions options, MessageCallback on_message, StateCallback on_state = {});
  ~Subscriber();  // stop()
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  // Thread-safe; take effect at once when connected, and are remembered for reconnects.
  void subscribe(std::string channel);
  void unsubscribe(std::string channel);
  void psubscribe(std::string pattern);
  void punsubscribe(std::string pattern);

  bool connected() const { return connected_.load(); }
  // Channels + patterns the server confirmed for this connection (from its last
  // (p)(un)subscribe answer); 0 while disconnected. Lets start-up and tests wait until the
  // subscription is live.
  size_t active_subscriptions() const { return active_.load(); }
  uint64_t messages_received() const { return messages_.load(); }
  uint64_t reconnects() const { return connects_.load() > 0 ? connects_.load() - 1 : 0; }

  void stop();  // idempotent; must not be called from a callback

 private:
  enum class OpKind : uint8_t { subscribe, unsubscribe, psubscribe, punsubscribe };
  struct Op {
    OpKind kind;
    std::string name;
  };

  void change(OpKind kind, std::string name);
  void wake();
  void run();
  bool session(redisContext* c);  // returns when the connection is lost or on stop
  bool wait_backoff();            // false when stopping
  bool send_pending(redisContext* c);
  void handle(const redisReply* reply);

  const SubscriberOptions options_;
  MessageCallback on_message_;
  StateCallback on_state_;

  std::mutex mutex_;
  std::set<std::string> channels_;   // desired, for resubscription
  std::set<std::string> patterns_;
  std::vector<Op> ops_;              // changes not yet sent on the current connection
  bool stopping_ = false;

  int wake_fd_ = -1;  // eventfd
  std::atomic<bool> connected_{false};
  std::atomic<size_t> active_{0};
  std::atomic<uint64_t> messages_{0};
  std::atomic<uint64_t> connects_{0};
  std::chrono::milliseconds backoff_{0};
  std::thread thread_;
};

}  // namespace wsgw::redis
