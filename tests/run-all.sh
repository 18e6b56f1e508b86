#!/usr/bin/env bash
# The one command that runs every test of wsgw on a fresh Debian 12 machine:
#   1. installs what is missing (deploy/setup-debian.sh),
#   2. builds everything (build/),
#   3. unit tests (ctest: one GoogleTest binary per module),
#   4. integration tests (real redis-server) and the test infrastructure's self-check (a real
#      Kafka broker in KRaft mode from Maven Central jars, redis-server),
#   5. fuzz targets built with clang (build-fuzz/), each run briefly,
#   6. interop tests: unmodified npm clients against the running daemon, and cluster tests
#      (two gateway nodes against the real Kafka and Redis),
#   7. deploy checks (tests/deploy/run.sh): Dockerfiles, Kubernetes manifests, alert rules and the
#      Grafana dashboard against a real Prometheus scraping the daemons,
#   8. the idle-memory benchmark in its --quick form (checks the benchmark works; no timing
#      is asserted, and the committed results in bench/results/ are not touched).
# Ends with "N passed, N failed" (ctest binaries, infra check, fuzz targets, interop tests,
# benchmark) and exits non-zero on any failure.
# Knobs: WSGW_FUZZ_SECONDS (default 15 per target), WSGW_SKIP_FUZZ=1, WSGW_SKIP_INTEROP=1,
#        WSGW_SKIP_CLUSTER=1, WSGW_SKIP_DEMO=1, WSGW_SKIP_DEPLOY=1, WSGW_SKIP_BENCH=1.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=$(nproc 2>/dev/null || echo 2)
passed=0
failed=0
failures=()
step() { echo; echo "=== $* ==="; }
count() {  # count NAME PASSED FAILED
  passed=$((passed + $2)); failed=$((failed + $3))
  if [ "$3" -gt 0 ]; then failures+=("$1"); fi
}
logs=$root/build/test-logs

step "setup"
deploy/setup-debian.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }

step "build"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
  cmake --build build -j"$jobs" || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
mkdir -p "$logs"

step "unit tests"
(cd build && ctest -L unit --output-on-failure -j"$jobs") | tee "$logs/ctest.log"
total=$(sed -nE 's/.*tests passed, ([0-9]+) tests failed out of ([0-9]+).*/\2/p' "$logs/ctest.log")
bad=$(sed -nE 's/.*tests passed, ([0-9]+) tests failed out of ([0-9]+).*/\1/p' "$logs/ctest.log")
if [ -z "$total" ]; then count unit-tests 0 1; else count unit-tests $((total - bad)) "$bad"; fi

step "integration tests (ctest label 'integration': real redis-server started by the tests)"
(cd build && ctest -L integration --output-on-failure) | tee "$logs/ctest-integration.log"
total=$(sed -nE 's/.*tests passed, ([0-9]+) tests failed out of ([0-9]+).*/\2/p' "$logs/ctest-integration.log")
bad=$(sed -nE 's/.*tests passed, ([0-9]+) tests failed out of ([0-9]+).*/\1/p' "$logs/ctest-integration.log")
if [ -n "$total" ]; then count integration-tests $((total - bad)) "$bad"
elif ! grep -q "No tests were found" "$logs/ctest-integration.log"; then count integration-tests 0 1; fi

step "test infrastructure: a real Kafka (KRaft, jars from Maven Central) and redis-server"
tests/infra/selftest.sh | tee "$logs/infra-selftest.log"
if [ "${PIPESTATUS[0]}" -eq 0 ]; then count infra-selftest 1 0; else count infra-selftest 0 1; fi

