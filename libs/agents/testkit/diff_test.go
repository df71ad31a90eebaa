package testkit

import (
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	var b strings.Builder
	if Diff(&b, []string{"a", "b"}, []string{"a", "b"}) || b.Len() != 0 {
		t.Fatalf("equal inputs differ: %q", b.String())
	}
	want := []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "x"}
	got := []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "y", "z"}
	if !Diff(&b, want, got) {
		t.Fatal("different inputs are equal")
	}
	const out = "  …\n  7\n  8\n  9\n- x\n+ y\n+ z\n"
	if b.String() != out {
		t.Errorf("diff =\n%s\nwant\n%s", b.String(), out)
	}
}

func TestReadInputsSkipsCommentsAndBlanks(t *testing.T) {
	in, err := ReadInputs(strings.NewReader("# comment\n\n{\"topic\":\"t\",\"key\":1,\"value\":{\"a\":[1]}}\n"))
	if err != nil || len(in) != 1 || in[0].Topic != "t" {
		t.Fatalf("inputs = %+v, %v", in, err)
	}
	if _, err := ReadInputs(strings.NewReader("{\"key\":1}\n")); err == nil || !strings.Contains(err.Error(), "line 1: no topic") {
		t.Errorf("err = %v", err)
	}
}

func TestReadInputsTimersAndTicks(t *testing.T) {
	in, err := ReadInputs(strings.NewReader(`{"timer":"report","at":"2026-01-01T00:00:00Z"}` + "\n" + `{"tick":"2026-01-01T00:00:00Z"}` + "\n"))
	if err != nil || len(in) != 2 || in[0].Timer != "report" || in[1].Tick == "" {
		t.Fatalf("inputs = %+v, %v", in, err)
	}
	for line, want := range map[string]string{
		`{"timer":"report"}`:                      `needs "at"`,
		`{"topic":"t","timer":"report","at":"x"}`: "give one of",
		`{"tick":"x","value":1}`:                  "belong to records",
		`{"topic":"t","at":"x"}`:                  `"at" belongs to timer lines`,
	} {
		if _, err := ReadInputs(strings.NewReader(line)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v; want %q", line, err, want)
		}
	}
}
