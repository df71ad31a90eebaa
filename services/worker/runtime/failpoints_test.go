package runtime

import (
	"testing"
	"time"
)

func TestIsZombie(t *testing.T) {
	for _, c := range []struct {
		action string
		pause  time.Duration
		ok     bool
	}{
		{"", 0, false},
		{"kill", 0, false},
		{"zombie", zombiePause, true},
		{"zombie:8s", 8 * time.Second, true},
		{"zombie:bad", zombiePause, true},
		{"zombies", 0, false},
	} {
		pause, ok := isZombie(c.action)
		if pause != c.pause || ok != c.ok {
			t.Errorf("isZombie(%q) = %v, %v; want %v, %v", c.action, pause, ok, c.pause, c.ok)
		}
	}
}
