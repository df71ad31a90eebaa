package cron

import (
	"strings"
	"testing"
	"time"
)

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{"* * * *", "want 5 fields"},
		{"60 * * * *", "minute field \"60\": 60 is out of range 0-59"},
		{"* 24 * * *", "hour field"},
		{"* * 0 * *", "day of month field"},
		{"* * * 13 *", "month field"},
		{"* * * * 8", "day of week field"},
		{"*/0 * * * *", "step \"0\""},
		{"5-1 * * * *", "runs backwards"},
		{"* * * foo *", "neither a number nor a name"},
		{"x * * * *", "not a number"},
		{"1,,2 * * * *", "empty list item"},
		{"@sometimes", "unknown macro"},
		{"0 0 30 2 *", "never fires"},
	} {
		_, err := Parse(tc.expr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", tc.expr, err, tc.want)
		}
	}
}

func TestNext(t *testing.T) {
	from := time.Date(2026, 3, 14, 10, 7, 30, 0, time.UTC) // a Saturday
	for _, tc := range []struct {
		expr string
		want time.Time
	}{
		{"* * * * *", time.Date(2026, 3, 14, 10, 8, 0, 0, time.UTC)},
		{"*/15 * * * *", time.Date(2026, 3, 14, 10, 15, 0, 0, time.UTC)},
		{"0 9-17/2 * * mon-fri", time.Date(2026, 3, 16, 9, 0, 0, 0, time.UTC)},
		{"30 2 1 jan,JUL *", time.Date(2026, 7, 1, 2, 30, 0, 0, time.UTC)},
		{"@daily", time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)},
		{"@hourly", time.Date(2026, 3, 14, 11, 0, 0, 0, time.UTC)},
		{"0 0 * * 7", time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)},
		{"0 0 13 * fri", time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC)}, // either day field
		{"0 0 29 2 *", time.Date(2028, 2, 29, 0, 0, 0, 0, time.UTC)},
	} {
		s, err := Parse(tc.expr)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.expr, err)
		}
		if got := s.Next(from); !got.Equal(tc.want) {
			t.Errorf("%q: Next = %v, want %v", tc.expr, got, tc.want)
		}
	}
}
