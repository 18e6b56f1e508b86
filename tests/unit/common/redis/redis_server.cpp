#include "redis_server.h"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <thread>
#include <vector>

namespace wsgw::redis::testing {
namespace {

uint16_t pick_free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

bool redis_server_installed() {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return false;
  std::string p(path);
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::filesystem::path candidate = std::filesystem::path(p.substr(start, end - start)) / "redis-server";
    if (::access(candidate.c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

class Environment : public ::testing::Environment {
 public:
  void SetUp() override {
    if (!RedisServer::instance().start()) {
      std::fprintf(stderr, "redis_test: no redis-server available; integration tests will be skipped\n");
    }
  }
  void TearDown() override {
    RedisServer::instance().stop();
    RedisServer::instance().remove_directory();
  }
};

[[maybe_unused]] ::testing::Environment* const kEnvironment =
    ::testing::AddGlobalTestEnvironment(new Environment);

}  // namespace

RedisServer& RedisServer::instance() {
  static RedisServer server;
  return server;
}

bool RedisServer::start() {
  if (!redis_server_installed()) return false;
  char dir_template[] = "/tmp/wsgw-redis-test-XXXXXX";
  if (::mkdtemp(dir_template) == nullptr) return false;
  dir_ = dir_template;
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = pick_free_port();
    if (port_ != 0 && launch()) {
      available_ = true;
      return true;
    }
  }
  return false;
}

bool RedisServer::launch() {
  const std::string port = std::to_string(port_);
  const std::string log = dir_ + "/redis.log";
  std::vector<std::string> args = {"redis-server", "--port", port, "--bind", "127.0.0.1",
                                   "--save", "", "--appendonly", "no", "--dir", dir_,
                                   "--daemonize", "no", "--logfile", log, "--loglevel", "warning"};
  pid_t pid = ::fork();
  if (pid < 0) return false;
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test binary
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execvp("redis-server", argv.data());
    ::_exit(127);
  }
  pid_ = pid;
  if (wait_ready(std::chrono::seconds(5))) return true;
  kill_hard();
  return false;
}

bool RedisServer::wait_ready(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;  // exited: port taken, or a bad argument
      return false;
    }
    timeval tv{0, 200000};
    if (redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv)) {
      bool ok = false;
      if (c->err == 0) {
        auto* r = static_cast<redisReply*>(redisCommand(c, "PING"));
        ok = r != nullptr && r->type == REDIS_REPLY_STATUS;
        if (r) freeReplyObject(r);
      }
      redisFree(c);
      if (ok) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

void RedisServer::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

void RedisServer::remove_directory() {
  if (dir_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
  dir_.clear();
}

void RedisServer::kill_hard() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

bool RedisServer::restart() {
  if (!available_) return false;
  if (running()) return true;
  // Just after a kill the port may linger briefly; retry for a moment.
  for (int attempt = 0; attempt < 20; ++attempt) {
    if (launch()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

ClientOptions RedisServer::client_options() const {
  ClientOptions o;
  o.host = "127.0.0.1";
  o.port = port_;
  o.connect_timeout = std::chrono::milliseconds(500);
  o.command_timeout = std::chrono::milliseconds(3000);
  o.reconnect_min_backoff = std::chrono::milliseconds(10);
  o.reconnect_max_backoff = std::chrono::milliseconds(100);
  return o;
}

SubscriberOptions RedisServer::subscriber_options() const {
  SubscriberOptions o;
  o.host = "127.0.0.1";
  o.port = port_;
  o.connect_timeout = std::chrono::milliseconds(500);
  o.ping_interval = std::chrono::milliseconds(500);
  o.reconnect_min_backoff = std::chrono::milliseconds(10);
  o.reconnect_max_backoff = std::chrono::milliseconds(100);
  return o;
}

bool RedisServer::flush_all() {
  timeval tv{1, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
  if (c == nullptr) return false;
  bool ok = c->err == 0;
  for (const char* cmd : {"FLUSHALL", "SCRIPT FLUSH"}) {
    if (!ok) break;
    auto* r = static_cast<redisReply*>(redisCommand(c, cmd));
    ok = r != nullptr && r->type != REDIS_REPLY_ERROR;
    if (r) freeReplyObject(r);
  }
  redisFree(c);
  return ok;
}

void RedisTest::SetUp() {
  if (!server().available()) {
    GTEST_SKIP() << "redis-server not available";
  }
  if (!server().running()) {
    ASSERT_TRUE(server().restart());
  }
  ASSERT_TRUE(server().flush_all());
}

}  // namespace wsgw::redis::testing
