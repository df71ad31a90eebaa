// Package testcmd is `controller test`: it runs an app's pipelines in-process on input
// records and compares what they emit with expected records, without Kafka, etcd or
// Pebble (see libs/agents/testkit).
package testcmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/weirhq/weir/libs/agents/testkit"
	"github.com/weirhq/weir/libs/config/app"
)

// Summary is test's line in the controller's usage.
const Summary = "run an app's pipelines in-process on input records and diff the output (--input, --expect)"

// Exit codes, as libs/service defines them.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

type options struct {
	input, expect string
	partitions    int
	update        bool
	vars          listFlag
	varFiles      listFlag
}

// Run runs `controller test APP.hcl --input in.jsonl --expect out.jsonl`. It returns 0
// when the outputs match, 1 when they differ or the app fails, 2 for a bad command line.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.input, "input", "", "JSON lines `file` of input records: {\"topic\", \"key\", \"value\", \"timestamp\"}")
	fs.StringVar(&o.expect, "expect", "", "JSON lines `file` of the expected output records")
	fs.IntVar(&o.partitions, "partitions", 0, "give every topic `N` partitions instead of the app's counts")
	fs.BoolVar(&o.update, "update", false, "write the actual output to the --expect file instead of comparing")
	fs.Var(&o.vars, "var", "set a variable: `NAME=VALUE` (repeatable)")
	fs.Var(&o.varFiles, "var-file", "read variables from an HCL `file` (repeatable)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: controller test [flags] APP.hcl|DIR --input IN.jsonl --expect OUT.jsonl\n\n"+
			"Runs the app's agents in-process (no Kafka) on the input records and compares the records\n"+
			"they emit to the app's topics, ordered by topic, partition and emission, with the expected\n"+
			"ones. Prints a line diff (- expected, + got) and exits 1 when they differ. Apps with Go\n"+
			"handlers need a Go test with testkit.Run instead.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	paths, code, ok := parseArgs(fs, args, stdout)
	if !ok {
		return code
	}
	switch {
	case len(paths) != 1:
		fmt.Fprintf(stderr, "test: give exactly one app file or directory, got %d\n", len(paths))
		return exitUsage
	case o.input == "" || o.expect == "":
		fmt.Fprintln(stderr, "test: --input and --expect are required")
		return exitUsage
	case o.partitions < 0:
		fmt.Fprintf(stderr, "test: --partitions must be positive, got %d\n", o.partitions)
		return exitUsage
	}
	if err := run(ctx, paths[0], o, stdout, stderr); err != nil {
		if errors.Is(err, errMismatch) {
			return exitError
		}
		fmt.Fprintf(stderr, "test: %v\n", err)
		return exitError
	}
	return exitOK
}

var errMismatch = errors.New("outputs differ")

func run(ctx context.Context, path string, o options, stdout, stderr io.Writer) error {
	a, err := loadApp(path, o, stderr)
	if err != nil {
		return err
	}
	if hs := a.Handlers(); len(hs) > 0 {
		fmt.Fprintf(stderr, "test: note: the app uses Go handlers (%s); records reaching them fail: test them with testkit.Run in a Go test\n", strings.Join(hs, ", "))
	}
	inputs, err := readFile(o.input, testkit.ReadInputs)
	if err != nil {
		return err
	}
	var opts []testkit.Option
	if o.partitions > 0 {
		opts = append(opts, testkit.WithPartitions(o.partitions))
	}
	d, err := testkit.New(a, opts...)
	if err != nil {
		return err
	}
	for i, in := range inputs {
		if err := d.Send(ctx, in); err != nil {
			return fmt.Errorf("%s: input %d: %w", o.input, i+1, err)
		}
	}
	outs, err := d.Outputs()
	if err != nil {
		return err
	}
	got, err := testkit.Lines(outs)
	if err != nil {
		return err
	}
	if o.update {
		data := strings.Join(got, "\n")
		if data != "" {
			data += "\n"
		}
		if err := os.WriteFile(o.expect, []byte(data), 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", o.expect, err)
		}
		fmt.Fprintf(stdout, "%s: wrote %d records\n", o.expect, len(got))
		return nil
	}
	wantOuts, err := readFile(o.expect, testkit.ReadOutputs)
	if err != nil {
		return err
	}
	want, err := testkit.Lines(wantOuts)
	if err != nil {
		return err
	}
	var diff strings.Builder
	if testkit.Diff(&diff, want, got) {
		fmt.Fprintf(stdout, "FAIL %s: output differs from %s (- expected, + got):\n%s", path, o.expect, diff.String())
		return errMismatch
	}
	fmt.Fprintf(stdout, "ok %s: %d inputs, %d outputs match %s\n", path, len(inputs), len(got), o.expect)
	return nil
}

func readFile[T any](path string, read func(io.Reader) ([]T, error)) ([]T, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	defer f.Close()
	out, err := read(f)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return out, nil
}

// loadApp parses the app at path (a file, or a directory of .hcl files), printing
// diagnostics.
func loadApp(path string, o options, stderr io.Writer) (*app.App, error) {
	paths := []string{path}
	if info, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("reading the app: %w", err)
	} else if info.IsDir() {
		matches, _ := filepath.Glob(filepath.Join(path, "*.hcl"))
		if len(matches) == 0 {
			return nil, fmt.Errorf("reading the app: directory %s holds no .hcl files", path)
		}
		slices.Sort(matches)
		paths = matches
	}
	files, diags := app.ReadFiles(paths)
	opts := app.Options{Vars: o.vars}
	for _, p := range o.varFiles {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("reading -var-file: %w", err)
		}
		opts.VarFiles = append(opts.VarFiles, app.File{Name: p, Src: b})
	}
	var a *app.App
	if !diags.HasErrors() {
		var more hcl.Diagnostics
		a, more = app.Parse(files, opts)
		diags = append(diags, more...)
	}
	if len(diags) > 0 {
		w := hcl.NewDiagnosticTextWriter(stderr, app.Files(files), 100, false)
		_ = w.WriteDiagnostics(diags)
	}
	if a == nil {
		return nil, fmt.Errorf("%s is not a valid app", path)
	}
	return a, nil
}

// parseArgs parses flags, allowing them after the app's path.
func parseArgs(fs *flag.FlagSet, args []string, stdout io.Writer) ([]string, int, bool) {
	var paths []string
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
			return paths, exitOK, true
		}
		paths = append(paths, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
