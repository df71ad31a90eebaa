// Command worker is examples/fraud's worker: Weir's worker command line (services/worker/cli)
// with the app's Go handler score_payment compiled in.
//
//	go build -o fraud-worker ./examples/fraud/worker
//	fraud-worker serve --etcd-endpoints … --kafka-brokers …
package main

import (
	"github.com/weirhq/weir/libs/agents"
	"github.com/weirhq/weir/services/worker/cli"
)

func main() {
	cli.Main(agents.Handlers{"score_payment": scorePayment})
}
