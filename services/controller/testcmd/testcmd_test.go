package testcmd

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const examples = "../../../examples"

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestExamples runs `controller test` on every example that has a fixture.
func TestExamples(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join(examples, "*", "testdata", "in.jsonl"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no example fixtures found: %v", err)
	}
	for _, in := range dirs {
		dir := filepath.Dir(filepath.Dir(in))
		t.Run(filepath.Base(dir), func(t *testing.T) {
			code, out, errOut := runCmd(t, filepath.Join(dir, "app.hcl"), "--input", in, "--expect", filepath.Join(dir, "testdata", "out.jsonl"))
			if code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			if !strings.HasPrefix(out, "ok ") {
				t.Errorf("stdout = %q; want an ok line", out)
			}
		})
	}
}

func TestWrongFixtureFailsWithDiff(t *testing.T) {
	dir := filepath.Join(examples, "wordcount")
	code, out, _ := runCmd(t, filepath.Join(dir, "app.hcl"), "--input", filepath.Join(dir, "testdata", "in.jsonl"),
		"--expect", filepath.Join("testdata", "wordcount_wrong.jsonl"))
	if code != 1 {
		t.Fatalf("exit %d; want 1\n%s", code, out)
	}
	for _, want := range []string{
		"FAIL ",
		`- {"topic":"word_counts","key":"cat","value":2,"timestamp":"2024-05-01T10:00:02Z"}`,
		`+ {"topic":"word_counts","key":"cat","value":3,"timestamp":"2024-05-01T10:00:02Z"}`,
		`+ {"topic":"word_counts","key":"and","value":2,"timestamp":"2024-05-01T10:00:02Z"}`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("diff lacks %q:\n%s", want, out)
		}
	}
}

func TestPartitionsFlagKeepsCounts(t *testing.T) {
	// With one partition the counts are the same; only the order of keys may change.
	dir := filepath.Join(examples, "wordcount")
	expect := filepath.Join(t.TempDir(), "out.jsonl")
	code, out, errOut := runCmd(t, filepath.Join(dir, "app.hcl"), "--input", filepath.Join(dir, "testdata", "in.jsonl"),
		"--expect", expect, "--partitions", "1", "--update")
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	b, err := os.ReadFile(expect)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n != 10 {
		t.Errorf("got %d outputs with one partition; want 10:\n%s", n, b)
	}
	if !strings.Contains(string(b), `"key":"cat","value":3`) {
		t.Errorf("cat is not counted 3 times:\n%s", b)
	}
}

func TestUsageErrors(t *testing.T) {
	app := filepath.Join(examples, "wordcount", "app.hcl")
	for _, args := range [][]string{
		{},
		{app},
		{app, "--input", "x.jsonl"},
		{app, "other.hcl", "--input", "a", "--expect", "b"},
		{"--bogus"},
	} {
		if code, _, _ := runCmd(t, args...); code != 2 {
			t.Errorf("args %q: exit %d; want 2", args, code)
		}
	}
	if code, out, _ := runCmd(t, "-h"); code != 0 || !strings.Contains(out, "Usage: controller test") {
		t.Errorf("-h: exit %d, %q", code, out)
	}
}

func TestBadInputs(t *testing.T) {
	app := filepath.Join(examples, "wordcount", "app.hcl")
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	empty := write("empty.jsonl", "")
	for name, tc := range map[string]struct{ input, want string }{
		"unknown topic": {`{"topic":"nope","value":"x"}`, `unknown topic "nope"`},
		"not json":      {`{"topic":`, "line 1"},
		"unknown field": {`{"topic":"sentences","valu":"x"}`, "unknown field"},
		"wrong type":    {`{"topic":"sentences","value":{"a":1}}`, "string codec"},
		"missing file":  {"", "no such file"},
	} {
		t.Run(name, func(t *testing.T) {
			in := filepath.Join(dir, "missing.jsonl")
			if tc.input != "" {
				in = write(strings.ReplaceAll(name, " ", "_")+".jsonl", tc.input+"\n")
			}
			code, _, errOut := runCmd(t, app, "--input", in, "--expect", empty)
			if code != 1 || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", code, errOut, tc.want)
			}
		})
	}
}

func TestInvalidApp(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.hcl")
	if err := os.WriteFile(p, []byte("app \"x\" {\n  partitions = \"8\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCmd(t, p, "--input", p, "--expect", p)
	if code != 1 || !strings.Contains(errOut, "not a valid app") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}
