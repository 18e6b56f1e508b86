#!/usr/bin/env python3
"""Consistency checks of the rendered Kubernetes manifests (kubectl kustomize output) that no
schema can make: probes on the ports the daemons really listen on, the drain fitting into
terminationGracePeriodSeconds, the pod name as --node-name, one shared cluster ConfigMap, memory
limits that hold max-connections at the measured bytes per connection, HPA bounds within the
downstream partition count, selectors that select something.
Usage: check_manifests.py RENDERED.yaml --bench bench/results/idle-memory.md [--release]
  --release: production rules too (no placeholder Secrets, no :latest images).
Prints one line per problem; exit 1 if there is any."""
import argparse
import re
import sys

import yaml

MIB = 1024 * 1024
KERNEL_BYTES_PER_SOCKET = 4096   # tcp_sock + socket inode + file + epoll item (docs/operating.md)
FIXED_BYTES = 320 * MIB          # idle RSS + librdkafka producer queue bound + consumer buffers
HEADROOM = 1.2


def parse_duration_ms(text):
    text = str(text).strip()
    if re.fullmatch(r"\d+", text):
        return int(text)
    total, pos = 0.0, 0
    for m in re.finditer(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text):
        if m.start() != pos:
            raise ValueError(f"bad duration {text!r}")
        total += float(m.group(1)) * {"ms": 1, "s": 1000, "m": 60000, "h": 3600000}[m.group(2)]
        pos = m.end()
    if pos != len(text) or pos == 0:
        raise ValueError(f"bad duration {text!r}")
    return int(total)


