# Shared settings for the deployments/local scripts. Sourced, not run.
# Everything fetched or created at run time lives under WEIR_CACHE (outside the repository).

WEIR_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WEIR_CACHE=${WEIR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/weir}
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$WEIR_ROOT/deployments/local/kafka/pom.xml")
KAFKA_HOME="$WEIR_CACHE/kafka-$KAFKA_VERSION"

die() { echo "$(basename "$0"): $*" >&2; exit 1; }
say() { echo "$(basename "$0"): $*" >&2; }

# java_major prints the major version of the java on PATH (or JAVA_HOME), 0 if none.
java_bin() { if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then echo "$JAVA_HOME/bin/java"; else command -v java || true; fi; }
java_major() {
  local j; j=$(java_bin)
  [ -n "$j" ] || { echo 0; return; }
  "$j" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1
}

# pid_alive FILE: true when FILE holds the pid of a live process.
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# stop_pid FILE NAME: TERM the process, wait up to 30 s, then KILL. Idempotent.
stop_pid() {
  local file=$1 name=$2 pid i
  if ! pid_alive "$file"; then rm -f "$file"; say "$name is not running"; return 0; fi
  pid=$(cat "$file")
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then say "$name (pid $pid) ignored SIGTERM for 30 s; killing"; kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$file"
  say "$name stopped"
}

# weir_dev builds (if needed) and prints the path of the weir-dev tool.
weir_dev() {
  local out="$WEIR_ROOT/bin/weir-dev"
  (cd "$WEIR_ROOT" && go build -o "$out" ./deployments/local/devtool) || die "building weir-dev failed"
  echo "$out"
}
