package app

import (
	"bytes"
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// Format returns src in canonical layout; see FormatFile.
func Format(src []byte) ([]byte, error) { return FormatFile("<input>", src) }

// FormatFile returns src, the file called name, in canonical layout, as `controller fmt`
// writes it: hclwrite's formatting (aligned equals signs, two-space indents), then
// trailing white space removed, at most one blank line in a row, none at the start or the
// end, and one final newline. Heredocs and comments spanning lines are left as they are.
// Source with syntax errors is not formatted; the error wraps the hcl.Diagnostics.
func FormatFile(name string, src []byte) ([]byte, error) {
	if _, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos); diags.HasErrors() {
		return nil, fmt.Errorf("formatting %s: %w", name, diags)
	}
	out := hclwrite.Format(src)
	verbatim := verbatimLines(out)
	var b bytes.Buffer
	blank := 0
	for i, l := range bytes.Split(out, []byte("\n")) {
		if verbatim[i+1] {
			b.Write(l)
			b.WriteByte('\n')
			continue
		}
		l = bytes.TrimRight(l, " \t\r")
		if len(l) == 0 {
			blank++
			continue
		}
		if b.Len() > 0 && blank > 0 {
			b.WriteByte('\n')
		}
		blank = 0
		b.Write(l)
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// verbatimLines returns the (1-based) lines of src inside heredocs and multi-line
// comments, whose spaces and blank lines are content.
func verbatimLines(src []byte) map[int]bool {
	tokens, _ := hclsyntax.LexConfig(src, "", hcl.InitialPos)
	lines := map[int]bool{}
	open := 0
	for _, tok := range tokens {
		switch tok.Type {
		case hclsyntax.TokenOHeredoc:
			open = tok.Range.Start.Line
		case hclsyntax.TokenCHeredoc:
			for l := open + 1; open > 0 && l < tok.Range.Start.Line; l++ {
				lines[l] = true
			}
			open = 0
		case hclsyntax.TokenComment:
			for l := tok.Range.Start.Line + 1; l <= tok.Range.End.Line && tok.Range.End.Column > 1; l++ {
				lines[l] = true
			}
		}
	}
	return lines
}
