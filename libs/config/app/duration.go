package app

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration is a span of time written as a string: Go's time.ParseDuration syntax ("1m",
// "1h30m", "250ms") plus whole days ("7d").
type Duration time.Duration

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String formats d the way ParseDuration reads it back, using days where they are whole.
func (d Duration) String() string {
	const day = 24 * time.Hour
	t := time.Duration(d)
	if t != 0 && t%day == 0 {
		return strconv.FormatInt(int64(t/day), 10) + "d"
	}
	s := t.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// MarshalJSON writes d as its String.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// ParseDuration reads a duration: time.ParseDuration's syntax, or a whole number of days
// such as "7d".
func ParseDuration(s string) (Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok && n != "" {
		days, err := strconv.ParseInt(n, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration: a day count must be a whole number, such as \"7d\"", s)
		}
		const maxDays = int64(1<<63-1) / int64(24*time.Hour)
		if days > maxDays || days < -maxDays {
			return 0, fmt.Errorf("%q is out of range", s)
		}
		return Duration(time.Duration(days) * 24 * time.Hour), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration: write a number and a unit, such as \"250ms\", \"10s\", \"1m\", \"1h30m\" or \"7d\"", s)
	}
	return Duration(d), nil
}
