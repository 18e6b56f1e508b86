#!/usr/bin/env python3
"""Runs the real daemons with the configuration files of a rendered overlay, probes them the way
the manifests' probes do, then lets a real Prometheus (deploy/observability/prometheus.yml and
alerts.yaml, loopback, temp dir, 1 s scrapes) scrape them, and runs every dashboard query
through Prometheus's HTTP API. Everything listens on 127.0.0.1 only.
A query whose metrics the standalone daemons export must return data; a query on cluster-only
metrics is still parsed and executed by Prometheus (an error fails) but may be empty: it is
listed as not checked for data.
Usage: live_check.py --root REPO --rendered RENDERED.yaml --gateway BIN --api BIN
Prints TAP-style `ok` / `not ok` lines; exit 1 on any failure."""
import argparse
import json
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

RESULTS = {"pass": 0, "fail": 0}


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


def wait_for(predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
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


def grpc_call_emit(port):
    """An empty Emit: ws-api answers INVALID_ARGUMENT and counts it in wsgw_api_requests_total."""
    subprocess.run(["curl", "-s", "--max-time", "3", "--http2-prior-knowledge", "-H", "content-type: application/grpc",
                    "-H", "te: trailers", "--data-binary", "@-", "-o", "/dev/null",
                    f"http://127.0.0.1:{port}/wsgw.v1.WsApiService/Emit"], input=b"\0\0\0\0\0")


def configs_from_render(rendered):
    docs = [d for d in yaml.safe_load_all(Path(rendered).read_text(encoding="utf-8")) if d]
    out = {}
    for d in docs:
        if d.get("kind") != "Deployment":
            continue
        name = d["metadata"]["name"]
        pod = d["spec"]["template"]["spec"]
        container = next(c for c in pod["containers"] if c["name"] == name)
        path = container["args"][container["args"].index("--config") + 1]
        mount = next(m for m in container["volumeMounts"] if m["mountPath"] == path)
        cm_name = next(v for v in pod["volumes"] if v["name"] == mount["name"])["configMap"]["name"]
        cm = next(x for x in docs if x.get("kind") == "ConfigMap" and x["metadata"]["name"] == cm_name)
        out[name] = (container, cm["data"][mount["subPath"]])
    return out


class Daemon:
    def __init__(self, name, argv, env, log):
        self.name = name
        self.log = open(log, "wb")
        self.proc = subprocess.Popen(argv, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


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


def check_query(base, expr, exported, names_in):
    """(ok, classification, detail) for one dashboard query."""
    names = set(re.findall(r"\b((?:wsgw|process)_[a-z0-9_]+)\b", expr))
    if re.search(r"\bup\s*\{", expr):
        names.add("up")
    ok, error, result = prom_query(base, expr)
    if not ok:
        return False, "error", error
    missing = sorted(n for n in names if n not in exported)
    if missing:
        return True, "unchecked", "not exported standalone: " + ", ".join(missing)
    if not result:
        return False, "empty", "no data although " + ", ".join(sorted(names)) + " are exported"
    values = [r["value"][1] for r in result if "value" in r]
    return True, "data", f"{len(result)} series" + (" (NaN: no observations yet)" if values and all(v == "NaN" for v in values) else "")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--rendered", required=True)
    ap.add_argument("--gateway", required=True)
    ap.add_argument("--api", required=True)
    ap.add_argument("--prometheus", default="prometheus")
    a = ap.parse_args()
    root = Path(a.root)
    work = Path(tempfile.mkdtemp(prefix="wsgw-deploy-"))
    daemons = []
    try:
        return run(a, root, work, daemons)
    finally:
        for d in reversed(daemons):
            d.stop()
        if RESULTS["fail"] == 0:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"# logs kept in {work}")


def run(a, root, work, daemons):
    configs = configs_from_render(a.rendered)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WSGW_")}
    env["WSGW_JWT_SECRET"] = "deploy-test-secret"  # the Secret's key, as the pod gets it

    # ws-gateway with the overlay's config file; listeners moved to loopback ports, the TLS
    # listener on a throwaway self-signed certificate; standalone (no Kafka/Redis env).
    gw_container, gw_yaml = configs["ws-gateway"]
    (work / "ws-gateway.yaml").write_text(gw_yaml)
    gw_cfg = yaml.safe_load(gw_yaml)
    port_map = {}  # containerPort -> local port
    gw_args = [a.gateway, "--config", str(work / "ws-gateway.yaml")]
    for key in ("listen", "tls-listen", "metrics-listen"):
        if gw_cfg.get(key):
            local = free_port()
            port_map[("ws-gateway", int(gw_cfg[key].rsplit(":", 1)[1]))] = local
            gw_args += [f"--{key}", f"127.0.0.1:{local}"]
    if gw_cfg.get("tls-listen"):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout", str(work / "tls.key"),
                        "-out", str(work / "tls.crt")], check=True, capture_output=True)
        gw_args += ["--tls-cert", str(work / "tls.crt"), "--tls-key", str(work / "tls.key")]
    api_container, api_yaml = configs["ws-api"]
    (work / "ws-api.yaml").write_text(api_yaml)
    api_cfg = yaml.safe_load(api_yaml)
    api_args = [a.api, "--config", str(work / "ws-api.yaml")]
    for key in ("grpc-listen", "metrics-listen"):
        local = free_port()
        port_map[("ws-api", int(api_cfg[key].rsplit(":", 1)[1]))] = local
        api_args += [f"--{key}", f"127.0.0.1:{local}"]

    gw_metrics = port_map[("ws-gateway", int(gw_cfg["metrics-listen"].rsplit(":", 1)[1]))]
    api_metrics = port_map[("ws-api", int(api_cfg["metrics-listen"].rsplit(":", 1)[1]))]
    api_grpc = port_map[("ws-api", int(api_cfg["grpc-listen"].rsplit(":", 1)[1]))]
    daemons.append(Daemon("ws-gateway", gw_args, env, work / "ws-gateway.log"))
    daemons.append(Daemon("ws-api", api_args, env, work / "ws-api.log"))
    for d, port in ((daemons[0], gw_metrics), (daemons[1], api_metrics)):
        up = wait_for(lambda: d.proc.poll() is not None or http_get(f"http://127.0.0.1:{port}/healthz")[0] == 200, 10)
        if not report(up and d.proc.poll() is None, f"{d.name} starts with the rendered config file (+ loopback ports)",
                      "" if d.proc.poll() is None else f"exited {d.proc.returncode}: see {work}/{d.name}.log"):
            return 1

    # Every probe of the manifests, against the real process (containerPort -> local port).
    for name, container in (("ws-gateway", gw_container), ("ws-api", api_container)):
        ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
        for probe_name in ("startupProbe", "livenessProbe", "readinessProbe"):
            probe = container.get(probe_name)
            if not probe:
                continue
            if "httpGet" in probe:
                cport = probe["httpGet"]["port"]
                cport = ports.get(cport, cport)
                local = port_map.get((name, cport))
                path = probe["httpGet"].get("path", "/")
                status = http_get(f"http://127.0.0.1:{local}{path}")[0] if local else None
                report(status is not None and 200 <= status < 400, f"{name} {probe_name}: GET {path} on port {cport}",
                       f"HTTP {status}")
            elif "grpc" in probe:
                cport = probe["grpc"]["port"]
                local = port_map.get((name, cport))
                serving = grpc_health_serving(local) if local else False
                report(bool(serving), f"{name} {probe_name}: gRPC health on port {cport} answers SERVING",
                       "curl without HTTP/2?" if serving is None else "")

    # Some traffic, so that labelled series exist and counters move.
    http_port = port_map.get(("ws-gateway", int(gw_cfg["listen"].rsplit(":", 1)[1])))
    for _ in range(3):
        status, body = http_get(f"http://127.0.0.1:{http_port}/socket.io/?EIO=4&transport=polling")
        m = re.search(rb'"sid":"([^"]+)"', body)
        if m:
            sid = m.group(1).decode()
            http_get(f"http://127.0.0.1:{http_port}/socket.io/?EIO=4&transport=polling&sid={sid}", data=b"40")
            http_get(f"http://127.0.0.1:{http_port}/socket.io/?EIO=4&transport=polling&sid={sid}", data=b"1")
    grpc_call_emit(api_grpc)

    # A real Prometheus with the committed prometheus.yml and alerts.yaml.
    prom_cfg = yaml.safe_load((root / "deploy/observability/prometheus.yml").read_text())
    prom_cfg["global"]["scrape_interval"] = "1s"
    prom_cfg["global"]["evaluation_interval"] = "1s"
    prom_cfg["rule_files"] = [str((root / "deploy/observability" / f).resolve()) for f in prom_cfg["rule_files"]]
    targets = {"ws-gateway": gw_metrics, "ws-api": api_metrics}
    for job in prom_cfg["scrape_configs"]:
        job["static_configs"] = [{"targets": [f"127.0.0.1:{targets[job['job_name']]}"]}]
    (work / "prometheus.yml").write_text(yaml.safe_dump(prom_cfg))
    prom_port = free_port()
    daemons.append(Daemon("prometheus", [a.prometheus, f"--config.file={work / 'prometheus.yml'}",
                                         f"--storage.tsdb.path={work / 'tsdb'}", f"--web.listen-address=127.0.0.1:{prom_port}",
                                         "--log.level=warn"], env, work / "prometheus.log"))
    base = f"http://127.0.0.1:{prom_port}"
    if not report(wait_for(lambda: http_get(f"{base}/-/ready")[0] == 200, 20), "prometheus starts with prometheus.yml + alerts.yaml"):
        return 1

    def scraped_enough():
        ok, _, result = prom_query(base, 'count_over_time(up[1m]) >= 4 and up == 1')
        return ok and len(result) == 2
    report(wait_for(scraped_enough, 20), "prometheus scrapes ws-gateway and ws-api (both up, 4+ samples each)")

    def rules_evaluated():
        status, body = http_get(f"{base}/api/v1/rules")
        if status != 200:
            return False
        rules = [r for g in json.loads(body)["data"]["groups"] for r in g["rules"]]
        return rules and all(not r.get("lastEvaluation", "").startswith("0001") for r in rules)
    wait_for(rules_evaluated, 10)
    status, body = http_get(f"{base}/api/v1/rules")
    rules = [r for g in json.loads(body)["data"]["groups"] for r in g["rules"]] if status == 200 else []
    bad = [f"{r['name']}: {r.get('lastError')}" for r in rules if r.get("health") != "ok"]
    report(rules and not bad, f"prometheus evaluates all {len(rules)} alert rules without error", "; ".join(bad))

    status, body = http_get(f"{base}/api/v1/label/__name__/values")
    exported = set(json.loads(body)["data"]) if status == 200 else set()
    dashboard = json.loads((root / "deploy/observability/grafana-dashboard.json").read_text())
    checked, unchecked = 0, []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = substitute(target["expr"], "10s")
            ok, kind, detail = check_query(base, expr, exported, None)
            label = f"dashboard {panel['title']!r} [{target['refId']}]"
            if kind == "unchecked":
                unchecked.append(f"{label}: {detail}")
                report(True, f"{label} runs (data not checked)", detail)
            else:
                checked += ok
                report(ok, f"{label} returns data" if ok else f"{label}", detail)
    print(f"# dashboard queries checked for data: {checked}; run by Prometheus but not checked for "
          f"data (cluster-only metrics, absent from standalone daemons; listed above): {len(unchecked)}")

    # The checker itself must be able to fail: a syntax error and a misspelled metric.
    ok, kind, _ = check_query(base, 'sum(wsgw_connections{job="ws-gateway"}', exported, None)
    report(not ok and kind == "error", "negative: a query with a syntax error is reported as failing")
    ok, kind, _ = check_query(base, 'sum(wsgw_conections{job="ws-gateway"})', exported | {"wsgw_conections"}, None)
    report(not ok and kind == "empty", "negative: a query on a metric that returns nothing is reported as failing")
    return 0 if RESULTS["fail"] == 0 else 1


if __name__ == "__main__":
    code = main()
    print(f"# live checks: {RESULTS['pass']} ok, {RESULTS['fail']} not ok")
    sys.exit(code)
