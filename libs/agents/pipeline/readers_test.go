package pipeline_test

import (
	"slices"
	"testing"

	"github.com/weirhq/weir/libs/agents/pipeline"
)

func TestAgentsReading(t *testing.T) {
	p, err := pipeline.Compile(parse(t, `
app "r" {}
topic "a" {}
topic "b" {}
topic "c" {}
agent "two" {
  from = [topic.a, topic.b]
  emit { to = topic.c }
}
agent "one" {
  from = topic.a
  emit { to = topic.c }
}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.AgentsReading("a", ""); !slices.Equal(got, []string{"one", "two"}) {
		t.Errorf("agents reading a: %v, want [one two]", got)
	}
	if got := p.AgentsReading("b", ""); !slices.Equal(got, []string{"two"}) {
		t.Errorf("agents reading b: %v, want [two]", got)
	}
	if got := p.AgentsReading("c", ""); len(got) != 0 {
		t.Errorf("agents reading c: %v, want none", got)
	}
	if got := p.AgentsReading("a", "no such group"); len(got) != 0 {
		t.Errorf("agents of another group reading a: %v, want none", got)
	}
}
