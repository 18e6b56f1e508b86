#!/usr/bin/env python3
"""The wsgw benchmark suite: ws-gateway vs the Node.js Socket.IO 4.8 server, same run, same clients.

Scenarios (bench/README.md has the method of each):
  idle-memory    idle memory per connection (runs run-idle-memory.py)
  ramp           scenario 1: connections/s while N clients connect as fast as they can, plain and TLS
  broadcast-ack  scenario 2: a ~600-byte "message" to everyone every T s as a broadcast with acks
                 (one ack id, Socket.IO's io.timeout(t).emit(..., cb)); every client acks each one;
                 delivery latency, deliveries/s, acks counted by the server, errors
  broadcast      scenario 3: the same without acks
                 (--polling-share S: that share of the clients of scenarios 2 and 3 on HTTP long-polling)
  fanout         scenario 5: bursts of messages to everyone as fast as the server can, deliveries/s
                 and deliveries per server CPU-second, beside wsgw-fanout-probe (bare write() loop
                 over as many loopback sockets) as the kernel's limit
  churn          scenario 4: scenario 2 while a share of the clients disconnect and reconnect every
                 second; reconnects, errors, latency, deliveries
  slow           scenario 6: broadcasts while 10% of the clients stop reading; the gateway must drop
                 them as slow_consumer with bounded RSS, the others must be unaffected
  push           scenario 7 (gateway only): gRPC Emit -> ws-api -> Kafka -> ws-gateway -> client latency
                 at a fixed rate, with a real redis-server; Kafka = a real broker from tests/infra/kafka.sh
                 (full run, when java is installed) or wsgw-dev-kafka, librdkafka's mock (--quick)
  micro          bench_micro (Google Benchmark, bench/micro) as JSON, when it is built

  bench/run.py --build-dir build            # full run: results in bench/results/ (~20 min)
  bench/run.py --build-dir build --quick    # small version of each (< 2.5 min), results in a temp dir
  bench/run.py --scenarios ramp,fanout      # a subset

Exit status: 0 when every scenario ran to the end with every client connected and every message
delivered; 1 when one did not (the summary says which); 2 for a setup problem. Numbers and
targets are reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))

import benchlib as bl  # noqa: E402

SCENARIOS = ["idle-memory", "ramp", "broadcast-ack", "broadcast", "fanout", "slow", "churn", "push", "micro"]
SERVERS = ["gateway", "node"]
RAMP_CONFIGS = ["gateway-plain", "gateway-tls", "node-plain", "node-tls"]
# Targets of issue 4 for scenario 5, reported beside the numbers (never asserted).
TARGET_PERCENT_OF_PROBE = 90
TARGET_TIMES_NODE = 20


def article_payload(ts_us: int) -> str:
    """The broadcast's arguments as a JSON array: the article's 42["message",{...}] object with
    its "xx" placeholders filled in with plausible values (600 bytes as a Socket.IO text message
    while "ts" has 16 digits), and the send time first so clients find it cheaply."""
    obj = (
        '{"ts":%d,"type":"user_online","data":{"type":"doc_collaborators","guid":"Wr3DVtyzeSoiRkjNqX8a2b",'
        '"clients":[{"id":10086423,"name":"Li Xiaoming","email":"li.xiaoming@example.com",'
        '"avatar":"ZgG5kEjCkT6mZla6.png","created_at":1623811084000,"name_pinyin":"lixiaoming",'
        '"team_id":13,"team_role":"member","merged_into":0,"team_time":1623811084000,'
        '"mobile":"+86 138 0013 8000","mobile_account":"","status":1,"has_password":true,"team":null,'
        '"membership":null,"is_seat":true,"team_role_enum":3,"register_time":1623811084000,'
        '"alias":"","type":"anoymous"}],"userCount":1,"from":"ws"}}'
    ) % ts_us
    return "[" + obj + "]"


def padded_payload(ts_us: int, total_bytes: int) -> str:
    """article_payload with a "pad" string added so the Socket.IO message is about total_bytes."""
    base = article_payload(ts_us)
    pad = max(0, total_bytes - (len('42["message",') + len(base) - 1) - len(',"pad":""'))
    return base[:-2] + ',"pad":"' + "x" * pad + '"}]'


def message_bytes() -> int:
    """Bytes of the Engine.IO/Socket.IO text message clients receive: 42["message",{...}]."""
    return len('42["message",') + len(article_payload(int(time.time() * 1e6))) - 1


def ws_frame_bytes(payload: int) -> int:
    return payload + (2 if payload < 126 else 4 if payload <= 0xFFFF else 10)


def now_us() -> int:
    return time.time_ns() // 1000


def split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="a small version of every scenario (< 2.5 min)")
    p.add_argument("--scenarios", help=f"comma-separated subset of {SCENARIOS} (default: all)")
    p.add_argument("--servers", default=",".join(SERVERS), help="gateway,node or one of them")
    p.add_argument("--connections", type=int, help="clients per server and scenario (default 10000, quick 1000)")
    p.add_argument("--processes", type=int, help="loadgen processes (default 4, quick 2)")
    p.add_argument("--threads", type=int, default=2, help="ws-gateway --threads, and probe writer threads")
    p.add_argument("--connect-rate", type=float, default=5000,
                   help="total connections/s when a scenario other than ramp sets up its clients")
    p.add_argument("--ramp-connections", type=int,
                   help="ramp: clients per server (default 19000 — one process may hold at most 20,000 open "
                        "files here, so this is as far as one server process can go; quick: --connections)")
    p.add_argument("--ramp-inflight", type=int, default=250,
                   help="ramp: handshakes in flight per loadgen process (the ramp has no rate limit)")
    p.add_argument("--interval", type=float, help="broadcast period, s (default 5, quick 1)")
    p.add_argument("--broadcasts", type=int, help="broadcasts per server in scenarios 2 and 3 (default 12, quick 3)")
    p.add_argument("--polling-share", type=float, default=0.05,
                   help="scenarios 2 and 3: share of the clients (0..1, spread evenly) that use Engine.IO HTTP "
                        "long-polling instead of WebSocket and never upgrade, on both servers (default 0.05)")
    p.add_argument("--burst", type=int, help="fanout: messages per burst (default 50, quick 20)")
    p.add_argument("--bursts", type=int, help="fanout: bursts per server, and probe runs (default 3, quick 1)")
    g = p.add_argument_group("scenario 6 (slow): broadcasts while a share of the clients stop reading")
    g.add_argument("--slow-connections", type=int, help="clients (default 2000, quick 300): fewer than "
                   "--connections, since every client must receive the megabytes a slow one needs to overflow")
    g.add_argument("--slow-share", type=float, default=0.1, help="share of clients that stop reading (0.1)")
    g.add_argument("--slow-message-bytes", type=int, default=65536,
                   help="broadcast size: the article message padded to this many bytes (64 KiB)")
    g.add_argument("--slow-rate", type=float, help="broadcasts/s (default 4, quick 25)")
    g.add_argument("--slow-messages", type=int, help="broadcasts in all (default 120, quick 100)")
    g.add_argument("--slow-rcvbuf", default="0", help="SO_RCVBUF of the slow clients (0 = system default)")
    g.add_argument("--slow-max-queue-bytes", default="",
                   help="ws-gateway --max-queue-bytes for the scenario (default: the gateway's own default)")
    g.add_argument("--slow-baseline", action=argparse.BooleanOptionalAction, default=None,
                   help="also run the same load with no slow clients, for the latency comparison "
                        "(default: on in the full run, off with --quick)")
    g = p.add_argument_group("scenario 4 (churn): scenario 2 while a share of the clients reconnect")
    g.add_argument("--churn-share", type=float, default=0.05,
                   help="share of the clients that disconnect and reconnect every --churn-period (0.05)")
    g.add_argument("--churn-period", type=float, default=1.0, help="seconds between reconnects of each (1)")
    g.add_argument("--churn-broadcasts", type=int, help="broadcasts (default 12, quick 4)")
    g.add_argument("--churn-interval", type=float, help="seconds between broadcasts (default 2.5, quick 1)")
    g = p.add_argument_group("scenario 7 (push): gRPC Emit -> ws-api -> Kafka -> ws-gateway -> client")
    g.add_argument("--push-rate", type=float, help="Emit calls/s (default 10000, quick 1000)")
    g.add_argument("--push-duration", type=float, help="seconds of emitting (default 20, quick 5)")
    g.add_argument("--push-connections", type=int, help="clients (default 1000, quick 200)")
    g.add_argument("--push-target", choices=["room", "everyone"], default="room",
                   help="room: each client in its own room, emits round-robin over the rooms (one "
                        "delivery per emit); everyone: each emit goes to all clients")
    g.add_argument("--push-driver", choices=["auto", "cpp", "node"], default="auto",
                   help="gRPC client: cpp = wsgw-push-driver (grpc++, one thread), node = push/emit.mjs "
                        "(@grpc/grpc-js); auto = cpp when built, else node")
    g.add_argument("--push-kafka", choices=["auto", "real", "mock", "both"], default="auto",
                   help="real = a Kafka 4.x broker from tests/infra/kafka.sh on a free port (needs java, and mvn "
                        "or its cached jars); mock = wsgw-dev-kafka (librdkafka's mock cluster); both = one run "
                        "each; auto = mock with --quick, else real when java is there (mock, with a note, when not)")
    g.add_argument("--push-warmup", type=float, help="seconds of un-timed emits at --push-rate before the measured "
                   "ones, so the broker's JVM is warm (default 40 against a real broker in the full run, else 0)")
    g.add_argument("--push-kafka-brokers", metavar="HOST:PORT",
                   help="--push-kafka real against this running broker instead of starting one (its wsgw.* topics "
                        "must have --downstream-partitions 8, or not exist yet)")
    g.add_argument("--micro-min-time", type=float, default=0.2,
                   help="bench_micro --benchmark_min_time (s) per benchmark in the full run")
    p.add_argument("--build-dir", type=Path,
                   default=Path(os.environ.get("WSGW_BUILD_DIR", bl.REPO_DIR / "build")),
                   help="CMake build directory with ws-gateway, wsgw-loadgen, wsgw-fanout-probe")
    p.add_argument("--out-dir", type=Path, help="default bench/results (with --quick: a temp dir)")
    p.add_argument("--no-charts", action="store_true", help="JSON and markdown only")
    p.add_argument("--keep-tmp", action="store_true", help="keep logs even on success")
    a = p.parse_args()
    a.connections = a.connections or (1000 if a.quick else 10000)
    a.ramp_connections = a.ramp_connections or (a.connections if a.quick else 19000)
    a.processes = a.processes or (2 if a.quick else 4)
    a.interval = a.interval or (1.0 if a.quick else 5.0)
    a.broadcasts = a.broadcasts or (3 if a.quick else 12)
    a.burst = a.burst or (20 if a.quick else 50)
    a.bursts = a.bursts or (1 if a.quick else 3)
    a.slow_connections = a.slow_connections or min(a.connections, 300 if a.quick else 2000)
    a.slow_rate = a.slow_rate or (25.0 if a.quick else 4.0)
    a.slow_messages = a.slow_messages or (100 if a.quick else 120)
    a.slow_baseline = (not a.quick) if a.slow_baseline is None else a.slow_baseline
    a.churn_broadcasts = a.churn_broadcasts or (4 if a.quick else 12)
    a.churn_interval = a.churn_interval or (1.0 if a.quick else 2.5)
    a.push_rate = a.push_rate or (1000.0 if a.quick else 10000.0)
    a.push_duration = a.push_duration or (5.0 if a.quick else 20.0)
    a.push_connections = a.push_connections or (200 if a.quick else 1000)
    a.push_kafka_note = None
    if a.push_kafka == "auto":
        why_not = None if a.quick else bl.real_kafka_unavailable()
        a.push_kafka = "mock" if a.quick or why_not else "real"
        a.push_kafka_auto = True
        if why_not:
            a.push_kafka_note = f"real Kafka not available ({why_not}): ran against the mock cluster"
    else:
        a.push_kafka_auto = False
    a.scenarios_explicit = a.scenarios is not None
    a.scenarios = [s.strip() for s in (a.scenarios or ",".join(SCENARIOS)).split(",") if s.strip()]
    a.servers = [s.strip() for s in a.servers.split(",") if s.strip()]
    bad = [s for s in a.scenarios if s not in SCENARIOS] + [s for s in a.servers if s not in SERVERS]
    if bad:
        p.error(f"unknown scenario or server {bad}")
    if not 0 <= a.polling_share <= 1:
        p.error("--polling-share must be in 0..1")
    if a.ramp_connections > 19000 or a.ramp_connections < a.processes:
        p.error("--ramp-connections must be in --processes..19000 (a process holds at most 20,000 files here)")
    if a.connections < a.processes or a.connections / a.processes > 15000:
        p.error("need --connections >= --processes and at most 15,000 connections per loadgen process")
    if a.connections > 19000 and "fanout" in a.scenarios:
        p.error("fanout: wsgw-fanout-probe holds every connection in one process: at most 19,000")
    a.gateway_bin = a.build_dir / "gateway" / "app" / "ws-gateway"
    a.loadgen_bin = a.build_dir / "bench" / "loadgen" / "wsgw-loadgen"
    a.probe_bin = a.build_dir / "bench" / "probe" / "wsgw-fanout-probe"
    a.api_bin = a.build_dir / "api" / "app" / "ws-api"
    a.dev_kafka_bin = a.build_dir / "deploy" / "local" / "wsgw-dev-kafka"
    a.micro_bin = a.build_dir / "bench" / "micro" / "bench_micro"
    a.push_driver_bin = a.build_dir / "bench" / "push" / "wsgw-push-driver"
    if a.push_driver == "auto":
        a.push_driver = "cpp" if a.push_driver_bin.is_file() else "node"
    a.redis_bin = shutil.which("redis-server") or "redis-server"
    return a


class Suite:
    """What every scenario shares: the process group, the temp dir, the certificate, options."""

    def __init__(self, args):
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="wsgw-bench-"))
        self.group = bl.ProcessGroup(self.tmp)
        self.cert, self.key = bl.make_self_signed_cert(self.tmp)
        self.failed: list[str] = []

    def start_server(self, kind: str, name: str, tls: bool = False,
                     gateway_args: list[str] | None = None) -> bl.Server:
        settings = bl.ServerSettings(tls=tls, cert=self.cert, key=self.key)
        if kind == "gateway":
            server: bl.Server = bl.GatewayServer(self.group, settings, name, self.args.gateway_bin,
                                                 self.args.threads)
            server.extra_args = list(gateway_args or [])
        else:
            server = bl.NodeServer(self.group, settings, name)
        server.start()
        server.wait_ready()
        return server

    def connect_fleet(self, server: bl.Server, name: str, rate: float, inflight: int = 200,
                      extra_args: list[str] | None = None, status: bool = False,
                      connections: int | None = None) -> tuple[bl.LoadgenFleet, dict]:
        a = self.args
        n = connections or a.connections
        specs = [bl.LoadgenSpec(c, rate / a.processes, f"127.0.0.{2 + i}", max_inflight=inflight,
                                extra_args=list(extra_args or []), status=status)
                 for i, c in enumerate(split(n, a.processes))]
        fleet = bl.LoadgenFleet(self.group, a.loadgen_bin, server.url, self.tmp, name, specs)
        fleet.start()
        ready = fleet.wait_connected(n / min(rate, 2000) + 60, extra_check=server.check_alive)
        rsum = bl.summarize_loadgen(ready)
        if rsum["established"] != n:
            fleet.stop(5)
            raise bl.BenchError(f"{name}: only {rsum['established']}/{n} clients connected: {rsum['failures']}")
        bl.wait_until(f"{name}: the server to count {n} connections", lambda: server.connection_count() == n,
                      30, 0.1, check=server.check_alive)
        return fleet, ready

    def stop_server(self, server: bl.Server) -> int | None:
        code = server.stop()
        if code not in (0, None):
            raise bl.BenchError(f"{server.name} exited with code {code} on SIGTERM; log:\n"
                                f"{self.group.log_tail(server.proc)}")
        return code

    def guarded(self, label: str, fn) -> dict:
        """Runs one scenario step; a failure is recorded, logged and does not stop the suite."""
        try:
            return fn()
        except bl.BenchError as e:
            bl.log(f"{label}: FAILED: {e}")
            self.failed.append(label)
            return {"ok": False, "error": str(e)}
        finally:
            # Whatever the step left running (a server, loadgens) goes before the next one.
            for _, p, _ in self.group.procs:
                if p.poll() is None:
                    self.group.stop(p, timeout_s=10)


# ---------------------------------------------------------------------------------------
# Scenario 1: ramp


def run_ramp(suite: Suite, config: str) -> dict:
    a = suite.args
    kind, transport = config.split("-")
    tls = transport == "tls"
    server = suite.start_server(kind, f"ramp-{config}-server", tls)
    n = a.ramp_connections
    cpu0 = server.cpu_s()
    t0 = time.monotonic()
    # No rate limit: each process keeps --ramp-inflight handshakes going and starts the next
    # client as soon as one finishes, so the server's accept/handshake speed sets the pace.
    specs = [bl.LoadgenSpec(c, 1e6, f"127.0.0.{2 + i}", max_inflight=a.ramp_inflight)
             for i, c in enumerate(split(n, a.processes))]
    fleet = bl.LoadgenFleet(suite.group, a.loadgen_bin, server.url, suite.tmp, f"ramp-{config}", specs)
    fleet.start()
    ready = fleet.wait_connected(n / 200 + 60, extra_check=server.check_alive)
    wall = time.monotonic() - t0
    cpu1 = server.cpu_s()
    rsum = bl.summarize_loadgen(ready)
    established = rsum["established"]
    phase = rsum["connect_phase_s"]
    result = {
        "config": config, "server": server.kind, "tls": tls, "connections": n, "established": established,
        "failures": rsum["failures"],
        # All processes start together: N / (the longest process's first start .. last settled).
        "connections_per_s": round(established / phase, 1) if phase > 0 else 0,
        "connections_per_s_sum_of_processes": rsum["connect_rate_per_s"],
        "connect_phase_s": round(phase, 3),
        "driver_wall_s": round(wall, 3),
        "handshake_ms_p50_max": rsum["handshake_ms_p50_max"],
        "handshake_ms_p99_max": rsum["handshake_ms_p99_max"],
        "server_cpu_s": round(cpu1 - cpu0, 3),
        "server_cpu_ms_per_connection": round((cpu1 - cpu0) * 1000 / established, 4) if established else None,
        "inflight_per_process": a.ramp_inflight,
    }
    if established == n:
        bl.wait_until(f"ramp {config}: server to count {n}", lambda: server.connection_count() == n, 30, 0.1,
                      check=server.check_alive)
    final = bl.summarize_loadgen(fleet.stop())
    result["dropped"] = final["dropped_during_hold"]
    result["server_exit_code"] = suite.stop_server(server)
    result["ok"] = established == n and final["dropped_during_hold"] == 0
    if not result["ok"]:
        suite.failed.append(f"ramp {config}")
    bl.log(f"ramp {config}: {established}/{n} in {phase:.2f}s = {result['connections_per_s']:.0f} conn/s "
           f"(handshake p99 {result['handshake_ms_p99_max']:.1f} ms)")
    return result


# ---------------------------------------------------------------------------------------
# Scenarios 2 and 3: periodic broadcast, with and without receipts


def wait_deliveries(fleet: bl.LoadgenFleet, server: bl.Server, expected: int, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    got = fleet.deliveries()
    while got < expected and time.monotonic() < deadline:
        server.check_alive()
        fleet.check_alive()
        time.sleep(0.05)
        got = fleet.deliveries()
    return got


def run_broadcast(suite: Suite, kind: str, with_receipts: bool) -> dict:
    a = suite.args
    scenario = "broadcast-ack" if with_receipts else "broadcast"
    name = f"{scenario}-{kind}"
    server = suite.start_server(kind, f"{name}-server")
    # Scenario 2's receipts are Socket.IO acks: the broadcast asks for them, every client answers.
    extra = ["--receipt-ack"] if with_receipts else []
    if a.polling_share > 0:
        extra += ["--polling-share", str(a.polling_share)]
    fleet, ready = suite.connect_fleet(server, name, a.connect_rate, extra_args=extra, status=True)
    polling_clients = bl.summarize_loadgen(ready)["polling_clients"]
    n = a.connections
    admin = server.admin()
    events0 = server.events_received() or 0
    rss0 = server.rss(1)["VmRSS"]
    cpu0, lg_cpu0 = server.cpu_s(), fleet.cpu_s()
    t0 = time.monotonic()
    post_ms = []
    # Scenario 2's ack round trip: from the POST until the server holds every client's ack
    # (Node's broadcast callback reports them all at once, so this is what both servers can
    # show). Read from the server's own "last event counted" time just before the next
    # broadcast, so nothing polls the server while it delivers; None when not all were in.
    acks_in_ms: list[float | None] = []
    def acks_in(k: int, post_wall_ms: float) -> float | None:
        if (server.events_received() or 0) < events0 + n * (k + 1):
            return None
        last = server.last_event_ms()
        return None if last is None else round(max(0.0, last - post_wall_ms), 1)
    post_wall_ms = 0.0
    for k in range(a.broadcasts):
        delay = t0 + k * a.interval - time.monotonic() - (0.05 if with_receipts and k else 0)
        if delay > 0:
            time.sleep(delay)
        if with_receipts and k:
            acks_in_ms.append(acks_in(k - 1, post_wall_ms))
            delay = t0 + k * a.interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        t = time.monotonic()
        post_wall_ms = time.time() * 1000
        status, body = admin.broadcast("message", article_payload(now_us()), ack=with_receipts)
        post_ms.append((time.monotonic() - t) * 1000)
        if status != 200:
            raise bl.BenchError(f"{name}: POST /admin/broadcast answered {status}: {body[:200]!r}")
    expected = n * a.broadcasts
    got = wait_deliveries(fleet, server, expected, a.interval + 30)
    t_end = time.monotonic()
    cpu1, lg_cpu1 = server.cpu_s(), fleet.cpu_s()
    receipts_counted = None
    if with_receipts:
        # Acks still in flight when the last message arrived: give them a moment.
        try:
            bl.wait_until(f"{name}: server to count the receipts",
                          lambda: (server.events_received() or 0) - events0 >= got, 10, 0.1)
        except bl.BenchError:
            pass  # reported as a shortfall below
        receipts_counted = (server.events_received() or 0) - events0
        acks_in_ms.append(acks_in(a.broadcasts - 1, post_wall_ms))
    rss1 = server.rss(1)["VmRSS"]
    admin.close()
    final = bl.summarize_loadgen(fleet.stop())
    code = suite.stop_server(server)
    phase_s = t_end - t0
    lat = final["latency_us"]
    result = {
        "scenario": scenario, "server": server.kind, "connections": n, "broadcasts": a.broadcasts,
        "interval_s": a.interval, "message_bytes": message_bytes(),
        "expected_deliveries": expected, "deliveries": final["deliveries"],
        "missed_deliveries": expected - final["deliveries"],
        "untimed_deliveries": final["deliveries_untimed"], "clock_skew": final["clock_skew"],
        "receipts_sent": final["receipts_sent"], "receipts_counted_by_server": receipts_counted,
        "acks_in_ms": acks_in_ms if with_receipts else None,
        "dropped_clients": final["dropped_during_hold"], "drops": final["drops"],
        # Long-polling clients (--polling-share): counted in every number above too.
        "polling_share": a.polling_share, "polling_clients": polling_clients,
        "polling_expected_deliveries": polling_clients * a.broadcasts,
        "polling_deliveries": final["polling_deliveries"],
        "polling_requests": {"gets": final["polling_gets"], "posts": final["polling_posts"],
                             "retries": final["polling_request_retries"],
                             "connections_reopened": final["polling_connections_reopened"]},
        "latency_us": lat,
        # The periodic load: all deliveries over the phase (first POST to last delivery).
        "deliveries_per_s": round(final["deliveries"] / phase_s, 1) if phase_s > 0 else 0,
        "phase_s": round(phase_s, 3),
        "server_cpu_s": round(cpu1 - cpu0, 3),
        "server_cpu_percent": round(100 * (cpu1 - cpu0) / phase_s, 1) if phase_s > 0 else 0,
        "loadgen_cpu_s": round(lg_cpu1 - lg_cpu0, 3),
        "server_rss_before_bytes": rss0, "server_rss_after_bytes": rss1,
        "post_ms_median": round(statistics.median(post_ms), 2) if post_ms else None,
        "server_exit_code": code,
    }
    result["ok"] = (result["missed_deliveries"] == 0 and result["dropped_clients"] == 0 and
                    (not with_receipts or receipts_counted == final["receipts_sent"] == expected))
    if not result["ok"]:
        suite.failed.append(name)
    bl.log(f"{name}: {final['deliveries']}/{expected} delivered, latency p50 {lat['p50'] / 1000:.1f} ms "
           f"p99 {lat['p99'] / 1000:.1f} ms max {lat['max'] / 1000:.1f} ms, server CPU "
           f"{result['server_cpu_percent']}%" + (f", acks counted {receipts_counted}" if with_receipts else "")
           + (f"; long-polling clients {polling_clients}: {final['polling_deliveries']}/"
              f"{polling_clients * a.broadcasts} delivered" if a.polling_share > 0 else ""))
    return result


# ---------------------------------------------------------------------------------------
# Scenario 6: slow consumers (broadcasts while a share of the clients stop reading)


def tcp_mem_bytes() -> int:
    try:
        return bl.read_sockstat().get("tcp_mem_bytes", 0)
    except OSError:
        return 0


def run_slow(suite: Suite, kind: str, share: float) -> dict:
    """Broadcasts --slow-messages messages of --slow-message-bytes at --slow-rate to
    --slow-connections clients, of which `share` stop reading once connected. The server's RSS
    (and the kernel's TCP memory) is sampled every 0.25 s; the active clients must get every
    message; the slow ones report how the server ended them when they read again at the end."""
    a = suite.args
    baseline = share == 0
    name = f"slow-{kind}" + ("-baseline" if baseline else "")
    gw_args = ["--max-queue-bytes", a.slow_max_queue_bytes] if a.slow_max_queue_bytes else []
    server = suite.start_server(kind, f"{name}-server", gateway_args=gw_args)
    n = a.slow_connections
    extra = ["--pause-reading-share", str(share), "--paused-rcvbuf", str(a.slow_rcvbuf),
             "--max-message", str(max(1 << 20, 2 * a.slow_message_bytes))] if share > 0 else []
    fleet, ready = suite.connect_fleet(server, name, a.connect_rate, extra_args=extra, status=True,
                                       connections=n)
    paused = sum(r.get("paused_clients", 0) for r in ready)
    active = n - paused
    admin = server.admin()
    closes0 = server.metrics().get('wsgw_closes_total{reason="slow_consumer"}', 0) if kind == "gateway" else None
    rss_series: list[list[float]] = []
    tcp_series: list[list[float]] = []
    t0 = time.monotonic()

    def sample():
        t = round(time.monotonic() - t0, 2)
        rss_series.append([t, bl.read_proc_status(server.proc.pid)["VmRSS"]])
        tcp_series.append([t, tcp_mem_bytes()])

    sample()
    cpu0 = server.cpu_s()
    next_sample = t0
    post_ms = []
    for k in range(a.slow_messages):
        delay = t0 + k / a.slow_rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if time.monotonic() >= next_sample:
            sample()
            next_sample += 0.25
        t = time.monotonic()
        status, body = admin.broadcast("message", padded_payload(now_us(), a.slow_message_bytes))
        post_ms.append((time.monotonic() - t) * 1000)
        if status != 200:
            raise bl.BenchError(f"{name}: POST /admin/broadcast answered {status}: {body[:200]!r}")
    expected = active * a.slow_messages
    deadline = time.monotonic() + 60
    got = fleet.deliveries()
    while got < expected and time.monotonic() < deadline:
        server.check_alive()
        fleet.check_alive()
        if time.monotonic() >= next_sample:
            sample()
            next_sample += 0.25
        time.sleep(0.05)
        got = fleet.deliveries()
    t_end = time.monotonic()
    cpu1 = server.cpu_s()
    sample()
    slow_closed = None
    if kind == "gateway":
        slow_closed = int(server.metrics().get('wsgw_closes_total{reason="slow_consumer"}', 0) - closes0)
    rss_end = server.rss(3)
    tcp_end = tcp_mem_bytes()  # while the slow clients still exist (Node) or are gone (gateway)
    conns_end = server.connection_count()
    admin.close()
    final = bl.summarize_loadgen(fleet.stop())
    code = suite.stop_server(server)
    lat = final["latency_us"]
    rss_values = [v for _, v in rss_series]
    phase_s = t_end - t0
    result = {
        "scenario": "slow-baseline" if baseline else "slow", "server": server.kind, "connections": n,
        "slow_share": share, "slow_clients": paused, "active_clients": active,
        "messages": a.slow_messages, "rate_per_s": a.slow_rate, "message_bytes": a.slow_message_bytes,
        "gateway_max_queue_bytes": a.slow_max_queue_bytes or "default (1 MiB)",
        "slow_rcvbuf": a.slow_rcvbuf,
        "expected_deliveries": expected, "deliveries": final["deliveries"],
        "missed_deliveries": expected - final["deliveries"],
        "dropped_active_clients": final["dropped_during_hold"], "drops": final["drops"],
        "latency_us": lat,
        "slow_closed_by_server_metric": slow_closed,
        "slow_outcomes_seen_by_clients": final["paused_outcomes"],
        "slow_deliveries_read_at_end": final["paused_deliveries"],
        "server_connections_at_end": conns_end,
        "server_rss_start_bytes": rss_values[0], "server_rss_max_bytes": max(rss_values),
        "server_rss_end_bytes": rss_end["VmRSS"],
        "server_rss_growth_bytes": max(rss_values) - rss_values[0],
        "kernel_tcp_mem_max_bytes": max(v for _, v in tcp_series),
        "kernel_tcp_mem_end_bytes": tcp_end,
        "rss_series": rss_series, "tcp_mem_series": tcp_series,
        "phase_s": round(phase_s, 3),
        "deliveries_per_s": round(final["deliveries"] / phase_s, 1) if phase_s > 0 else 0,
        "server_cpu_percent": round(100 * (cpu1 - cpu0) / phase_s, 1) if phase_s > 0 else 0,
        "post_ms_median": round(statistics.median(post_ms), 2) if post_ms else None,
        "server_exit_code": code,
    }
    ok = result["missed_deliveries"] == 0 and result["dropped_active_clients"] == 0
    if kind == "gateway" and not baseline:
        # The bound: every slow client is ended by the gateway as slow_consumer (close 4002).
        result["slow_all_dropped"] = slow_closed == paused
        ok = ok and slow_closed == paused
    result["ok"] = ok
    if not ok:
        suite.failed.append(name)
    bl.log(f"{name}: {final['deliveries']}/{expected} delivered to {active} active clients, latency p50 "
           f"{lat['p50'] / 1000:.1f} ms p99 {lat['p99'] / 1000:.1f} ms; {paused} slow: server closed "
           f"{slow_closed} as slow_consumer, clients saw {final['paused_outcomes']}; server RSS "
           f"{rss_values[0] / 2**20:.1f} -> max {max(rss_values) / 2**20:.1f} MiB")
    return result


# ---------------------------------------------------------------------------------------
# Scenario 4: churn (scenario 2 while a share of the clients disconnect and reconnect)


def run_churn(suite: Suite, kind: str) -> dict:
    """Scenario 2 (broadcast + a receipt per delivery) while --churn-share of the clients close
    and reconnect (as new Socket.IO clients) every --churn-period. The other clients must get
    every message; the churning ones get what arrives while they are connected."""
    a = suite.args
    name = f"churn-{kind}"
    server = suite.start_server(kind, f"{name}-server")
    extra = ["--receipt-event", "receipt", "--churn-share", str(a.churn_share),
             "--churn-period", f"{int(a.churn_period * 1000)}ms"]
    fleet, ready = suite.connect_fleet(server, name, a.connect_rate, extra_args=extra, status=True)
    n = a.connections
    pool = sum(r.get("churn_pool", 0) for r in ready)
    steady = n - pool
    admin = server.admin()
    events0 = server.events_received() or 0
    cpu0 = server.cpu_s()
    t0 = time.monotonic()
    post_ms = []
    for k in range(a.churn_broadcasts):
        delay = t0 + k * a.churn_interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        t = time.monotonic()
        status, body = admin.broadcast("message", article_payload(now_us()))
        post_ms.append((time.monotonic() - t) * 1000)
        if status != 200:
            raise bl.BenchError(f"{name}: POST /admin/broadcast answered {status}: {body[:200]!r}")
    expected_steady = steady * a.churn_broadcasts

    def steady_deliveries() -> int:
        st = fleet.statuses()
        return sum(x.get("deliveries", 0) - x.get("churn_deliveries", 0) for x in st)

    deadline = time.monotonic() + a.churn_interval + 30
    while steady_deliveries() < expected_steady and time.monotonic() < deadline:
        server.check_alive()
        fleet.check_alive()
        time.sleep(0.05)
    t_end = time.monotonic()
    cpu1 = server.cpu_s()
    reconnects_live = sum(x.get("reconnects", 0) for x in fleet.statuses())
    receipts_live = sum(x.get("receipts_sent", 0) for x in fleet.statuses())
    try:
        bl.wait_until(f"{name}: server to count the receipts",
                      lambda: (server.events_received() or 0) - events0 >= receipts_live, 10, 0.1)
    except bl.BenchError:
        pass  # a shortfall shows in the numbers
    conns_end = server.connection_count()
    admin.close()
    final = bl.summarize_loadgen(fleet.stop())
    receipts_counted = (server.events_received() or 0) - events0
    code = suite.stop_server(server)
    phase_s = t_end - t0
    hold_s = max((r.get("hold_s", 0) for r in fleet_reports(fleet)), default=0) or phase_s
    lat = final["latency_us"]
    steady_got = final["deliveries"] - final["churn_deliveries"]
    result = {
        "scenario": "churn", "server": server.kind, "connections": n, "churn_share": a.churn_share,
        "churn_period_s": a.churn_period, "broadcasts": a.churn_broadcasts, "interval_s": a.churn_interval,
        "churn_pool": pool, "steady_clients": steady,
        "expected_steady_deliveries": expected_steady, "steady_deliveries": steady_got,
        "missed_steady_deliveries": expected_steady - steady_got,
        "churn_deliveries": final["churn_deliveries"],
        "churn_deliveries_possible": pool * a.churn_broadcasts,
        "deliveries": final["deliveries"],
        "disconnects": final["churn_disconnects"], "disconnects_closed_cleanly": final["churn_closed_cleanly"],
        "disconnect_close_timeouts": final["churn_close_timeouts"],
        "reconnects": final["reconnects"], "reconnect_failures": final["reconnect_failures"],
        "reconnects_interrupted": final["reconnects_interrupted"], "churn_skipped": final["churn_skipped"],
        "reconnects_per_s": round(final["reconnects"] / hold_s, 1) if hold_s > 0 else 0,
        "reconnect_handshake_ms_p50_max": final["reconnect_handshake_ms_p50_max"],
        "reconnect_handshake_ms_p99_max": final["reconnect_handshake_ms_p99_max"],
        "reconnects_at_end_of_broadcasts": reconnects_live,
        "dropped_clients": final["dropped_during_hold"], "drops": final["drops"],
        "receipts_sent": final["receipts_sent"], "receipts_counted_by_server": receipts_counted,
        "latency_us": lat,
        "server_connections_at_end": conns_end,
        "phase_s": round(phase_s, 3), "hold_s": round(hold_s, 3),
        "server_cpu_percent": round(100 * (cpu1 - cpu0) / phase_s, 1) if phase_s > 0 else 0,
        "post_ms_median": round(statistics.median(post_ms), 2) if post_ms else None,
        "server_exit_code": code,
    }
    errors = sum(final["reconnect_failures"].values()) + final["dropped_during_hold"] + \
        final["churn_close_timeouts"]
    result["errors"] = errors
    result["ok"] = (result["missed_steady_deliveries"] == 0 and errors == 0 and
                    receipts_counted == final["receipts_sent"])
    if not result["ok"]:
        suite.failed.append(name)
    bl.log(f"{name}: steady {steady_got}/{expected_steady}, churners {final['churn_deliveries']}; "
           f"{final['reconnects']} reconnects ({result['reconnects_per_s']}/s), errors {errors} "
           f"{final['reconnect_failures']}; latency p50 {lat['p50'] / 1000:.1f} ms p99 {lat['p99'] / 1000:.1f} ms; "
           f"receipts {final['receipts_sent']} sent / {receipts_counted} counted")
    return result


def fleet_reports(fleet: bl.LoadgenFleet) -> list[dict]:
    """The final JSON reports a stopped fleet left behind."""
    out = []
    for i in range(len(fleet.procs)):
        try:
            out.append(json.loads(fleet._path(i, "json").read_text()))
        except (OSError, ValueError):
            pass
    return out


# ---------------------------------------------------------------------------------------
# Scenario 7: the push path, gRPC Emit -> ws-api -> Kafka -> ws-gateway -> client (gateway only)

PUSH_PARTITIONS = 8


def ensure_push_modules() -> None:
    """bench/push's locked gRPC client packages (npm ci when missing)."""
    d = bl.BENCH_DIR / "push"
    if (d / "node_modules" / "@grpc" / "grpc-js" / "package.json").exists():
        return
    bl.log("bench/push/node_modules missing: running npm ci")
    r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=d, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise bl.BenchError(f"npm ci failed in bench/push:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")


def redis_ping(port: int) -> bool:
    import socket
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as c:
            c.sendall(b"PING\r\n")
            return c.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def run_push_modes(suite: Suite) -> list[dict]:
    """Scenario 7 against the Kafka(s) --push-kafka asks for; one row each."""
    a = suite.args
    modes = ["real", "mock"] if a.push_kafka == "both" else [a.push_kafka]
    rows = []
    for mode in modes:
        r = suite.guarded(f"push-{mode}", lambda m=mode: run_push(suite, m))
        r.setdefault("kafka_mode", mode)
        if mode == "mock" and a.push_kafka_note:
            r["note"] = a.push_kafka_note
        rows.append(r)
    return rows


def run_push(suite: Suite, kafka_mode: str) -> dict:
    """Scenario 7: Kafka (a real broker from tests/infra/kafka.sh, or wsgw-dev-kafka: librdkafka's
    mock cluster), a real redis-server, ws-api and one ws-gateway in cluster mode; the gRPC driver
    calls Emit at --push-rate for --push-duration with {"ts": µs} in the arguments; wsgw-loadgen
    clients time each delivery."""
    a = suite.args
    if kafka_mode == "real" and a.push_kafka_brokers:
        return run_push_with(suite, a.push_kafka_brokers, None, real=True)
    if kafka_mode == "real":
        broker = bl.RealKafka(suite.tmp / "kafka")
        try:
            brokers = broker.start()
        except bl.BenchError as e:
            broker.stop()
            if not a.push_kafka_auto:
                raise
            a.push_kafka_note = f"the real Kafka broker did not start ({str(e).splitlines()[0]}): ran against the mock"
            bl.log(f"push: {a.push_kafka_note}")
            r = run_push(suite, "mock")
            r["note"] = a.push_kafka_note
            return r
        try:
            r = run_push_with(suite, brokers, broker, real=True)
        finally:
            broker.stop()
        r["kafka_start_s"] = broker.start_s
        return r
    return run_push_with(suite, None, None, real=False)


def run_push_with(suite: Suite, brokers: str | None, broker: bl.RealKafka | None, real: bool) -> dict:
    """One push run; brokers None = start wsgw-dev-kafka here."""
    a = suite.args
    if a.push_driver == "node":
        ensure_push_modules()
    tmp = suite.tmp
    redis_port, api_port, api_metrics = bl.free_port(), bl.free_port(), bl.free_port()
    redis = suite.group.start("push-redis", [a.redis_bin, "--port", str(redis_port), "--bind", "127.0.0.1",
                                             "--save", "", "--appendonly", "no", "--dir", str(tmp)])
    bl.wait_until("redis-server to answer PING", lambda: redis_ping(redis_port), 20, 0.1)
    kafka = None
    # The mock cluster cannot create topics through the admin API (it makes them itself); against
    # a real broker the daemons create wsgw.* with the same partition count, as in production.
    create_topics = [] if real else ["--create-topics=false"]
    if not real:
        addr_file = tmp / "push-kafka.addr"
        addr_file.unlink(missing_ok=True)
        kafka = suite.group.start("push-kafka", [str(a.dev_kafka_bin), "--partitions", str(PUSH_PARTITIONS),
                                                 "--address-file", str(addr_file)])

        def kafka_up():
            if kafka.poll() is not None:
                raise bl.BenchError(f"wsgw-dev-kafka exited: {suite.group.log_tail(kafka)}")
            return addr_file.exists() and addr_file.read_text().strip()

        brokers = bl.wait_until("wsgw-dev-kafka's address", kafka_up, 20, 0.1).strip()
    redis_url = f"redis://127.0.0.1:{redis_port}"
    api = suite.group.start("push-ws-api", [
        str(a.api_bin), "--grpc-listen", f"127.0.0.1:{api_port}", "--redis", redis_url,
        "--kafka-brokers", brokers, "--node-name", "api-bench", "--downstream-partitions", str(PUSH_PARTITIONS),
        "--metrics-listen", f"127.0.0.1:{api_metrics}", "--log-level", "warn"] + create_topics)

    def api_up():
        if api.poll() is not None:
            raise bl.BenchError(f"ws-api exited: {suite.group.log_tail(api)}")
        return bl.http_get(f"http://127.0.0.1:{api_metrics}/healthz")[0] == 200

    bl.wait_until("ws-api /healthz", api_up, 30, 0.1)

    def api_metrics_now() -> dict[str, float]:
        status, body = bl.http_get(f"http://127.0.0.1:{api_metrics}/metrics")
        out = {}
        for line in body.decode(errors="replace").splitlines() if status == 200 else []:
            if line and not line.startswith("#"):
                k, _, v = line.rpartition(" ")
                try:
                    out[k] = float(v)
                except ValueError:
                    pass
        return out
    server = suite.start_server("gateway", "push-gateway", gateway_args=[
        "--kafka-brokers", brokers, "--redis", redis_url, "--node-name", "gw-bench",
        "--downstream-partitions", str(PUSH_PARTITIONS)] + create_topics)
    bl.wait_until("push-gateway /readyz", lambda: bl.http_get(
        f"http://127.0.0.1:{server.admin_port}/readyz")[0] == 200, 30, 0.1, check=server.check_alive)

    n = a.push_connections
    specs = [bl.LoadgenSpec(c, a.connect_rate / a.processes, f"127.0.0.{2 + i}", status=True,
                            extra_args=["--track-event", "push", "--sids-file", str(tmp / f"push-sids-{i}.txt")])
             for i, c in enumerate(split(n, a.processes))]
    fleet = bl.LoadgenFleet(suite.group, a.loadgen_bin, server.url, tmp, "push", specs)
    fleet.start()
    rsum = bl.summarize_loadgen(fleet.wait_connected(n / 1000 + 60, extra_check=server.check_alive))
    if rsum["established"] != n:
        raise bl.BenchError(f"push: only {rsum['established']}/{n} clients connected: {rsum['failures']}")
    live = tmp / "push-emit.live"
    live.unlink(missing_ok=True)
    driver_cmd = ([str(a.push_driver_bin)] if a.push_driver == "cpp"
                  else ["node", str(bl.BENCH_DIR / "push" / "emit.mjs")])

    def downstream_applied() -> int:
        return int(sum(v for k, v in server.metrics().items() if k.startswith("wsgw_downstream_records_total")))

    def launch_driver(tag: str, event: str, duration: float, applied_before: int):
        """Starts a driver and waits until it is ready to emit: the gateway reads (live file), the
        rooms are joined and the gateway applied the joins. Returns (driver, out, start, prep)."""
        out, ready, start = tmp / f"{tag}.json", tmp / f"{tag}.ready", tmp / f"{tag}.start"
        for f in (out, ready, start):
            f.unlink(missing_ok=True)
        driver = suite.group.start(tag, driver_cmd + [
            "--addr", f"127.0.0.1:{api_port}",
            "--sids", ",".join(str(tmp / f"push-sids-{i}.txt") for i in range(a.processes)),
            "--target", a.push_target, "--rate", str(a.push_rate), "--duration", str(duration),
            "--event", event, "--json", str(out), "--ready-file", str(ready), "--start-file", str(start),
            "--live-file", str(live)])

        def driver_alive():
            server.check_alive()
            if driver.poll() is not None:
                raise bl.BenchError(f"the push driver exited early: {suite.group.log_tail(driver)}")

        if not live.exists():
            # The gateway's consumer takes its partition some time after /readyz: wait until the
            # driver's warm-up emits arrive, so the room joins that follow are not produced before it reads.
            t_live = time.monotonic()
            bl.wait_until("the gateway to apply a downstream record", lambda: downstream_applied() > 0, 60, 0.1,
                          check=driver_alive)
            nonlocal live_after_s
            live_after_s = round(time.monotonic() - t_live, 2)
            live.write_text("live\n")

        def driver_ready():
            if driver.poll() is not None and not ready.exists():
                raise bl.BenchError(f"the push driver exited early: {suite.group.log_tail(driver)}")
            return ready.exists()

        bl.wait_until("the push driver to join the rooms", driver_ready, 120, 0.1, check=server.check_alive)
        prep = json.loads(ready.read_text())
        # The joins travel through Kafka too: start the clock once the gateway applied all of them.
        bl.wait_until("the gateway to apply the room joins",
                      lambda: downstream_applied() >= applied_before + prep["warmups"] + prep["joins"], 60, 0.1,
                      check=driver_alive)
        return driver, out, start, prep

    live_after_s = None
    warmup = None
    warm_s = a.push_warmup if a.push_warmup is not None else (40.0 if real and not a.quick else 0.0)
    if warm_s > 0:
        # Un-timed emits first (an event the clients do not track), so a JVM broker's JIT and heap
        # sizing have settled when the clock starts: a fresh broker's first ~30-40 s under this
        # load have young-GC pauses of 70-300 ms (bench/results/push-real-vs-mock.md).
        wdriver, wout, wstart, wprep = launch_driver("push-warmup", "warm", warm_s, 0)
        wstart.write_text("go\n")
        wcode = suite.group.stop(wdriver, None, warm_s * 4 + 60)
        if not wout.exists():
            raise bl.BenchError(f"the warm-up driver wrote no report (exit {wcode}): {suite.group.log_tail(wdriver)}")
        wemit = json.loads(wout.read_text())
        applied = wprep["warmups"] + wprep["joins"] + wemit.get("ok", 0)
        bl.wait_until("the gateway to apply the warm-up emits", lambda: downstream_applied() >= applied, 60, 0.1,
                      check=server.check_alive)
        warmup = {"seconds": warm_s, "emits": wemit.get("emits"), "emits_per_s": wemit.get("emits_per_s")}
        bl.log(f"push: warm-up {wemit.get('ok')} emits at {wemit.get('emits_per_s')}/s")
    applied_before = downstream_applied()
    driver, out, start, prep = launch_driver("push-emit", "push", a.push_duration, applied_before)
    pids = {"ws-gateway": server.proc.pid, "ws-api": api.pid, "redis-server": redis.pid}
    if kafka is not None:
        pids["wsgw-dev-kafka"] = kafka.pid
    elif broker is not None and broker.pid():
        pids["kafka broker (JVM)"] = broker.pid()
    cpu0 = {k: bl.read_proc_cpu_s(pid) for k, pid in pids.items()}
    gm0 = server.metrics()
    am0 = api_metrics_now()
    lg_cpu0 = fleet.cpu_s()
    t0 = time.monotonic()
    # Every 0.5 s: how many records the gateway read and how many of them took > 16 / > 64 ms
    # through Kafka (api_to_gateway buckets), to tell steady slowness from bursts (GC, CPU).
    timeline: list[list[float]] = []
    stop_sampling = threading.Event()

    def sample_stages():
        prev = bl.prom_histogram(gm0, "wsgw_stage_latency_seconds", 'stage="api_to_gateway"')
        while not stop_sampling.wait(0.5):
            cur = bl.prom_histogram(server.metrics(), "wsgw_stage_latency_seconds", 'stage="api_to_gateway"')
            if not cur["count"]:
                continue

            def over(ms_bound: float) -> int:
                le = max((b for b in cur["buckets"] if b <= ms_bound / 1000), default=None)
                if le is None:
                    return 0
                return int((cur["count"] - cur["buckets"][le]) - (prev["count"] - prev["buckets"].get(le, 0)))

            timeline.append([round(time.monotonic() - t0, 2), int(cur["count"] - prev["count"]), over(16), over(64)])
            prev = cur

    sampler = threading.Thread(target=sample_stages, daemon=True)
    sampler.start()
    start.write_text("go\n")
    code = suite.group.stop(driver, None, a.push_duration * 4 + 60)
    stop_sampling.set()
    sampler.join(timeout=5)
    cpu1 = {k: bl.read_proc_cpu_s(pid) for k, pid in pids.items()}
    if not out.exists():
        raise bl.BenchError(f"emit.mjs wrote no report (exit {code}): {suite.group.log_tail(driver)}")
    emit = json.loads(out.read_text())
    per_emit = 1 if a.push_target == "room" else n
    expected = emit["ok"] * per_emit
    got = wait_deliveries(fleet, server, expected, 30)
    t_end = time.monotonic()
    lg_cpu1 = fleet.cpu_s()
    gm = server.metrics()
    am = api_metrics_now()
    final = bl.summarize_loadgen(fleet.stop())
    server.stop()
    for p in (api, kafka, redis):
        if p is not None:
            suite.group.stop(p, timeout_s=10)
    # The hops' own histograms over the emitting only (warm-up and joins excluded). Their
    # timestamps are wall-clock milliseconds, so each observation is +-1 ms.
    stages = {}
    for name, (before, after) in (("api_to_gateway", (gm0, gm)), ("api_to_socket", (gm0, gm)),
                                  ("gateway_to_api", (am0, am))):
        lbl = f'stage="{name}"'
        h1 = bl.prom_histogram(after, "wsgw_stage_latency_seconds", lbl)
        if h1["count"]:
            stages[name] = bl.histogram_delta_summary(
                bl.prom_histogram(before, "wsgw_stage_latency_seconds", lbl), h1)
    lat = final["latency_us"]
    phase_s = t_end - t0
    result = {
        "scenario": "push", "server": "ws-gateway (cluster mode)", "target": a.push_target,
        "connections": n, "rate_requested_per_s": a.push_rate, "duration_s": a.push_duration,
        "emits": emit.get("emits"), "emits_ok": emit.get("ok"), "emit_errors": emit.get("errors"),
        "emits_per_s": emit.get("emits_per_s"), "max_schedule_lag_ms": emit.get("max_schedule_lag_ms"),
        "rpc_ms": emit.get("rpc_ms"), "rooms": emit.get("rooms"),
        "emits_without_target_nodes": emit.get("emits_without_target_nodes"),
        "warmup_emits": prep["warmups"], "gateway_consumer_live_after_s": live_after_s,
        "warmup": warmup,
        "expected_deliveries": expected, "deliveries": final["deliveries"],
        "missed_deliveries": expected - final["deliveries"],
        "dropped_clients": final["dropped_during_hold"], "drops": final["drops"],
        "latency_us": lat,
        # Over the emitting (the driver's own CPU time over its wall time).
        "cpu_percent": dict({k: round(100 * (cpu1[k] - cpu0[k]) / emit["wall_s"], 1) for k in cpu0},
                            **{"gRPC driver": round(100 * emit.get("cpu_s", 0) / emit["wall_s"], 1)})
        if emit.get("wall_s") else {},
        "gateway_stage_latency": {k: v for k, v in gm.items() if k.startswith("wsgw_stage_latency_seconds_")
                                  and (k.split("{")[0].endswith("_sum") or k.split("{")[0].endswith("_count"))},
        "loadgen_cpu_percent": round(100 * (lg_cpu1 - lg_cpu0) / phase_s, 1) if phase_s > 0 else 0,
        "gateway_downstream_records": sum(v for k, v in gm.items() if k.startswith("wsgw_downstream_records_total")),
        "stage_latency": stages,
        # [s since the start, records read, of which > 16 ms, > 64 ms] every 0.5 s (api_to_gateway)
        "api_to_gateway_timeline": timeline,
        "kafka_mode": "real" if real else "mock",
        "kafka": (f"Apache Kafka {os.environ.get('WSGW_KAFKA_VERSION', '4.3.1')} (tests/infra/kafka.sh, KRaft, "
                  "one node, topics created by the daemons)") if broker
        else f"a running broker at {brokers}" if real
        else "wsgw-dev-kafka (librdkafka mock cluster, in memory)", "partitions": PUSH_PARTITIONS,
        "driver": "wsgw-push-driver (C++ grpc++)" if a.push_driver == "cpp" else "push/emit.mjs (@grpc/grpc-js)",
        "phase_s": round(phase_s, 3),
    }
    result["ok"] = (result["missed_deliveries"] == 0 and result["dropped_clients"] == 0 and
                    not emit.get("errors") and emit.get("ok") == emit.get("emits"))
    if not result["ok"]:
        suite.failed.append(f"push-{result['kafka_mode']}")
    bl.log(f"push ({result['kafka_mode']} Kafka): {emit.get('ok')}/{emit.get('emits')} emits at {emit.get('emits_per_s')}/s "
           f"(asked {a.push_rate}/s), {final['deliveries']}/{expected} delivered, latency p50 "
           f"{lat['p50'] / 1000:.2f} ms p99 {lat['p99'] / 1000:.2f} ms max {lat['max'] / 1000:.2f} ms, "
           f"rpc p50 {emit.get('rpc_ms', {}).get('p50')} ms; stages {stages}")
    return result


# ---------------------------------------------------------------------------------------
# Scenario 5: fan-out throughput, and the bare write() probe


def run_fanout(suite: Suite, kind: str) -> dict:
    a = suite.args
    name = f"fanout-{kind}"
    server = suite.start_server(kind, f"{name}-server")
    fleet, _ = suite.connect_fleet(server, name, a.connect_rate, status=True)
    n = a.connections
    admin = server.admin()
    bursts = []
    delivered_before = 0
    for b in range(a.bursts):
        cpu0, lg_cpu0 = server.cpu_s(), fleet.cpu_s()
        first_sent = now_us()
        for _ in range(a.burst):
            status, body = admin.broadcast("message", article_payload(now_us()))
            if status != 200:
                raise bl.BenchError(f"{name}: POST /admin/broadcast answered {status}: {body[:200]!r}")
        posted = now_us()
        expected = delivered_before + n * a.burst
        got = wait_deliveries(fleet, server, expected, 120)
        cpu1, lg_cpu1 = server.cpu_s(), fleet.cpu_s()
        last = max((st.get("last_delivery_us", 0) for st in fleet.statuses()), default=0)
        deliveries = got - delivered_before
        wall = (last - first_sent) / 1e6 if last > first_sent else 0
        cpu = cpu1 - cpu0
        bursts.append({
            "deliveries": deliveries, "expected": n * a.burst, "wall_s": round(wall, 4),
            "post_s": round((posted - first_sent) / 1e6, 4),
            "deliveries_per_s": round(deliveries / wall, 1) if wall > 0 else 0,
            "server_cpu_s": round(cpu, 3),
            "deliveries_per_server_cpu_s": round(deliveries / cpu, 1) if cpu > 0 else None,
            "loadgen_cpu_s": round(lg_cpu1 - lg_cpu0, 3),
        })
        bl.log(f"{name} burst {b + 1}/{a.bursts}: {deliveries}/{n * a.burst} in {wall:.3f}s = "
               f"{bursts[-1]['deliveries_per_s']:.0f}/s, server CPU {cpu:.2f}s")
        delivered_before = got
        if got < expected:
            break
        time.sleep(0.5)
    admin.close()
    final = bl.summarize_loadgen(fleet.stop())
    code = suite.stop_server(server)
    expected_total = n * a.burst * a.bursts
    result = {
        "scenario": "fanout", "server": server.kind, "connections": n, "burst": a.burst, "bursts": bursts,
        "message_bytes": message_bytes(), "expected_deliveries": expected_total,
        "deliveries": final["deliveries"], "missed_deliveries": expected_total - final["deliveries"],
        "dropped_clients": final["dropped_during_hold"], "drops": final["drops"],
        "latency_us": final["latency_us"],
        "deliveries_per_s": median_of(bursts, "deliveries_per_s"),
        "deliveries_per_server_cpu_s": median_of(bursts, "deliveries_per_server_cpu_s"),
        "server_exit_code": code,
    }
    result["ok"] = result["missed_deliveries"] == 0 and result["dropped_clients"] == 0
    if not result["ok"]:
        suite.failed.append(name)
    return result


def median_of(rows: list[dict], key: str):
    vals = [r[key] for r in rows if r.get(key)]
    return round(statistics.median(vals), 1) if vals else None


def run_probe(suite: Suite) -> dict:
    a = suite.args
    frame = ws_frame_bytes(message_bytes())
    runs = []
    for i in range(a.bursts):
        out = suite.tmp / f"probe-{i}.json"
        argv = [str(a.probe_bin), "--connections", str(a.connections), "--rounds", str(a.burst),
                "--frame-bytes", str(frame), "--writer-threads", str(a.threads), "--readers", str(a.processes),
                "--source-base", "2", "--json", str(out)]
        proc = suite.group.start(f"probe-{i}", argv)
        code = suite.group.stop(proc, None, 300)
        if not out.exists():
            raise bl.BenchError(f"wsgw-fanout-probe wrote no report (exit {code}):\n{suite.group.log_tail(proc)}")
        r = json.loads(out.read_text())
        runs.append(r)
        bl.log(f"probe run {i + 1}/{a.bursts}: {r['deliveries']} frames in {r['wall_s']:.3f}s = "
               f"{r['deliveries_per_s']:.0f}/s, writer CPU {r['writer_cpu_s']:.2f}s")
        if not r["ok"]:
            raise bl.BenchError(f"wsgw-fanout-probe did not deliver everything: {r}")
        time.sleep(0.3)
    return {
        "scenario": "fanout-probe", "connections": a.connections, "rounds": a.burst, "frame_bytes": frame,
        "writer_threads": a.threads, "runs": runs, "ok": all(r["ok"] for r in runs),
        "deliveries_per_s": median_of(runs, "deliveries_per_s"),
        "deliveries_per_writer_cpu_s": median_of(runs, "deliveries_per_writer_cpu_s"),
    }


def fanout_comparison(results: dict) -> dict:
    g, nd, p = results.get("gateway"), results.get("node"), results.get("probe")
    out = {"target_percent_of_probe": TARGET_PERCENT_OF_PROBE, "target_times_node": TARGET_TIMES_NODE}

    def ok(r):
        return r and r.get("ok") and r.get("deliveries_per_s")

    if ok(g) and ok(p):
        out["gateway_percent_of_probe"] = round(100 * g["deliveries_per_s"] / p["deliveries_per_s"], 1)
        if g.get("deliveries_per_server_cpu_s") and p.get("deliveries_per_writer_cpu_s"):
            out["gateway_percent_of_probe_per_cpu_s"] = round(
                100 * g["deliveries_per_server_cpu_s"] / p["deliveries_per_writer_cpu_s"], 1)
        out["meets_probe_target"] = out["gateway_percent_of_probe"] >= TARGET_PERCENT_OF_PROBE
    if ok(g) and ok(nd):
        out["gateway_times_node"] = round(g["deliveries_per_s"] / nd["deliveries_per_s"], 2)
        if g.get("deliveries_per_server_cpu_s") and nd.get("deliveries_per_server_cpu_s"):
            out["gateway_times_node_per_cpu_s"] = round(
                g["deliveries_per_server_cpu_s"] / nd["deliveries_per_server_cpu_s"], 2)
        out["meets_node_target"] = out["gateway_times_node"] >= TARGET_TIMES_NODE
    return out


# ---------------------------------------------------------------------------------------
# Microbenchmarks (bench/micro, Google Benchmark)


def run_micro(suite: Suite, out_dir: Path) -> dict:
    """bench_micro --benchmark_format=json into micro.json (quick: a very short smoke run)."""
    a = suite.args
    if not a.micro_bin.is_file():
        bl.log(f"micro: {a.micro_bin} not built (needs libbenchmark-dev): skipped")
        return {"ok": True, "skipped": f"bench_micro not found at {a.micro_bin} (apt-get install libbenchmark-dev, "
                                       "then cmake --build BUILD --target bench_micro)"}
    min_time = 0.01 if a.quick else a.micro_min_time
    out = out_dir / "micro.json"
    argv = [str(a.micro_bin), "--benchmark_format=json", f"--benchmark_min_time={min_time}"]
    bl.log("micro: running bench_micro")
    r = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise bl.BenchError(f"bench_micro exited {r.returncode}: {r.stderr[-2000:]}")
    out.write_text(r.stdout)
    report = json.loads(r.stdout)
    rows = []
    for b in report.get("benchmarks", []):
        rows.append({k: b.get(k) for k in ("name", "real_time", "cpu_time", "time_unit", "iterations",
                                            "items_per_second", "bytes_per_second")})
    return {"ok": True, "file": "micro.json", "min_time_s": min_time, "benchmarks": rows,
            "library_build_type": report.get("context", {}).get("library_build_type")}


# ---------------------------------------------------------------------------------------
# idle memory (its own script)


def run_idle_memory(suite: Suite, out_dir: Path) -> dict:
    a = suite.args
    configs = [c for c in RAMP_CONFIGS if c.split("-")[0] in a.servers]
    argv = [sys.executable, str(bl.BENCH_DIR / "run-idle-memory.py"), "--build-dir", str(a.build_dir),
            "--out-dir", str(out_dir), "--configs", ",".join(configs), "--threads", str(a.threads)]
    if a.quick:
        argv.append("--quick")
    bl.log("idle-memory: running run-idle-memory.py")
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    (suite.tmp / "idle-memory.log").write_text(r.stdout)
    path = out_dir / "idle-memory.json"
    if r.returncode != 0 or not path.exists():
        suite.failed.append("idle-memory")
        return {"ok": False, "error": f"run-idle-memory.py exited {r.returncode}; log {suite.tmp / 'idle-memory.log'}",
                "log_tail": r.stdout[-3000:]}
    report = json.loads(path.read_text())
    return {"ok": True, "file": "idle-memory.json", "ratios": report.get("ratios", {}),
            "results": [{k: x.get(k) for k in ("config", "ok", "bytes_per_connection", "connections")}
                        for x in report.get("results", [])]}


# ---------------------------------------------------------------------------------------
# Output


def ms(us) -> str:
    return "-" if us is None else f"{us / 1000:.2f}"


def num(v, fmt="{:,.0f}") -> str:
    return "-" if v is None else fmt.format(v)


def ratio(a, b) -> str:
    return f"{a / b:.2f}x" if a and b else "-"


def markdown(report: dict) -> str:
    m, v, p, res = report["machine"], report["versions"], report["params"], report["results"]
    lines = [
        "# wsgw benchmark suite" + (" (quick run: checks the suite works; numbers are not meaningful)"
                                    if report["quick"] else ""),
        "",
        f"Generated by `bench/run.py` on {report['date']} (git {v['git']}, {report['duration_s']} s).",
        f"Machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['mem_total_bytes'] / 2**30:.0f} GiB, Linux {m['kernel']}. "
        "Servers, load generators and the probe share these CPUs.",
        f"Servers: ws-gateway ({v['gateway_build_type']}, --threads {p['gateway_threads']}); Node "
        f"{v['node']['node']}, socket.io {v['node']['socket.io']}. Clients: {p['connections']:,} per server "
        f"and scenario from {p['processes']} wsgw-loadgen processes. Message: the article's "
        f"`42[\"message\",{{...}}]`, {p['message_bytes']} bytes ({p['frame_bytes']} as a WebSocket frame).",
        "",
    ]
    if "ramp" in res:
        lines += ["## Scenario 1: ramp-up (connections/s, no rate limit, "
                  f"{p['ramp_inflight']} handshakes in flight per loadgen)", "",
                  f"{p.get('ramp_connections', p['connections']):,} clients per server"
                  + (": about the most one process may hold here (20,000 open files), so 20,000 itself is out "
                     "of reach." if p.get('ramp_connections', 0) >= 19000 else "."), "",
                  "| config | connected | connections/s | handshake p50 / p99 ms | server CPU ms/conn | status |",
                  "|---|---|---|---|---|---|"]
        for r in res["ramp"]:
            lines.append(f"| {r.get('config', '?')} | {r.get('established', '-')}/{r.get('connections', '-')} | "
                         f"{num(r.get('connections_per_s'))} | {num(r.get('handshake_ms_p50_max'), '{:.1f}')} / "
                         f"{num(r.get('handshake_ms_p99_max'), '{:.1f}')} | "
                         f"{num(r.get('server_cpu_ms_per_connection'), '{:.3f}')} | "
                         f"{'ok' if r.get('ok') else 'FAILED ' + r.get('error', '')[:80]} |")
        by = {r.get("config"): r for r in res["ramp"]}
        for t in ("plain", "tls"):
            g, nd = by.get(f"gateway-{t}", {}), by.get(f"node-{t}", {})
            lines.append(f"\n- {t}: gateway/node connections/s = "
                         f"{ratio(g.get('connections_per_s'), nd.get('connections_per_s'))}")
        lines.append("")
    for scenario, title in (("broadcast-ack", "Scenario 2: broadcast every T s with acks, every client acks each one"),
                            ("broadcast", "Scenario 3: broadcast every T s, no acks")):
        if scenario not in res:
            continue
        share = p.get("polling_share", 0)
        polling_note = (f" {share:.0%} of the clients (spread evenly) use Engine.IO HTTP long-polling and never "
                        "upgrade; their deliveries are in every column, and on their own below." if share else "")
        lines += [f"## {title}", "",
                  f"{p['broadcasts']} broadcasts, one every {p['interval_s']} s. Latency = client receive time "
                  "- the \"ts\" the driver put in the message just before POSTing it (same clock)." + polling_note,
                  "",
                  "| server | delivered | latency p50 / p99 / max ms | deliveries/s | server CPU % | "
                  "acks sent / counted | status |",
                  "|---|---|---|---|---|---|---|"]
        for r in res[scenario]:
            lat = r.get("latency_us", {})
            rc = (f"{r.get('receipts_sent')} / {r.get('receipts_counted_by_server')}"
                  if scenario == "broadcast-ack" else "-")
            lines.append(f"| {r.get('server', '?')} | {r.get('deliveries', '-')}/{r.get('expected_deliveries', '-')} | "
                         f"{ms(lat.get('p50'))} / {ms(lat.get('p99'))} / {ms(lat.get('max'))} | "
                         f"{num(r.get('deliveries_per_s'))} | {num(r.get('server_cpu_percent'), '{:.1f}')} | {rc} | "
                         f"{'ok' if r.get('ok') else 'FAILED ' + r.get('error', '')[:80]} |")
        if share:
            lines.append("")
            for r in res[scenario]:
                if "polling_clients" in r:
                    lines.append(f"- {r.get('server', '?')}: {r['polling_clients']} long-polling clients, "
                                 f"{r.get('polling_deliveries')}/{r.get('polling_expected_deliveries')} delivered")
        if scenario == "broadcast-ack":
            lines.append("")
            for r in res[scenario]:
                done = [x for x in (r.get("acks_in_ms") or []) if x is not None]
                if done:
                    late = len(r["acks_in_ms"]) - len(done)
                    lines.append(f"- {r.get('server', '?')}: every client's ack at the server "
                                 f"{statistics.median(done):.0f} ms after the POST (median of the broadcasts; "
                                 f"max {max(done):.0f} ms; the server's own time of its last counted ack)"
                                 + (f", {late} broadcast(s) not fully acked before the next" if late else ""))
        g = next((r for r in res[scenario] if r.get("server") == "ws-gateway" and r.get("ok")), None)
        nd = next((r for r in res[scenario] if r.get("server") == "node-socket.io" and r.get("ok")), None)
        if g and nd:
            lines.append(f"\n- node/gateway latency: p50 {ratio(nd['latency_us']['p50'], g['latency_us']['p50'])}, "
                         f"p99 {ratio(nd['latency_us']['p99'], g['latency_us']['p99'])}, "
                         f"max {ratio(nd['latency_us']['max'], g['latency_us']['max'])}; "
                         f"node/gateway server CPU {ratio(nd['server_cpu_s'], g['server_cpu_s'])}")
        lines.append("")
    if "fanout" in res:
        f = res["fanout"]
        lines += ["## Scenario 5: fan-out throughput", "",
                  f"Bursts of {p['burst']} messages to all {p['connections']:,} sockets, POSTed back to back; "
                  "deliveries/s = deliveries / (first POST .. last delivery), median of "
                  f"{p['bursts']} burst(s). Per CPU-second: deliveries / the server's (probe: the writer's) "
                  "user+system CPU time in that window.", "",
                  "| what | deliveries/s | deliveries per CPU-second | latency p50 / p99 / max ms | status |",
                  "|---|---|---|---|---|"]
        for key, label in (("probe", "bare write() probe"), ("gateway", "ws-gateway"), ("node", "Node Socket.IO")):
            r = f.get(key)
            if not r:
                continue
            cpu = r.get("deliveries_per_writer_cpu_s") if key == "probe" else r.get("deliveries_per_server_cpu_s")
            lat = r.get("latency_us", {})
            lines.append(f"| {label} | {num(r.get('deliveries_per_s'))} | {num(cpu)} | "
                         f"{ms(lat.get('p50')) if lat else '-'} / {ms(lat.get('p99')) if lat else '-'} / "
                         f"{ms(lat.get('max')) if lat else '-'} | "
                         f"{'ok' if r.get('ok') else 'FAILED ' + r.get('error', '')[:80]} |")
        c = f.get("comparison", {})
        lines.append("")
        if "gateway_percent_of_probe" in c:
            lines.append(f"- ws-gateway = **{c['gateway_percent_of_probe']}%** of the probe's deliveries/s "
                         f"(target >= {TARGET_PERCENT_OF_PROBE}%: {'met' if c['meets_probe_target'] else 'NOT met'}); "
                         f"per CPU-second {c.get('gateway_percent_of_probe_per_cpu_s', '-')}%")
        if "gateway_times_node" in c:
            lines.append(f"- ws-gateway = **{c['gateway_times_node']}x** Node's deliveries/s "
                         f"(target >= {TARGET_TIMES_NODE}x: {'met' if c['meets_node_target'] else 'NOT met'}); "
                         f"per CPU-second {c.get('gateway_times_node_per_cpu_s', '-')}x")
        lines.append("")
    if "slow" in res:
        lines += slow_markdown(res["slow"], p)
    if "churn" in res:
        lines += churn_markdown(res["churn"], p)
    if "push" in res:
        lines += push_markdown(res["push"] if isinstance(res["push"], list) else [res["push"]])
    if "micro" in res:
        lines += micro_markdown(res["micro"])
    if "idle-memory" in res:
        im = res["idle-memory"]
        lines += ["## Idle memory per connection", ""]
        if im.get("ok"):
            lines.append("See `idle-memory.md`: " + ", ".join(
                f"{x['config']} {x['bytes_per_connection']} B/conn" for x in im["results"] if x.get("bytes_per_connection")))
        else:
            lines.append(f"FAILED: {im.get('error', '')}")
        lines.append("")
    if report.get("charts"):
        lines += ["## Charts", ""] + [f"![{c}]({c})" for c in report["charts"]] + [""]
    elif report.get("charts_error"):
        lines += [f"Charts: not drawn ({report['charts_error']}).", ""]
    if report["failed"]:
        lines += ["## Failures", ""] + [f"- {x}" for x in report["failed"]] + [""]
    return "\n".join(lines)


def mib(v) -> str:
    return "-" if v is None else f"{v / 2**20:.1f}"


def status_cell(r: dict) -> str:
    return "ok" if r.get("ok") else "FAILED " + r.get("error", "")[:80]


def slow_markdown(rows: list[dict], p: dict) -> list[str]:
    s = p.get("slow", {})
    lines = ["## Scenario 6: slow consumers", "",
             f"{s.get('messages')} broadcasts of {s.get('message_bytes'):,} bytes (the article message padded) at "
             f"{s.get('rate_per_s')}/s to {s.get('connections'):,} clients, of which {s.get('share', 0):.0%} stop "
             "reading once connected (never read again until the end, then read to see how the server ended "
             "them). Baseline rows: the same load with no slow client. Server RSS sampled every 0.25 s; "
             "kernel TCP memory (whole machine, /proc/net/sockstat) beside it, as the kernel's socket "
             "buffers hold much of what a slow client has not read.", "",
             "| server | run | active delivered | latency p50 / p99 / max ms | slow clients | closed as slow_consumer "
             "(server) | seen by the slow clients | server RSS start / max / end MiB | kernel TCP max / end MiB | status |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lat = r.get("latency_us", {})
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted((r.get("slow_outcomes_seen_by_clients") or {}).items()))
        closed = r.get("slow_closed_by_server_metric")
        lines.append(
            f"| {r.get('server', '?')} | {'baseline' if r.get('scenario') == 'slow-baseline' else 'slow'} | "
            f"{r.get('deliveries', '-')}/{r.get('expected_deliveries', '-')} | "
            f"{ms(lat.get('p50'))} / {ms(lat.get('p99'))} / {ms(lat.get('max'))} | {r.get('slow_clients', '-')} | "
            f"{'n/a (no bound)' if closed is None else closed} | {outcomes or '-'} | "
            f"{mib(r.get('server_rss_start_bytes'))} / {mib(r.get('server_rss_max_bytes'))} / "
            f"{mib(r.get('server_rss_end_bytes'))} | {mib(r.get('kernel_tcp_mem_max_bytes'))} / "
            f"{mib(r.get('kernel_tcp_mem_end_bytes'))} | {status_cell(r)} |")
    lines.append("")
    by = {(r.get("server"), r.get("scenario")): r for r in rows if r.get("ok") or r.get("latency_us")}
    for srv in ("ws-gateway", "node-socket.io"):
        slow, base = by.get((srv, "slow")), by.get((srv, "slow-baseline"))
        if slow and base and slow.get("latency_us") and base.get("latency_us"):
            lines.append(f"- {srv}: active clients' latency with slow clients / without: p50 "
                         f"{ratio(slow['latency_us']['p50'], base['latency_us']['p50'])}, p99 "
                         f"{ratio(slow['latency_us']['p99'], base['latency_us']['p99'])}; RSS growth "
                         f"{mib(slow.get('server_rss_growth_bytes'))} MiB vs {mib(base.get('server_rss_growth_bytes'))} MiB")
    g = by.get(("ws-gateway", "slow"))
    if g:
        lines.append(f"- ws-gateway: {g.get('slow_closed_by_server_metric')} of {g.get('slow_clients')} slow clients "
                     "closed as slow_consumer (4002) by `--max-queue-bytes` "
                     f"({g.get('gateway_max_queue_bytes')}); RSS grew by {mib(g.get('server_rss_growth_bytes'))} MiB")
    nd = by.get(("node-socket.io", "slow"))
    if nd:
        lines.append(f"- Node Socket.IO has no send-queue bound: its slow clients stay connected (until its ping "
                     f"timeout) and what they do not read stays queued (kernel TCP memory at the end: "
                     f"{mib(nd.get('kernel_tcp_mem_end_bytes'))} MiB); RSS grew by "
                     f"{mib(nd.get('server_rss_growth_bytes'))} MiB in this run. A broadcast is one buffer shared "
                     "by every socket in both servers, so RSS grows with distinct unsent messages, not with "
                     "slow sockets; per-socket messages would grow it per socket")
    lines.append("")
    return lines


def churn_markdown(rows: list[dict], p: dict) -> list[str]:
    c = p.get("churn", {})
    lines = ["## Scenario 4: churn (scenario 2 while clients reconnect)", "",
             f"{c.get('broadcasts')} broadcasts, one every {c.get('interval_s')} s, every client answering each "
             f"with a receipt, while {c.get('share', 0):.0%} of the clients close (WebSocket close) and reconnect "
             f"as new Socket.IO clients every {c.get('period_s')} s. Steady clients must get every message; "
             "churning clients get what arrives while they are connected.", "",
             "| server | steady delivered | churners delivered / possible | reconnects (per s) | reconnect "
             "handshake p50 / p99 ms | errors | latency p50 / p99 / max ms | receipts sent / counted | "
             "server CPU % | status |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lat = r.get("latency_us", {})
        err = r.get("errors", "-")
        detail = ", ".join(f"{k} {v}" for k, v in (r.get("reconnect_failures") or {}).items())
        lines.append(
            f"| {r.get('server', '?')} | {r.get('steady_deliveries', '-')}/{r.get('expected_steady_deliveries', '-')} | "
            f"{r.get('churn_deliveries', '-')}/{r.get('churn_deliveries_possible', '-')} | "
            f"{r.get('reconnects', '-')} ({num(r.get('reconnects_per_s'))}) | "
            f"{num(r.get('reconnect_handshake_ms_p50_max'), '{:.1f}')} / "
            f"{num(r.get('reconnect_handshake_ms_p99_max'), '{:.1f}')} | {err}{' (' + detail + ')' if detail else ''} | "
            f"{ms(lat.get('p50'))} / {ms(lat.get('p99'))} / {ms(lat.get('max'))} | "
            f"{r.get('receipts_sent', '-')} / {r.get('receipts_counted_by_server', '-')} | "
            f"{num(r.get('server_cpu_percent'), '{:.1f}')} | {status_cell(r)} |")
    lines += ["", "errors = failed reconnections + dropped clients + churn closes without the server's reply.", ""]
    return lines


PUSH_TITLE = "## Scenario 7: push path (gRPC Emit -> ws-api -> Kafka -> ws-gateway -> client)"


def stage_cell(st: dict | None) -> str:
    if not st or not st.get("count"):
        return "-"
    return f"{st['mean_ms']:.1f} / {num(st.get('p50_le_ms'), '{:g}')} / {num(st.get('p99_le_ms'), '{:g}')}"


def push_markdown(rows: list[dict]) -> list[str]:
    lines = [PUSH_TITLE, ""]
    ran = [r for r in rows if not r.get("skipped")]
    for r in rows:
        if r.get("skipped"):
            lines += [f"Skipped: {r['skipped']}.", ""]
    if not ran:
        return lines
    r0 = next((r for r in ran if r.get("connections")), ran[0])
    lines += ["ws-gateway only: the Node Socket.IO server has no equivalent of this path. One gateway in cluster "
              f"mode, ws-api, a real redis-server and Kafka with {r0.get('partitions', '-')} downstream partitions: "
              "a real broker (`tests/infra/kafka.sh`: Apache Kafka, KRaft, one node, topics created by the daemons) "
              "and/or `wsgw-dev-kafka` (librdkafka's in-memory mock cluster, as in the local demo). The gRPC client "
              f"({r0.get('driver', '-')}) calls Emit at a fixed rate, target {r0.get('target', '-')}" +
              (" (each client in a room of its own, emits round-robin over the rooms)" if r0.get("target") == "room"
               else "") +
              "; latency = client receive time - the \"ts\" the driver put in the arguments just before the call.", "",
              "| Kafka | clients | emits/s asked / achieved | emits ok | delivered | latency p50 / p99 / max ms | "
              "Emit RPC p50 / p99 ms | status |", "|---|---|---|---|---|---|---|---|"]
    for r in ran:
        lat, rpc = r.get("latency_us", {}), r.get("rpc_ms") or {}
        lines.append(f"| {r.get('kafka_mode', 'mock')} | {r.get('connections', '-')} | "
                     f"{num(r.get('rate_requested_per_s'))} / {num(r.get('emits_per_s'))} | "
                     f"{r.get('emits_ok', '-')}/{r.get('emits', '-')} | {r.get('deliveries', '-')}/"
                     f"{r.get('expected_deliveries', '-')} | {ms(lat.get('p50'))} / {ms(lat.get('p99'))} / "
                     f"{ms(lat.get('max'))} | {rpc.get('p50', '-')} / {rpc.get('p99', '-')} | {status_cell(r)} |")
    if any(r.get("stage_latency") for r in ran):
        lines += ["", "The hops' own `wsgw_stage_latency_seconds` histograms over the emitting (mean / p50 / p99 ms; "
                  "p50/p99 are the upper bound of the histogram bucket, and the hop timestamps are wall-clock ms, "
                  "so +-1 ms): `api_to_gateway` is ws-api's record timestamp to the gateway reading the record "
                  "(through Kafka), `api_to_socket` the same to the frame being queued to the socket.", "",
                  "| Kafka | api_to_gateway | api_to_socket | records |", "|---|---|---|---|"]
        for r in ran:
            st = r.get("stage_latency") or {}
            lines.append(f"| {r.get('kafka_mode', 'mock')} | {stage_cell(st.get('api_to_gateway'))} | "
                         f"{stage_cell(st.get('api_to_socket'))} | "
                         f"{num((st.get('api_to_gateway') or {}).get('count'))} |")
    else:
        for r in ran:  # results from before the per-stage table: the mean only
            st = r.get("gateway_stage_latency") or {}
            s_sum = st.get('wsgw_stage_latency_seconds_sum{stage="api_to_gateway"}')
            s_cnt = st.get('wsgw_stage_latency_seconds_count{stage="api_to_gateway"}')
            if s_sum is not None and s_cnt:
                lines += ["", f"The gateway's own `wsgw_stage_latency_seconds{{stage=\"api_to_gateway\"}}`: mean "
                          f"{1000 * s_sum / s_cnt:.2f} ms over {int(s_cnt):,} records."]
    lines.append("")
    for r in ran:
        cpu = ", ".join(f"{k} {v}%" for k, v in (r.get("cpu_percent") or {}).items())
        lines.append(f"- {r.get('kafka_mode', 'mock')} Kafka: CPU while emitting (% of one core; the machine has 2): "
                     f"{cpu or '-'}; loadgens {r.get('loadgen_cpu_percent', '-')}%."
                     + (f" Note: {r['note']}." if r.get("note") else "")
                     + (f" FAILED: {r['error'].splitlines()[0]}" if r.get("error") else ""))
    lines.append("")
    return lines


def micro_markdown(m: dict) -> list[str]:
    lines = ["## Microbenchmarks (bench_micro, Google Benchmark)", ""]
    if m.get("skipped"):
        return lines + [f"Skipped: {m['skipped']}.", ""]
    if not m.get("ok"):
        return lines + [f"FAILED: {m.get('error', '')}", ""]
    lines += [f"`bench_micro --benchmark_min_time={m.get('min_time_s')}`, one thread, no I/O; all of them in "
              "`micro.json`. The article message (600 bytes) throughout.", "",
              "| benchmark | time per op | items/s | bytes/s |", "|---|---|---|---|"]
    for b in m.get("benchmarks", []):
        ips = b.get("items_per_second")
        bps = b.get("bytes_per_second")
        lines.append(f"| {b['name']} | {b['real_time']:.1f} {b['time_unit']} | "
                     f"{num(ips) if ips else '-'} | {f'{bps / 2**20:,.0f} MiB/s' if bps else '-'} |")
    lines.append("")
    return lines


def write_csv(report: dict, path: Path) -> None:
    """Every scalar of every result row, long format (scenario, subject, metric, value), for
    spreadsheets and for comparing runs; nested values (histograms, timelines) stay in the JSON."""
    import csv
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["scenario", "subject", "metric", "value"])
        for scenario, rows in report.get("results", {}).items():
            for row in rows if isinstance(rows, list) else [rows]:
                if not isinstance(row, dict):
                    continue
                subject = row.get("config") or row.get("server") or row.get("name") or row.get("scenario") or "-"
                for metric, value in row.items():
                    if isinstance(value, (int, float, str, bool)) and metric not in ("config", "server"):
                        w.writerow([scenario, subject, metric, value])


def draw_charts(report: dict, out_dir: Path) -> list[str]:
    import matplotlib  # optional: pip install --user -r bench/requirements.txt
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = report["results"]
    charts = []

    def cdf(ax, lat: dict, label: str, style: str):
        if not lat or not lat.get("count"):
            return
        xs, ys, seen = [], [], 0
        for lower, width, n in lat["buckets"]:
            seen += n
            xs.append(max(lower + width, 1) / 1000)
            ys.append(seen / lat["count"])
        ax.step(xs, ys, where="post", label=label, linestyle=style)

    panels = [(s, t) for s, t in (("broadcast-ack", "scenario 2: broadcast + receipts"),
                                  ("broadcast", "scenario 3: broadcast"),
                                  ("churn", "scenario 4: churn"),
                                  ("fanout", "scenario 5: fan-out bursts"),
                                  ("slow", "scenario 6: slow consumers"),
                                  ("push", "scenario 7: push (gateway)")) if s in res]
    if panels:
        cols = min(3, len(panels))
        rows_n = -(-len(panels) // cols)
        fig, axes = plt.subplots(rows_n, cols, figsize=(5.5 * cols, 4 * rows_n), squeeze=False)
        for ax in axes.flat[len(panels):]:
            ax.set_visible(False)
        for ax, (s, title) in zip(axes.flat, panels):
            rows = ([res["fanout"].get(k) for k in ("gateway", "node")] if s == "fanout"
                    else ([res[s]] if isinstance(res[s], dict) else res[s]) if s == "push" else res[s])
            for r in rows:
                if r and r.get("latency_us"):
                    label = r.get("server", "?") + (" (baseline)" if r.get("scenario") == "slow-baseline" else "")
                    if r.get("scenario") == "push":
                        label = f"ws-gateway, {r.get('kafka_mode', 'mock')} Kafka"
                    cdf(ax, r["latency_us"], label, "-" if r.get("server", "").startswith("ws-gateway") else "--")
            ax.set_xscale("log")
            ax.set_xlabel("delivery latency, ms (log)")
            ax.set_ylabel("fraction of deliveries")
            ax.set_title(title)
            ax.grid(True, which="both", alpha=0.3)
            ax.legend()
        fig.suptitle("Delivery latency CDF (clients per scenario: summary.md)")
        fig.tight_layout()
        fig.savefig(out_dir / "latency.png", dpi=110)
        plt.close(fig)
        charts.append("latency.png")

    bars = []
    if "fanout" in res:
        f = res["fanout"]
        bars.append(("fan-out deliveries/s", [(lbl, (f.get(k) or {}).get("deliveries_per_s") or 0) for k, lbl in
                                              (("probe", "write() probe"), ("gateway", "ws-gateway"),
                                               ("node", "Node"))]))
        bars.append(("fan-out deliveries per CPU-second",
                     [("write() probe", (f.get("probe") or {}).get("deliveries_per_writer_cpu_s") or 0),
                      ("ws-gateway", (f.get("gateway") or {}).get("deliveries_per_server_cpu_s") or 0),
                      ("Node", (f.get("node") or {}).get("deliveries_per_server_cpu_s") or 0)]))
    if "ramp" in res:
        bars.append(("ramp-up connections/s", [(r.get("config", "?"), r.get("connections_per_s") or 0)
                                               for r in res["ramp"]]))
    if bars:
        fig, axes = plt.subplots(1, len(bars), figsize=(5 * len(bars), 4), squeeze=False)
        for ax, (title, vals) in zip(axes[0], bars):
            labels = [x[0] for x in vals]
            heights = [x[1] for x in vals]
            ax.bar(labels, heights, color=["#777777", "#1f77b4", "#ff7f0e", "#2ca02c"][:len(vals)])
            for i, h in enumerate(heights):
                ax.text(i, h, f"{h:,.0f}", ha="center", va="bottom", fontsize=8)
            ax.set_title(title)
            ax.tick_params(axis="x", labelsize=8, rotation=15)
        fig.tight_layout()
        fig.savefig(out_dir / "throughput.png", dpi=110)
        plt.close(fig)
        charts.append("throughput.png")
    return charts


def build_type(build_dir: Path) -> str:
    cache = build_dir / "CMakeCache.txt"
    if cache.exists():
        for line in cache.read_text(errors="replace").splitlines():
            if line.startswith("CMAKE_BUILD_TYPE:"):
                return line.split("=", 1)[1] or "unknown"
    return "unknown"


def main() -> int:
    args = parse_args()
    needed = [("ws-gateway", args.gateway_bin), ("wsgw-loadgen", args.loadgen_bin)]
    if "fanout" in args.scenarios:
        needed.append(("wsgw-fanout-probe", args.probe_bin))
    push_skipped = None
    if "push" in args.scenarios and "gateway" in args.servers:
        missing = [w for w, p in (("ws-api", args.api_bin), ("wsgw-dev-kafka", args.dev_kafka_bin))
                   if not p.is_file() and (w != "wsgw-dev-kafka" or args.push_kafka != "real")]
        missing += [w for w in ("redis-server",) + (("node",) if args.push_driver == "node" else ())
                    if not shutil.which(w)]
        if missing and args.scenarios_explicit:
            print(f"bench/run.py: scenario push needs {', '.join(missing)} (build ws-api wsgw-dev-kafka "
                  "wsgw-push-driver; install redis-server)", file=sys.stderr)
            return 2
        if missing:  # the default set: run the rest and say why push did not run
            push_skipped = f"not run: {', '.join(missing)} missing"
            bl.log(f"push: {push_skipped}")
    for what, path in needed:
        if not path.is_file() or not os.access(path, os.X_OK):
            print(f"bench/run.py: {what} not found at {path} (cmake --build BUILD --target ws-gateway "
                  f"wsgw-loadgen wsgw-fanout-probe; then --build-dir BUILD)", file=sys.stderr)
            return 2
    if "node" in args.servers:
        if not shutil.which("node"):
            print("bench/run.py: node is not installed (or use --servers gateway)", file=sys.stderr)
            return 2
        bl.ensure_node_modules()

    started = time.monotonic()
    suite = Suite(args)
    out_dir = args.out_dir or (suite.tmp / "results" if args.quick else bl.BENCH_DIR / "results")
    out_dir.mkdir(parents=True, exist_ok=True)
    results: dict = {}
    if "idle-memory" in args.scenarios:
        results["idle-memory"] = run_idle_memory(suite, out_dir)
    if "ramp" in args.scenarios:
        results["ramp"] = []
        for config in RAMP_CONFIGS:
            if config.split("-")[0] in args.servers:
                r = suite.guarded(f"ramp {config}", lambda c=config: run_ramp(suite, c))
                r.setdefault("config", config)
                results["ramp"].append(r)
    for scenario, receipts in (("broadcast-ack", True), ("broadcast", False)):
        if scenario in args.scenarios:
            results[scenario] = []
            for kind in args.servers:
                r = suite.guarded(f"{scenario}-{kind}", lambda k=kind, w=receipts: run_broadcast(suite, k, w))
                r.setdefault("server", kind)
                results[scenario].append(r)
    if "fanout" in args.scenarios:
        f: dict = {}
        f["probe"] = suite.guarded("fanout-probe", lambda: run_probe(suite))
        for kind in args.servers:
            f[kind] = suite.guarded(f"fanout-{kind}", lambda k=kind: run_fanout(suite, k))
        f["comparison"] = fanout_comparison(f)
        results["fanout"] = f
    if "churn" in args.scenarios:
        results["churn"] = []
        for kind in args.servers:
            r = suite.guarded(f"churn-{kind}", lambda k=kind: run_churn(suite, k))
            r.setdefault("server", kind)
            results["churn"].append(r)
    if "push" in args.scenarios and "gateway" in args.servers:  # the gateway's own path: no Node row
        results["push"] = ([{"ok": True, "skipped": push_skipped}] if push_skipped else run_push_modes(suite))
    if "micro" in args.scenarios:
        results["micro"] = suite.guarded("micro", lambda: run_micro(suite, out_dir))
    if "slow" in args.scenarios:
        results["slow"] = []
        for kind in args.servers:
            if args.slow_baseline:
                r = suite.guarded(f"slow-{kind}-baseline", lambda k=kind: run_slow(suite, k, 0.0))
                r.setdefault("server", kind)
                r.setdefault("scenario", "slow-baseline")
                results["slow"].append(r)
            r = suite.guarded(f"slow-{kind}", lambda k=kind: run_slow(suite, k, args.slow_share))
            r.setdefault("server", kind)
            r.setdefault("scenario", "slow")
            results["slow"].append(r)
    suite.group.kill_all()

    report = {
        "benchmark": "suite",
        "date": bl.utc_now_iso(),
        "quick": args.quick,
        "machine": bl.machine_info(),
        "versions": {"git": bl.git_describe(), "gateway_build_type": build_type(args.build_dir),
                     "node": bl.node_versions() if "node" in args.servers else {}},
        "params": {"connections": args.connections, "processes": args.processes,
                   "gateway_threads": args.threads, "connect_rate": args.connect_rate,
                   "ramp_inflight": args.ramp_inflight, "ramp_connections": args.ramp_connections,
                   "interval_s": args.interval,
                   "broadcasts": args.broadcasts, "polling_share": args.polling_share,
                   "burst": args.burst, "bursts": args.bursts,
                   "message_bytes": message_bytes(), "frame_bytes": ws_frame_bytes(message_bytes()),
                   "servers": args.servers, "scenarios": args.scenarios,
                   "slow": {"connections": args.slow_connections, "share": args.slow_share,
                            "message_bytes": args.slow_message_bytes, "rate_per_s": args.slow_rate,
                            "messages": args.slow_messages, "rcvbuf": args.slow_rcvbuf,
                            "max_queue_bytes": args.slow_max_queue_bytes or "gateway default",
                            "baseline": args.slow_baseline},
                   "churn": {"share": args.churn_share, "period_s": args.churn_period,
                             "broadcasts": args.churn_broadcasts, "interval_s": args.churn_interval},
                   "push": {"rate_per_s": args.push_rate, "duration_s": args.push_duration,
                            "connections": args.push_connections, "target": args.push_target,
                            "driver": args.push_driver, "kafka": args.push_kafka, "warmup_s": args.push_warmup,
                            "kafka_note": args.push_kafka_note}},
        "results": results,
        "failed": suite.failed,
        "duration_s": round(time.monotonic() - started, 1),
    }
    report["versions"].setdefault("node", {})
    for k in ("node", "socket.io"):
        report["versions"]["node"].setdefault(k, "-")
    if not args.no_charts:
        try:
            report["charts"] = draw_charts(report, out_dir)
        except ImportError as e:
            report["charts_error"] = f"matplotlib is not installed ({e}); pip install --user -r bench/requirements.txt"
            bl.log(report["charts_error"])
    (out_dir / "summary.json").write_text(json.dumps(report, indent=2) + "\n")
    write_csv(report, out_dir / "summary.csv")
    (out_dir / "summary.md").write_text(markdown(report))
    print(markdown(report))
    print(f"results: {out_dir}/summary.json, summary.md" + (", " + ", ".join(report.get("charts", []))
                                                             if report.get("charts") else "")
          + f" ({report['duration_s']} s)")
    if suite.failed:
        print(f"FAILED: {', '.join(suite.failed)} (logs kept in {suite.tmp})", file=sys.stderr)
        return 1
    if args.keep_tmp:
        print(f"logs: {suite.tmp}")
    elif not str(out_dir).startswith(str(suite.tmp)):
        shutil.rmtree(suite.tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
