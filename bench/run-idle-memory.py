#!/usr/bin/env python3
"""Idle memory per Socket.IO connection: ws-gateway vs the Node.js Socket.IO 4.8 server.

For each configuration (gateway plain, gateway TLS, node plain, node TLS) it starts the
server, warms it up, reads its RSS (/proc/PID/status VmRSS) with no client, opens N idle
Socket.IO clients from several wsgw-loadgen processes (each from its own 127.0.0.x
address), waits until all are connected and the server settles, reads the RSS again and
reports (RSS delta) / N. Kernel TCP memory (/proc/net/sockstat) is reported beside it,
not in it. See bench/README.md.

  bench/run-idle-memory.py --build-dir build            # full: 10,000 connections
  bench/run-idle-memory.py --build-dir build --quick    # CI smoke run: 1,000, < 60 s

Exits non-zero when any configuration did not reach its connection count, lost clients,
or a server died. It never fails on the numbers themselves.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))

import benchlib as bl  # noqa: E402

CONFIGS = ["gateway-plain", "gateway-tls", "node-plain", "node-tls"]
GOAL_BYTES = {"gateway-plain": 2 * 1024, "gateway-tls": 18 * 1024}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="smoke run for CI: 1,000 connections, 2 loadgen processes, short waits")
    p.add_argument("--connections", type=int, help="clients per configuration (default 10000, quick 1000)")
    p.add_argument("--processes", type=int, help="loadgen processes (default 4, quick 2)")
    p.add_argument("--rate", type=float, default=2000, help="total new connections per second, plain")
    p.add_argument("--tls-rate", type=float, default=1000, help="total new connections per second, TLS")
    p.add_argument("--warmup", type=int, help="connections opened and closed before the idle reading "
                                              "(default 500, quick 100)")
    p.add_argument("--settle", type=float, help="seconds to wait before each RSS reading (default 3, quick 1)")
    p.add_argument("--later-reading", type=float, default=0, metavar="SECONDS",
                   help="also read the RSS again this long after the first reading (e.g. past a ping "
                        "round: --ping-interval 10000 --later-reading 12); 0 = no")
    p.add_argument("--configs", default=",".join(CONFIGS), help=f"comma-separated subset of {','.join(CONFIGS)}")
    p.add_argument("--curve-step", type=int, help="read the server's RSS each time this many more clients are "
                   "connected during the ramp, for memory.png (default 2000, quick 250; 0 = no curve)")
    p.add_argument("--no-charts", action="store_true", help="no memory.png")
    p.add_argument("--threads", type=int, default=2, help="ws-gateway --threads")
    p.add_argument("--ping-interval", type=int, default=25000, help="ms, both servers")
    p.add_argument("--ping-timeout", type=int, default=20000, help="ms, both servers")
    p.add_argument("--build-dir", type=Path,
                   default=Path(os.environ.get("WSGW_BUILD_DIR", bl.REPO_DIR / "build")),
                   help="CMake build directory with ws-gateway and wsgw-loadgen (env WSGW_BUILD_DIR)")
    p.add_argument("--gateway-bin", type=Path, help="default: BUILD/gateway/app/ws-gateway")
    p.add_argument("--loadgen-bin", type=Path, help="default: BUILD/bench/loadgen/wsgw-loadgen")
    p.add_argument("--out-dir", type=Path,
                   help="where idle-memory.json/.md go (default bench/results; with --quick a temp dir)")
    p.add_argument("--keep-tmp", action="store_true", help="keep logs and certificates even on success")
    a = p.parse_args()
    a.connections = a.connections or (1000 if a.quick else 10000)
    a.processes = a.processes or (2 if a.quick else 4)
    a.warmup = a.warmup if a.warmup is not None else (100 if a.quick else 500)
    a.settle = a.settle if a.settle is not None else (1.0 if a.quick else 3.0)
    a.curve_step = a.curve_step if a.curve_step is not None else (250 if a.quick else 2000)
    a.gateway_bin = a.gateway_bin or a.build_dir / "gateway" / "app" / "ws-gateway"
    a.loadgen_bin = a.loadgen_bin or a.build_dir / "bench" / "loadgen" / "wsgw-loadgen"
    a.configs = [c.strip() for c in a.configs.split(",") if c.strip()]
    bad = [c for c in a.configs if c not in CONFIGS]
    if bad:
        p.error(f"unknown configuration(s) {bad}; choose from {CONFIGS}")
    if a.processes < 1 or a.processes > 200 or a.connections < a.processes:
        p.error("need 1 <= --processes <= 200 and --connections >= --processes")
    if a.connections / a.processes > 15000:
        p.error("more than 15,000 connections per loadgen process: the open-file limit is 20,000")
    return a


def split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


class RssCurve:
    """Reads the server's connection count and VmRSS every 50 ms while clients connect, and keeps
    one reading each time the count passes the next multiple of `step` (the count actually seen
    is recorded beside it, so a coarse poll does not misplace a point). The readings are taken
    during the ramp, so handshakes in flight (TLS state especially) are in them; the settled
    reading at N connections is added at the end."""

    def __init__(self, server: bl.Server, step: int):
        self.server, self.step = server, step
        self.points: list[list[int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        if self.step > 0:
            self._thread.start()

    def _run(self) -> None:
        next_at = self.step
        while not self._stop.is_set():
            try:
                count = self.server.connection_count()
                rss = bl.read_proc_status(self.server.proc.pid)["VmRSS"]
            except (OSError, KeyError, bl.BenchError):
                count = None
            if count is not None and count >= next_at:
                self.points.append([count, rss])
                next_at = (count // self.step + 1) * self.step
            self._stop.wait(0.05)

    def stop(self) -> list[list[int]]:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        return self.points


def run_config(name: str, args, group: bl.ProcessGroup, tmp: Path, cert: Path, key: Path) -> dict:
    tls = name.endswith("-tls")
    settings = bl.ServerSettings(ping_interval_ms=args.ping_interval, ping_timeout_ms=args.ping_timeout,
                                 tls=tls, cert=cert, key=key)
    if name.startswith("gateway"):
        server: bl.Server = bl.GatewayServer(group, settings, f"{name}-server", args.gateway_bin, args.threads)
    else:
        server = bl.NodeServer(group, settings, f"{name}-server")
    n = args.connections
    rate = args.tls_rate if tls else args.rate
    result: dict = {"config": name, "server": server.kind, "tls": tls, "connections": n, "ok": False,
                    "server_argv": server.argv()}
    fleet = None
    try:
        bl.log(f"{name}: starting {server.kind}")
        server.start()
        server.wait_ready()

        if args.warmup > 0:
            bl.log(f"{name}: warm-up with {args.warmup} connections")
            warm = bl.LoadgenFleet(group, args.loadgen_bin, server.url, tmp, f"{name}-warmup",
                                   [bl.LoadgenSpec(args.warmup, rate, "127.0.0.250")])
            warm.start()
            warm.wait_connected(args.warmup / rate + 30, extra_check=server.check_alive)
            wsum = bl.summarize_loadgen(warm.stop())
            if wsum["established"] != args.warmup:
                raise bl.BenchError(f"warm-up: {wsum['established']}/{args.warmup} connected; "
                                    f"failures {wsum['failures']}")
        bl.wait_until(f"{name}: server back to 0 connections", lambda: server.connection_count() == 0,
                      20, 0.2, check=server.check_alive)
        time.sleep(args.settle)
        idle = server.rss()
        sock_idle = bl.read_sockstat()
        result["rss_idle"] = idle
        bl.log(f"{name}: idle RSS {idle['VmRSS'] / 2**20:.1f} MiB; opening {n} connections "
               f"from {args.processes} loadgens at {rate:.0f}/s")

        counts = split(n, args.processes)
        specs = [bl.LoadgenSpec(c, rate / args.processes, f"127.0.0.{2 + i}") for i, c in enumerate(counts)]
        fleet = bl.LoadgenFleet(group, args.loadgen_bin, server.url, tmp, name, specs)
        curve = RssCurve(server, args.curve_step)
        curve.start()
        fleet.start()
        try:
            ready = fleet.wait_connected(n / rate + 60, extra_check=server.check_alive)
        finally:
            points = curve.stop()
        rsum = bl.summarize_loadgen(ready)
        if rsum["established"] != n:
            raise bl.BenchError(f"only {rsum['established']}/{n} clients connected; failures by kind: "
                                f"{rsum['failures']}")
        bl.wait_until(f"{name}: server to report {n} connections", lambda: server.connection_count() == n,
                      20, 0.2, check=server.check_alive)
        time.sleep(args.settle)
        loaded = server.rss()
        sock_loaded = bl.read_sockstat()
        server_count = server.connection_count()
        if server_count != n:
            raise bl.BenchError(f"the server reports {server_count} connections at the reading, expected {n}")
        result["rss_loaded"] = loaded
        # [connections, VmRSS bytes]: idle, during the ramp, settled at N (memory.png).
        result["rss_curve"] = [[0, idle["VmRSS"]]] + [p for p in points if p[0] < n] + [[n, loaded["VmRSS"]]]
        result["server_reported_connections"] = server_count
        delta = loaded["VmRSS"] - idle["VmRSS"]
        result["rss_delta_bytes"] = delta
        result["bytes_per_connection"] = round(delta / n)
        result["anon_bytes_per_connection"] = round((loaded["RssAnon"] - idle["RssAnon"]) / n)
        result["kernel_tcp"] = {
            "mem_bytes_idle": sock_idle.get("tcp_mem_bytes", 0),
            "mem_bytes_loaded": sock_loaded.get("tcp_mem_bytes", 0),
            "inuse_delta": sock_loaded.get("tcp_inuse", 0) - sock_idle.get("tcp_inuse", 0),
            # Both ends of each loopback connection are on this machine.
            "mem_bytes_per_connection_both_ends": round(
                (sock_loaded.get("tcp_mem_bytes", 0) - sock_idle.get("tcp_mem_bytes", 0)) / n),
        }
        bl.log(f"{name}: loaded RSS {loaded['VmRSS'] / 2**20:.1f} MiB -> "
               f"{result['bytes_per_connection']} bytes per connection")

        if args.later_reading > 0:
            bl.log(f"{name}: second reading in {args.later_reading:.0f}s")
            time.sleep(args.later_reading)
            later = server.rss()
            later_count = server.connection_count()
            if later_count != n:
                raise bl.BenchError(f"the server reports {later_count} connections at the later reading, "
                                    f"expected {n}")
            result["rss_later"] = later
            result["later_reading_after_s"] = args.later_reading
            result["bytes_per_connection_later"] = round((later["VmRSS"] - idle["VmRSS"]) / n)
            bl.log(f"{name}: later RSS {later['VmRSS'] / 2**20:.1f} MiB -> "
                   f"{result['bytes_per_connection_later']} bytes per connection")

        final = fleet.stop()
        fsum = bl.summarize_loadgen(final)
        fleet = None
        result["loadgen"] = fsum
        if fsum["dropped_during_hold"] != 0:
            raise bl.BenchError(f"{fsum['dropped_during_hold']} clients were dropped during the hold: "
                                f"{fsum['drops']}")
        code = server.stop()
        result["server_exit_code"] = code
        if code not in (0, None):
            raise bl.BenchError(f"the server exited with code {code} on SIGTERM; log:\n"
                                f"{group.log_tail(server.proc)}")
        result["ok"] = True
    except bl.BenchError as e:
        result["error"] = str(e)
        bl.log(f"{name}: FAILED: {e}")
        if server.proc is not None:
            tail = group.log_tail(server.proc, 40)
            result["server_log_tail"] = tail
            if tail:
                bl.log(f"{name}: server log tail:\n{tail}")
        if fleet is not None:
            for p in fleet.procs:
                if p.poll() is None:
                    group.stop(p, timeout_s=5)
            reports = []
            for i in range(len(fleet.procs)):
                for suffix in ("json", "ready.json"):
                    path = tmp / f"{name}-{i}.{suffix}"
                    if path.exists():
                        reports.append(json.loads(path.read_text()))
                        break
            if reports:
                result["loadgen"] = bl.summarize_loadgen(reports)
    finally:
        if server.proc is not None and server.proc.poll() is None:
            group.stop(server.proc, timeout_s=15)
        if "rss_loaded" in result:
            result["server_peak_rss_bytes"] = result["rss_loaded"].get("VmHWM", 0)
    goal = GOAL_BYTES.get(name)
    if goal and "bytes_per_connection" in result:
        result["goal_bytes_per_connection"] = goal
        result["meets_goal"] = result["bytes_per_connection"] <= goal
    return result


def fmt_kib(b) -> str:
    return "-" if b is None else f"{b / 1024:.2f}"


def fmt_mib(b) -> str:
    return "-" if b is None else f"{b / 2**20:.1f}"


def ratios(results: list[dict]) -> dict:
    by = {r["config"]: r for r in results}
    out = {}
    for t in ("plain", "tls"):
        g, n = by.get(f"gateway-{t}"), by.get(f"node-{t}")
        if g and n and g.get("bytes_per_connection") and n.get("bytes_per_connection"):
            out[f"node_over_gateway_{t}"] = round(n["bytes_per_connection"] / g["bytes_per_connection"], 2)
    return out


def kernel_tcp_cell(r: dict) -> str:
    k = r.get("kernel_tcp")
    if not k:
        return "-"
    return f"{k['mem_bytes_idle'] / 2**20:.1f} -> {k['mem_bytes_loaded'] / 2**20:.1f}"


def table_rows(results: list[dict]) -> list[list[str]]:
    rows = []
    for r in results:
        lg = r.get("loadgen", {})
        rows.append([
            r["config"],
            f"{lg.get('established', '-')}/{r['connections']}",
            fmt_mib(r.get("rss_idle", {}).get("VmRSS")),
            fmt_mib(r.get("rss_loaded", {}).get("VmRSS")),
            str(r.get("bytes_per_connection", "-")),
            fmt_kib(r.get("bytes_per_connection")),
            str(r.get("bytes_per_connection_later", "-")),
            kernel_tcp_cell(r),
            str(lg.get("connect_rate_per_s", "-")),
            ("ok" if r["ok"] else "FAILED") + (
                "" if not lg.get("failures") else f" {lg['failures']}"),
        ])
    return rows


HEADER = ["config", "connected", "RSS idle MiB", "RSS loaded MiB", "bytes/conn", "KiB/conn",
          "bytes/conn later", "kernel TCP MiB (system)", "connect rate/s", "status"]


def print_table(results: list[dict]) -> None:
    rows = [HEADER] + table_rows(results)
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    for j, row in enumerate(rows):
        print("  ".join(cell.rjust(widths[i]) if i else cell.ljust(widths[i]) for i, cell in enumerate(row)))
        if j == 0:
            print("  ".join("-" * w for w in widths))


def markdown(report: dict) -> str:
    m = report["machine"]
    p = report["params"]
    v = report["versions"]
    lines = [
        "# Idle memory per Socket.IO connection",
        "",
        f"Generated by `bench/run-idle-memory.py` on {report['date']} (git {v['git']}).",
        f"Machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['mem_total_bytes'] / 2**30:.0f} GiB, "
        f"Linux {m['kernel']}.",
        f"Servers: ws-gateway ({v['gateway_build_type']} build, --threads {p['gateway_threads']}); "
        f"Node {v['node']['node']} with socket.io {v['node']['socket.io']} "
        f"(engine.io {v['node']['engine.io']}, ws {v['node']['ws']}).",
        f"Clients: {p['connections']} idle Socket.IO v5 WebSocket clients per configuration, from "
        f"{p['processes']} wsgw-loadgen processes; warm-up {p['warmup']} connections; settle "
        f"{p['settle_s']} s; ping interval {p['ping_interval_ms']} ms.",
        "",
        "Bytes per connection = (server VmRSS with the clients - VmRSS idle) / connections. "
        "\"Later\" is the same after --later-reading seconds (- when not taken). Kernel TCP memory "
        "(/proc/net/sockstat, whole system, idle -> loaded) is not included in it.",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "|".join("---" for _ in HEADER) + "|",
    ]
    for row in table_rows(report["results"]):
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    for k, val in report["ratios"].items():
        lines.append(f"- {k.replace('_', ' ')}: **{val}x**")
    for r in report["results"]:
        if "goal_bytes_per_connection" in r:
            lines.append(f"- {r['config']}: goal <= {r['goal_bytes_per_connection']} bytes per connection: "
                         f"{'met' if r['meets_goal'] else 'NOT met'} ({r['bytes_per_connection']})")
    for r in report["results"]:
        if not r["ok"]:
            lines.append(f"- {r['config']} FAILED: {r.get('error', '').splitlines()[0] if r.get('error') else ''}")
    lines.append("")
    curves = [r for r in report["results"] if r.get("rss_curve")]
    if curves:
        lines += ["## RSS vs connections" + (" (`memory.png`)" if report.get("chart") else ""), "",
                  f"Server VmRSS (MiB) read during the ramp each time another {p['curve_step']:,} clients were "
                  "connected (the count actually seen is in `memory.json`), idle first and settled at N last. "
                  "Readings during the ramp include the handshakes in flight.", ""]
        for r in curves:
            pts = ", ".join(f"{c:,}: {b / 2**20:.1f}" for c, b in r["rss_curve"])
            lines.append(f"- {r['config']}: {pts}")
        lines.append("")
    return "\n".join(lines)


def draw_memory_chart(report: dict, path: Path) -> bool:
    """RSS (MiB) vs connections, one line per server/transport. False without matplotlib."""
    try:
        import matplotlib  # optional: pip install --user -r bench/requirements.txt
    except ImportError:
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    styles = {"gateway-plain": ("ws-gateway, ws://", "#1f77b4", "-"),
              "gateway-tls": ("ws-gateway, wss:// (TLS)", "#1f77b4", "--"),
              "node-plain": ("Node socket.io, ws://", "#ff7f0e", "-"),
              "node-tls": ("Node socket.io, wss:// (TLS)", "#ff7f0e", "--")}
    fig, ax = plt.subplots(figsize=(8, 5))
    for r in report["results"]:
        curve = r.get("rss_curve")
        if not curve:
            continue
        label, color, style = styles.get(r["config"], (r["config"], None, "-"))
        ax.plot([c for c, _ in curve], [b / 2**20 for _, b in curve], marker="o", markersize=3,
                label=label, color=color, linestyle=style)
    m = report["machine"]
    ax.set_xlabel("idle Socket.IO connections")
    ax.set_ylabel("server RSS, MiB")
    ax.set_title("Server memory vs connections (RSS during the ramp; last point settled)")
    ax.grid(True, alpha=0.3)
    ax.legend()
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    fig.text(0.99, 0.01, f"{report['date'][:10]}, {m['nproc']} CPUs, ws-gateway --threads "
             f"{report['params']['gateway_threads']}", ha="right", va="bottom", fontsize=7, color="#666666")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main() -> int:
    args = parse_args()
    for what, path in (("ws-gateway", args.gateway_bin), ("wsgw-loadgen", args.loadgen_bin)):
        if not path.is_file() or not os.access(path, os.X_OK):
            print(f"run-idle-memory: {what} not found at {path} (build it: cmake --build BUILD "
                  f"--target ws-gateway wsgw-loadgen, and pass --build-dir BUILD)", file=sys.stderr)
            return 2
    if any(c.startswith("node") for c in args.configs):
        if not shutil.which("node"):
            print("run-idle-memory: node is not installed (or drop the node configs with --configs)",
                  file=sys.stderr)
            return 2
        bl.ensure_node_modules()

    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="wsgw-idle-memory-"))
    group = bl.ProcessGroup(tmp)
    cert, key = bl.make_self_signed_cert(tmp)
    results = []
    for name in args.configs:
        results.append(run_config(name, args, group, tmp, cert, key))
    group.kill_all()

    build_type = "unknown"
    cache = args.build_dir / "CMakeCache.txt"
    if cache.exists():
        for line in cache.read_text(errors="replace").splitlines():
            if line.startswith("CMAKE_BUILD_TYPE:"):
                build_type = line.split("=", 1)[1] or "unknown"
    report = {
        "benchmark": "idle-memory",
        "date": bl.utc_now_iso(),
        "quick": args.quick,
        "machine": bl.machine_info(),
        "versions": {"git": bl.git_describe(), "gateway_build_type": build_type,
                     "node": bl.node_versions()},
        "params": {"connections": args.connections, "processes": args.processes, "rate_plain": args.rate,
                   "rate_tls": args.tls_rate, "warmup": args.warmup, "settle_s": args.settle,
                   "gateway_threads": args.threads, "ping_interval_ms": args.ping_interval,
                   "later_reading_s": args.later_reading, "curve_step": args.curve_step,
                   "ping_timeout_ms": args.ping_timeout},
        "results": results,
        "ratios": ratios(results),
        "duration_s": round(time.monotonic() - started, 1),
    }
    out_dir = args.out_dir or (tmp if args.quick else bl.BENCH_DIR / "results")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "idle-memory.json").write_text(json.dumps(report, indent=2) + "\n")
    curves = {r["config"]: r["rss_curve"] for r in results if r.get("rss_curve")}
    if curves:
        (out_dir / "memory.json").write_text(json.dumps({
            "benchmark": "memory-vs-connections", "date": report["date"], "machine": report["machine"],
            "versions": report["versions"], "params": report["params"],
            "unit": "[connections, server VmRSS bytes]: idle, every --curve-step connections during the ramp, "
                    "then settled at N",
            "curves": curves}, indent=2) + "\n")
        if not args.no_charts:
            if draw_memory_chart(report, out_dir / "memory.png"):
                report["chart"] = "memory.png"
            else:
                bl.log("matplotlib is not installed: no memory.png (pip install --user -r bench/requirements.txt)")
    (out_dir / "idle-memory.md").write_text(markdown(report))

    print()
    print(f"Idle memory per connection — {report['date']}, {report['machine']['nproc']} CPUs "
          f"({report['machine']['cpu_model']}), Linux {report['machine']['kernel']}")
    print_table(results)
    for k, v in report["ratios"].items():
        print(f"{k}: {v}x")
    print(f"results: {out_dir / 'idle-memory.json'} and idle-memory.md ({report['duration_s']} s)")
    failed = [r["config"] for r in results if not r["ok"]]
    if failed:
        print(f"FAILED: {', '.join(failed)} (logs kept in {tmp})", file=sys.stderr)
        return 1
    if not args.keep_tmp and out_dir != tmp:
        shutil.rmtree(tmp, ignore_errors=True)
    elif args.keep_tmp:
        print(f"logs: {tmp}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
