package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// Expr is a pipeline expression kept for the worker to compile: the parsed expression, its
// source text (canonically formatted) and where it is written.
type Expr struct {
	Expr   hcl.Expression
	Source string
	Range  hcl.Range
}

// IsSet reports whether the expression was given.
func (e Expr) IsSet() bool { return e.Expr != nil }

// MarshalJSON writes the expression as its source text.
func (e Expr) MarshalJSON() ([]byte, error) { return marshalString(e.Source) }

// marshalString encodes s as JSON without escaping <, > and &, so that expressions read
// as written.
func marshalString(s string) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return nil, fmt.Errorf("encoding %q: %w", s, err)
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// newExpr captures expr with its source text from src, the bytes of the file it is in.
func newExpr(expr hcl.Expression, src []byte) Expr {
	rng := expr.Range()
	text := ""
	if rng.End.Byte <= len(src) && rng.Start.Byte <= rng.End.Byte {
		text = string(rng.SliceBytes(src))
	}
	return Expr{Expr: expr, Source: formatSnippet(text), Range: rng}
}

// formatSnippet formats an expression's source the way fmt would, so that a change in
// layout alone does not change the normalized form.
func formatSnippet(text string) string {
	return strings.TrimSpace(string(hclwrite.Format([]byte(text))))
}

// Ref is a reference to a declared object: topic.NAME, table.NAME or model.NAME.
type Ref struct {
	Kind  string // "topic", "table" or "model"
	Name  string
	Range hcl.Range
}

// IsSet reports whether the reference was given.
func (r Ref) IsSet() bool { return r.Name != "" }

// String returns the reference as written: "topic.page_views".
func (r Ref) String() string {
	if !r.IsSet() {
		return ""
	}
	return r.Kind + "." + r.Name
}

// MarshalJSON writes the reference as written.
func (r Ref) MarshalJSON() ([]byte, error) { return json.Marshal(r.String()) }

// IsZero reports whether the expression is unset, for encoding/json's omitzero.
func (e Expr) IsZero() bool { return e.Expr == nil }

// IsZero reports whether the reference is unset, for encoding/json's omitzero.
func (r Ref) IsZero() bool { return r.Name == "" }
