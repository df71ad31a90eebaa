package app

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary files to the parser, validator and formatter: they may report
// errors but must never panic, and a valid app must encode as JSON.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/invalid/*.hcl")
	seeds = append(seeds, exampleFiles(f)...)
	for _, p := range seeds {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		a, diags := Parse(map[string][]byte{"fuzz.hcl": src}, Options{Handlers: testHandlers, Vars: []string{"x=1"}})
		for _, d := range diags {
			_ = FormatDiagnostic(d)
		}
		if a != nil {
			if _, err := a.NormalizedJSON(); err != nil {
				t.Errorf("NormalizedJSON: %v", err)
			}
			for _, m := range a.Models {
				_ = m.RecordSchema()
			}
			for _, tp := range a.Topics {
				_ = tp.Spec()
			}
			_ = a.InternalTopics()
		}
		_, _ = Format(src)
	})
}