if [ "${WSGW_SKIP_FUZZ:-0}" != 1 ]; then
  step "fuzz targets (clang, ${WSGW_FUZZ_SECONDS:-15}s each)"
  if CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
       -DWSGW_FUZZ=ON >/dev/null && cmake --build build-fuzz -j"$jobs" --target fuzz_all >/dev/null; then
    while IFS= read -r target; do
      name=$(basename "$target")
      work=$(mktemp -d)
      [ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name"/. "$work"/
      echo "fuzz: $name"
      UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "$target" \
        -max_total_time="${WSGW_FUZZ_SECONDS:-15}" -print_final_stats=0 "$work" >"$logs/$name.log" 2>&1
      if [ $? -eq 0 ]; then count "fuzz:$name" 1 0; else tail -40 "$logs/$name.log"; count "fuzz:$name" 0 1; fi
      rm -rf "$work"
    done < <(find build-fuzz -type f -name '*_fuzz' -perm -u+x | sort)
  else
    count fuzz-build 0 1
  fi
fi

if [ "${WSGW_SKIP_INTEROP:-0}" != 1 ]; then
  step "interop tests (socket.io-client, engine.io-client against ws-gateway)"
  WSGW_TARGET=gateway WSGW_GATEWAY_BIN="$root/build/gateway/app/ws-gateway" tests/interop/run.sh \
    | tee "$logs/interop.log"
  rc=${PIPESTATUS[0]}
  p=$(sed -nE 's/^# pass ([0-9]+)$/\1/p; s/^ℹ pass ([0-9]+)$/\1/p' "$logs/interop.log" | tail -1)
  f=$(sed -nE 's/^# fail ([0-9]+)$/\1/p; s/^ℹ fail ([0-9]+)$/\1/p' "$logs/interop.log" | tail -1)
  f=${f:-0}
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  count interop "${p:-0}" "$f"
fi

if [ "${WSGW_SKIP_CLUSTER:-0}" != 1 ]; then
  step "cluster tests (two ws-gateway nodes, real Kafka and redis-server)"
  WSGW_GATEWAY_BIN="$root/build/gateway/app/ws-gateway" tests/cluster/run.sh | tee "$logs/cluster.log"
  rc=${PIPESTATUS[0]}
  p=$(sed -nE 's/^# pass ([0-9]+)$/\1/p; s/^ℹ pass ([0-9]+)$/\1/p' "$logs/cluster.log" | tail -1)
  f=$(sed -nE 's/^# fail ([0-9]+)$/\1/p; s/^ℹ fail ([0-9]+)$/\1/p' "$logs/cluster.log" | tail -1)
  f=${f:-0}
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  count cluster "${p:-0}" "$f"
fi

if [ "${WSGW_SKIP_DEMO:-0}" != 1 ]; then
  step "local demo in headless Chromium (deploy/run-local.sh: presence, gRPC push, gateway fail-over)"
  WSGW_BUILD_DIR="$root/build" tests/demo/run.sh | tee "$logs/demo.log"
  rc=${PIPESTATUS[0]}
  p=$(sed -nE 's/^# pass ([0-9]+)$/\1/p; s/^ℹ pass ([0-9]+)$/\1/p' "$logs/demo.log" | tail -1)
  f=$(sed -nE 's/^# fail ([0-9]+)$/\1/p; s/^ℹ fail ([0-9]+)$/\1/p' "$logs/demo.log" | tail -1)
  f=${f:-0}
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  count demo "${p:-0}" "$f"
fi

if [ "${WSGW_SKIP_DEPLOY:-0}" != 1 ]; then
  step "deploy: Dockerfiles, Kubernetes manifests, Prometheus rules, dashboard against a real Prometheus"
  WSGW_GATEWAY_BIN="$root/build/gateway/app/ws-gateway" WSGW_API_BIN="$root/build/api/app/ws-api" \
    tests/deploy/run.sh | tee "$logs/deploy.log"
  rc=${PIPESTATUS[0]}
  p=$(sed -nE 's/^# pass ([0-9]+)$/\1/p' "$logs/deploy.log" | tail -1)
  f=$(sed -nE 's/^# fail ([0-9]+)$/\1/p' "$logs/deploy.log" | tail -1)
  f=${f:-0}
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  count deploy "${p:-0}" "$f"
fi

if [ "${WSGW_SKIP_BENCH:-0}" != 1 ]; then
  step "idle-memory benchmark (--quick: proves the benchmark runs; numbers are not asserted)"
  python3 bench/run.py --build-dir build --quick
  if [ $? -eq 0 ]; then count bench-quick 1 0; else count bench-quick 0 1; fi
fi

echo
if ((failed)); then echo "failed: ${failures[*]}"; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
