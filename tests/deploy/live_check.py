#!/usr/bin/env python3
"""Runs a real wsgw cluster on loopback with the configuration of a rendered overlay, probes it
the way the manifests' probes do, drives a little traffic through it, lets a real Prometheus
(deploy/observability/prometheus.yml and alerts.yaml, 1 s scrapes) scrape it, and checks every
dashboard query and every alert expression FOR DATA through Prometheus's HTTP API.

The cluster, everything in a temp dir and on 127.0.0.1 only:
  redis-server      free port, no persistence
  wsgw-dev-kafka    librdkafka's mock cluster (it creates the wsgw.* topics; the daemons get
                    WSGW_CREATE_TOPICS=false, the one setting the manifests do not have)
  ws-api            the overlay's ws-api.yaml
  ws-gateway gw-1   the overlay's ws-gateway.yaml (plain + TLS listener, JWT auth)
  ws-gateway gw-2   the same file plus --ping-interval 1s (the overlay's 25 s would send no
                    ping within the check, so no heartbeat RTT would ever be observed)
Kafka, Redis and the partition count reach the daemons the way the pods get them: as the
environment variables of the rendered wsgw-cluster ConfigMap (values pointed at the local
services), WSGW_NODE_NAME as the downward API gives it, WSGW_JWT_SECRET as the Secret does.

Traffic: a Subscribe stream (a component), Socket.IO clients (raw WebSocket, one over TLS) that
connect with a JWT, emit events and answer pings and server acks; gRPC Emit to a socket, a room
and everyone, JoinRoom, EmitWithAck, an invalid call; a few unauthenticated polling sessions
(connect errors). Then every dashboard query must return data; a histogram quantile must be a
number (observations in the window), the per-stage latency panel must show all three stages;
every alert expression, without its final threshold, must return data; no alert may be pending
or firing.
Usage: live_check.py --root REPO --rendered RENDERED.yaml --gateway BIN --api BIN --kafka BIN
Prints TAP-style `ok` / `not ok` lines; exit 1 on any failure."""
import argparse
import ctypes
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import traffic  # noqa: E402

RESULTS = {"pass": 0, "fail": 0}
JWT_SECRET = "deploy-test-secret"
STAGES = ("gateway_to_api", "api_to_gateway", "api_to_socket")


def report(ok, name, detail=""):
    RESULTS["pass" if ok else "fail"] += 1
    print(f"{'ok' if ok else 'not ok'} - {name}" + (f"  # {detail}" if detail else ""), flush=True)
    return ok


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=2.0, data=None):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, OSError):
        return None, b""


def wait_for(predicate, seconds, interval=0.1):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def grpc_health_serving(port):
    """grpc.health.v1.Health/Check with an empty request, as a Kubernetes grpc probe sends it."""
    if not shutil.which("curl"):
        return None
    out = subprocess.run(
        ["curl", "-s", "--max-time", "3", "--http2-prior-knowledge", "-H", "content-type: application/grpc",
         "-H", "te: trailers", "--data-binary", "@-", f"http://127.0.0.1:{port}/grpc.health.v1.Health/Check"],
        input=b"\0\0\0\0\0", capture_output=True)
    # Length-prefixed HealthCheckResponse{status: SERVING(1)} = 00 00000002 08 01
    return out.stdout == b"\x00\x00\x00\x00\x02\x08\x01"


