package cluster

import (
	"testing"
)

func TestAppKeys(t *testing.T) {
	var l Layout
	cases := map[string]string{
		l.AppVersionKey("orders", 12):   "/weir/apps/orders/versions/12",
		l.AppVersionsPrefix("orders"):   "/weir/apps/orders/versions/",
		l.AppHeadKey("orders"):          "/weir/apps/orders/current",
		l.EpochFloorKey("orders"):       "/weir/apps/orders/epoch-floor",
		l.PausedKey("orders"):           "/weir/apps/orders/paused",
		l.ControllerKey("c1"):           "/weir/controllers/c1",
		l.ControllersPrefix():           "/weir/controllers/",
		l.AppVersionKey("a/b", 1):       "/weir/apps/a%2Fb/versions/1",
		Layout{Prefix: "/t"}.Election(): "/t/controllers/leader",
	}
	for got, want := range cases {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

func TestParseController(t *testing.T) {
	l := Layout{Prefix: "/t"}
	if id, ok := l.ParseController(l.ControllerKey("host/1")); !ok || id != "host/1" {
		t.Errorf("ParseController(registry key) = %q, %v", id, ok)
	}
	for _, key := range []string{l.Election() + "/694d7a", l.Election(), "/t/workers/w1", "/other/controllers/c1"} {
		if id, ok := l.ParseController(key); ok {
			t.Errorf("ParseController(%q) = %q, want not a registry key", key, id)
		}
	}
	if ValidateControllerID("leader") == nil || ValidateControllerID("") == nil || ValidateControllerID("c1") != nil {
		t.Error("ValidateControllerID accepts the wrong ids")
	}
}

func TestAppKeysParseForTheAssignmentLoop(t *testing.T) {
	// The assignment loop skips versions and the head, and reads the floor and the pause.
	l := Layout{}
	for key, want := range map[string]AppKeyKind{
		l.AppVersionKey("a", 3): OtherAppKey, l.AppHeadKey("a"): OtherAppKey,
		l.EpochFloorKey("a"): EpochFloorKind, l.PausedKey("a"): PausedKind,
	} {
		kind, app, _, err := l.ParseAppKey(key)
		if err != nil || kind != want || (want != OtherAppKey && app != "a") {
			t.Errorf("ParseAppKey(%q) = %v, %q, %v; want %v", key, kind, app, err, want)
		}
	}
}

func TestVersionNumber(t *testing.T) {
	if n, err := versionNumber("/weir/apps/a/versions/17"); err != nil || n != 17 {
		t.Errorf("versionNumber = %d, %v", n, err)
	}
	for _, bad := range []string{"/weir/apps/a/versions/x", "/weir/apps/a/versions/0"} {
		if _, err := versionNumber(bad); err == nil {
			t.Errorf("versionNumber(%q) accepted", bad)
		}
	}
}
