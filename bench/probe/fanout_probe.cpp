// wsgw-fanout-probe: the kernel's limit for the fan-out benchmark (bench/README.md, scenario 5).
//
// Opens N loopback TCP connections (reader processes connect from 127.0.0.x source addresses,
// this process accepts), then writes the same B-byte frame to every connection, K rounds, as
// fast as plain non-blocking send() calls allow, from W writer threads, while the readers only
// drain and count bytes. No framing work, no queues, no event loop beyond what EAGAIN needs:
// what a server that did nothing but write() could reach on this machine with this many sockets.
//
//   wsgw-fanout-probe --connections 10000 --rounds 50 --frame-bytes 620 --writer-threads 2
//                     --readers 4 [--source-base 2] [--json out.json] [--timeout 60]
//
// Reports (JSON): deliveries (frames) per second of wall time from the first write to the last
// byte read, and per CPU-second of the writer process. Exit 0 when every byte arrived.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

namespace {

struct Options {
  uint32_t connections = 1000;
  uint32_t rounds = 20;
  uint32_t frame_bytes = 620;
  uint32_t writer_threads = 2;
  uint32_t readers = 2;
  uint32_t source_base = 2;  // readers bind 127.0.0.<source_base + i>
  uint32_t timeout_s = 60;
  std::string json_path;
};

constexpr std::string_view kUsage =
    "usage: wsgw-fanout-probe [--connections N] [--rounds K] [--frame-bytes B] [--writer-threads W]\n"
    "                         [--readers R] [--source-base 2] [--timeout SECONDS] [--json FILE]\n";

uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

double cpu_seconds(const rusage& r) {
  return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
         static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

bool parse_u32(std::string_view text, uint32_t& out) {
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || p != text.data() + text.size()) return false;
  out = v;
  return true;
}

bool parse_options(int argc, char** argv, Options& o, std::string& error) {
  for (int i = 1; i < argc; ++i) {
    std::string_view name = argv[i];
    if (name == "-h" || name == "--help") {
      error.clear();
      return false;
    }
    if (i + 1 >= argc) {
      error = std::string(name) + " needs a value";
      return false;
    }
    std::string_view value = argv[++i];
    uint32_t* field = nullptr;
    if (name == "--connections") field = &o.connections;
    else if (name == "--rounds") field = &o.rounds;
    else if (name == "--frame-bytes") field = &o.frame_bytes;
    else if (name == "--writer-threads") field = &o.writer_threads;
    else if (name == "--readers") field = &o.readers;
    else if (name == "--source-base") field = &o.source_base;
    else if (name == "--timeout") field = &o.timeout_s;
    else if (name == "--json") o.json_path = value;
    else {
      error = "unknown option " + std::string(name);
      return false;
    }
    if (field && !parse_u32(value, *field)) {
      error = "bad number for " + std::string(name) + ": " + std::string(value);
      return false;
    }
  }
  if (o.connections == 0 || o.rounds == 0 || o.writer_threads == 0 || o.readers == 0 ||
      o.timeout_s == 0) {
    error = "counts and the timeout must be positive";
    return false;
  }
  if (o.frame_bytes < 2 || o.frame_bytes > 65535) {
    error = "--frame-bytes must be 2..65535";
    return false;
  }
  if (o.readers > o.connections || o.writer_threads > o.connections) {
    error = "more readers or writer threads than connections";
    return false;
  }
  if (o.source_base == 0 || o.source_base + o.readers > 255) {
    error = "--source-base + --readers must stay within 127.0.0.1..254";
    return false;
  }
  // This process holds one socket per connection: stay below the 20,000 open files a process gets.
  if (o.connections > 19000) {
    error = "at most 19,000 connections (the open-file limit of one process)";
    return false;
  }
  return true;
}

void raise_open_file_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

bool write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    text.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Reads one '\n'-terminated line from a pipe, waiting at most timeout_ms; empty on timeout/EOF.
std::string read_line(int fd, int timeout_ms) {
  std::string line;
  const uint64_t deadline = now_ns() + static_cast<uint64_t>(timeout_ms) * 1000000ull;
  for (;;) {
    const uint64_t now = now_ns();
    if (now >= deadline) return {};
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>((deadline - now) / 1000000ull) + 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return {};
    char c = 0;
    ssize_t n = ::read(fd, &c, 1);
    if (n <= 0) return {};
    if (c == '\n') return line;
    if (line.size() < 512) line.push_back(c);
  }
}

// ---------------------------------------------------------------------------------------
// Reader process: connect `count` sockets, report ready, drain until every expected byte came.

[[noreturn]] void run_reader(uint16_t port, uint32_t count, uint32_t source_octet, uint64_t expected_bytes,
                             uint32_t timeout_s, int report_fd) {
  std::vector<int> fds;
  fds.reserve(count);
  sockaddr_in target{};
  target.sin_family = AF_INET;
  target.sin_port = htons(port);
  target.sin_addr.s_addr = htonl(0x7F000001);
  sockaddr_in source{};
  source.sin_family = AF_INET;
  source.sin_addr.s_addr = htonl(0x7F000000 | source_octet);
  for (uint32_t i = 0; i < count; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0) ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof source) != 0 ||
        ::connect(fd, reinterpret_cast<sockaddr*>(&target), sizeof target) != 0) {
      char msg[128];
      std::snprintf(msg, sizeof msg, "error connect %u: %s\n", i, std::strerror(errno));
      write_all(report_fd, msg);
      _exit(1);
    }
    fds.push_back(fd);
  }
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  for (size_t i = 0; i < fds.size(); ++i) {
    ::fcntl(fds[i], F_SETFL, O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fds[i];
    ::epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
  }
  write_all(report_fd, "ready\n");
  std::vector<char> buf(256 * 1024);
  std::vector<epoll_event> events(1024);
  uint64_t received = 0;
  uint64_t first_ns = 0;
  uint64_t done_ns = 0;
  uint64_t last_progress_ns = now_ns();
  while (received < expected_bytes) {
    int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 1000);
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      for (;;) {
        ssize_t r = ::read(events[i].data.fd, buf.data(), buf.size());
        if (r > 0) {
          if (received == 0) first_ns = now_ns();
          received += static_cast<uint64_t>(r);
          last_progress_ns = now_ns();
          if (static_cast<size_t>(r) < buf.size()) break;
          continue;
        }
        if (r < 0 && errno == EINTR) continue;
        if (r == 0) ::epoll_ctl(ep, EPOLL_CTL_DEL, events[i].data.fd, nullptr);  // writer gone
        break;
      }
    }
    if (received >= expected_bytes) done_ns = now_ns();
    if (now_ns() - last_progress_ns > uint64_t{timeout_s} * 1000000000ull) break;
  }
  char msg[160];
  std::snprintf(msg, sizeof msg, "done %llu %llu %llu\n", static_cast<unsigned long long>(received),
                static_cast<unsigned long long>(first_ns), static_cast<unsigned long long>(done_ns));
  write_all(report_fd, msg);
  for (int fd : fds) ::close(fd);
  _exit(received >= expected_bytes ? 0 : 1);
}

