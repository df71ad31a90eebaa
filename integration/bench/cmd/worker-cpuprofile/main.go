// Command worker-cpuprofile is services/worker with a CPU profile of its whole life written to
// the file named by WEIR_CPUPROFILE (none when unset), for profiling the worker under
// bench-agents:
//
//	go build -o /tmp/pworker ./integration/bench/cmd/worker-cpuprofile
//	WEIR_CPUPROFILE=/tmp/worker.prof go run ./integration/bench/cmd/bench-agents -worker /tmp/pworker -only stateless
//	go tool pprof -top -cum /tmp/pworker /tmp/worker.prof
//
// The worker inherits the variable from bench-agents; the profile is written when the worker
// exits (bench-agents interrupts it at the end).
package main

import (
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/weirhq/weir/services/worker/cli"
)

func main() {
	path := os.Getenv("WEIR_CPUPROFILE")
	if path == "" {
		os.Exit(cli.Run(os.Args[1:], os.Stdout, os.Stderr))
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker-cpuprofile: creating the profile:", err)
		os.Exit(1)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "worker-cpuprofile: starting the profile:", err)
		os.Exit(1)
	}
	code := cli.Run(os.Args[1:], os.Stdout, os.Stderr)
	pprof.StopCPUProfile()
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "worker-cpuprofile: writing the profile:", err)
		code = 1
	}
	os.Exit(code)
}
