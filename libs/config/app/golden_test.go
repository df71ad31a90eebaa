package app

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/invalid")

// testHandlers is the handler registry the invalid files are checked against.
var testHandlers = []string{"enrich", "score_payment"}

// TestInvalidGolden parses every testdata/invalid/*.hcl file and compares its diagnostics,
// one "file:line:col: severity: summary: detail" line each, with NAME.golden.
func TestInvalidGolden(t *testing.T) {
	paths, err := filepath.Glob("testdata/invalid/*.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 30 {
		t.Errorf("testdata/invalid holds %d files, want at least 30", len(paths))
	}
	for _, p := range paths {
		name := strings.TrimSuffix(filepath.Base(p), ".hcl")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			a, diags := Parse(map[string][]byte{filepath.Base(p): src}, Options{Handlers: testHandlers})
			if a != nil || !diags.HasErrors() {
				t.Fatalf("parsed without errors; want diagnostics")
			}
			var b strings.Builder
			for _, d := range diags {
				if d.Subject == nil {
					t.Errorf("diagnostic without a position: %s", FormatDiagnostic(d))
				}
				b.WriteString(FormatDiagnostic(d) + "\n")
			}
			golden := strings.TrimSuffix(p, ".hcl") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestInvalidGolden -update to create it)", err)
			}
			if got := b.String(); got != string(want) {
				t.Errorf("diagnostics differ from %s (go test -update rewrites it)\ngot:\n%swant:\n%s", golden, got, want)
			}
		})
	}
}

// TestThreeIndependentErrors checks that problems in different blocks are all reported,
// each with its own position.
func TestThreeIndependentErrors(t *testing.T) {
	src, err := os.ReadFile("testdata/invalid/three_errors.hcl")
	if err != nil {
		t.Fatal(err)
	}
	_, diags := Parse(map[string][]byte{"three_errors.hcl": src}, Options{Handlers: testHandlers})
	if len(diags) != 3 {
		for _, d := range diags {
			t.Log(FormatDiagnostic(d))
		}
		t.Fatalf("got %d diagnostics, want 3", len(diags))
	}
	lines := map[int]bool{}
	for _, d := range diags {
		if d.Subject == nil {
			t.Fatalf("diagnostic without a position: %s", FormatDiagnostic(d))
		}
		lines[d.Subject.Start.Line] = true
	}
	if len(lines) != 3 {
		t.Errorf("diagnostics on %d distinct lines, want 3", len(lines))
	}
}
