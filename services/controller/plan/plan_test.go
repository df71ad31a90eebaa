package plan

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weirhq/weir/libs/config/app"
	"github.com/weirhq/weir/libs/topics"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func parseApp(t *testing.T, src string) (*app.App, []byte) {
	t.Helper()
	a, diags := app.Parse(map[string][]byte{"app.hcl": []byte(src)}, app.Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	j, err := a.NormalizedJSON()
	if err != nil {
		t.Fatal(err)
	}
	return a, j
}

func example(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "examples", name, "app.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// existing says every topic of a exists as it wants.
func existing(a *app.App) map[string]topics.TopicInfo {
	out := map[string]topics.TopicInfo{}
	for _, tp := range Topics(a) {
		out[tp.Spec.Name] = topics.TopicInfo{Name: tp.Spec.Name, Partitions: tp.Spec.Partitions, Configs: tp.Spec.ConfigEntries()}
	}
	return out
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestNewAppPlan(t *testing.T) {
	for _, name := range []string{"wordcount", "pageviews", "fraud"} {
		t.Run(name, func(t *testing.T) {
			a, j := parseApp(t, example(t, name))
			p, err := Make(Input{Next: a, NextJSON: j})
			if err != nil {
				t.Fatal(err)
			}
			if !p.Allowed || p.NoChanges || !p.DefinitionChanged {
				t.Errorf("new app: allowed %v, no changes %v, changed %v", p.Allowed, p.NoChanges, p.DefinitionChanged)
			}
			golden(t, "new_"+name, p.Text)
		})
	}
}

func TestTopicsCarryTheCommitProtocolSettings(t *testing.T) {
	a, _ := parseApp(t, example(t, "fraud"))
	roles := map[string]int{}
	for _, tp := range Topics(a) {
		roles[tp.Role]++
		if tp.Role == RoleChangelog {
			c := tp.Spec.ConfigEntries()
			if c["cleanup.policy"] != "compact" || c["min.compaction.lag.ms"] != "3600000" ||
				c["max.message.bytes"] != "8388608" || c["message.timestamp.type"] != "LogAppendTime" {
				t.Errorf("changelog %s configs %v", tp.Spec.Name, c)
			}
		}
		if err := tp.Spec.Validate(); err != nil {
			t.Error(err)
		}
	}
	if roles[RoleChangelog] != 2 || len(roles) != 3 || roles[RoleDeadLetter] != 1 || roles[RoleDeclared] != 5 {
		t.Errorf("roles %v", roles)
	}
	if got := SourceTopics(a); strings.Join(got, ",") != "account_limits,payments,suspicious_payments" {
		t.Errorf("source topics %v", got)
	}
}

func TestSameAppPlansNoChanges(t *testing.T) {
	a, j := parseApp(t, example(t, "fraud"))
	p, err := Make(Input{CurrentVersion: 3, Current: compact(t, j), Next: a, NextJSON: j, Existing: existing(a)})
	if err != nil {
		t.Fatal(err)
	}
	if !p.NoChanges || !p.Allowed || p.Text != "No changes. App fraud is up to date at version 3.\n" {
		t.Errorf("plan:\n%s", p.Text)
	}
	// A missing topic is created without a new version.
	ex := existing(a)
	delete(ex, "payments")
	p, _ = Make(Input{CurrentVersion: 3, Current: j, Next: a, NextJSON: j, Existing: ex})
	if p.NoChanges || p.DefinitionChanged || !strings.Contains(p.Text, "+ create payments") {
		t.Errorf("plan with a missing topic:\n%s", p.Text)
	}
}

func compact(t *testing.T, j []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, j); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestStateBreaks(t *testing.T) {
	base := example(t, "wordcount")
	for _, tc := range []struct {
		name, from, to string
		breaks         string // "" = not state-breaking
	}{
		{"value type", "value   = number", "value   = json", "value type changes from number to json"},
		{"key type", "table \"word_counts\" {\n", "table \"word_counts\" {\n  key = number\n", "key type changes from string to number"},
		{"aggregate", `aggregate "count" {`, `aggregate "max" {` + "\n    value = 1", "its aggregate changes from count() to max(1)"},
		{"group_by", "key = value\n", "key = upper(value)\n", "the group_by feeding it changes"},
		{"partitions", "partitions = 4", "partitions = 8", "partition count changes from 4 to 8"},
		{"windowed", "default = 0\n", "default = 0\n\n  window \"tumbling\" {\n    size = \"1m\"\n  }\n", "it becomes windowed"},
		{"harmless", "partitions = 4", "partitions = 4\n  commit_interval = \"1s\"", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(base, tc.from) {
				t.Fatalf("example lacks %q", tc.from)
			}
			old, oj := parseApp(t, base)
			next, nj := parseApp(t, strings.Replace(base, tc.from, tc.to, 1))
			ex := existing(old)
			p, err := Make(Input{CurrentVersion: 1, Current: oj, Next: next, NextJSON: nj, Existing: ex})
			if err != nil {
				t.Fatal(err)
			}
			if tc.breaks == "" {
				if len(p.StateBreaks) != 0 || !p.Allowed {
					t.Errorf("harmless change refused:\n%s", p.Text)
				}
				return
			}
			if p.Allowed || !strings.Contains(p.Text, tc.breaks) || !strings.Contains(p.Text, "--reset-state") {
				t.Errorf("want refused with %q:\n%s", tc.breaks, p.Text)
			}
			p, _ = Make(Input{CurrentVersion: 1, Current: oj, Next: next, NextJSON: nj, Existing: ex, ResetState: true})
			// With reset_state only a declared topic's partition change stays refused.
			if tc.name == "partitions" {
				if p.Allowed || !strings.Contains(p.Text, "Weir never changes the partition count") {
					t.Errorf("partition change of declared topics with reset_state:\n%s", p.Text)
				}
				return
			}
			if !p.Allowed || !p.ResetsState || !strings.Contains(p.Text, "recreate weir.wordcount.count_words.changelog") {
				t.Errorf("with reset_state:\n%s", p.Text)
			}
		})
	}
}

func TestModelBreak(t *testing.T) {
	old := model{Fields: []field{{Name: "a", Type: "string"}, {Name: "b", Type: "number"}}}
	for _, tc := range []struct {
		next model
		want string
	}{
		{model{Fields: []field{{Name: "a", Type: "string"}, {Name: "b", Type: "number"}, {Name: "c", Type: "bool"}}}, ""},
		{model{Fields: []field{{Name: "a", Type: "string"}}}, "field b is removed"},
		{model{Fields: []field{{Name: "a", Type: "number"}, {Name: "b", Type: "number"}}}, "field a changes type from string to number"},
		{model{Fields: []field{{Name: "a", Type: "string"}, {Name: "b", Type: "number"}, {Name: "c", Type: "bool", Required: true}}}, "new field c is required"},
	} {
		if got := modelBreak(old, tc.next); (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("modelBreak = %q, want %q", got, tc.want)
		}
	}
}
