#!/usr/bin/env bash
# make bench-io: Weir's Kafka I/O figures beside the broker's own ProducerPerformance and
# ConsumerPerformance on the same broker, record count and value size. Needs KAFKA_BROKERS
# (with-stack.sh provides it). Prints one `name=value unit` line per figure.
set -euo pipefail
. "$(dirname "$0")/common.sh"
[ -n "${KAFKA_BROKERS:-}" ] || die "KAFKA_BROKERS is not set (run through make bench-io)"
RECORDS=${BENCH_RECORDS:-1000000}
SIZE=${BENCH_VALUE_SIZE:-100}
PARTS=8
broker=${KAFKA_BROKERS%%,*}
kafka="$WEIR_ROOT/deployments/local/kafka.sh"

(cd "$WEIR_ROOT" && go build -o bin/bench-io ./integration/bench/cmd/bench-io)
echo "# weir (libs/topics): $RECORDS records of $SIZE bytes, $PARTS partitions, acks=all, lz4"
"$WEIR_ROOT/bin/bench-io" -records "$RECORDS" -value-size "$SIZE" -partitions "$PARTS"

topic="bench-io-java-$(date +%s%N)"
"$kafka" run org.apache.kafka.tools.TopicCommand --bootstrap-server "$broker" --create --topic "$topic" \
  --partitions "$PARTS" --replication-factor 1 >/dev/null
trap '"$kafka" run org.apache.kafka.tools.TopicCommand --bootstrap-server "$broker" --delete --topic "$topic" >/dev/null 2>&1 || true' EXIT

echo "# Kafka's ProducerPerformance/ConsumerPerformance (Java client), same broker and sizes, acks=all, lz4"
prod=$("$kafka" run org.apache.kafka.tools.ProducerPerformance --topic "$topic" --num-records "$RECORDS" \
  --record-size "$SIZE" --throughput -1 \
  --producer-props bootstrap.servers="$broker" acks=all compression.type=lz4 linger.ms=5 2>&1 | tail -1)
# "1000000 records sent, 512032.8 records/sec (48.83 MB/sec), ..."
echo "java_produce_rps=$(echo "$prod" | sed -n 's/.* records sent, \([0-9.]*\) records\/sec.*/\1/p' | cut -d. -f1) records/s"
echo "java_produce_mbps=$(echo "$prod" | sed -n 's/.*records\/sec (\([0-9.]*\) MB\/sec).*/\1/p') MiB/s"

cons=$("$kafka" run org.apache.kafka.tools.ConsumerPerformance --bootstrap-server "$broker" --topic "$topic" \
  --messages "$RECORDS" --timeout 60000 2>&1 | tail -1)
# CSV: start, end, MB, MB.sec, nMsg, nMsg.sec, rebalance.ms, fetch.ms, fetch.MB.sec, fetch.nMsg.sec
echo "java_consume_rps=$(echo "$cons" | awk -F', *' '{print int($10)}') records/s (fetch time, excluding group join)"
echo "java_consume_mbps=$(echo "$cons" | awk -F', *' '{print $9}') MiB/s"
