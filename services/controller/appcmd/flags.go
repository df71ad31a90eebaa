package appcmd

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/weirhq/weir/libs/config/app"
)

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// common are the flags validate and fmt share.
type common struct {
	vars     listFlag
	varFiles listFlag
	output   string
}

func (c *common) register(fs *flag.FlagSet) {
	fs.Var(&c.vars, "var", "set a variable: `NAME=VALUE` (repeatable)")
	fs.Var(&c.varFiles, "var-file", "read variables from an HCL `file` of NAME = VALUE lines (repeatable)")
	fs.StringVar(&c.output, "output", "text", "output `format`: text or json")
}

// parse parses args, allowing flags after file names, and returns the file names. It
// returns an exit code and false when the command should stop.
func parse(fs *flag.FlagSet, c *common, args []string, stdout io.Writer) ([]string, int, bool) {
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(stdout)
				fs.Usage()
				return nil, exitOK, false
			}
			return nil, exitUsage, false
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if c != nil && c.output != "text" && c.output != "json" {
		fmt.Fprintf(fs.Output(), "%s: --output must be text or json, got %q\n", fs.Name(), c.output)
		return nil, exitUsage, false
	}
	if len(files) == 0 {
		fmt.Fprintf(fs.Output(), "%s: no files given\n\n", fs.Name())
		fs.Usage()
		return nil, exitUsage, false
	}
	return files, exitOK, true
}

// options turns the flags into parse options, reading the var files.
func (c *common) options() (app.Options, error) {
	opts := app.Options{Vars: c.vars}
	for _, p := range c.varFiles {
		b, err := os.ReadFile(p)
		if err != nil {
			return app.Options{}, fmt.Errorf("reading -var-file: %w", err)
		}
		opts.VarFiles = append(opts.VarFiles, app.File{Name: p, Src: b})
	}
	return opts, nil
}

// Exit codes, as libs/service defines them.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)
