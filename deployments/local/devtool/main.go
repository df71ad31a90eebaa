// Command weir-dev runs the local development stack's Go parts: an etcd server (etcd's own
// embed package) and readiness probes used by the deployments/local scripts.
package main

import (
	"os"

	"github.com/weirhq/weir/libs/devstack/devcli"
)

func main() { os.Exit(devcli.Run(os.Args[1:], os.Stdout, os.Stderr)) }