def redis_ping(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def port_of(listen):
    return int(listen.rsplit(":", 1)[1])


def render_docs(rendered):
    return [d for d in yaml.safe_load_all(Path(rendered).read_text(encoding="utf-8")) if d]


def configs_from_render(docs):
    """{deployment name: (container, config file text, environment from ConfigMaps)}."""
    out = {}
    configmaps = {x["metadata"]["name"]: x.get("data", {}) for x in docs if x.get("kind") == "ConfigMap"}
    for d in docs:
        if d.get("kind") != "Deployment":
            continue
        name = d["metadata"]["name"]
        pod = d["spec"]["template"]["spec"]
        container = next(c for c in pod["containers"] if c["name"] == name)
        path = container["args"][container["args"].index("--config") + 1]
        mount = next(m for m in container["volumeMounts"] if m["mountPath"] == path)
        cm_name = next(v for v in pod["volumes"] if v["name"] == mount["name"])["configMap"]["name"]
        env = {}
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                env.update(configmaps[source["configMapRef"]["name"]])
        out[name] = (container, configmaps[cm_name][mount["subPath"]], env)
    return out


def _die_with_parent():
    # A live check killed hard (SIGKILL, a CI timeout) must not leave daemons behind.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Daemon:
    def __init__(self, name, argv, env, log):
        self.name = name
        self.log_path = log
        self.log = open(log, "wb")
        self.proc = subprocess.Popen(argv, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)

    def running(self):
        return self.proc.poll() is None


def stop_all(daemons, seconds=15):
    """SIGTERM to all at once, SIGKILL to what is left after `seconds`."""
    for d in daemons:
        if d.proc.poll() is None:
            d.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + seconds
    for d in daemons:
        try:
            d.proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            print(f"# {d.name} did not stop within {seconds}s: SIGKILL")
            d.proc.kill()
            d.proc.wait()
        d.log.close()


def substitute(expr, rate_window):
    return (expr.replace("$__rate_interval", rate_window).replace("${job_gateway}", "ws-gateway")
            .replace("$job_gateway", "ws-gateway").replace("${job_api}", "ws-api").replace("$job_api", "ws-api"))


def prom_query(base, expr):
    status, body = http_get(f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr}), timeout=5)
    try:
        answer = json.loads(body)
    except ValueError:
        return False, f"HTTP {status}", []
    if answer.get("status") != "success":
        return False, answer.get("error", "error"), []
    return True, "", answer["data"]["result"]


def metric_names(expr):
    names = set(re.findall(r"\b((?:wsgw|process)_[a-z0-9_]+)\b", expr))
    if re.search(r"\bup\s*\{", expr):
        names.add("up")
    return names


def check_query(base, expr, exported):
    """(ok, classification, detail) for one query: it must run and return data; a histogram
    quantile must also be a number somewhere (NaN everywhere: nothing observed in the window)."""
    ok, error, result = prom_query(base, expr)
    if not ok:
        return False, "error", error
    if not result:
        missing = sorted(n for n in metric_names(expr) if n not in exported)
        return False, "empty", ("no such series (never exported): " + ", ".join(missing) if missing
                                else "no data although " + ", ".join(sorted(metric_names(expr))) + " are exported")
    values = [float(r["value"][1]) for r in result if "value" in r]
    if "histogram_quantile" in expr and not any(math.isfinite(v) for v in values):
        return False, "nan", f"{len(result)} series, all NaN: nothing observed in the window"
    return True, "data", f"{len(result)} series, " + ", ".join(f"{v:.4g}" for v in values[:4])


def undocumented_metrics(exported, doc):
    """wsgw_* family names (histogram series folded into their family) that the doc never names
    as `name` or `name{...}`."""
    families = set()
    for name in exported:
        if not name.startswith("wsgw_"):
            continue
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and f"`{name[:-len(suffix)]}" in doc:
                name = name[:-len(suffix)]
                break
        families.add(name)
    return sorted(n for n in families if f"`{n}`" not in doc and f"`{n}{{" not in doc)