def parse_quantity(q):
    """Kubernetes memory quantity -> bytes."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?", str(q))
    if not m:
        raise ValueError(f"bad quantity {q!r}")
    mult = {None: 1, "Ki": 1024, "Mi": MIB, "Gi": 1024 * MIB, "Ti": 1024 ** 4,
            "k": 1000, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12}[m.group(2)]
    return int(float(m.group(1)) * mult)


def bench_bytes_per_conn(path):
    """{'plain': bytes, 'tls': bytes} from the table of bench/results/idle-memory.md."""
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) > 4 and cells[0] in ("gateway-plain", "gateway-tls"):
                out[cells[0].split("-")[1]] = int(cells[4])
    if set(out) != {"plain", "tls"}:
        raise ValueError(f"{path}: no gateway-plain/gateway-tls bytes/conn rows")
    return out


def port_of(hostport):
    return int(str(hostport).rsplit(":", 1)[1])


def host_of(hostport):
    return str(hostport).rsplit(":", 1)[0]


class Checker:
    def __init__(self, docs, bench, release):
        self.docs = [d for d in docs if d]
        self.bench = bench
        self.release = release
        self.problems = []

    def fail(self, what):
        self.problems.append(what)

    def find(self, kind, name=None):
        return [d for d in self.docs if d.get("kind") == kind and
                (name is None or d["metadata"]["name"] == name)]

    def one(self, kind, name):
        found = self.find(kind, name)
        if len(found) != 1:
            self.fail(f"expected one {kind} {name}, found {len(found)}")
            return None
        return found[0]

    def configmap(self, name):
        return self.one("ConfigMap", name) or {"data": {}}

    def container_config(self, deploy, container):
        """The daemon's --config YAML as mounted from its ConfigMap."""
        args = container.get("args", [])
        if "--config" not in args:
            self.fail(f"{deploy}: no --config argument")
            return {}
        path = args[args.index("--config") + 1]
        mount = next((m for m in container.get("volumeMounts", []) if m["mountPath"] == path), None)
        if not mount or "subPath" not in mount:
            self.fail(f"{deploy}: --config {path} is not mounted from a ConfigMap key (subPath)")
            return {}
        pod = self.find("Deployment", deploy)[0]["spec"]["template"]["spec"]
        volume = next((v for v in pod.get("volumes", []) if v["name"] == mount["name"]), {})
        cm_name = volume.get("configMap", {}).get("name")
        if not cm_name:
            self.fail(f"{deploy}: volume {mount['name']} is not a ConfigMap")
            return {}
        text = self.configmap(cm_name).get("data", {}).get(mount["subPath"])
        if text is None:
            self.fail(f"{deploy}: ConfigMap {cm_name} has no key {mount['subPath']}")
            return {}
        return yaml.safe_load(text) or {}

    def named_port(self, container, port):
        if isinstance(port, int):
            return port
        for p in container.get("ports", []):
            if p.get("name") == port:
                return p["containerPort"]
        self.fail(f"{container['name']}: probe names port {port!r}, which the container does not declare")
        return None

    def probe_target(self, container, probe_name):
        probe = container.get(probe_name)
        if not probe:
            self.fail(f"{container['name']}: no {probe_name}")
            return None, None
        if "httpGet" in probe:
            return "http " + probe["httpGet"].get("path", "/"), self.named_port(container, probe["httpGet"]["port"])
        if "grpc" in probe:
            return "grpc", probe["grpc"]["port"]
        return "other", None

    def check_deployment(self, name, listen_keys, probes):
        deploy = self.one("Deployment", name)
        if not deploy:
            return None, None
        pod = deploy["spec"]["template"]["spec"]
        labels = deploy["spec"]["template"]["metadata"].get("labels", {})
        selector = deploy["spec"]["selector"].get("matchLabels", {})
        if not selector or any(labels.get(k) != v for k, v in selector.items()):
            self.fail(f"{name}: selector {selector} does not match the pod labels {labels}")
        container = next((c for c in pod["containers"] if c["name"] == name), None)
        if not container:
            self.fail(f"{name}: no container named {name}")
            return None, None
        config = self.container_config(name, container)

        for key in listen_keys:
            value = config.get(key)
            if not value:
                self.fail(f"{name}: config has no {key}")
            elif host_of(value) not in ("0.0.0.0", "[::]", "::"):
                self.fail(f"{name}: {key} {value} is not reachable from outside the pod (listen on 0.0.0.0)")
        declared = {p["containerPort"] for p in container.get("ports", [])}
        for key in listen_keys:
            if config.get(key) and port_of(config[key]) not in declared:
                self.fail(f"{name}: {key} port {port_of(config[key])} is not a declared containerPort")

        for probe_name, (kind, key) in probes.items():
            got_kind, got_port = self.probe_target(container, probe_name)
            if got_kind is None:
                continue
            if got_kind != kind:
                self.fail(f"{name}: {probe_name} is {got_kind}, expected {kind}")
            if config.get(key) and got_port is not None and got_port != port_of(config[key]):
                self.fail(f"{name}: {probe_name} probes port {got_port} but {key} is {config[key]}")

        env = {e["name"]: e for e in container.get("env", [])}
        node = env.get("WSGW_NODE_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
        if node != "metadata.name" and "--node-name" not in container.get("args", []):
            self.fail(f"{name}: WSGW_NODE_NAME is not the pod name (downward API metadata.name)")
        cluster_cms = [e["configMapRef"]["name"] for e in container.get("envFrom", []) if "configMapRef" in e]
        cluster_env = {}
        for cm in cluster_cms:
            cluster_env.update(self.configmap(cm).get("data", {}))
        for key in ("WSGW_KAFKA_BROKERS", "WSGW_REDIS", "WSGW_DOWNSTREAM_PARTITIONS"):
            if key not in cluster_env and key.lower()[5:].replace("_", "-") not in config:
                self.fail(f"{name}: {key} comes from neither an envFrom ConfigMap nor the config file")
        if cluster_env.get("WSGW_REDIS") and not str(cluster_env["WSGW_REDIS"]).startswith("redis://"):
            self.fail(f"{name}: WSGW_REDIS must be a redis://HOST:PORT URL")

        # The drain must fit: preStop sleep + --shutdown-grace < terminationGracePeriodSeconds.
        grace_s = pod.get("terminationGracePeriodSeconds", 30)
        pre = container.get("lifecycle", {}).get("preStop", {})
        sleep_s = 0
        if "exec" in pre:
            cmd = pre["exec"].get("command", [])
            if len(cmd) == 2 and cmd[0] == "sleep":
                sleep_s = float(cmd[1])
            else:
                self.fail(f"{name}: preStop is not `sleep N`: cannot check it against the grace period")
        elif "sleep" in pre:
            sleep_s = pre["sleep"]["seconds"]
        else:
            self.fail(f"{name}: no preStop hook: the endpoint removal races SIGTERM")
        shutdown_ms = parse_duration_ms(config.get("shutdown-grace", "10s"))
        if sleep_s + shutdown_ms / 1000 + 1 > grace_s:
            self.fail(f"{name}: terminationGracePeriodSeconds {grace_s} < preStop {sleep_s:g} s + "
                      f"shutdown-grace {shutdown_ms / 1000:g} s + 1 s: the drain is cut by SIGKILL")

        security = pod.get("securityContext", {})
        if not security.get("runAsNonRoot"):
            self.fail(f"{name}: pod securityContext.runAsNonRoot is not true")
        if container.get("securityContext", {}).get("allowPrivilegeEscalation", True):
            self.fail(f"{name}: allowPrivilegeEscalation is not false")
        resources = container.get("resources", {})
        if "memory" not in resources.get("requests", {}) or "memory" not in resources.get("limits", {}):
            self.fail(f"{name}: memory request and limit must both be set")
        if "cpu" not in resources.get("requests", {}):
            self.fail(f"{name}: no CPU request")
        affinity = pod.get("affinity", {}).get("podAntiAffinity")
        if not affinity:
            self.fail(f"{name}: no pod anti-affinity")
        if self.release and str(container.get("image", "")).endswith(":latest"):
            self.fail(f"{name}: image {container.get('image')} is :latest in a release overlay")
        return deploy, (container, config, cluster_env)

    def selects(self, selector, deployment):
        labels = deployment["spec"]["template"]["metadata"].get("labels", {})
        return bool(selector) and all(labels.get(k) == v for k, v in selector.items())

    def run(self):
        gw, gw_info = self.check_deployment(
            "ws-gateway", ["listen", "metrics-listen"],
            {"livenessProbe": ("http /healthz", "metrics-listen"),
             "readinessProbe": ("http /readyz", "metrics-listen")})
        api, api_info = self.check_deployment(
            "ws-api", ["grpc-listen", "metrics-listen"],
            {"livenessProbe": ("http /healthz", "metrics-listen"),
             "readinessProbe": ("grpc", "grpc-listen")})
        if not gw or not api:
            return self.problems
        gw_container, gw_config, gw_env = gw_info
        api_container, api_config, api_env = api_info

        if gw_config.get("tls-listen") and port_of(gw_config["tls-listen"]) not in \
                {p["containerPort"] for p in gw_container.get("ports", [])}:
            self.fail("ws-gateway: tls-listen port is not a declared containerPort")
        parts_gw = int(gw_env.get("WSGW_DOWNSTREAM_PARTITIONS", gw_config.get("downstream-partitions", 64)))
        parts_api = int(api_env.get("WSGW_DOWNSTREAM_PARTITIONS", api_config.get("downstream-partitions", 64)))
        if parts_gw != parts_api:
            self.fail(f"downstream partitions differ: ws-gateway {parts_gw}, ws-api {parts_api}")
        for key in ("WSGW_KAFKA_BROKERS", "WSGW_REDIS"):
            if gw_env.get(key) != api_env.get(key):
                self.fail(f"{key} differs between ws-gateway and ws-api")

        # Memory: max-connections at the measured bytes per connection must fit the limit.
        max_conn = int(gw_config.get("max-connections", 0))
        if max_conn <= 0:
            self.fail("ws-gateway: max-connections is unbounded: memory cannot be sized")
        else:
            per_conn = self.bench["tls" if gw_config.get("tls-listen") else "plain"] + KERNEL_BYTES_PER_SOCKET
            need = int(HEADROOM * (max_conn * per_conn + FIXED_BYTES))
            limit = parse_quantity(gw_container.get("resources", {}).get("limits", {}).get("memory", "0"))
            if limit < need:
                self.fail(f"ws-gateway: memory limit {limit / MIB:.0f} MiB < {HEADROOM} x ({max_conn} x "
                          f"{per_conn} B + {FIXED_BYTES // MIB} MiB) = {need / MIB:.0f} MiB")
        strategy = gw["spec"].get("strategy", {}).get("rollingUpdate", {})
        if str(strategy.get("maxUnavailable", "25%")) not in ("0", "0%"):
            self.fail("ws-gateway: rollingUpdate.maxUnavailable must be 0 (capacity for the reconnects)")

        lb = self.one("Service", "ws-gateway")
        if lb:
            if lb["spec"].get("type") != "LoadBalancer":
                self.fail("Service ws-gateway is not a LoadBalancer")
            if not self.selects(lb["spec"].get("selector"), gw):
                self.fail("Service ws-gateway selects no ws-gateway pod")
            if any(p.get("targetPort") in ("metrics", port_of(gw_config.get("metrics-listen", ":0")))
                   for p in lb["spec"]["ports"]):
                self.fail("Service ws-gateway exposes the metrics/admin port publicly")
        api_svc = self.one("Service", "ws-api")
        if api_svc:
            if api_svc["spec"].get("type", "ClusterIP") != "ClusterIP":
                self.fail("Service ws-api is not ClusterIP")
            if not self.selects(api_svc["spec"].get("selector"), api):
                self.fail("Service ws-api selects no ws-api pod")
        for pdb in self.find("PodDisruptionBudget"):
            if not any(self.selects(pdb["spec"]["selector"].get("matchLabels"), d) for d in (gw, api)):
                self.fail(f"PodDisruptionBudget {pdb['metadata']['name']} selects no wsgw pod")
        for deploy in ("ws-gateway", "ws-api"):
            if not any(self.selects(p["spec"]["selector"].get("matchLabels"), self.find("Deployment", deploy)[0])
                       for p in self.find("PodDisruptionBudget")):
                self.fail(f"no PodDisruptionBudget covers {deploy}")
        hpas = {h["spec"]["scaleTargetRef"]["name"]: h for h in self.find("HorizontalPodAutoscaler")}
        for h in hpas:
            if not self.find("Deployment", h):
                self.fail(f"HorizontalPodAutoscaler targets a missing Deployment {h}")
        hpa = hpas.get("ws-gateway")
        if not hpa:
            self.fail("no HorizontalPodAutoscaler for ws-gateway")
        else:
            if hpa["spec"]["maxReplicas"] > parts_gw:
                self.fail(f"ws-gateway HPA maxReplicas {hpa['spec']['maxReplicas']} > downstream "
                          f"partitions {parts_gw}: gateways would share partitions")
            conn_metrics = [m for m in hpa["spec"].get("metrics", []) if m.get("type") == "Pods" and
                            m["pods"]["metric"]["name"] == "wsgw_connections"]
            if not conn_metrics:
                self.fail("ws-gateway HPA does not scale on wsgw_connections")
            elif max_conn and parse_quantity(conn_metrics[0]["pods"]["target"]["averageValue"]) >= max_conn:
                self.fail("ws-gateway HPA connection target is not below max-connections")
        ingress = self.one("Ingress", "ws-gateway")
        if ingress:
            notes = ingress["metadata"].get("annotations", {})
            for key in ("proxy-read-timeout", "proxy-send-timeout"):
                value = int(notes.get("nginx.ingress.kubernetes.io/" + key, 60))
                idle = (parse_duration_ms(gw_config.get("ping-interval", "25s")) +
                        parse_duration_ms(gw_config.get("ping-timeout", "20s"))) / 1000
                if value < 10 * idle:
                    self.fail(f"Ingress {key} {value} s would cut quiet WebSockets (ping interval + timeout {idle:g} s)")
            backends = [p["backend"]["service"]["name"] for r in ingress["spec"]["rules"]
                        for p in r["http"]["paths"]]
            if any(b != "ws-gateway" for b in backends):
                self.fail(f"Ingress routes to {backends}, not ws-gateway")

        secrets = {s["metadata"]["name"]: s for s in self.find("Secret")}
        for s in secrets.values():
            placeholder = s["metadata"].get("labels", {}).get("wsgw.io/placeholder") == "true"
            if placeholder and self.release:
                self.fail(f"Secret {s['metadata']['name']} is a placeholder in a release overlay")
            if placeholder and not all("PLACEHOLDER" in str(v) for v in s.get("stringData", {"x": ""}).values()):
                self.fail(f"Secret {s['metadata']['name']} is labelled placeholder but a value is not marked")
        if not self.release:
            for ref in ("wsgw-tls", "wsgw-jwt"):
                if ref not in secrets:
                    self.fail(f"Secret {ref} is referenced but not rendered")
        return self.problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rendered")
    ap.add_argument("--bench", required=True)
    ap.add_argument("--release", action="store_true")
    a = ap.parse_args()
    with open(a.rendered, encoding="utf-8") as f:
        docs = list(yaml.safe_load_all(f))
    try:
        problems = Checker(docs, bench_bytes_per_conn(a.bench), a.release).run()
    except (KeyError, TypeError, ValueError, IndexError) as e:
        problems = [f"cannot check the manifests: {type(e).__name__}: {e}"]
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
