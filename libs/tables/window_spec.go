package tables

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/weirhq/weir/libs/config/app"
)

// WindowKind is how a windowed table cuts event time into windows.
type WindowKind string

// Window kinds (the labels of the app language's window block).
const (
	Tumbling WindowKind = app.WindowTumbling // fixed, adjacent windows of Size
	Hopping  WindowKind = app.WindowHopping  // fixed windows of Size starting every Step (they overlap)
	Session  WindowKind = app.WindowSession  // per key: records closer than Gap share a window
)

// Event times are milliseconds since the Unix epoch (Kafka's record timestamps). They may be
// zero or negative; to keep all window arithmetic free of overflow they must lie within
// ±MaxEventTime, and durations must not exceed MaxWindowDuration.
const (
	MaxEventTime      int64 = 1 << 60
	MaxWindowDuration       = time.Duration(1<<40) * time.Millisecond // about 35 years
	// MaxHops bounds the windows one record of a hopping table falls into (size / step).
	MaxHops = 10000
	// noStreamTime is the stream time of a task that has seen no record.
	noStreamTime int64 = math.MinInt64
)

// MergeFunc combines the aggregates of two session windows that a record joins into one: a
// is the earlier session's value, b the later one's. For count and sum it adds, for min and
// max it compares, for last it returns b, for collect_set it unions. It must not modify
// its arguments.
type MergeFunc func(a, b []byte) ([]byte, error)

// WindowSpec describes a table's windows. All durations are whole milliseconds.
type WindowSpec struct {
	Kind WindowKind
	// Size is the length of a tumbling or hopping window.
	Size time.Duration
	// Step is how far a hopping window starts after the previous one (0 < Step <= Size).
	Step time.Duration
	// Gap is a session window's inactivity gap: records of one key closer than Gap (strictly)
	// share a session, which ends Gap after its last record.
	Gap time.Duration
	// Grace is how long after its end a window still accepts records (by stream time).
	Grace time.Duration
	// Expires is how long a window is kept for queries, counted from its start (sessions:
	// from their last record); at least the window's length + Grace. Zero picks the app
	// language's default: max(length + Grace, 2 × length).
	Expires time.Duration
	// Merge combines session aggregates; required for session windows.
	Merge MergeFunc
}

// SpecFromConfig converts a parsed app window (libs/config/app) into a WindowSpec; merge is
// the session combiner for the table's aggregate (ignored for fixed windows).
func SpecFromConfig(w *app.Window, merge MergeFunc) (WindowSpec, error) {
	if w == nil {
		return WindowSpec{}, errors.New("converting window: table has no window")
	}
	s := WindowSpec{Kind: WindowKind(w.Kind), Size: w.Size.Std(), Step: w.Step.Std(), Gap: w.Gap.Std(),
		Grace: w.Grace.Std(), Expires: w.Expires.Std(), Merge: merge}
	if s.Kind != Session {
		s.Merge = nil
	}
	if err := s.Validate(); err != nil {
		return WindowSpec{}, err
	}
	return s, nil
}