def split_top_level(expr, words=("and", "or", "unless")):
    """Splits a PromQL expression at top-level set operators (outside parentheses/braces)."""
    parts, depth, start, i = [], 0, 0, 0
    pattern = re.compile(r"\s(" + "|".join(words) + r")\s")
    while i < len(expr):
        c = expr[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == '"':
            i = expr.index('"', i + 1)
        elif depth == 0:
            m = pattern.match(expr, i)
            if m:
                parts.append(expr[start:i])
                start = i = m.end()
                continue
        i += 1
    parts.append(expr[start:])
    return [p.strip() for p in parts if p.strip()]


def alert_signals(expr):
    """The operands of an alert expression without their final threshold comparison:
    `a / b > 0.5 and c > 1` -> [`a / b`, `c`]. In a healthy cluster the alert is (rightly)
    empty; its signals are what must exist, or the alert could never fire."""
    out = []
    for part in split_top_level(" ".join(expr.split())):
        out.append(re.sub(r"\s*(==|!=|>=|<=|>|<)\s*[-+]?[0-9.]+(e[-+]?[0-9]+)?\s*$", "", part))
    return out


def without_value_matchers(expr):
    """Drops every label matcher but job= from the selectors of an expression."""
    def keep_job(m):
        kept = [x for x in re.findall(r'[a-zA-Z_]+\s*(?:=~|!~|!=|=)\s*"[^"]*"', m.group(1)) if x.startswith("job")]
        return "{" + ",".join(kept) + "}"
    return re.sub(r"\{([^{}]*)\}", keep_job, expr)


def check_alert_signals(base, expr):
    """([signals without data], [notes]) of one alert expression."""
    empty, notes = [], []
    for sig in alert_signals(expr):
        ok, error, result = prom_query(base, sig)
        if ok and not result:
            # A selection of failure label values (code!~"OK|...") is rightly empty while
            # nothing fails: then the same signal without those matchers must have data.
            widened = without_value_matchers(sig)
            ok2, _, result2 = prom_query(base, widened) if widened != sig else (False, "", [])
            if ok2 and result2:
                notes.append(f"empty while nothing fails; has data without its label-value matchers: {widened}")
                continue
        if not ok or not result:
            empty.append(f"{sig} ({error or 'empty'})")
    return empty, notes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--rendered", required=True)
    ap.add_argument("--gateway", required=True)
    ap.add_argument("--api", required=True)
    ap.add_argument("--kafka", required=True, help="wsgw-dev-kafka (build/deploy/local/wsgw-dev-kafka)")
    ap.add_argument("--redis-server", default="redis-server")
    ap.add_argument("--prometheus", default="prometheus")
    a = ap.parse_args()
    root = Path(a.root)
    work = Path(tempfile.mkdtemp(prefix="wsgw-deploy-"))
    state = {"daemons": [], "clients": [], "subscription": None}
    try:
        return run(a, root, work, state)
    finally:
        for c in state["clients"]:
            c.close()
        if state["subscription"]:
            state["subscription"].close()
        tiers = [["ws-gateway gw-1", "ws-gateway gw-2"], ["ws-api"], ["wsgw-dev-kafka", "redis-server", "prometheus"]]
        for tier in tiers:
            stop_all([d for d in state["daemons"] if d.name in tier])
        left = [d.name for d in state["daemons"] if d.proc.poll() is None]
        if left:
            report(False, "every process stopped", ", ".join(left))
        if RESULTS["fail"] == 0:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"# logs kept in {work}")


