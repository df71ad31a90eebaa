package app

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/libs/topics"
)

func parseExample(t *testing.T, name string, opts Options) *App {
	t.Helper()
	p := examplesDir + "/" + name + "/app.hcl"
	src, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	a, diags := Parse(map[string][]byte{p: src}, opts)
	for _, d := range diags {
		t.Error(FormatDiagnostic(d))
	}
	if a == nil {
		t.FailNow()
	}
	return a
}

func TestTaskGroupsOfFraud(t *testing.T) {
	a := parseExample(t, "fraud", Options{})
	got := a.TaskGroups()
	if len(got) != 2 {
		t.Fatalf("got %d task groups, want 2: %+v", len(got), got)
	}
	g := got[0]
	if g.Name != "flag_large_payments" || !slices.Equal(g.Agents, []string{"flag_large_payments", "track_spend"}) ||
		!slices.Equal(g.Topics, []string{"payments"}) || !slices.Equal(g.Tables, []string{"spend_per_day"}) || g.Partitions != 12 {
		t.Errorf("first group = %+v; want the payments agents with spend_per_day (not the global table), 12 partitions", g)
	}
	if g := got[1]; g.Name != "score" || !slices.Equal(g.Topics, []string{"suspicious_payments"}) {
		t.Errorf("second group = %+v; want score alone", g)
	}
	if h := a.Handlers(); !slices.Equal(h, []string{"score_payment"}) {
		t.Errorf("Handlers() = %v", h)
	}
	var names []string
	for _, s := range a.InternalTopics() {
		names = append(names, s.Name)
	}
	want := []string{"weir.fraud.flag_large_payments.changelog", "weir.fraud.score.changelog"}
	if !slices.Equal(names, want) {
		t.Errorf("InternalTopics = %v, want %v", names, want)
	}
}

func TestRepartitionTopics(t *testing.T) {
	a := parseExample(t, "wordcount", Options{})
	g := a.TaskGroups()[0]
	if !slices.Equal(g.RepartitionTopics, []string{"weir.wordcount.count_words.repartition-2"}) {
		t.Errorf("repartition topics = %v", g.RepartitionTopics)
	}
}

func TestVariables(t *testing.T) {
	a := parseExample(t, "pageviews", Options{
		VarFiles: []File{{Name: "prod.hcl", Src: []byte("partitions = 4\n")}},
		Vars:     []string{"partitions=16"},
	})
	if a.Partitions != 16 || a.Topic("page_views").Partitions != 16 || a.TaskGroups()[0].Partitions != 16 {
		t.Errorf("partitions = %d; want 16 from -var, which wins over the var file", a.Partitions)
	}
	src, _ := os.ReadFile(examplesDir + "/pageviews/app.hcl")
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{Vars: []string{"nope=1"}}, "Undeclared variable"},
		{Options{Vars: []string{"partitions"}}, "Invalid -var option"},
		{Options{Vars: []string{"partitions=lots"}}, "Variables not allowed"},
		{Options{VarFiles: []File{{Name: "v.hcl", Src: []byte("partitions = \"x\"\n")}}}, "Invalid variable value"},
	} {
		_, diags := Parse(map[string][]byte{"app.hcl": src}, tc.opts)
		if !strings.Contains(diags.Error(), tc.want) {
			t.Errorf("%+v: diagnostics %q do not mention %q", tc.opts, diags.Error(), tc.want)
		}
	}
}

func TestModelRecordSchemaAndTopicSpec(t *testing.T) {
	a := parseExample(t, "fraud", Options{})
	rs := a.Model("Payment").RecordSchema()
	if rs.Name != "Payment" || len(rs.Fields) != 5 || rs.Fields[2].Type != topics.TypeNumber || !rs.Fields[2].Required || rs.Fields[3].Default != "EUR" {
		t.Errorf("RecordSchema = %+v", rs)
	}
	if _, err := topics.NewRecordCodec(rs); err != nil {
		t.Errorf("NewRecordCodec: %v", err)
	}
	spec := a.Topic("payments").Spec()
	if spec.Name != "payments" || spec.Partitions != 12 || spec.Replication != 3 || spec.Retention != 7*24*time.Hour {
		t.Errorf("Spec = %+v", spec)
	}
	if err := spec.Validate(); err != nil {
		t.Error(err)
	}
	if c := a.Topic("payments").Value.String(); c != "model:Payment" {
		t.Errorf("value codec %q", c)
	}
}

// TestNormalizedJSONIsCanonical checks that layout, block order and the split into files
// do not change the normalized form.
func TestNormalizedJSONIsCanonical(t *testing.T) {
	one := map[string][]byte{"a.hcl": []byte(`
app "x" {}
topic "b" {}
topic "a" {
  partitions = 2
}
agent "g" {
  from = topic.a
  filter {
    when = value.n>1
  }
  emit {
    to = topic.b
  }
}
`)}
	two := map[string][]byte{
		"2.hcl": []byte("agent \"g\" {\n  from = [topic.a]\n  filter {\n    when = value.n > 1\n  }\n  emit {\n    to = topic.b\n  }\n}\ntopic \"a\" {\n  partitions = 1 + 1\n}\n"),
		"1.hcl": []byte("topic \"b\" {}\napp \"x\" {\n  guarantee = \"exact_state\"\n}\n"),
	}
	var out [2]string
	for i, files := range []map[string][]byte{one, two} {
		a, diags := Parse(files, Options{})
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		b, err := a.NormalizedJSON()
		if err != nil {
			t.Fatal(err)
		}
		out[i] = string(b)
	}
	if out[0] != out[1] {
		t.Errorf("normalized forms differ:\n%s\n---\n%s", out[0], out[1])
	}
	if !strings.Contains(out[0], `"when": "value.n > 1"`) {
		t.Errorf("expression not kept as formatted source:\n%s", out[0])
	}
}

func TestFormat(t *testing.T) {
	src := []byte("\n\napp \"x\" {   \n  partitions=2\n  standby_replicas = 1\n\n\n}\n\n\n\ntopic \"a\" {\n description = <<EOT\n  keep   \n\n\n  this\nEOT\n}\n\n")
	want := "app \"x\" {\n  partitions       = 2\n  standby_replicas = 1\n\n}\n\ntopic \"a\" {\n  description = <<EOT\n  keep   \n\n\n  this\nEOT\n}\n"
	got, err := Format(src)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("Format:\n%q\nwant\n%q", got, want)
	}
	again, _ := Format(got)
	if string(again) != string(got) {
		t.Errorf("Format is not idempotent:\n%q", again)
	}
	if _, err := Format([]byte("app {")); err == nil {
		t.Error("Format accepted a syntax error")
	}
}

func TestDurations(t *testing.T) {
	for in, want := range map[string]string{"1m": "1m", "90s": "1m30s", "7d": "7d", "1h0m": "1h", "250ms": "250ms"} {
		d, err := ParseDuration(in)
		if err != nil || d.String() != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %s", in, d, err, want)
		}
	}
	for _, bad := range []string{"", "1 minute", "d", "1.5d", "99999999999999d"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) succeeded", bad)
		}
	}
}
