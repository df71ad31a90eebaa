package appcmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/hashicorp/hcl/v2"

	"github.com/weirhq/weir/libs/config/app"
)

// FmtSummary is fmt's line in the controller's usage.
const FmtSummary = "rewrite app files in canonical format (-check lists files that need it, --output json)"

// fmtResult is one file in --output json.
type fmtResult struct {
	File        string           `json:"file"`
	Changed     bool             `json:"changed"` // needs (or needed) formatting
	Diagnostics []jsonDiagnostic `json:"diagnostics,omitempty"`
}

// Fmt runs `controller fmt`: it rewrites each FILE in canonical format and prints the
// names of the files it changed. With -check it writes nothing, lists the files that need
// formatting and exits 1 if there are any. A file with syntax errors is reported and makes
// the exit code 1. -var and -var-file are accepted, as validate takes them, and ignored:
// formatting does not evaluate anything.
func Fmt(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fmt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs)
	check := fs.Bool("check", false, "write nothing; list the files that need formatting and exit 1 if any do")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: controller fmt [-check] [--output json] FILE...\n\n"+
			"Rewrites app files in canonical format and lists the files it changed.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	paths, code, ok := parse(fs, &c, args, stdout)
	if !ok {
		return code
	}
	var results []fmtResult
	code = exitOK
	for _, p := range paths {
		r, diags, src := fmtFile(p, *check)
		results = append(results, r)
		if diags.HasErrors() || (*check && r.Changed) {
			code = exitError
		}
		if c.output == "text" {
			writeText(stderr, map[string][]byte{p: src}, diags)
			if r.Changed {
				fmt.Fprintln(stdout, p)
			}
		}
	}
	if c.output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"check": *check, "files": results}); err != nil {
			fmt.Fprintf(stderr, "fmt: writing JSON: %v\n", err)
			return exitError
		}
	}
	return code
}

func fmtFile(path string, check bool) (fmtResult, hcl.Diagnostics, []byte) {
	r := fmtResult{File: path}
	src, err := os.ReadFile(path)
	if err != nil {
		diags := hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read file", Detail: err.Error()}}
		r.Diagnostics = toJSON(diags)
		return r, diags, nil
	}
	out, err := app.FormatFile(path, src)
	if err != nil {
		var diags hcl.Diagnostics
		if !errors.As(err, &diags) {
			diags = hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot format", Detail: err.Error()}}
		}
		r.Diagnostics = toJSON(diags)
		return r, diags, src
	}
	r.Changed = !bytes.Equal(out, src)
	if r.Changed && !check {
		info, err := os.Stat(path)
		mode := os.FileMode(0o644)
		if err == nil {
			mode = info.Mode().Perm()
		}
		if err := os.WriteFile(path, out, mode); err != nil {
			diags := hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot write file", Detail: fmt.Sprintf("writing %s: %v", path, err)}}
			r.Diagnostics = toJSON(diags)
			return r, diags, src
		}
	}
	return r, nil, src
}