def run(a, root, work, state):
    daemons = state["daemons"]
    configs = configs_from_render(render_docs(a.rendered))
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("WSGW_")}
    base_env["WSGW_JWT_SECRET"] = JWT_SECRET  # the Secret's key, as the pod gets it

    # --- Redis and Kafka ------------------------------------------------------------------------
    redis_port = free_port()
    (work / "redis").mkdir()
    daemons.append(Daemon("redis-server", [a.redis_server, "--bind", "127.0.0.1", "--port", str(redis_port),
                                           "--dir", str(work / "redis"), "--save", "", "--appendonly", "no",
                                           "--daemonize", "no", "--protected-mode", "yes"],
                          base_env, work / "redis-server.log"))
    gw_container, gw_yaml, cluster_env = configs["ws-gateway"]
    partitions = cluster_env.get("WSGW_DOWNSTREAM_PARTITIONS", "64")
    daemons.append(Daemon("wsgw-dev-kafka", [a.kafka, "--partitions", partitions,
                                             "--address-file", str(work / "kafka.address")],
                          base_env, work / "wsgw-dev-kafka.log"))
    kafka_address = work / "kafka.address"
    if not report(wait_for(lambda: redis_ping(redis_port), 10) and
                  wait_for(lambda: kafka_address.exists() and kafka_address.read_text().strip(), 15),
                  "redis-server and wsgw-dev-kafka start",
                  f"wsgw-dev-kafka --partitions {partitions} (the rendered WSGW_DOWNSTREAM_PARTITIONS)"):
        return 1
    brokers = kafka_address.read_text().split()[0]

    # The rendered wsgw-cluster ConfigMap with its addresses pointed at the local services.
    local = {"WSGW_KAFKA_BROKERS": brokers, "WSGW_REDIS": f"redis://127.0.0.1:{redis_port}"}
    report(set(local) <= set(cluster_env) and "WSGW_DOWNSTREAM_PARTITIONS" in cluster_env,
           "the rendered ws-gateway gets WSGW_KAFKA_BROKERS, WSGW_REDIS, WSGW_DOWNSTREAM_PARTITIONS from a ConfigMap",
           ", ".join(sorted(cluster_env)))

    def cluster_env_for(container, node_name):
        env = dict(base_env)
        env.update({k: local.get(k, v) for k, v in cluster_env.items()})
        env["WSGW_CREATE_TOPICS"] = "false"  # the mock cannot create topics; wsgw-dev-kafka made them
        env["WSGW_NODE_NAME"] = node_name     # the downward API's metadata.name
        return env

    # --- ws-api and two gateways ----------------------------------------------------------------
    port_map = {}  # (process, containerPort) -> local port
    api_container, api_yaml, api_env_cm = configs["ws-api"]
    report(api_env_cm == cluster_env, "ws-api and ws-gateway share the same cluster ConfigMap (Kafka, Redis, partitions)")
    (work / "ws-api.yaml").write_text(api_yaml)
    api_cfg = yaml.safe_load(api_yaml)
    api_args = [a.api, "--config", str(work / "ws-api.yaml")]
    for key in ("grpc-listen", "metrics-listen"):
        port_map[("ws-api", port_of(api_cfg[key]))] = free_port()
        api_args += [f"--{key}", f"127.0.0.1:{port_map[('ws-api', port_of(api_cfg[key]))]}"]
    api_metrics = port_map[("ws-api", port_of(api_cfg["metrics-listen"]))]
    api_grpc = port_map[("ws-api", port_of(api_cfg["grpc-listen"]))]

    (work / "ws-gateway.yaml").write_text(gw_yaml)
    gw_cfg = yaml.safe_load(gw_yaml)
    if gw_cfg.get("tls-listen"):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout", str(work / "tls.key"),
                        "-out", str(work / "tls.crt")], check=True, capture_output=True)
    gateways = {}  # node name -> {"metrics": port, "listen": port, "tls": port or None}
    for node, extra in (("gw-1", []), ("gw-2", ["--ping-interval", "1s", "--heartbeat-min-interval", "500ms"])):
        args = [a.gateway, "--config", str(work / "ws-gateway.yaml")]
        ports = {}
        for key in ("listen", "tls-listen", "metrics-listen"):
            if gw_cfg.get(key):
                ports[key] = free_port()
                if node == "gw-1":
                    port_map[("ws-gateway", port_of(gw_cfg[key]))] = ports[key]
                args += [f"--{key}", f"127.0.0.1:{ports[key]}"]
        if gw_cfg.get("tls-listen"):
            args += ["--tls-cert", str(work / "tls.crt"), "--tls-key", str(work / "tls.key")]
        gateways[node] = ports
        daemons.append(Daemon(f"ws-gateway {node}", args + extra, cluster_env_for(gw_container, node),
                              work / f"ws-gateway-{node}.log"))
    daemons.append(Daemon("ws-api", api_args, cluster_env_for(api_container, "ws-api-0"), work / "ws-api.log"))

    # --- Prometheus, started meanwhile so that it has samples from before the traffic ------------
    prom_cfg = yaml.safe_load((root / "deploy/observability/prometheus.yml").read_text())
    prom_cfg["global"]["scrape_interval"] = "1s"
    prom_cfg["global"]["evaluation_interval"] = "1s"
    prom_cfg["rule_files"] = [str((root / "deploy/observability" / f).resolve()) for f in prom_cfg["rule_files"]]
    targets = {"ws-gateway": [f"127.0.0.1:{g['metrics-listen']}" for g in gateways.values()],
               "ws-api": [f"127.0.0.1:{api_metrics}"]}
    for job in prom_cfg["scrape_configs"]:
        job["static_configs"] = [{"targets": targets[job["job_name"]]}]
    (work / "prometheus.yml").write_text(yaml.safe_dump(prom_cfg))
    prom_port = free_port()
    daemons.append(Daemon("prometheus", [a.prometheus, f"--config.file={work / 'prometheus.yml'}",
                                         f"--storage.tsdb.path={work / 'tsdb'}", f"--web.listen-address=127.0.0.1:{prom_port}",
                                         "--log.level=warn"], base_env, work / "prometheus.log"))
    base = f"http://127.0.0.1:{prom_port}"

    by_name = {d.name: d for d in daemons}
    for name, port in [("ws-api", api_metrics)] + [(f"ws-gateway {n}", g["metrics-listen"]) for n, g in gateways.items()]:
        d = by_name[name]
        ready = wait_for(lambda: not d.running() or http_get(f"http://127.0.0.1:{port}/readyz")[0] == 200, 30)
        if not report(ready and d.running(), f"{name} starts in cluster mode with the rendered config file and ready (+ loopback ports)",
                      "" if d.running() else f"exited {d.proc.returncode}: see {d.log_path}"):
            return 1

    # Every probe of the manifests, against the real processes (containerPort -> local port).
    for name, container in (("ws-gateway", gw_container), ("ws-api", api_container)):
        ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
        for probe_name in ("startupProbe", "livenessProbe", "readinessProbe"):
            probe = container.get(probe_name)
            if not probe:
                continue
            if "httpGet" in probe:
                cport = probe["httpGet"]["port"]
                cport = ports.get(cport, cport)
                local_port = port_map.get((name, cport))
                path = probe["httpGet"].get("path", "/")
                status = http_get(f"http://127.0.0.1:{local_port}{path}")[0] if local_port else None
                report(status is not None and 200 <= status < 400, f"{name} {probe_name}: GET {path} on port {cport}",
                       f"HTTP {status}")
            elif "grpc" in probe:
                cport = probe["grpc"]["port"]
                local_port = port_map.get((name, cport))
                serving = grpc_health_serving(local_port) if local_port else False
                report(bool(serving), f"{name} {probe_name}: gRPC health on port {cport} answers SERVING",
                       "curl without HTTP/2?" if serving is None else "")

    if not report(wait_for(lambda: http_get(f"{base}/-/ready")[0] == 200, 20), "prometheus starts with prometheus.yml + alerts.yaml"):
        return 1

    # Samples from before the traffic, so that its counters' increase is seen.
    def scraped_enough():
        ok, _, result = prom_query(base, 'count_over_time(up[1m]) >= 2 and up == 1')
        return ok and len(result) == 3
    report(wait_for(scraped_enough, 20), "prometheus scrapes ws-gateway gw-1, gw-2 and ws-api (all up)")

    # --- traffic --------------------------------------------------------------------------------
    if not drive_traffic(api_grpc, gateways, state):
        return 1

    # Wait until every target was scraped twice after the traffic (counters and histograms
    # then show it inside the rate window).
    traffic_end = time.time()
    window = "10s"
    report(wait_for(lambda: (lambda r: r[0] and len(r[2]) == 3 and all(float(x["value"][1]) > traffic_end + 1.0 for x in r[2]))(
        prom_query(base, "timestamp(up)")), 10, 0.25), "prometheus has scraped every target after the traffic")

    def rules_evaluated():
        status, body = http_get(f"{base}/api/v1/rules")
        if status != 200:
            return False
        rules = [r for g in json.loads(body)["data"]["groups"] for r in g["rules"]]
        return rules and all(not r.get("lastEvaluation", "").startswith("0001") for r in rules)
    wait_for(rules_evaluated, 10)

    # --- every dashboard query ------------------------------------------------------------------
    status, body = http_get(f"{base}/api/v1/label/__name__/values")
    exported = set(json.loads(body)["data"]) if status == 200 else set()
    dashboard = json.loads((root / "deploy/observability/grafana-dashboard.json").read_text())
    checked = 0
    failed = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = substitute(target["expr"], window)
            ok, kind, detail = check_query(base, expr, exported)
            label = f"dashboard {panel['title']!r} [{target['refId']}]"
            checked += ok
            if not ok:
                failed.append(label)
            report(ok, f"{label} returns data", detail)
    print(f"# dashboard queries returning data: {checked}; without: {len(failed)}")

    # The panels the traffic must have moved, not merely made exist.
    # The panels the traffic must have moved, not merely made exist (counters start at 0 with
    # the process, and a labelled child appears at its first event).
    positive = {
        "upstream records (client events -> Kafka)": 'sum(wsgw_upstream_records_total)',
        "downstream records applied by the gateways": 'sum(wsgw_downstream_records_total)',
        "ws-api downstream records": 'sum(wsgw_api_downstream_records_total)',
        "client answers to server acks (wsgw.acks)": 'sum(wsgw_ack_records_total)',
        "EmitWithAck outcome=acked": 'sum(wsgw_api_emit_with_ack_total{outcome="acked"})',
        "Subscribe streams open": 'sum(wsgw_api_subscriptions{job="ws-api"})',
        "Socket.IO sockets on the gateways": 'sum(wsgw_socketio_sockets{job="ws-gateway"})',
        "heartbeat RTT observations (gw-2 pings every second)": 'sum(wsgw_heartbeat_rtt_seconds_count)',
        "refused Socket.IO CONNECTs (no token)": 'sum(wsgw_socketio_connect_errors_total)',
        "non-OK API answers (INVALID_ARGUMENT)": 'sum(wsgw_api_requests_total{code="INVALID_ARGUMENT"})',
    }
    for what, expr in positive.items():
        ok, error, result = prom_query(base, expr)
        value = float(result[0]["value"][1]) if ok and result else 0.0
        report(value > 0, f"traffic moved: {what}", f"{expr} = {value:.4g}" if ok else error)
    for what, expr in (("Redis connected (gateways)", 'min(wsgw_redis_connected{job="ws-gateway"})'),
                       ("Redis connected (ws-api)", 'min(wsgw_api_redis_connected{job="ws-api"})')):
        ok, error, result = prom_query(base, expr)
        report(ok and result and result[0]["value"][1] == "1", f"{what} is 1", error)
    ok, _, result = prom_query(base, substitute(next(t["expr"] for p in dashboard["panels"] if p["title"] == "Per-stage latency p99"
                                                     for t in p.get("targets", [])), window))
    seen = {r["metric"].get("stage"): float(r["value"][1]) for r in result} if ok else {}
    report(all(math.isfinite(seen.get(s, math.nan)) for s in STAGES),
           "dashboard 'Per-stage latency p99' shows every stage: " + ", ".join(STAGES),
           ", ".join(f"{s}={v * 1000:.1f} ms" for s, v in sorted(seen.items())))

    # --- every exported wsgw metric is in docs/metrics.md ---------------------------------------
    metrics_doc = (root / "docs/metrics.md").read_text()
    undocumented = undocumented_metrics(exported, metrics_doc)
    report(exported and not undocumented,
           f"docs/metrics.md lists every wsgw_* metric the daemons exported ({len(exported)} names scraped)",
           "missing: " + ", ".join(undocumented))
    report(undocumented_metrics({"wsgw_no_such_metric_total", "wsgw_api_requests_total"}, metrics_doc)
           == ["wsgw_no_such_metric_total"], "negative: an undocumented metric is reported")

    # --- every alert: evaluated, its signals present, none pending or firing ----------------------
    status, body = http_get(f"{base}/api/v1/rules")
    rules = [r for g in json.loads(body)["data"]["groups"] for r in g["rules"]] if status == 200 else []
    bad = [f"{r['name']}: {r.get('lastError')}" for r in rules if r.get("health") != "ok"]
    report(rules and not bad, f"prometheus evaluates all {len(rules)} alert rules without error", "; ".join(bad))
    for r in rules:
        empty, notes = check_alert_signals(base, r["query"])
        report(not empty, f"alert {r['name']}: its signals return data (expression without the threshold)",
               "; ".join(empty + notes))
    active = [f"{r['name']} ({r.get('state')})" for r in rules if r.get("state") not in (None, "inactive")]
    report(not active, "no alert is pending or firing in the healthy cluster", ", ".join(active))

    # The checkers themselves must be able to fail.
    ok, kind, _ = check_query(base, 'sum(wsgw_connections{job="ws-gateway"}', exported)
    report(not ok and kind == "error", "negative: a query with a syntax error is reported as failing")
    ok, kind, _ = check_query(base, 'sum(wsgw_conections{job="ws-gateway"})', exported)
    report(not ok and kind == "empty", "negative: a query on a metric that returns nothing is reported as failing")
    # gw-1 keeps the overlay's 25 s ping interval: its RTT histogram exists but saw nothing yet.
    gw1 = f'127.0.0.1:{gateways["gw-1"]["metrics-listen"]}'
    ok, kind, _ = check_query(base, 'histogram_quantile(0.99, sum by (le) (rate(wsgw_heartbeat_rtt_seconds_bucket'
                              f'{{instance="{gw1}"}}[10s])))', exported)
    report(not ok and kind == "nan", "negative: a quantile of a histogram without observations is reported as failing", kind)
    empty, _ = check_alert_signals(base, 'sum by (instance) (rate(wsgw_upstream_drop_total{job="ws-gateway"}[5m])) > 0')
    report(bool(empty), "negative: an alert on a misspelt metric is reported as having no signal")
    signals = alert_signals('sum(rate(a{x="1 > 2"}[5m])) / clamp_min(sum(b), 0.001) > 0.5\n  and sum(c) > 1 or d == 0')
    report(signals == ['sum(rate(a{x="1 > 2"}[5m])) / clamp_min(sum(b), 0.001)', "sum(c)", "d"],
           "negative: alert expressions are split into their signals exactly", repr(signals))
    return 0 if RESULTS["fail"] == 0 else 1