// Validate checks the spec's parameters against its kind and each other and reports every
// problem. It fills a zero Expires with the default (and a tumbling Step with Size), so call it on
// a copy you keep.
func (s *WindowSpec) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	ms := func(name string, d time.Duration, positive bool) {
		switch {
		case d < 0:
			bad("%s may not be negative, got %s", name, d)
		case positive && d == 0:
			bad("%s must be positive", name)
		case d%time.Millisecond != 0:
			bad("%s must be a whole number of milliseconds, got %s", name, d)
		case d > MaxWindowDuration:
			bad("%s %s is longer than the maximum %s", name, d, MaxWindowDuration)
		}
	}
	switch s.Kind {
	case Tumbling:
		ms("size", s.Size, true)
		if s.Step != 0 && s.Step != s.Size {
			bad("a tumbling window has no step (use a hopping window for windows that overlap)")
		}
		if s.Gap != 0 {
			bad("a tumbling window has no gap (gap belongs to session windows)")
		}
	case Hopping:
		ms("size", s.Size, true)
		ms("step", s.Step, true)
		if s.Step > s.Size {
			bad("step (%s) is larger than size (%s): records between windows would be dropped", s.Step, s.Size)
		}
		if s.Gap != 0 {
			bad("a hopping window has no gap (gap belongs to session windows)")
		}
		if s.Step > 0 && s.Size/s.Step > MaxHops {
			bad("size / step = %d windows per record is more than %d", s.Size/s.Step, MaxHops)
		}
	case Session:
		ms("gap", s.Gap, true)
		if s.Size != 0 || s.Step != 0 {
			bad("a session window has no size or step: it lasts as long as its records keep coming")
		}
		if s.Merge == nil {
			bad("a session window needs a merge function for its aggregate")
		}
	default:
		bad("window kind %q is not one of tumbling, hopping, session", s.Kind)
	}
	ms("grace", s.Grace, false)
	ms("expires", s.Expires, false)
	if len(errs) > 0 {
		return fmt.Errorf("invalid %s window: %w", s.Kind, errors.Join(errs...))
	}
	if s.Kind == Tumbling {
		s.Step = s.Size
	}
	length := s.length()
	if s.Expires == 0 {
		s.Expires = max(length+s.Grace, 2*length)
	}
	if s.Expires < length+s.Grace {
		return fmt.Errorf("invalid %s window: expires (%s) is shorter than its length + grace (%s + %s): windows would be dropped before they close",
			s.Kind, s.Expires, length, s.Grace)
	}
	return nil
}

// length is a window's size, or a session's gap (the part of a session after its last record).
func (s *WindowSpec) length() time.Duration {
	if s.Kind == Session {
		return s.Gap
	}
	return s.Size
}

// Window is one window: event times in [Start, End), in milliseconds.
type Window struct {
	Start, End int64
}

// closeAt is the stream time at which w closes: End + Grace.
func (s *WindowSpec) closeAt(w Window) int64 { return w.End + s.Grace.Milliseconds() }

// expireAt is the stream time at which w is deleted: Start + Expires for fixed windows,
// last record + Expires for sessions (End − Gap is the session's last record).
func (s *WindowSpec) expireAt(w Window) int64 {
	return w.End - s.length().Milliseconds() + s.Expires.Milliseconds()
}

func checkEventTime(ts int64) error {
	if ts < -MaxEventTime || ts > MaxEventTime {
		return fmt.Errorf("event time %d ms is outside ±%d ms", ts, MaxEventTime)
	}
	return nil
}

// WindowsFor returns the windows a record with event time ts (ms) falls into, by ascending
// start: one for tumbling, ⌈Size/Step⌉ or ⌊Size/Step⌋ for hopping (windows start at
// multiples of Step since the epoch), and the record's own [ts, ts+Gap) for sessions (before
// merging with the key's other sessions). The spec must be validated.
func (s *WindowSpec) WindowsFor(ts int64) ([]Window, error) {
	if err := checkEventTime(ts); err != nil {
		return nil, err
	}
	switch s.Kind {
	case Session:
		return []Window{{Start: ts, End: ts + s.Gap.Milliseconds()}}, nil
	case Tumbling, Hopping:
		size, step := s.Size.Milliseconds(), s.Step.Milliseconds()
		if size <= 0 || step <= 0 {
			return nil, errors.New("assigning windows: the window spec is not validated")
		}
		last := floorDiv(ts, step) * step             // the latest window start ≤ ts
		first := -floorDiv(-(ts-size+1), step) * step // the earliest start > ts − size
		out := make([]Window, 0, (last-first)/step+1)
		for start := first; start <= last; start += step {
			out = append(out, Window{Start: start, End: start + size})
		}
		return out, nil
	}
	return nil, fmt.Errorf("assigning windows: unknown kind %q", s.Kind)
}

// floorDiv divides rounding towards negative infinity (b > 0).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}