// ---------------------------------------------------------------------------------------
// Writer: K rounds of one frame to every socket of its slice, round-robin like broadcasts.

struct WriterStats {
  uint64_t frames = 0;
  uint64_t eagain = 0;
  uint64_t errors = 0;
};

void run_writer(const std::vector<int>& fds, size_t begin, size_t end, uint32_t rounds,
                std::string_view frame, WriterStats& stats) {
  struct Slot {
    uint32_t frames_left;
    uint32_t offset;
    bool blocked;
    bool registered;
  };
  std::vector<Slot> slots(end - begin, Slot{rounds, 0, false, false});
  uint64_t remaining = uint64_t{rounds} * (end - begin);
  uint64_t blocked_count = 0;
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  std::vector<epoll_event> events(1024);
  while (remaining > 0) {
    bool progressed = false;
    for (size_t i = 0; i < slots.size(); ++i) {
      Slot& s = slots[i];
      if (s.frames_left == 0 || s.blocked) continue;
      const int fd = fds[begin + i];
      ssize_t n = ::send(fd, frame.data() + s.offset, frame.size() - s.offset, MSG_NOSIGNAL);
      if (n > 0) {
        progressed = true;
        s.offset += static_cast<uint32_t>(n);
        if (s.offset == frame.size()) {
          s.offset = 0;
          --s.frames_left;
          --remaining;
          ++stats.frames;
        }
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        ++stats.eagain;
        s.blocked = true;
        ++blocked_count;
        epoll_event ev{};
        ev.events = EPOLLOUT | EPOLLONESHOT;
        ev.data.u64 = i;
        ::epoll_ctl(ep, s.registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev);
        s.registered = true;
      } else if (!(n < 0 && errno == EINTR)) {
        ++stats.errors;
        remaining -= s.frames_left;
        s.frames_left = 0;
      }
    }
    if (blocked_count > 0) {
      // Wait only when nothing else can be written; otherwise just collect who is writable again.
      const int timeout = progressed ? 0 : 1000;
      int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), timeout);
      for (int k = 0; k < n; ++k) {
        Slot& s = slots[events[k].data.u64];
        if (s.blocked) {
          s.blocked = false;
          --blocked_count;
        }
      }
    }
  }
  ::close(ep);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::string error;
  if (!parse_options(argc, argv, o, error)) {
    if (error.empty()) {
      std::fputs(kUsage.data(), stdout);
      return 0;
    }
    std::fprintf(stderr, "wsgw-fanout-probe: %s\n%s", error.c_str(), kUsage.data());
    return 2;
  }
  raise_open_file_limit();

  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(0x7F000001);
  socklen_t len = sizeof addr;
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listener, 4096) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::fprintf(stderr, "wsgw-fanout-probe: cannot listen: %s\n", std::strerror(errno));
    return 2;
  }
  const uint16_t port = ntohs(addr.sin_port);

  // Readers are forked before any thread exists.
  std::vector<pid_t> readers;
  std::vector<int> report_fds;
  const uint64_t t_connect = now_ns();
  for (uint32_t r = 0; r < o.readers; ++r) {
    const uint32_t count = o.connections / o.readers + (r < o.connections % o.readers ? 1 : 0);
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return 2;
    pid_t pid = ::fork();
    if (pid < 0) return 2;
    if (pid == 0) {
      ::close(p[0]);
      ::close(listener);
      run_reader(port, count, o.source_base + r,
                 uint64_t{count} * o.rounds * o.frame_bytes, o.timeout_s, p[1]);
    }
    ::close(p[1]);
    readers.push_back(pid);
    report_fds.push_back(p[0]);
  }

  std::vector<int> fds;
  fds.reserve(o.connections);
  bool ok = true;
  while (fds.size() < o.connections) {
    pollfd p{listener, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(o.timeout_s) * 1000);
    if (r <= 0) {
      if (r < 0 && errno == EINTR) continue;
      std::fprintf(stderr, "wsgw-fanout-probe: accepted only %zu of %u connections\n", fds.size(),
                   o.connections);
      ok = false;
      break;
    }
    int fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) continue;
    // As the gateway's accepted sockets: no Nagle delay.
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fds.push_back(fd);
  }
  for (size_t r = 0; ok && r < report_fds.size(); ++r) {
    std::string line = read_line(report_fds[r], static_cast<int>(o.timeout_s) * 1000);
    if (line != "ready") {
      std::fprintf(stderr, "wsgw-fanout-probe: reader %zu did not get ready: %s\n", r, line.c_str());
      ok = false;
    }
  }
  const double connect_s = static_cast<double>(now_ns() - t_connect) / 1e9;

  // The frame: a WebSocket text frame header and filler, as a server would send it.
  std::string frame(o.frame_bytes, 'x');
  frame[0] = static_cast<char>(0x81);
  if (o.frame_bytes >= 4 && o.frame_bytes - 4 >= 126) {
    frame[1] = 126;
    frame[2] = static_cast<char>(((o.frame_bytes - 4) >> 8) & 0xFF);
    frame[3] = static_cast<char>((o.frame_bytes - 4) & 0xFF);
  } else {
    frame[1] = static_cast<char>((o.frame_bytes - 2) & 0x7F);
  }

  std::vector<WriterStats> stats(o.writer_threads);
  rusage ru_before{}, ru_after{};
  uint64_t t0 = 0, t_written = 0;
  if (ok) {
    getrusage(RUSAGE_SELF, &ru_before);
    t0 = now_ns();
    std::vector<std::thread> threads;
    for (uint32_t w = 0; w < o.writer_threads; ++w) {
      const size_t begin = fds.size() * w / o.writer_threads;
      const size_t end = fds.size() * (w + 1) / o.writer_threads;
      threads.emplace_back(run_writer, std::cref(fds), begin, end, o.rounds, std::string_view(frame),
                           std::ref(stats[w]));
    }
    for (auto& t : threads) t.join();
    t_written = now_ns();
    getrusage(RUSAGE_SELF, &ru_after);
  }

  uint64_t received = 0, last_done_ns = 0;
  bool all_done = ok;
  for (size_t r = 0; r < report_fds.size(); ++r) {
    std::string line = ok ? read_line(report_fds[r], static_cast<int>(o.timeout_s + 5) * 1000) : "";
    unsigned long long bytes = 0, first = 0, done = 0;
    if (std::sscanf(line.c_str(), "done %llu %llu %llu", &bytes, &first, &done) == 3) {
      received += bytes;
      if (done == 0) all_done = false;
      last_done_ns = std::max<uint64_t>(last_done_ns, done);
    } else {
      all_done = false;
      if (!line.empty()) std::fprintf(stderr, "wsgw-fanout-probe: reader %zu: %s\n", r, line.c_str());
    }
  }
  for (int fd : fds) ::close(fd);
  double reader_cpu_s = 0;
  for (pid_t pid : readers) {
    if (!ok) ::kill(pid, SIGTERM);
    int status = 0;
    rusage ru{};
    if (::wait4(pid, &status, 0, &ru) == pid) reader_cpu_s += cpu_seconds(ru);
  }

  WriterStats total;
  for (const auto& s : stats) {
    total.frames += s.frames;
    total.eagain += s.eagain;
    total.errors += s.errors;
  }
  const uint64_t expected_frames = uint64_t{o.connections} * o.rounds;
  const double wall_s = all_done && last_done_ns > t0 ? static_cast<double>(last_done_ns - t0) / 1e9 : 0;
  const double write_s = t_written > t0 ? static_cast<double>(t_written - t0) / 1e9 : 0;
  const double writer_cpu_s = ok ? cpu_seconds(ru_after) - cpu_seconds(ru_before) : 0;
  const bool complete = all_done && total.frames == expected_frames && total.errors == 0 &&
                        received == expected_frames * o.frame_bytes;
  char json[2048];
  std::snprintf(
      json, sizeof json,
      "{\n  \"ok\": %s,\n  \"connections\": %u,\n  \"rounds\": %u,\n  \"frame_bytes\": %u,\n"
      "  \"writer_threads\": %u,\n  \"readers\": %u,\n  \"connect_s\": %.3f,\n"
      "  \"deliveries\": %llu,\n  \"expected_deliveries\": %llu,\n  \"bytes_received\": %llu,\n"
      "  \"eagain\": %llu,\n  \"write_errors\": %llu,\n  \"write_phase_s\": %.6f,\n  \"wall_s\": %.6f,\n"
      "  \"deliveries_per_s\": %.1f,\n  \"writer_cpu_s\": %.3f,\n  \"deliveries_per_writer_cpu_s\": %.1f,\n"
      "  \"reader_cpu_s\": %.3f\n}\n",
      complete ? "true" : "false", o.connections, o.rounds, o.frame_bytes, o.writer_threads, o.readers,
      connect_s, static_cast<unsigned long long>(total.frames),
      static_cast<unsigned long long>(expected_frames), static_cast<unsigned long long>(received),
      static_cast<unsigned long long>(total.eagain), static_cast<unsigned long long>(total.errors), write_s,
      wall_s, wall_s > 0 ? static_cast<double>(total.frames) / wall_s : 0.0, writer_cpu_s,
      writer_cpu_s > 0 ? static_cast<double>(total.frames) / writer_cpu_s : 0.0, reader_cpu_s);
  if (o.json_path.empty()) {
    std::fputs(json, stdout);
  } else if (FILE* f = std::fopen(o.json_path.c_str(), "w")) {
    std::fputs(json, f);
    std::fclose(f);
  } else {
    std::fprintf(stderr, "wsgw-fanout-probe: cannot write %s\n", o.json_path.c_str());
    return 2;
  }
  return complete ? 0 : 1;
}