def drive_traffic(api_grpc, gateways, state):
    """Component, clients, API calls; True when the cluster carried all of it."""
    sub = traffic.Subscription(api_grpc, "deploy-check", "live-check")
    state["subscription"] = sub
    if not report(sub.wait(1, 20), "a Subscribe stream starts (subscription_started)"):
        return False

    clients = state["clients"]
    plan = [("gw-1", "listen", False), ("gw-1", "tls-listen", True), ("gw-2", "listen", False)]
    try:
        for i, (node, key, tls) in enumerate(plan):
            token = traffic.jwt_hs256(JWT_SECRET, {"sub": f"user-{i}", "rooms": ["lobby"], "exp": int(time.time()) + 600})
            clients.append(traffic.SocketIoClient("127.0.0.1", gateways[node][key], token, tls=tls))
    except (OSError, ConnectionError) as e:
        report(False, "Socket.IO clients connect with a JWT (gw-1 plain and TLS, gw-2)", str(e))
        return False
    report(True, "Socket.IO clients connect with a JWT (gw-1 plain and TLS, gw-2)", ", ".join(c.sid for c in clients))

    # A gateway answers /readyz before its downstream consumer has its start offset: emit to one
    # client per gateway until it arrives.
    for node, client in (("gw-1", clients[0]), ("gw-2", clients[2])):
        def delivered():
            traffic.emit_sid(api_grpc, client.sid, "probe", "[1]")
            time.sleep(0.2)
            return any(e[0] == "probe" for e in client.events)
        if not report(wait_for(delivered, 20, 0), f"an Emit to a socket on {node} reaches it (gRPC -> Kafka -> gateway)"):
            return False

    for i, c in enumerate(clients):
        traffic.join_room(api_grpc, f"user-{i}", "lobby")
    status, _ = traffic.emit_room(api_grpc, "lobby", "news", '[{"n":1}]')
    traffic.emit_everyone(api_grpc, "hello", '["everyone"]')
    got = wait_for(lambda: all(any(e[0] == "news" for e in c.events) and any(e[0] == "hello" for e in c.events)
                               for c in clients), 10)
    report(status == 0 and got, "Emit to a room and to everyone reach every client", f"grpc-status {status}")

    status, _ = traffic.emit_with_ack(api_grpc, clients[2].sid, "question", '["?"]')
    report(status == 0 and clients[2].acked >= 1, "EmitWithAck is answered by the client", f"grpc-status {status}")

    before = sub.messages
    for c in clients:
        for n in range(3):
            c.emit("chat", {"n": n})
    # 3 connects happened before; 9 events now.
    report(sub.wait(before + 9, 10), "the Subscribe stream receives the clients' events",
           f"{sub.messages - before} new messages")

    status, _ = traffic.grpc_unary(api_grpc, "Emit", b"")
    report(status == 3, "an empty Emit is answered INVALID_ARGUMENT", f"grpc-status {status}")
    # Unauthenticated polling sessions: the handshake by polling, CONNECT refused (no token).
    port = gateways["gw-1"]["listen"]
    for _ in range(2):
        _, body = http_get(f"http://127.0.0.1:{port}/socket.io/?EIO=4&transport=polling")
        m = re.search(rb'"sid":"([^"]+)"', body)
        if m:
            url = f"http://127.0.0.1:{port}/socket.io/?EIO=4&transport=polling&sid={m.group(1).decode()}"
            http_get(url, data=b"40")
            http_get(url)
            http_get(url, data=b"1")
    return True


if __name__ == "__main__":
    code = main()
    print(f"# live checks: {RESULTS['pass']} ok, {RESULTS['fail']} not ok")
    sys.exit(code)
