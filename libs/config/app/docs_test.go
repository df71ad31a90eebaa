package app

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

const referencePath = "../../../docs/language.md"

func readReference(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(referencePath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var headingRE = regexp.MustCompile("(?m)^#+ .*`([a-z_]+)` block.*$")

// TestReferenceCoversSchema checks that docs/language.md has a section for every block
// type of the schema, naming each of its attributes and holding an example.
func TestReferenceCoversSchema(t *testing.T) {
	doc := readReference(t)
	sections := map[string]string{}
	locs := headingRE.FindAllStringSubmatchIndex(doc, -1)
	for i, loc := range locs {
		end := len(doc)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		sections[doc[loc[2]:loc[3]]] = doc[loc[0]:end]
	}
	for _, b := range Reference() {
		sec, ok := sections[b.Type]
		if !ok {
			t.Errorf("docs/language.md has no section headed \"`%s` block\"", b.Type)
			continue
		}
		for _, a := range b.Attributes {
			if !strings.Contains(sec, "`"+a+"`") {
				t.Errorf("the `%s` block section does not document attribute `%s`", b.Type, a)
			}
		}
		if !strings.Contains(sec, "```hcl") {
			t.Errorf("the `%s` block section has no ```hcl example", b.Type)
		}
	}
}

var exampleRE = regexp.MustCompile("(?s)(<!-- fragment -->\\s*\\n)?```hcl\\n(.*?)```")

// TestReferenceExamples validates every ```hcl example of docs/language.md as an app, or
// only parses it when a <!-- fragment --> comment precedes it.
func TestReferenceExamples(t *testing.T) {
	doc := readReference(t)
	matches := exampleRE.FindAllStringSubmatchIndex(doc, -1)
	if len(matches) < 10 {
		t.Fatalf("found %d examples in docs/language.md; want every block covered", len(matches))
	}
	for _, m := range matches {
		line := strings.Count(doc[:m[4]], "\n") + 1
		src := []byte(doc[m[4]:m[5]])
		name := "language.md"
		start := hcl.Pos{Line: line, Column: 1, Byte: 0}
		if m[2] >= 0 {
			if _, diags := hclsyntax.ParseConfig(src, name, start); diags.HasErrors() {
				t.Errorf("fragment at line %d: %s", line, diags.Error())
			}
			continue
		}
		_, diags := Parse(map[string][]byte{name: src}, Options{})
		for _, d := range diags {
			t.Errorf("example at line %d: %s", line, FormatDiagnostic(d))
		}
	}
}
