# Weir: one build for every service, library and test. `make help` lists the targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO       ?= go
LOCAL    := deployments/local
STACK    := $(LOCAL)/with-stack.sh
SERVICES := controller worker web
# Packages with tests behind the `integration` build tag run against the real broker and etcd.
INTEGRATION_PKGS ?= $(shell grep -rl --include='*_test.go' '^//go:build integration' . | xargs -r -n1 dirname | sort -u)
GOTESTFLAGS ?=

.PHONY: help build test test-unit test-integration test-kill check generate generate-check demo demo-io bench bench-io bench-assign bench-restore bench-agents \
        kafka-up kafka-down etcd-up etcd-down deps clean fuzz

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build bin/controller, bin/worker, bin/web
	@mkdir -p bin
	@for s in $(SERVICES); do $(GO) build -o bin/$$s ./services/$$s || exit 1; done
	@echo "built: $(addprefix bin/,$(SERVICES))"

deps: ## check for (and where possible install) Go, Java 17+, Maven and the Kafka jars
	@$(LOCAL)/ensure-deps.sh

test: deps ## unit + integration tests against one real Kafka broker and one real etcd
	@$(STACK) $(MAKE) --no-print-directory test-unit test-integration

test-unit: ## unit tests (no broker needed)
	$(GO) test $(GOTESTFLAGS) ./...

test-integration: ## integration tests (uses KAFKA_BROKERS/ETCD_ENDPOINTS, else starts its own)
	$(GO) test $(GOTESTFLAGS) -tags integration -count=1 -p 1 -timeout 20m $(INTEGRATION_PKGS)

fuzz: ## run each fuzz target for a fixed number of inputs (FUZZ_RECORD=100000x, FUZZ_FASTJSON=100000x, FUZZ_PARSE=20000x; a duration like 30s works too)
	$(GO) test ./libs/topics -run '^$$' -fuzz FuzzRecordCodec -fuzztime $${FUZZ_RECORD:-100000x} -fuzzminimizetime 1s
	$(GO) test ./libs/topics -run '^$$' -fuzz FuzzFastJSON -fuzztime $${FUZZ_FASTJSON:-100000x} -fuzzminimizetime 1s
	$(GO) test ./libs/config/app -run '^$$' -fuzz FuzzParse -fuzztime $${FUZZ_PARSE:-20000x} -fuzzminimizetime 1s

check: ## gofmt, go vet, import rules (libs never import services; services never import each other)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags integration ./...
	@$(LOCAL)/check-imports.sh

generate: ## regenerate protobuf/Connect code from proto/
	@tools/generate.sh

generate-check: ## fail if committed generated code differs from what the generator makes (skipped when protoc is absent)
	@tools/generate.sh --check

demo: build ## zero setup: embedded etcd + in-process dev broker, controller, 2 workers, web, page views (Ctrl-C stops)
	@$(GO) run ./examples/demo

demo-io: deps build ## word count over a real local Kafka broker through libs/topics only
	@$(STACK) $(GO) run ./examples/iodemo

bench: bench-io bench-assign bench-restore bench-agents ## run every benchmark (bench-*)

bench-io: deps ## producer/consumer throughput and partition add/remove stall vs the broker's own perf tools
	@$(STACK) $(LOCAL)/bench-io.sh

bench-assign: ## assignment of 10 000 partitions to 1 000 workers: compute and etcd write times
	@$(STACK) $(GO) run ./integration/bench/cmd/bench-assign

test-kill: deps ## crash test, 1 and 0 standbys: 1M records each, 5 kill -9s, a kill at each failpoint, a pause, a zombie; exact tables (WEIR_KILL_RECORDS, WEIR_KILL_COUNT, WEIR_KILL_STANDBYS)
	@$(STACK) env WEIR_KILL_RECORDS=$${WEIR_KILL_RECORDS:-1000000} WEIR_KILL_COUNT=$${WEIR_KILL_COUNT:-5} \
		$(GO) test -tags integration -count=1 -timeout 40m -run TestKillExactState -v ./integration/

bench-agents: deps ## agents on 1M 100-byte JSON records: raw loop vs stateless vs stateful agent on one worker (median of 3)
	@$(STACK) $(GO) run ./integration/bench/cmd/bench-agents

bench-restore: deps ## restore of a 1M-key table from its changelog: restore_rps, rss_mb; standby_lag_p99_ms at 50k changes/s
	@$(STACK) $(GO) run ./integration/bench/cmd/bench-restore

kafka-up: deps ## start the local Kafka broker (KAFKA_PORT, default 19092)
	@$(LOCAL)/kafka.sh up
kafka-down: ## stop the local Kafka broker
	@$(LOCAL)/kafka.sh down
etcd-up: ## start the local etcd (ETCD_PORT, default 12379)
	@$(LOCAL)/etcd.sh up
etcd-down: ## stop the local etcd
	@$(LOCAL)/etcd.sh down

clean: ## remove build outputs (not the cached Kafka jars in ~/.cache/weir)
	rm -rf bin
