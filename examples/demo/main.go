// Command demo is what `make demo` runs: the whole of Weir in one process, with nothing to
// install. It starts an embedded etcd server (libs/devstack) and an in-process
// Kafka-protocol dev broker (kfake, with its data on disk) unless KAFKA_BROKERS names a real
// broker; then a controller, two workers and the web service; applies the page-views example
// (examples/pageviews/app.hcl) over the controller's Connect API; and runs a generator that
// produces page views at a steady rate. It prints the dashboard URL and a curl command that
// returns live counts from the web service's QueryService. Ctrl-C stops everything.
//
// Data lives under .weir-demo/ (or $WEIR_CACHE/demo) and is wiped at every start, so each run
// begins fresh. The services' logs go to demo.log in that directory.
//
// kfake is a development broker: lenient about transactions and timing. It shows the system
// working; the integration tests prove it against a real Kafka broker.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Stdout); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}
