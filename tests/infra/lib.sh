# Shared helpers for tests/infra/*.sh. Sourced, not executed.
# shellcheck shell=bash

# Milliseconds since the epoch (GNU date).
infra_now_ms() { date +%s%3N; }

# "1.234" seconds elapsed since a infra_now_ms stamp.
infra_elapsed() {
  local start_ms=$1 now_ms
  now_ms=$(infra_now_ms)
  local d=$((now_ms - start_ms))
  printf '%d.%03d' $((d / 1000)) $((d % 1000))
}

infra_log() { printf '[%s] %s\n' "$INFRA_NAME" "$*" >&2; }
infra_die() { printf '[%s] ERROR: %s\n' "$INFRA_NAME" "$*" >&2; exit 1; }

# True when something accepts TCP connections on 127.0.0.1:$1.
infra_port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Installs Debian packages when a needed command is missing. Runs apt-get update only once,
# and only if a plain install fails (fresh machines have empty package lists).
infra_apt_install() {
  [ "$(id -u)" = 0 ] || infra_die "need root to apt-get install $*; install it by hand"
  infra_log "installing Debian packages: $*"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q --no-install-recommends "$@" >/dev/null 2>&1; then
    apt-get update -q >/dev/null 2>&1 || true
    apt-get install -y -q --no-install-recommends "$@" >/dev/null \
      || infra_die "apt-get install $* failed"
  fi
}

# True while $1 is a running (not zombie) process. A zombie is dead for our purposes: its
# parent may be a harness that never reaps it.
infra_alive() {
  local state
  state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# Reads a pid file; prints the pid only if that process is alive AND its command line contains
# $2 (so a recycled pid from an unrelated process is never treated as ours).
infra_live_pid() {
  local pid_file=$1 marker=$2 pid
  [ -f "$pid_file" ] || return 1
  pid=$(tr -dc '0-9' <"$pid_file")
  [ -n "$pid" ] || return 1
  infra_alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$marker" || return 1
  printf '%s\n' "$pid"
}

# SIGTERM, wait up to $2 seconds, then SIGKILL. Returns once the process is gone.
infra_terminate() {
  local pid=$1 grace_s=$2 deadline
  kill -TERM "$pid" 2>/dev/null || return 0
  deadline=$(( $(infra_now_ms) + grace_s * 1000 ))
  while infra_alive "$pid"; do
    if [ "$(infra_now_ms)" -ge "$deadline" ]; then
      infra_log "pid $pid still alive after ${grace_s}s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      local i
      for i in $(seq 1 50); do infra_alive "$pid" || break; sleep 0.1; done
      break
    fi
    sleep 0.1
  done
}

# Waits (up to $1 seconds) until none of the given ports accepts connections. A killed JVM's
# main thread shows as a zombie while its other threads, and so its sockets, are still being
# torn down; a restart must not race that.
infra_wait_ports_closed() {
  local limit_s=$1 deadline port busy
  shift
  deadline=$(( $(infra_now_ms) + limit_s * 1000 ))
  while :; do
    busy=""
    for port in "$@"; do infra_port_open "$port" && busy="$busy $port"; done
    [ -z "$busy" ] && return 0
    if [ "$(infra_now_ms)" -ge "$deadline" ]; then
      infra_log "port(s)$busy still open ${limit_s}s after the process ended"
      return 1
    fi
    sleep 0.1
  done
}

# Shell snippet for a `bash -c` launcher: closes every inherited descriptor above 2, so a
# long-lived server never holds a pipe of whoever ran the script (a test harness waiting for
# EOF on its output pipe would otherwise hang until the server stops).
# shellcheck disable=SC2016
INFRA_CLOSE_INHERITED_FDS='for fd_path in /proc/$$/fd/*; do fd=${fd_path##*/}; [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null; done; true'

# The options every script here takes: --port, --dir, --timeout (updating PORT, DIR and
# WAIT_TIMEOUT); everything else, and all after `--`, goes to INFRA_ARGS for the command.
infra_parse_args() {
  INFRA_ARGS=()
  while [ $# -gt 0 ]; do
    case $1 in
      --port) PORT=${2:?--port needs a value}; shift 2 ;;
      --port=*) PORT=${1#*=}; shift ;;
      --dir) DIR=${2:?--dir needs a value}; shift 2 ;;
      --dir=*) DIR=${1#*=}; shift ;;
      --timeout) WAIT_TIMEOUT=${2:?--timeout needs a value}; shift 2 ;;
      --) shift; INFRA_ARGS+=("$@"); break ;;
      *) INFRA_ARGS+=("$1"); shift ;;
    esac
  done
  case $PORT in ''|*[!0-9]*) infra_die "bad --port '$PORT'" ;; esac
}
