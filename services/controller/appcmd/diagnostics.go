package appcmd

import (
	"io"

	"github.com/hashicorp/hcl/v2"

	"github.com/weirhq/weir/libs/config/app"
)

// jsonDiagnostic is a diagnostic in --output json.
type jsonDiagnostic struct {
	File      string `json:"file,omitempty"`
	Line      int    `json:"line,omitempty"`
	Column    int    `json:"column,omitempty"`
	EndLine   int    `json:"end_line,omitempty"`
	EndColumn int    `json:"end_column,omitempty"`
	Severity  string `json:"severity"`
	Summary   string `json:"summary"`
	Detail    string `json:"detail,omitempty"`
}

func toJSON(diags hcl.Diagnostics) []jsonDiagnostic {
	out := make([]jsonDiagnostic, 0, len(diags))
	for _, d := range diags {
		j := jsonDiagnostic{Severity: "error", Summary: d.Summary, Detail: d.Detail}
		if d.Severity == hcl.DiagWarning {
			j.Severity = "warning"
		}
		if s := d.Subject; s != nil {
			j.File, j.Line, j.Column, j.EndLine, j.EndColumn = s.Filename, s.Start.Line, s.Start.Column, s.End.Line, s.End.Column
		}
		out = append(out, j)
	}
	return out
}

// writeText prints diagnostics with source snippets.
func writeText(w io.Writer, files map[string][]byte, diags hcl.Diagnostics) {
	if len(diags) == 0 {
		return
	}
	dw := hcl.NewDiagnosticTextWriter(w, app.Files(files), 100, false)
	_ = dw.WriteDiagnostics(diags) // errors of w are not actionable here
}
