// wsgw-push-driver: bench/run.py scenario 7's gRPC client, the C++ twin of emit.mjs (same
// options, same JSON report). One thread and one completion queue: it keeps up with 10,000
// Emit calls/s on a fraction of a core, where a Node or Python client needs most of one, and
// this machine's 2 cores are shared with ws-api, the gateway, Kafka, Redis and the loadgens.
//
//   wsgw-push-driver --addr 127.0.0.1:50051 --sids a.txt,b.txt --target room --rate 10000 \
//                    --duration 20 --event push --json out.json
//
// Phases: (--live-file) poke the first sid's node every 100 ms until the file exists (the
// driver creates it once the gateway applies records); (room) join each sid to a room of its
// own "bench-<i>"; write --ready-file {"warmups":W,"joins":J}; wait for --start-file; emit
// --rate calls/s for --duration s, round-robin over the rooms (or to everyone), each with
// [{"ts":<µs since the epoch, just before the call>,"seq":n}].
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "wsgw/v1/api.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace v1 = wsgw::v1;

struct Options {
  std::string addr = "127.0.0.1:50051";
  std::string sids;
  std::string target = "room";
  double rate = 1000;
  double duration_s = 5;
  std::string event = "push";
  std::string nsp = "/";
  size_t max_inflight = 2000;
  std::string json, ready_file, start_file, live_file;
};

bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; i += 2) {
    std::string k = argv[i];
    if (i + 1 >= argc) return false;
    std::string v = argv[i + 1];
    if (k == "--addr") o.addr = v;
    else if (k == "--sids") o.sids = v;
    else if (k == "--target") o.target = v;
    else if (k == "--rate") o.rate = std::atof(v.c_str());
    else if (k == "--duration") o.duration_s = std::atof(v.c_str());
    else if (k == "--event") o.event = v;
    else if (k == "--namespace") o.nsp = v;
    else if (k == "--max-inflight") o.max_inflight = std::strtoul(v.c_str(), nullptr, 10);
    else if (k == "--json") o.json = v;
    else if (k == "--ready-file") o.ready_file = v;
    else if (k == "--start-file") o.start_file = v;
    else if (k == "--live-file") o.live_file = v;
    else return false;
  }
  return o.rate > 0 && o.duration_s > 0 && o.max_inflight > 0 && (o.target == "room" || o.target == "everyone");
}

uint64_t now_us() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

std::vector<std::string> read_sids(const std::string& files) {
  std::vector<std::string> out;
  std::stringstream list(files);
  std::string file;
  while (std::getline(list, file, ',')) {
    if (file.empty()) continue;
    std::ifstream f(file);
    std::string line;
    while (std::getline(f, line)) {
      if (!line.empty()) out.push_back(line);
    }
  }
  return out;
}

void write_file(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  { std::ofstream(tmp, std::ios::trunc) << text; }
  std::filesystem::rename(tmp, path);
}

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// One Emit in flight; the completion queue hands it back through its tag.
struct Call {
  grpc::ClientContext ctx;
  v1::EmitResponse response;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<v1::EmitResponse>> reader;
  Clock::time_point started;
};

