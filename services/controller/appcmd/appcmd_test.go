package appcmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, dir, name, src string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const validApp = "app \"x\" {}\n\ntopic \"in\" {}\n\nagent \"a\" {\n  from    = topic.in\n  handler = \"h\"\n}\n"

const invalidApp = "app \"x\" {}\n\nagent \"a\" {\n  from    = topic.nope\n  handler = \"h\"\n}\n"

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	good := write(t, dir, "good.hcl", validApp)
	bad := write(t, dir, "bad.hcl", invalidApp)

	var out, errb strings.Builder
	if code := Validate(t.Context(), []string{good}, &out, &errb); code != 0 {
		t.Fatalf("valid file: exit %d, stderr:\n%s", code, errb.String())
	}
	if !strings.Contains(out.String(), "good.hcl: valid") || !strings.Contains(out.String(), "1 task group") {
		t.Errorf("stdout %q", out.String())
	}

	out.Reset()
	errb.Reset()
	if code := Validate(t.Context(), []string{good, bad}, &out, &errb); code != 1 {
		t.Errorf("invalid file: exit %d, want 1", code)
	}
	for _, want := range []string{"Unknown topic", "bad.hcl line 4", "topic.nope", "bad.hcl: invalid (1 error)"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr does not mention %q:\n%s", want, errb.String())
		}
	}

	out.Reset()
	if code := Validate(t.Context(), []string{bad, "--output", "json"}, &out, &errb); code != 1 {
		t.Errorf("json: exit %d, want 1", code)
	}
	var res struct {
		Valid bool
		Apps  []struct {
			Valid       bool
			Diagnostics []jsonDiagnostic
		}
	}
	if err := json.Unmarshal([]byte(out.String()), &res); err != nil {
		t.Fatalf("%v:\n%s", err, out.String())
	}
	d := res.Apps[0].Diagnostics
	if res.Valid || len(d) != 1 || d[0].Line != 4 || d[0].Column != 13 || d[0].Severity != "error" || d[0].Summary != "Unknown topic" {
		t.Errorf("json result %+v", res)
	}

	if code := Validate(t.Context(), []string{"-output", "xml", good}, &out, &errb); code != 2 {
		t.Errorf("bad --output: exit %d, want 2", code)
	}
	if code := Validate(t.Context(), nil, &out, &errb); code != 2 {
		t.Errorf("no files: exit %d, want 2", code)
	}
}

func TestValidateVars(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "app.hcl", "variable \"n\" {\n  type = number\n}\n\napp \"x\" {\n  partitions = var.n\n}\n")
	vf := write(t, dir, "vars.hcl", "n = 3\n")
	var out, errb strings.Builder
	if code := Validate(t.Context(), []string{p}, &out, &errb); code != 1 {
		t.Errorf("unset variable: exit %d, want 1", code)
	}
	if code := Validate(t.Context(), []string{"-var-file", vf, p}, &out, &errb); code != 0 {
		t.Errorf("-var-file: exit %d:\n%s", code, errb.String())
	}
	if code := Validate(t.Context(), []string{p, "-var", "n=2"}, &out, &errb); code != 0 {
		t.Errorf("-var after the file: exit %d:\n%s", code, errb.String())
	}
}

func TestFmt(t *testing.T) {
	dir := t.TempDir()
	ugly := "app \"x\" {\n  partitions=2\n  replication = 1\n}\n\n\n"
	p := write(t, dir, "app.hcl", ugly)
	clean := write(t, dir, "clean.hcl", validApp)

	var out, errb strings.Builder
	if code := Fmt(t.Context(), []string{"-check", p, clean}, &out, &errb); code != 1 {
		t.Errorf("-check: exit %d, want 1", code)
	}
	if out.String() != p+"\n" {
		t.Errorf("-check listed %q, want only %s", out.String(), p)
	}
	if b, _ := os.ReadFile(p); string(b) != ugly {
		t.Error("-check rewrote the file")
	}

	out.Reset()
	if code := Fmt(t.Context(), []string{p}, &out, &errb); code != 0 {
		t.Errorf("fmt: exit %d: %s", code, errb.String())
	}
	b, _ := os.ReadFile(p)
	if want := "app \"x\" {\n  partitions  = 2\n  replication = 1\n}\n"; string(b) != want {
		t.Errorf("formatted:\n%q\nwant\n%q", b, want)
	}
	if code := Fmt(t.Context(), []string{"-check", p}, &out, &errb); code != 0 {
		t.Errorf("-check after fmt: exit %d", code)
	}

	broken := write(t, dir, "broken.hcl", "app \"x\" {\n")
	out.Reset()
	errb.Reset()
	if code := Fmt(t.Context(), []string{"--output", "json", broken}, &out, &errb); code != 1 {
		t.Errorf("syntax error: exit %d, want 1", code)
	}
	if !strings.Contains(out.String(), "Unclosed configuration block") {
		t.Errorf("json output lacks the diagnostic:\n%s", out.String())
	}
}
