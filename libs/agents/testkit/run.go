package testkit

import (
	"context"
	"strings"
	"testing"

	"github.com/weirhq/weir/libs/config/app"
)

// Run runs inputs through the app in memory and returns its outputs, failing t on any
// error. Register Go handlers with WithHandlers.
func Run(t testing.TB, a *app.App, inputs []Input, opts ...Option) []Output {
	t.Helper()
	d, err := New(a, opts...)
	if err != nil {
		t.Fatal(err)
	}
	for i, in := range inputs {
		if err := d.Send(context.Background(), in); err != nil {
			t.Fatalf("input %d: %v", i+1, err)
		}
	}
	out, err := d.Outputs()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Expect fails t with a line diff when got differs from want.
func Expect(t testing.TB, want, got []Output) {
	t.Helper()
	w, err := Lines(want)
	if err != nil {
		t.Fatal(err)
	}
	g, err := Lines(got)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if Diff(&b, w, g) {
		t.Errorf("outputs differ (- want, + got):\n%s", b.String())
	}
}
