#!/usr/bin/env python3
"""The wsgw benchmark suite: ws-gateway vs the Node.js Socket.IO 4.8 server, same run, same clients.

Scenarios (bench/README.md has the method of each):
  idle-memory    idle memory per connection (runs run-idle-memory.py)
  ramp           scenario 1: connections/s while N clients connect as fast as they can, plain and TLS
  broadcast-ack  scenario 2: a ~600-byte "message" to everyone every T s; every client answers
                 each one with a "receipt" event; delivery latency, deliveries/s, errors
  broadcast      scenario 3: the same without receipts
  fanout         scenario 5: bursts of messages to everyone as fast as the server can, deliveries/s
                 and deliveries per server CPU-second, beside wsgw-fanout-probe (bare write() loop
                 over as many loopback sockets) as the kernel's limit

  bench/run.py --build-dir build            # full run: results in bench/results/ (~15 min)
  bench/run.py --build-dir build --quick    # small version of each (< 2 min), results in a temp dir
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
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))

import benchlib as bl  # noqa: E402

SCENARIOS = ["idle-memory", "ramp", "broadcast-ack", "broadcast", "fanout"]
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
    p.add_argument("--quick", action="store_true", help="a small version of every scenario (< 2 min)")
    p.add_argument("--scenarios", default=",".join(SCENARIOS), help=f"comma-separated subset of {SCENARIOS}")
    p.add_argument("--servers", default=",".join(SERVERS), help="gateway,node or one of them")
    p.add_argument("--connections", type=int, help="clients per server and scenario (default 10000, quick 1000)")
    p.add_argument("--processes", type=int, help="loadgen processes (default 4, quick 2)")
    p.add_argument("--threads", type=int, default=2, help="ws-gateway --threads, and probe writer threads")
    p.add_argument("--connect-rate", type=float, default=5000,
                   help="total connections/s when a scenario other than ramp sets up its clients")
    p.add_argument("--ramp-inflight", type=int, default=250,
                   help="ramp: handshakes in flight per loadgen process (the ramp has no rate limit)")
    p.add_argument("--interval", type=float, help="broadcast period, s (default 5, quick 1)")
    p.add_argument("--broadcasts", type=int, help="broadcasts per server in scenarios 2 and 3 (default 12, quick 3)")
    p.add_argument("--burst", type=int, help="fanout: messages per burst (default 50, quick 20)")
    p.add_argument("--bursts", type=int, help="fanout: bursts per server, and probe runs (default 3, quick 1)")
    p.add_argument("--build-dir", type=Path,
                   default=Path(os.environ.get("WSGW_BUILD_DIR", bl.REPO_DIR / "build")),
                   help="CMake build directory with ws-gateway, wsgw-loadgen, wsgw-fanout-probe")
    p.add_argument("--out-dir", type=Path, help="default bench/results (with --quick: a temp dir)")
    p.add_argument("--no-charts", action="store_true", help="JSON and markdown only")
    p.add_argument("--keep-tmp", action="store_true", help="keep logs even on success")
    a = p.parse_args()
    a.connections = a.connections or (1000 if a.quick else 10000)
    a.processes = a.processes or (2 if a.quick else 4)
    a.interval = a.interval or (1.0 if a.quick else 5.0)
    a.broadcasts = a.broadcasts or (3 if a.quick else 12)
    a.burst = a.burst or (20 if a.quick else 50)
    a.bursts = a.bursts or (1 if a.quick else 3)
    a.scenarios = [s.strip() for s in a.scenarios.split(",") if s.strip()]
    a.servers = [s.strip() for s in a.servers.split(",") if s.strip()]
    bad = [s for s in a.scenarios if s not in SCENARIOS] + [s for s in a.servers if s not in SERVERS]
    if bad:
        p.error(f"unknown scenario or server {bad}")
    if a.connections < a.processes or a.connections / a.processes > 15000:
        p.error("need --connections >= --processes and at most 15,000 connections per loadgen process")
    if a.connections > 19000 and "fanout" in a.scenarios:
        p.error("fanout: wsgw-fanout-probe holds every connection in one process: at most 19,000")
    a.gateway_bin = a.build_dir / "gateway" / "app" / "ws-gateway"
    a.loadgen_bin = a.build_dir / "bench" / "loadgen" / "wsgw-loadgen"
    a.probe_bin = a.build_dir / "bench" / "probe" / "wsgw-fanout-probe"
    return a


class Suite:
    """What every scenario shares: the process group, the temp dir, the certificate, options."""

    def __init__(self, args):
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="wsgw-bench-"))
        self.group = bl.ProcessGroup(self.tmp)
        self.cert, self.key = bl.make_self_signed_cert(self.tmp)
        self.failed: list[str] = []

    def start_server(self, kind: str, name: str, tls: bool = False) -> bl.Server:
        settings = bl.ServerSettings(tls=tls, cert=self.cert, key=self.key)
        if kind == "gateway":
            server: bl.Server = bl.GatewayServer(self.group, settings, name, self.args.gateway_bin,
                                                 self.args.threads)
        else:
            server = bl.NodeServer(self.group, settings, name)
        server.start()
        server.wait_ready()
        return server

    def connect_fleet(self, server: bl.Server, name: str, rate: float, inflight: int = 200,
                      extra_args: list[str] | None = None, status: bool = False) -> tuple[bl.LoadgenFleet, dict]:
        a = self.args
        n = a.connections
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
    n = a.connections
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
    extra = ["--receipt-event", "receipt"] if with_receipts else []
    fleet, _ = suite.connect_fleet(server, name, a.connect_rate, extra_args=extra, status=True)
    n = a.connections
    admin = server.admin()
    events0 = server.events_received() or 0
    rss0 = server.rss(1)["VmRSS"]
    cpu0, lg_cpu0 = server.cpu_s(), fleet.cpu_s()
    t0 = time.monotonic()
    post_ms = []
    for k in range(a.broadcasts):
        delay = t0 + k * a.interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        t = time.monotonic()
        status, body = admin.broadcast("message", article_payload(now_us()))
        post_ms.append((time.monotonic() - t) * 1000)
        if status != 200:
            raise bl.BenchError(f"{name}: POST /admin/broadcast answered {status}: {body[:200]!r}")
    expected = n * a.broadcasts
    got = wait_deliveries(fleet, server, expected, a.interval + 30)
    t_end = time.monotonic()
    cpu1, lg_cpu1 = server.cpu_s(), fleet.cpu_s()
    receipts_counted = None
    if with_receipts:
        # Receipts still in flight when the last message arrived: give them a moment.
        try:
            bl.wait_until(f"{name}: server to count the receipts",
                          lambda: (server.events_received() or 0) - events0 >= got, 10, 0.1)
        except bl.BenchError:
            pass  # reported as a shortfall below
        receipts_counted = (server.events_received() or 0) - events0
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
        "dropped_clients": final["dropped_during_hold"], "drops": final["drops"],
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
           f"{result['server_cpu_percent']}%" + (f", receipts counted {receipts_counted}" if with_receipts else ""))
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
    for scenario, title in (("broadcast-ack", "Scenario 2: broadcast every T s, clients send a receipt for each"),
                            ("broadcast", "Scenario 3: broadcast every T s, no receipts")):
        if scenario not in res:
            continue
        lines += [f"## {title}", "",
                  f"{p['broadcasts']} broadcasts, one every {p['interval_s']} s. Latency = client receive time "
                  "- the \"ts\" the driver put in the message just before POSTing it (same clock).", "",
                  "| server | delivered | latency p50 / p99 / max ms | deliveries/s | server CPU % | "
                  "receipts sent / counted | status |",
                  "|---|---|---|---|---|---|---|"]
        for r in res[scenario]:
            lat = r.get("latency_us", {})
            rc = (f"{r.get('receipts_sent')} / {r.get('receipts_counted_by_server')}"
                  if scenario == "broadcast-ack" else "-")
            lines.append(f"| {r.get('server', '?')} | {r.get('deliveries', '-')}/{r.get('expected_deliveries', '-')} | "
                         f"{ms(lat.get('p50'))} / {ms(lat.get('p99'))} / {ms(lat.get('max'))} | "
                         f"{num(r.get('deliveries_per_s'))} | {num(r.get('server_cpu_percent'), '{:.1f}')} | {rc} | "
                         f"{'ok' if r.get('ok') else 'FAILED ' + r.get('error', '')[:80]} |")
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
                                  ("fanout", "scenario 5: fan-out bursts")) if s in res]
    if panels:
        fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
        for ax, (s, title) in zip(axes[0], panels):
            rows = [res["fanout"].get(k) for k in ("gateway", "node")] if s == "fanout" else res[s]
            for r in rows:
                if r and r.get("latency_us"):
                    cdf(ax, r["latency_us"], r.get("server", "?"), "-" if r.get("server") == "ws-gateway" else "--")
            ax.set_xscale("log")
            ax.set_xlabel("delivery latency, ms (log)")
            ax.set_ylabel("fraction of deliveries")
            ax.set_title(title)
            ax.grid(True, which="both", alpha=0.3)
            ax.legend()
        fig.suptitle(f"Delivery latency CDF, {report['params']['connections']:,} clients")
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
                   "ramp_inflight": args.ramp_inflight, "interval_s": args.interval,
                   "broadcasts": args.broadcasts, "burst": args.burst, "bursts": args.bursts,
                   "message_bytes": message_bytes(), "frame_bytes": ws_frame_bytes(message_bytes()),
                   "servers": args.servers, "scenarios": args.scenarios},
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
