#!/usr/bin/env bash
# Runs a command with a real Kafka broker and a real etcd available, and hands their addresses
# to it as KAFKA_BROKERS and ETCD_ENDPOINTS. When those variables are already set, it uses them
# and starts nothing. It stops only what it started, also when the command fails or is interrupted.
#
#   with-stack.sh COMMAND [ARGS...]
set -euo pipefail
. "$(dirname "$0")/common.sh"
[ $# -ge 1 ] || die "usage: with-stack.sh COMMAND [ARGS...]"

here=$(cd "$(dirname "$0")" && pwd)
started=()
cleanup() {
  local s
  for s in "${started[@]}"; do "$here/$s.sh" down || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "${KAFKA_BROKERS:-}" ]; then
  export KAFKA_PORT=${KAFKA_PORT:-19092}
  "$here/kafka.sh" status >/dev/null 2>&1 || started+=(kafka)
  "$here/kafka.sh" up
  export KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT"
fi
if [ -z "${ETCD_ENDPOINTS:-}" ]; then
  export ETCD_PORT=${ETCD_PORT:-12379}
  "$here/etcd.sh" status >/dev/null 2>&1 || started+=(etcd)
  "$here/etcd.sh" up
  export ETCD_ENDPOINTS="127.0.0.1:$ETCD_PORT"
fi
say "KAFKA_BROKERS=$KAFKA_BROKERS ETCD_ENDPOINTS=$ETCD_ENDPOINTS"
set +e
"$@"
rc=$?
set -e
exit $rc
