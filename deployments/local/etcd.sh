#!/usr/bin/env bash
# A real etcd server (etcd's embed package in the weir-dev tool) with periodic auto-compaction,
# for tests and the local stack. Idempotent.
#
#   etcd.sh up | down | status
#
# Environment: ETCD_PORT (default 12379; peers use ETCD_PORT+1),
# ETCD_DIR (default $WEIR_CACHE/run/etcd-$ETCD_PORT), WEIR_CACHE (default ~/.cache/weir).
set -euo pipefail
. "$(dirname "$0")/common.sh"

ETCD_PORT=${ETCD_PORT:-12379}
ETCD_DIR=${ETCD_DIR:-$WEIR_CACHE/run/etcd-$ETCD_PORT}
PIDFILE="$ETCD_DIR/etcd.pid"

up() {
  local dev; dev=$(weir_dev)
  mkdir -p "$ETCD_DIR"
  if pid_alive "$PIDFILE"; then
    "$dev" wait-etcd -timeout 30s "127.0.0.1:$ETCD_PORT" || die "an etcd process runs (pid $(cat "$PIDFILE")) but does not answer; see $ETCD_DIR/etcd.log"
    say "etcd already running on 127.0.0.1:$ETCD_PORT"; return 0
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$ETCD_PORT") 2>/dev/null; then
    die "port $ETCD_PORT is taken by another process; set ETCD_PORT to a free port"
  fi
  say "starting etcd on 127.0.0.1:$ETCD_PORT (data $ETCD_DIR/data)"
  setsid nohup "$dev" etcd -data-dir "$ETCD_DIR/data" -client-port "$ETCD_PORT" -peer-port $((ETCD_PORT + 1)) \
    >"$ETCD_DIR/etcd.log" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  if ! "$dev" wait-etcd -timeout 60s "127.0.0.1:$ETCD_PORT"; then
    tail -20 "$ETCD_DIR/etcd.log" >&2 || true
    stop_pid "$PIDFILE" etcd
    die "etcd did not become ready on 127.0.0.1:$ETCD_PORT; see $ETCD_DIR/etcd.log"
  fi
  say "etcd ready on 127.0.0.1:$ETCD_PORT"
}

case "${1:-}" in
  up) up ;;
  down) stop_pid "$PIDFILE" etcd ;;
  status) if pid_alive "$PIDFILE"; then echo "etcd running (pid $(cat "$PIDFILE")) on 127.0.0.1:$ETCD_PORT"; else echo "etcd not running"; exit 1; fi ;;
  *) die "usage: etcd.sh up|down|status" ;;
esac
