"""Shared pieces of the wsgw benchmark drivers (Python 3 standard library only).

Processes: every child is started through a ProcessGroup that kills it on exit, on
SIGINT/SIGTERM and on any error, so a failed run never leaves servers behind.
Servers: GatewayServer (ws-gateway) and NodeServer (bench/node/server.mjs) share one
interface: start(), wait_ready(), connection_count(), rss(), stop().
Clients: LoadgenFleet runs several wsgw-loadgen processes, each from its own 127.0.0.x
source address, and collects their JSON reports.
Measurements come from /proc, identically for every server.
"""

from __future__ import annotations

import atexit
import datetime
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = BENCH_DIR.parent


class BenchError(Exception):
    """A benchmark precondition or check failed; the message says which."""


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------
# Waiting


def wait_until(what: str, predicate, timeout_s: float, interval_s: float = 0.1, check=None):
    """Polls predicate() until it returns a truthy value; raises BenchError after timeout_s.

    check(), when given, runs on every round and may raise (e.g. a child died)."""
    deadline = time.monotonic() + timeout_s
    last = None
    while True:
        if check:
            check()
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise BenchError(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(interval_s)


# ---------------------------------------------------------------------------------------
# Processes


class ProcessGroup:
    """Children started for a benchmark; all are killed on exit or on a signal."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.procs: list[tuple[str, subprocess.Popen, Path]] = []
        atexit.register(self.kill_all)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum, _frame):
        log(f"signal {signum}: stopping children")
        self.kill_all()
        sys.exit(128 + signum)

    def start(self, name: str, argv: list[str], cwd: Path | None = None) -> subprocess.Popen:
        log_path = self.log_dir / f"{name}.log"
        out = open(log_path, "wb")
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            start_new_session=True,  # our SIGINT to the terminal does not reach it directly
        )
        out.close()
        self.procs.append((name, proc, log_path))
        return proc

    def log_path(self, proc: subprocess.Popen) -> Path | None:
        for _, p, path in self.procs:
            if p is proc:
                return path
        return None

    def log_tail(self, proc: subprocess.Popen, lines: int = 30) -> str:
        path = self.log_path(proc)
        if not path or not path.exists():
            return ""
        text = path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self, proc: subprocess.Popen, sig=signal.SIGTERM, timeout_s: float = 15.0) -> int:
        """Signals one child (unless sig is None) and waits for it; SIGKILL after timeout_s.
        Returns its exit code."""
        if proc.poll() is None:
            if sig is not None:
                try:
                    proc.send_signal(sig)
                except ProcessLookupError:
                    pass
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                log(f"pid {proc.pid} did not exit within {timeout_s:.0f}s of signal {sig}: SIGKILL")
                proc.kill()
                proc.wait(timeout=10)
        return proc.returncode

    def kill_all(self) -> None:
        alive = [p for _, p, _ in self.procs if p.poll() is None]
        for p in alive:
            try:
                p.terminate()
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 3
        for p in alive:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)


# ---------------------------------------------------------------------------------------
# /proc and the machine


def read_proc_status(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM, RssAnon, RssFile, RssShmem ... of /proc/PID/status, in bytes."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            m = re.match(r"^(Vm\w+|Rss\w+):\s+(\d+) kB", line)
            if m:
                out[m.group(1)] = int(m.group(2)) * 1024
    return out


def sample_rss(pid: int, samples: int = 5, interval_s: float = 0.2) -> dict[str, int]:
    """The median of a few /proc/PID/status readings (VmRSS, RssAnon), and the last VmHWM."""
    readings = []
    for i in range(samples):
        readings.append(read_proc_status(pid))
        if i + 1 < samples:
            time.sleep(interval_s)
    return {
        "VmRSS": int(statistics.median(r["VmRSS"] for r in readings)),
        "RssAnon": int(statistics.median(r.get("RssAnon", 0) for r in readings)),
        "RssFile": int(statistics.median(r.get("RssFile", 0) for r in readings)),
        "VmHWM": readings[-1].get("VmHWM", 0),
    }


def read_proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads) from /proc/PID/stat; 0 if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return 0.0
    # Fields after the command name (which may hold blanks and parentheses): state is field 3.
    fields = text[text.rindex(")") + 2:].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def read_sockstat() -> dict[str, int]:
    """TCP socket counts and kernel TCP memory (bytes) from /proc/net/sockstat."""
    page = os.sysconf("SC_PAGE_SIZE")
    out = {}
    with open("/proc/net/sockstat") as f:
        for line in f:
            if line.startswith("TCP:"):
                parts = line.split()[1:]
                vals = dict(zip(parts[0::2], (int(v) for v in parts[1::2])))
                out["tcp_inuse"] = vals.get("inuse", 0)
                out["tcp_alloc"] = vals.get("alloc", 0)
                out["tcp_orphan"] = vals.get("orphan", 0)
                out["tcp_tw"] = vals.get("tw", 0)
                out["tcp_mem_bytes"] = vals.get("mem", 0) * page
            elif line.startswith("sockets:"):
                out["sockets_used"] = int(line.split()[2])
    return out


def machine_info() -> dict:
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_total = 0
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem_total = int(line.split()[1]) * 1024
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "kernel": platform.release(),
        "mem_total_bytes": mem_total,
        "page_size": os.sysconf("SC_PAGE_SIZE"),
    }


def utc_now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


def git_describe() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO_DIR), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, timeout=10,
        )
        rev = out.stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO_DIR), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=10,
        ).stdout.strip()
        return rev + ("-dirty" if dirty else "") if rev else "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout_s: float = 2.0) -> tuple[int, bytes]:
    """GET url; (status, body), or (0, b'') when it cannot connect. TLS is not verified."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=timeout_s, context=ctx) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, OSError):
        return 0, b""


def make_self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """An EC P-256 certificate for 127.0.0.1/localhost, made with the openssl CLI."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    cmd = [
        "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise BenchError(f"openssl could not make a certificate: {r.stderr.strip()}")
    return cert, key


# ---------------------------------------------------------------------------------------
# Servers


@dataclass
class ServerSettings:
    """What both servers are configured with, so they stay equivalent."""

    ping_interval_ms: int = 25000
    ping_timeout_ms: int = 20000
    max_payload: int = 1000000
    tls: bool = False
    cert: Path | None = None
    key: Path | None = None


class Server:
    """A server under test: started by a ProcessGroup, probed over plain HTTP."""

    kind = "server"

    def __init__(self, group: ProcessGroup, settings: ServerSettings, name: str):
        self.group = group
        self.settings = settings
        self.name = name
        self.client_port = free_port()
        self.admin_port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        scheme = "wss" if self.settings.tls else "ws"
        return f"{scheme}://127.0.0.1:{self.client_port}/socket.io/"

    def argv(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        self.proc = self.group.start(self.name, self.argv())

    def check_alive(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            code = None if self.proc is None else self.proc.returncode
            raise BenchError(
                f"{self.name} exited (code {code}); its log ends with:\n{self.group.log_tail(self.proc)}"
            )

    def wait_ready(self, timeout_s: float = 20.0) -> None:
        url = f"http://127.0.0.1:{self.admin_port}/healthz"
        wait_until(f"{self.name} /healthz", lambda: http_get(url)[0] == 200, timeout_s, check=self.check_alive)

    def connection_count(self) -> int | None:
        raise NotImplementedError

    def rss(self, samples: int = 5) -> dict[str, int]:
        self.check_alive()
        return sample_rss(self.proc.pid, samples)

    def stop(self, timeout_s: float = 15.0) -> int | None:
        if self.proc is None:
            return None
        return self.group.stop(self.proc, signal.SIGTERM, timeout_s)

    def describe(self) -> dict:
        return {"kind": self.kind, "argv": self.argv()}

    def cpu_s(self) -> float:
        return read_proc_cpu_s(self.proc.pid) if self.proc is not None else 0.0

    def events_received(self) -> int | None:
        """Client events the server has counted (the benchmarks' receipts)."""
        raise NotImplementedError

    def last_event_ms(self) -> float | None:
        """Wall-clock ms when the server counted its last client event (or a broadcast's acks)."""
        raise NotImplementedError

    def admin(self) -> "AdminClient":
        """Both servers take POST /admin/broadcast?event=E with a JSON array body on the admin port."""
        return AdminClient(self.admin_port)


class AdminClient:
    """One keep-alive HTTP connection to a server's admin listener, for broadcasts."""

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def broadcast(self, event: str, args_json: str, ack: bool = False) -> tuple[int, bytes]:
        """ack: a broadcast with acks (one ack id for every client, as Socket.IO's
        io.timeout(t).emit(..., callback)); the servers count the answers as client events."""
        body = args_json.encode()
        path = f"/admin/broadcast?event={event}" + ("&ack=1" if ack else "")
        for attempt in (1, 2):  # a server may close an idle keep-alive connection: reconnect once
            try:
                self.conn.request("POST", path, body=body,
                                  headers={"Content-Type": "application/json"})
                r = self.conn.getresponse()
                return r.status, r.read()
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt == 2:
                    raise
        return 0, b""

    def close(self) -> None:
        self.conn.close()


class GatewayServer(Server):
    kind = "ws-gateway"

    def __init__(self, group, settings, name, binary: Path, threads: int = 2):
        super().__init__(group, settings, name)
        self.binary = binary
        self.threads = threads
        self.extra_args: list[str] = []  # e.g. ["--max-queue-bytes", "256KiB"], or cluster mode

    def argv(self) -> list[str]:
        s = self.settings
        a = [str(self.binary), "--threads", str(self.threads), "--log-level", "warn",
             "--ping-interval", f"{s.ping_interval_ms}ms", "--ping-timeout", f"{s.ping_timeout_ms}ms",
             # Node pings at a fixed pingInterval; start the dynamic heartbeat there too.
             "--heartbeat-min-interval", f"{s.ping_interval_ms}ms",
             "--max-payload", str(s.max_payload), "--shutdown-grace", "2s",
             "--metrics-listen", f"127.0.0.1:{self.admin_port}"]
        if s.tls:
            a += ["--listen", "", "--tls-listen", f"127.0.0.1:{self.client_port}",
                  "--tls-cert", str(s.cert), "--tls-key", str(s.key)]
        else:
            a += ["--listen", f"127.0.0.1:{self.client_port}"]
        return a + self.extra_args

    def metrics(self) -> dict[str, float]:
        status, body = http_get(f"http://127.0.0.1:{self.admin_port}/metrics")
        if status != 200:
            return {}
        out = {}
        for line in body.decode(errors="replace").splitlines():
            if line.startswith("#") or not line.strip():
                continue
            name, _, value = line.rpartition(" ")
            try:
                out[name] = float(value)
            except ValueError:
                pass
        return out

    def connection_count(self) -> int | None:
        # Open Engine.IO sessions of either transport (long-polling clients: --polling-share).
        m = self.metrics()
        v = m.get('wsgw_connections{transport="websocket"}')
        return None if v is None else int(v + m.get('wsgw_connections{transport="polling"}', 0))

    def events_received(self) -> int | None:
        # Standalone mode: client events have no upstream and are only counted.
        v = self.metrics().get("wsgw_events_unrouted_total")
        return None if v is None else int(v)

    def last_event_ms(self) -> float | None:
        v = self.metrics().get("wsgw_events_unrouted_last_timestamp_seconds")
        return None if v is None else v * 1000


class NodeServer(Server):
    kind = "node-socket.io"

    def __init__(self, group, settings, name, node: str = "node"):
        super().__init__(group, settings, name)
        self.node = node

    def argv(self) -> list[str]:
        s = self.settings
        a = [self.node, str(BENCH_DIR / "node" / "server.mjs"),
             "--ping-interval", str(s.ping_interval_ms), "--ping-timeout", str(s.ping_timeout_ms),
             "--max-payload", str(s.max_payload), "--admin-listen", f"127.0.0.1:{self.admin_port}"]
        if s.tls:
            a += ["--tls-listen", f"127.0.0.1:{self.client_port}", "--tls-cert", str(s.cert),
                  "--tls-key", str(s.key)]
        else:
            a += ["--listen", f"127.0.0.1:{self.client_port}"]
        return a

    def stats(self) -> dict:
        status, body = http_get(f"http://127.0.0.1:{self.admin_port}/stats")
        if status != 200:
            return {}
        try:
            return json.loads(body)
        except ValueError:
            return {}

    def connection_count(self) -> int | None:
        st = self.stats()
        if "engine_clients" not in st:
            return None
        # Only count clients that also joined "/", as the gateway's gauge counts open sessions.
        return min(int(st["engine_clients"]), int(st.get("sockets", 0)))

    def events_received(self) -> int | None:
        v = self.stats().get("events_received")
        return None if v is None else int(v)

    def last_event_ms(self) -> float | None:
        v = self.stats().get("last_event_ms")
        return None if v is None else float(v)


def node_versions() -> dict:
    out = {}
    try:
        out["node"] = subprocess.run(["node", "--version"], capture_output=True, text=True,
                                     timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        out["node"] = "missing"
    for pkg in ("socket.io", "engine.io", "ws"):
        p = BENCH_DIR / "node" / "node_modules" / pkg / "package.json"
        try:
            out[pkg] = json.loads(p.read_text())["version"]
        except (OSError, ValueError, KeyError):
            out[pkg] = "missing"
    return out


def ensure_node_modules() -> None:
    """Installs bench/node's locked dependencies (npm ci) when they are missing."""
    if (BENCH_DIR / "node" / "node_modules" / "socket.io" / "package.json").exists():
        return
    log("bench/node/node_modules missing: running npm ci")
    r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=BENCH_DIR / "node",
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise BenchError(f"npm ci failed in bench/node:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")


# ---------------------------------------------------------------------------------------
# Clients


@dataclass
class LoadgenSpec:
    connections: int
    rate: float            # per process
    source_addr: str
    hold_s: float = 600.0  # upper bound: the driver ends the hold with SIGINT
    connect_timeout_s: float = 30.0
    # Handshakes in flight per process: queueing in the client rather than in the server
    # keeps handshake times (and so timeouts) bounded when a server is slower than the rate.
    max_inflight: int = 200
    extra_args: list[str] = field(default_factory=list)  # e.g. ["--receipt-event", "receipt"]
    status: bool = False   # --status-file: the driver follows deliveries during the hold


@dataclass
class LoadgenFleet:
    """Several wsgw-loadgen processes against one URL."""

    group: ProcessGroup
    binary: Path
    url: str
    work_dir: Path
    name: str
    specs: list[LoadgenSpec]
    procs: list[subprocess.Popen] = field(default_factory=list)

    def _path(self, i: int, suffix: str) -> Path:
        return self.work_dir / f"{self.name}-{i}.{suffix}"

    def start(self) -> None:
        for i, s in enumerate(self.specs):
            for suffix in ("ready.json", "json", "status.json"):
                self._path(i, suffix).unlink(missing_ok=True)
            argv = [str(self.binary), "--url", self.url, "--connections", str(s.connections),
                    "--rate", str(s.rate), "--source-addrs", s.source_addr,
                    "--hold", f"{int(s.hold_s * 1000)}ms",
                    "--connect-timeout", f"{int(s.connect_timeout_s * 1000)}ms",
                    "--max-inflight", str(s.max_inflight),
                    "--label", f"{self.name}-{i}", "--progress", "2s",
                    "--ready-file", str(self._path(i, "ready.json")),
                    "--json", str(self._path(i, "json"))]
            if s.status:
                argv += ["--status-file", str(self._path(i, "status.json"))]
            argv += s.extra_args
            self.procs.append(self.group.start(f"{self.name}-{i}", argv))

    def _check_running(self) -> None:
        for i, p in enumerate(self.procs):
            if p.poll() is not None and not self._path(i, "ready.json").exists():
                raise BenchError(
                    f"loadgen {self.name}-{i} exited (code {p.returncode}) before its connect phase "
                    f"ended; log:\n{self.group.log_tail(p)}"
                )

    def wait_connected(self, timeout_s: float, extra_check=None) -> list[dict]:
        """Waits for every process's connect phase to end; returns their ready reports."""

        def all_ready():
            return all(self._path(i, "ready.json").exists() for i in range(len(self.procs)))

        def check():
            self._check_running()
            if extra_check:
                extra_check()

        wait_until(f"{self.name}: all loadgens connected", all_ready, timeout_s, 0.2, check=check)
        return [json.loads(self._path(i, "ready.json").read_text()) for i in range(len(self.procs))]

    def statuses(self) -> list[dict]:
        """The latest --status-file of each process ({} until it has delivered something)."""
        out = []
        for i in range(len(self.procs)):
            try:
                out.append(json.loads(self._path(i, "status.json").read_text()))
            except (OSError, ValueError):
                out.append({})
        return out

    def deliveries(self) -> int:
        return sum(st.get("deliveries", 0) for st in self.statuses())

    def check_alive(self) -> None:
        for i, p in enumerate(self.procs):
            if p.poll() is not None:
                raise BenchError(f"loadgen {self.name}-{i} exited early (code {p.returncode}); log:\n"
                                 f"{self.group.log_tail(p)}")

    def cpu_s(self) -> float:
        return sum(read_proc_cpu_s(p.pid) for p in self.procs if p.poll() is None)

    def stop(self, timeout_s: float = 20.0) -> list[dict]:
        """Ends the hold (SIGINT: clean WebSocket closes) and returns the final reports."""
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        reports = []
        for i, p in enumerate(self.procs):
            # No second signal: it would cut the close handshakes short.
            self.group.stop(p, None, timeout_s)
            path = self._path(i, "json")
            if not path.exists():
                raise BenchError(f"loadgen {self.name}-{i} wrote no report (exit {p.returncode}); "
                                 f"log:\n{self.group.log_tail(p)}")
            r = json.loads(path.read_text())
            r["exit_code"] = p.returncode
            reports.append(r)
        return reports


def merge_latency(histograms: list[dict]) -> dict:
    """Merges the loadgens' latency histograms (µs; see bench/loadgen/latency_histogram.h) and
    computes the same quantiles from the merged buckets: a bucket's upper bound, capped at max."""
    buckets: dict[int, list[int]] = {}
    count = 0
    total = 0.0
    lo, hi = None, 0
    for h in histograms:
        if not h or not h.get("count"):
            continue
        count += h["count"]
        total += h["mean"] * h["count"]
        lo = h["min"] if lo is None else min(lo, h["min"])
        hi = max(hi, h["max"])
        for lower, width, n in h.get("buckets", []):
            b = buckets.setdefault(lower, [width, 0])
            b[1] += n
    out = {"count": count, "min": lo or 0, "mean": round(total / count, 1) if count else 0, "max": hi}
    ordered = sorted(buckets.items())
    for name, q in (("p50", 0.50), ("p90", 0.90), ("p99", 0.99), ("p999", 0.999)):
        if not count:
            out[name] = 0
            continue
        rank = max(1, -(-int(q * count * 1000000) // 1000000))  # ceil without float surprises
        seen = 0
        for lower, (width, n) in ordered:
            seen += n
            if seen >= rank:
                out[name] = min(max(lower + width - 1, out["min"]), hi)
                break
    out["buckets"] = [[lower, width, n] for lower, (width, n) in ordered]
    return out


def add_counts(reports: list[dict], key: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in reports:
        for k, v in r.get(key, {}).items():
            out[k] = out.get(k, 0) + v
    return out


# Counters of the loadgen's report that summarize_loadgen adds up over the processes (slow
# consumers, churn and long-polling ones included: zero when not asked for).
SUMMED_COUNTERS = (
    "dropped_during_hold",
    "pings_answered",
    "events_received",
    "closed_cleanly",
    "close_timeouts",
    "deliveries",
    "deliveries_untimed",
    "clock_skew",
    "receipts_sent",
    "paused_clients",
    "paused_deliveries",
    "churn_pool",
    "churn_disconnects",
    "churn_closed_cleanly",
    "churn_close_timeouts",
    "reconnects",
    "reconnects_interrupted",
    "churn_skipped",
    "churn_deliveries",
    "polling_clients",
    "polling_established",
    "polling_deliveries",
    "polling_gets",
    "polling_posts",
    "polling_request_retries",
    "polling_connections_reopened",
)


def summarize_loadgen(reports: list[dict]) -> dict:
    """Adds the per-process reports up."""
    failures = add_counts(reports, "failures")
    drops = add_counts(reports, "drops")
    out = {
        "processes": len(reports),
        "target": sum(r["target_connections"] for r in reports),
        "established": sum(r["established"] for r in reports),
        "failed": sum(r["failed"] for r in reports),
        "failures": failures,
        "drops": drops,
        # The processes run side by side: their rates add up.
        "connect_rate_per_s": round(sum(r.get("connect_rate_per_s", 0) for r in reports), 1),
        "connect_phase_s": max(r.get("connect_phase_s", 0) for r in reports),
        "handshake_ms_p50_max": max(r["handshake_ms"]["p50"] for r in reports),
        "handshake_ms_p99_max": max(r["handshake_ms"]["p99"] for r in reports),
        "server_ping_interval_ms": max(r.get("server_ping_interval_ms", 0) for r in reports),
        "client_rss_bytes_max": max(r.get("client_rss_bytes", 0) for r in reports),
        "first_delivery_us": min((r["first_delivery_us"] for r in reports if r.get("first_delivery_us")),
                                 default=0),
        "last_delivery_us": max((r.get("last_delivery_us", 0) for r in reports), default=0),
        "latency_us": merge_latency([r.get("latency_us", {}) for r in reports]),
        # Slow consumers and churn (bench/run.py scenarios 6 and 4); empty when not asked for.
        "paused_outcomes": add_counts(reports, "paused_outcomes"),
        "reconnect_failures": add_counts(reports, "reconnect_failures"),
        "reconnect_handshake_ms_p50_max": max((r.get("reconnect_handshake_ms", {}).get("p50", 0)
                                               for r in reports), default=0),
        "reconnect_handshake_ms_p99_max": max((r.get("reconnect_handshake_ms", {}).get("p99", 0)
                                               for r in reports), default=0),
    }
    # Counters every process reports (zero when a feature was not asked for): added up.
    for key in SUMMED_COUNTERS:
        out[key] = sum(r.get(key, 0) for r in reports)
    return out


# ---------------------------------------------------------------------------------------
# A real Kafka broker (tests/infra/kafka.sh) for the push scenario

KAFKA_SH = REPO_DIR / "tests" / "infra" / "kafka.sh"


def real_kafka_unavailable() -> str | None:
    """Why tests/infra/kafka.sh cannot start a broker here (None when it can): it needs java and
    either the cached jars or mvn to fetch them (it apt-installs both as root, which a benchmark
    should not trigger)."""
    if not KAFKA_SH.is_file():
        return f"{KAFKA_SH} not found"
    if not shutil.which("java"):
        return "java is not installed"
    cache = Path(os.environ.get("WSGW_CACHE_DIR", Path(os.environ.get("HOME", "/tmp")) / ".cache" / "wsgw"))
    if not any(cache.glob("kafka-*/libs.complete")) and not shutil.which("mvn"):
        return "no cached Kafka jars and no mvn to fetch them"
    return None


def free_port_pair() -> int:
    """A port P with P+1 also free (kafka.sh puts the KRaft controller on P+1)."""
    for _ in range(50):
        p = free_port()
        if p < 65535:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                try:
                    s.bind(("127.0.0.1", p + 1))
                    return p
                except OSError:
                    continue
    raise BenchError("no free pair of adjacent ports for Kafka")


class RealKafka:
    """One single-node Kafka 4.x broker (KRaft) from tests/infra/kafka.sh on a free port, with its
    data in a directory of the run. The broker is setsid'd by kafka.sh, so it is not one of the
    ProcessGroup's children: stop() is registered with atexit (which a signal's sys.exit also runs)."""

    def __init__(self, directory: Path):
        self.port = free_port_pair()
        self.dir = directory
        self.started = False
        self.log_path = directory.parent / f"{directory.name}-kafka-sh.log"

    def _run(self, command: str, timeout_s: float) -> subprocess.CompletedProcess:
        with open(self.log_path, "ab") as out:
            return subprocess.run(["bash", str(KAFKA_SH), command, "--port", str(self.port), "--dir", str(self.dir)],
                                  stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, timeout=timeout_s)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def start(self) -> str:
        """Starts the broker and waits until it answers; returns its bootstrap address."""
        self.started = True
        atexit.register(self.stop)
        t0 = time.monotonic()
        try:
            if self._run("start", 600).returncode != 0 or self._run("wait", 180).returncode != 0:
                raise BenchError(f"tests/infra/kafka.sh could not start a broker:\n{self.log_tail()}")
        except subprocess.TimeoutExpired:
            raise BenchError(f"tests/infra/kafka.sh timed out:\n{self.log_tail()}") from None
        self.start_s = round(time.monotonic() - t0, 1)
        log(f"kafka: real broker on 127.0.0.1:{self.port} ready after {self.start_s}s")
        return f"127.0.0.1:{self.port}"

    def pid(self) -> int | None:
        try:
            return int((self.dir / "kafka.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def stop(self) -> None:
        if not self.started:
            return
        self.started = False
        try:
            self._run("stop", 60)
        except subprocess.TimeoutExpired:
            log(f"kafka: kafka.sh stop timed out; broker dir {self.dir}")


# ---------------------------------------------------------------------------------------
# Prometheus histograms from a parsed /metrics (GatewayServer.metrics() format)


def prom_histogram(metrics: dict[str, float], name: str, labels: str) -> dict:
    """The buckets, sum and count of one histogram series: labels is the label set without `le`,
    e.g. 'stage="api_to_gateway"'. Buckets as {upper_bound: cumulative count}."""
    buckets = {}
    prefix = f"{name}_bucket{{{labels},le=\""
    for k, v in metrics.items():
        if k.startswith(prefix):
            le = k[len(prefix):-2]
            buckets[float("inf") if le == "+Inf" else float(le)] = v
    return {"buckets": buckets, "sum": metrics.get(f"{name}_sum{{{labels}}}", 0.0),
            "count": metrics.get(f"{name}_count{{{labels}}}", 0.0)}


def histogram_delta_summary(before: dict, after: dict) -> dict:
    """Mean and p50/p90/p99 (the upper bound of the bucket holding the quantile, as Prometheus'
    histogram_quantile would interpolate it, but without interpolation) of what a histogram
    observed between two readings. Seconds in, milliseconds out."""
    count = after["count"] - before["count"]
    if count <= 0:
        return {"count": 0}
    bounds = sorted(after["buckets"])
    out = {"count": int(count), "mean_ms": round(1000 * (after["sum"] - before["sum"]) / count, 3)}
    for q in (0.5, 0.9, 0.99):
        for b in bounds:
            if after["buckets"][b] - before["buckets"].get(b, 0) >= q * count:
                out[f"p{int(q * 100)}_le_ms"] = None if b == float("inf") else round(1000 * b, 3)
                break
    return out
