#!/usr/bin/env bash
# The one command that runs every test of wsgw on a fresh Debian 12 machine:
#   1. installs what is missing (deploy/setup-debian.sh),
#   2. builds everything (build/),
#   3. unit tests (ctest),
#   4. fuzz targets built with clang, each run briefly (build-fuzz/),
#   5. interop tests: unmodified npm clients against the running daemon.
# Ends with a line "N passed, N failed" and exits non-zero on any failure.
# Knobs: WSGW_FUZZ_SECONDS (default 15 per target), WSGW_SKIP_FUZZ=1, WSGW_SKIP_INTEROP=1.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=$(nproc 2>/dev/null || echo 2)
passed=0
failed=0
failures=()
step() { echo; echo "=== $* ==="; }
record() {  # record NAME EXIT_CODE
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$1"); fi
}

step "setup"
deploy/setup-debian.sh || { echo "setup failed"; exit 1; }

step "build"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || exit 1
cmake --build build -j"$jobs" || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }

step "unit tests"
(cd build && ctest -L unit --output-on-failure -j"$jobs")
record unit-tests $?

if [ "${WSGW_SKIP_FUZZ:-0}" != 1 ]; then
  step "fuzz targets (clang, ${WSGW_FUZZ_SECONDS:-15}s each)"
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DWSGW_FUZZ=ON >/dev/null && cmake --build build-fuzz -j"$jobs" --target fuzz_all >/dev/null
  fuzz_build=$?
  record fuzz-build $fuzz_build
  if [ $fuzz_build -eq 0 ]; then
    while IFS= read -r target; do
      name=$(basename "$target")
      corpus="tests/fuzz/corpus/$name"
      work=$(mktemp -d)
      [ -d "$corpus" ] && cp -r "$corpus"/. "$work"/ 2>/dev/null
      echo "fuzz: $name"
      UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "$target" -max_total_time="${WSGW_FUZZ_SECONDS:-15}" -print_final_stats=0 "$work" \
        >"build-fuzz/$name.log" 2>&1
      rc=$?
      [ $rc -ne 0 ] && tail -40 "build-fuzz/$name.log"
      record "fuzz:$name" $rc
      rm -rf "$work"
    done < <(find build-fuzz -type f -name '*_fuzz' -perm -u+x | sort)
  fi
fi

if [ "${WSGW_SKIP_INTEROP:-0}" != 1 ] && [ -x tests/interop/run.sh ]; then
  step "interop tests (socket.io-client, engine.io-client against ws-gateway)"
  WSGW_TARGET=gateway WSGW_GATEWAY_BIN="$root/build/gateway/app/ws-gateway" tests/interop/run.sh
  record interop $?
fi

echo
if ((failed)); then echo "failed: ${failures[*]}"; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
