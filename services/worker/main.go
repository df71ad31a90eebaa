// Command worker runs Weir's worker service; see package cli for its command line.
package main

import (
	"os"

	"github.com/weirhq/weir/services/worker/cli"
)

func main() { os.Exit(cli.Run(os.Args[1:], os.Stdout, os.Stderr)) }
