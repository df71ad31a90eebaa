#!/usr/bin/env bash
# A real single-node Apache Kafka broker (KRaft, combined broker+controller) for tests and
# benchmarks, fetched from Maven Central. Idempotent: running a command twice is safe.
#
#   kafka.sh fetch          download the pinned broker and tools into $WEIR_CACHE (once)
#   kafka.sh up             start a broker on 127.0.0.1:$KAFKA_PORT and wait until it answers
#   kafka.sh down           stop it
#   kafka.sh status         say whether it runs
#   kafka.sh run CLASS ...  run a Kafka tool class (e.g. org.apache.kafka.tools.ProducerPerformance)
#   kafka.sh classpath      print the classpath of the fetched jars
#
# Environment: KAFKA_PORT (default 19092; the controller listener uses KAFKA_PORT+1),
# KAFKA_DIR (default $WEIR_CACHE/run/kafka-$KAFKA_PORT), KAFKA_HEAP (default 1g),
# WEIR_CACHE (default ~/.cache/weir).
set -euo pipefail
. "$(dirname "$0")/common.sh"

KAFKA_PORT=${KAFKA_PORT:-19092}
KAFKA_DIR=${KAFKA_DIR:-$WEIR_CACHE/run/kafka-$KAFKA_PORT}
KAFKA_HEAP=${KAFKA_HEAP:-1g}
LIBS="$KAFKA_HOME/libs"

need_java() {
  local v; v=$(java_major)
  [ "${v:-0}" -ge 17 ] || die "Java 17 or newer is required to run the Kafka broker (found: ${v:-none}). Install it (Debian: apt-get install openjdk-17-jre-headless) or run deployments/local/ensure-deps.sh"
}

fetch() {
  if [ -f "$KAFKA_HOME/.complete" ]; then return 0; fi
  need_java
  command -v mvn >/dev/null || die "Maven is required to fetch the Kafka broker from Maven Central. Install it (Debian: apt-get install maven) or run deployments/local/ensure-deps.sh"
  say "fetching Apache Kafka $KAFKA_VERSION from Maven Central into $KAFKA_HOME"
  rm -rf "$KAFKA_HOME.tmp"; mkdir -p "$KAFKA_HOME.tmp/libs"
  mvn -q -B -f "$WEIR_ROOT/deployments/local/kafka/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$KAFKA_HOME.tmp/libs" >&2 || die "mvn could not fetch Kafka $KAFKA_VERSION (is Maven Central reachable?)"
  ls "$KAFKA_HOME.tmp/libs"/kafka_2.13-*.jar >/dev/null 2>&1 || die "fetched jars lack kafka_2.13"
  touch "$KAFKA_HOME.tmp/.complete"
  rm -rf "$KAFKA_HOME"; mv "$KAFKA_HOME.tmp" "$KAFKA_HOME"
}

classpath() { echo "$LIBS/*"; }

run_class() {
  fetch; need_java
  exec "$(java_bin)" -Xmx512m -Dlog4j2.configurationFile="$WEIR_ROOT/deployments/local/kafka/log4j2.properties" \
    -cp "$(classpath)" "$@"
}

write_config() {
  mkdir -p "$KAFKA_DIR"
  cat > "$KAFKA_DIR/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$((KAFKA_PORT + 1))
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$((KAFKA_PORT + 1))
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$KAFKA_DIR/data
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.cleaner.backoff.ms=1000
delete.topic.enable=true
PROPS
}

up() {
  fetch; need_java
  local pidfile="$KAFKA_DIR/broker.pid" dev
  dev=$(weir_dev)
  if pid_alive "$pidfile"; then
    "$dev" wait-kafka -timeout 60s "127.0.0.1:$KAFKA_PORT" || die "a broker process runs (pid $(cat "$pidfile")) but does not answer on 127.0.0.1:$KAFKA_PORT; see $KAFKA_DIR/broker.log"
    say "Kafka already running on 127.0.0.1:$KAFKA_PORT"; return 0
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$KAFKA_PORT") 2>/dev/null; then
    die "port $KAFKA_PORT is taken by another process; set KAFKA_PORT to a free port"
  fi
  write_config
  if [ ! -f "$KAFKA_DIR/data/meta.properties" ]; then
    local cluster_id
    # A URL-safe base64 UUID; one starting with '-' would be read as an option by the tool.
    cluster_id=-
    while [[ $cluster_id == -* ]]; do
      cluster_id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
    done
    "$(java_bin)" -Xmx256m -Dlog4j2.configurationFile="$WEIR_ROOT/deployments/local/kafka/log4j2.properties" -cp "$(classpath)" \
      kafka.tools.StorageTool format --standalone -t "$cluster_id" -c "$KAFKA_DIR/server.properties" >"$KAFKA_DIR/format.log" 2>&1 \
      || die "formatting KRaft storage failed; see $KAFKA_DIR/format.log"
  fi
  say "starting Kafka $KAFKA_VERSION on 127.0.0.1:$KAFKA_PORT (data $KAFKA_DIR)"
  setsid nohup "$(java_bin)" -Xms256m -Xmx"$KAFKA_HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$WEIR_ROOT/deployments/local/kafka/log4j2.properties" \
    -cp "$(classpath)" kafka.Kafka "$KAFKA_DIR/server.properties" >"$KAFKA_DIR/broker.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  if ! "$dev" wait-kafka -timeout 120s "127.0.0.1:$KAFKA_PORT"; then
    tail -20 "$KAFKA_DIR/broker.log" >&2 || true
    stop_pid "$pidfile" kafka
    die "Kafka did not become ready on 127.0.0.1:$KAFKA_PORT; see $KAFKA_DIR/broker.log"
  fi
  say "Kafka ready on 127.0.0.1:$KAFKA_PORT"
}

case "${1:-}" in
  fetch) fetch ;;
  up) up ;;
  down) stop_pid "$KAFKA_DIR/broker.pid" kafka ;;
  status) if pid_alive "$KAFKA_DIR/broker.pid"; then echo "kafka running (pid $(cat "$KAFKA_DIR/broker.pid")) on 127.0.0.1:$KAFKA_PORT"; else echo "kafka not running"; exit 1; fi ;;
  run) shift; [ $# -ge 1 ] || die "usage: kafka.sh run CLASS [ARGS...]"; run_class "$@" ;;
  classpath) fetch; classpath ;;
  *) die "usage: kafka.sh fetch|up|down|status|run CLASS ARGS...|classpath" ;;
esac