std::string quantiles_json(std::vector<double> v) {
  if (v.empty()) return "{\"count\": 0}";
  std::sort(v.begin(), v.end());
  auto q = [&v](double p) {
    size_t i = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size())));
    return v[std::min(v.size() - 1, i == 0 ? 0 : i - 1)];
  };
  char buf[256];
  std::snprintf(buf, sizeof buf, "{\"count\": %zu, \"p50\": %.3f, \"p90\": %.3f, \"p99\": %.3f, \"max\": %.3f}",
                v.size(), q(0.5), q(0.9), q(0.99), v.back());
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse(argc, argv, o)) {
    std::fputs("usage: wsgw-push-driver --addr H:P --sids F[,F] [--target room|everyone] [--rate N] "
               "[--duration S] [--event E] [--namespace N] [--max-inflight N] [--json F] [--ready-file F] "
               "[--start-file F] [--live-file F]\n", stderr);
    return 2;
  }
  auto channel = grpc::CreateChannel(o.addr, grpc::InsecureChannelCredentials());
  auto stub = v1::WsApiService::NewStub(channel);
  const std::vector<std::string> sids = read_sids(o.sids);
  auto deadline_in = [](int ms) { return std::chrono::system_clock::now() + std::chrono::milliseconds(ms); };

  uint64_t warmups = 0;
  if (!o.live_file.empty()) {
    if (sids.empty()) return std::fputs("wsgw-push-driver: --live-file needs --sids\n", stderr), 2;
    while (!std::filesystem::exists(o.live_file)) {
      grpc::ClientContext ctx;
      ctx.set_deadline(deadline_in(10000));
      v1::EmitRequest req;
      req.set_sid(sids.front());
      req.set_namespace_(o.nsp);
      req.set_event("warmup");
      req.set_args_json("[]");
      v1::EmitResponse res;
      auto st = stub->Emit(&ctx, req, &res);
      if (!st.ok()) {
        std::fprintf(stderr, "wsgw-push-driver: warm-up Emit: %d %s\n", st.error_code(), st.error_message().c_str());
        return 1;
      }
      ++warmups;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  std::vector<std::string> rooms;
  double join_s = 0;
  if (o.target == "room") {
    if (sids.empty()) return std::fputs("wsgw-push-driver: --target room needs --sids\n", stderr), 2;
    const auto t0 = Clock::now();
    for (size_t i = 0; i < sids.size(); ++i) {
      grpc::ClientContext ctx;
      ctx.set_deadline(deadline_in(10000));
      v1::JoinRoomRequest req;
      req.set_sid(sids[i]);
      req.set_namespace_(o.nsp);
      rooms.push_back("bench-" + std::to_string(i));
      req.add_rooms(rooms.back());
      v1::JoinRoomResponse res;
      auto st = stub->JoinRoom(&ctx, req, &res);
      if (!st.ok() || res.sockets() != 1) {
        std::fprintf(stderr, "wsgw-push-driver: JoinRoom %s: %s (%u sockets)\n", sids[i].c_str(),
                     st.error_message().c_str(), res.sockets());
        return 1;
      }
    }
    join_s = std::chrono::duration<double>(Clock::now() - t0).count();
  }
  if (!o.ready_file.empty()) {
    write_file(o.ready_file, "{\"warmups\": " + std::to_string(warmups) + ", \"joins\": " +
                                 std::to_string(rooms.size()) + "}\n");
  }
  if (!o.start_file.empty()) {
    while (!std::filesystem::exists(o.start_file)) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }

  grpc::CompletionQueue cq;
  const auto total = static_cast<uint64_t>(std::llround(o.rate * o.duration_s));
  uint64_t sent = 0, done = 0, ok = 0, no_target = 0;
  size_t inflight = 0;
  double max_lag_ms = 0;
  std::map<std::string, uint64_t> errors;
  std::vector<double> rpc_ms;
  rpc_ms.reserve(total);
  const double cpu0 = cpu_seconds();
  const auto t0 = Clock::now();
  while (done < total) {
    const auto now = Clock::now();
    const double elapsed_s = std::chrono::duration<double>(now - t0).count();
    const uint64_t due = std::min<uint64_t>(total, static_cast<uint64_t>(elapsed_s * o.rate) + 1);
    while (sent < due && inflight < o.max_inflight) {
      const uint64_t seq = sent++;
      max_lag_ms = std::max(max_lag_ms, (elapsed_s - static_cast<double>(seq) / o.rate) * 1000);
      auto* call = new Call;
      call->ctx.set_deadline(deadline_in(10000));
      v1::EmitRequest req;
      if (o.target == "room") req.set_room(rooms[seq % rooms.size()]);
      else req.mutable_everyone();
      req.set_namespace_(o.nsp);
      req.set_event(o.event);
      req.set_args_json("[{\"ts\":" + std::to_string(now_us()) + ",\"seq\":" + std::to_string(seq) + "}]");
      call->started = Clock::now();
      call->reader = stub->AsyncEmit(&call->ctx, req, &cq);
      call->reader->Finish(&call->response, &call->status, call);
      ++inflight;
    }
    // Wait for completions until the next call is due (at most 1 ms), then go round again.
    const auto next_due = t0 + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(static_cast<double>(sent) / o.rate));
    auto wait_until = std::chrono::system_clock::now() +
                      std::clamp(next_due - Clock::now(), Clock::duration::zero(),
                                 std::chrono::duration_cast<Clock::duration>(std::chrono::milliseconds(1)));
    for (;;) {
      void* tag = nullptr;
      bool got = false;
      auto st = cq.AsyncNext(&tag, &got, wait_until);
      if (st != grpc::CompletionQueue::GOT_EVENT) break;
      auto* call = static_cast<Call*>(tag);
      --inflight;
      ++done;
      if (call->status.ok()) {
        ++ok;
        if (call->response.target_nodes() == 0) ++no_target;
        rpc_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - call->started).count());
      } else {
        ++errors[std::to_string(call->status.error_code())];
      }
      delete call;
      wait_until = std::chrono::system_clock::now();  // drain what is ready, then emit again
    }
  }
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  const double cpu = cpu_seconds() - cpu0;
  cq.Shutdown();

  std::string err_json = "{";
  for (const auto& [k, v] : errors) {
    if (err_json.size() > 1) err_json += ", ";
    err_json += "\"" + k + "\": " + std::to_string(v);
  }
  err_json += "}";
  char head[768];
  std::snprintf(head, sizeof head,
                "{\n  \"driver\": \"wsgw-push-driver (C++ grpc++)\",\n  \"target\": \"%s\",\n"
                "  \"rate_requested_per_s\": %.1f,\n  \"duration_requested_s\": %.3f,\n  \"rooms\": %zu,\n"
                "  \"join_s\": %.3f,\n  \"warmup_emits\": %llu,\n  \"cpu_s\": %.3f,\n  \"emits\": %llu,\n"
                "  \"ok\": %llu,\n  \"emits_without_target_nodes\": %llu,\n  \"wall_s\": %.3f,\n"
                "  \"emits_per_s\": %.1f,\n  \"max_schedule_lag_ms\": %.1f,\n",
                o.target.c_str(), o.rate, o.duration_s, rooms.size(), join_s,
                static_cast<unsigned long long>(warmups), cpu, static_cast<unsigned long long>(total),
                static_cast<unsigned long long>(ok), static_cast<unsigned long long>(no_target), wall,
                static_cast<double>(total) / wall, max_lag_ms);
  std::string text = std::string(head) + "  \"errors\": " + err_json + ",\n  \"rpc_ms\": " +
                     quantiles_json(std::move(rpc_ms)) + "\n}\n";
  if (o.json.empty()) std::fputs(text.c_str(), stdout);
  else write_file(o.json, text);
  return 0;
}
