package appcmd

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/weirhq/weir/libs/config/app"
)

// ValidateSummary is validate's line in the controller's usage.
const ValidateSummary = "check app files offline: syntax, schema and semantics (-var, -var-file, --output json)"

// validateResult is one app in --output json.
type validateResult struct {
	File        string           `json:"file"`
	Valid       bool             `json:"valid"`
	App         string           `json:"app,omitempty"`
	Topics      int              `json:"topics,omitempty"`
	Agents      int              `json:"agents,omitempty"`
	Timers      int              `json:"timers,omitempty"`
	TaskGroups  int              `json:"task_groups,omitempty"`
	Handlers    []string         `json:"handlers,omitempty"`
	Diagnostics []jsonDiagnostic `json:"diagnostics"`
}

// Validate runs `controller validate`: each FILE is an app of its own, and a directory is
// one app made of the .hcl files in it. It returns 0 when all are valid, 1 when any is not,
// and 2 for a bad command line.
func Validate(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: controller validate [-var NAME=VALUE]... [-var-file FILE]... [--output json] FILE|DIR...\n\n"+
			"Checks each app offline and prints every problem with its position. Exits 0 when all\n"+
			"are valid, 1 otherwise. Go handler names are listed, not checked: the worker checks them.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	paths, code, ok := parse(fs, &c, args, stdout)
	if !ok {
		return code
	}
	opts, err := c.options()
	if err != nil {
		fmt.Fprintf(stderr, "validate: %v\n", err)
		return exitUsage
	}
	var results []validateResult
	code = exitOK
	for _, p := range paths {
		files, diags := readApp(p)
		var a *app.App
		if !diags.HasErrors() {
			var more hcl.Diagnostics
			a, more = app.Parse(files, opts)
			diags = append(diags, more...)
		}
		r := validateResult{File: p, Valid: a != nil, Diagnostics: toJSON(diags)}
		if a != nil {
			r.App, r.Topics, r.Agents, r.Timers = a.Name, len(a.Topics), len(a.Agents), len(a.Timers)
			r.TaskGroups, r.Handlers = len(a.TaskGroups()), a.Handlers()
		} else {
			code = exitError
		}
		results = append(results, r)
		if c.output == "text" {
			printText(stdout, stderr, r, files, diags)
		}
	}
	if c.output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"valid": code == exitOK, "apps": results}); err != nil {
			fmt.Fprintf(stderr, "validate: writing JSON: %v\n", err)
			return exitError
		}
	}
	return code
}

func printText(stdout, stderr io.Writer, r validateResult, files map[string][]byte, diags hcl.Diagnostics) {
	writeText(stderr, files, diags)
	if !r.Valid {
		n := 0
		for _, d := range diags {
			if d.Severity == hcl.DiagError {
				n++
			}
		}
		fmt.Fprintf(stderr, "%s: invalid (%d %s)\n", r.File, n, plural(n, "error"))
		return
	}
	fmt.Fprintf(stdout, "%s: valid: app %q (%d %s, %d %s, %d %s, %d task %s)\n", r.File, r.App,
		r.Topics, plural(r.Topics, "topic"), r.Agents, plural(r.Agents, "agent"),
		r.Timers, plural(r.Timers, "timer"), r.TaskGroups, plural(r.TaskGroups, "group"))
	if len(r.Handlers) > 0 {
		fmt.Fprintf(stdout, "%s: Go handlers used (checked by the worker): %s\n", r.File, strings.Join(r.Handlers, ", "))
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// readApp reads a file, or the .hcl files of a directory, as one app.
func readApp(path string) (map[string][]byte, hcl.Diagnostics) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read app", Detail: err.Error()}}
	}
	if !info.IsDir() {
		return app.ReadFiles([]string{path})
	}
	matches, err := filepath.Glob(filepath.Join(path, "*.hcl"))
	if err != nil || len(matches) == 0 {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "No app files",
			Detail: fmt.Sprintf("Directory %s holds no .hcl files.", path)}}
	}
	slices.Sort(matches)
	return app.ReadFiles(matches)
}
