package agents

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// DefaultDedupHorizon is how far back, in the identities' own time, a consuming task
// remembers the content identities it has seen when the app sets no dedup_horizon.
const DefaultDedupHorizon = time.Hour

// identities drops replays of content-identified records (HeaderIdentity: window closes
// and timer firings), which have no source offset to keep a high-water mark of.
//
// Such identities are not monotonic, so the consumer remembers each one it has seen, in
// a table of its own task (the runtime passes an internal table of the task's changelog):
// the entries are then committed atomically with the task's input positions and restored
// with its state, exactly like the offset marks in the commit marker. To bound them,
// every identity carries a time (a close's window end, a timer's scheduled time) and
// belongs to a stream (the producing task's table, or its timer) whose times advance with
// the producer's stream time: per input partition and stream the consumer keeps the
// highest time seen (the stream's watermark) and forgets the identities older than the
// watermark minus the horizon. A record whose time is already beyond the horizon when it
// arrives is kept (at-least-once): exact dedup is guaranteed within the horizon.
//
// Table layout (keys; values are decimal):
//
//	'w' uvarint(len(s)) s                      → the watermark of s (ms)
//	'e' uvarint(len(s)) s time(8, big endian) rest → the highest seq consumed of the identity
//
// where s is "<in topic>/<in partition>|<stream>", time is the identity's time in ms with
// the sign bit flipped (so entries sort by time), and rest is the identity after its stream.
type identities struct {
	tb      Table
	horizon int64 // ms
	step    int64 // ms the cut-off advances between two expiry scans
	streams map[string]*identityStream
	buf     []byte
	beyond  int64
	expired int64
}

type identityStream struct {
	key      string // s in the layout above
	has      bool   // wm is set
	wm       int64  // highest identity time seen (ms)
	cut      int64  // entries before cut were deleted
	cutValid bool
}

// TrackIdentities makes d drop replays of content-identified records too, remembering
// them in tb (an internal table of the consuming task, committed with its positions) for
// horizon (≤ 0: DefaultDedupHorizon). Without it they are never dropped.
func (d *Dedup) TrackIdentities(tb Table, horizon time.Duration) {
	if d == nil {
		return
	}
	if horizon <= 0 {
		horizon = DefaultDedupHorizon
	}
	h := max(horizon.Milliseconds(), 1)
	d.ids = &identities{tb: tb, horizon: h, step: max(h/8, 1), streams: map[string]*identityStream{}}
}

// BeyondHorizon counts the content-identified records kept because their time was
// already older than the dedup horizon when they arrived.
func (d *Dedup) BeyondHorizon() int64 {
	if d == nil || d.ids == nil {
		return 0
	}
	return d.ids.beyond
}

// ExpiredIdentities counts the remembered identities forgotten past the horizon.
func (d *Dedup) ExpiredIdentities() int64 {
	if d == nil || d.ids == nil {
		return 0
	}
	return d.ids.expired
}

// seenIdentity is Seen for a record carrying HeaderTask, HeaderIdentity and HeaderSeq.
func (d *Dedup) seenIdentity(rec *Record, task, identity, seq, windowEnd []byte) (bool, error) {
	ids := d.ids
	if ids == nil {
		return false, nil
	}
	sq, ok := parseDecimal(seq)
	if !ok {
		return false, nil
	}
	stream, rest, at := splitIdentity(task, identity, windowEnd, rec.Timestamp)
	s, err := ids.stream(rec, stream)
	if err != nil {
		return false, err
	}
	if s.has && at < s.wm-ids.horizon {
		ids.beyond++ // forgotten, or never remembered: keep it
		return false, nil
	}
	ek := ids.entryKey(s, at, rest)
	v, found, err := ids.tb.Get(ek)
	if err != nil {
		return false, fmt.Errorf("reading the dedup entry of identity %q: %w", identity, err)
	}
	if found {
		if last, ok := parseDecimal(v); ok && sq <= last {
			d.dropped++
			return true, nil
		}
	}
	if err := ids.tb.Set(ek, seq); err != nil {
		return false, fmt.Errorf("remembering identity %q: %w", identity, err)
	}
	if !s.has || at > s.wm {
		s.has, s.wm = true, at
		if err := ids.tb.Set(streamKey('w', s.key), strconv.AppendInt(nil, at, 10)); err != nil {
			return false, fmt.Errorf("raising the dedup watermark of %s: %w", s.key, err)
		}
		if cut := s.wm - ids.horizon; !s.cutValid || cut-s.cut >= ids.step {
			if err := ids.expire(s, cut); err != nil {
				return false, err
			}
		}
	}
	return false, nil
}

// stream returns the state of stream for rec's input partition, loading its watermark
// from the table on first use.
func (ids *identities) stream(rec *Record, stream []byte) (*identityStream, error) {
	b := append(ids.buf[:0], rec.Topic...)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(rec.Partition), 10)
	b = append(b, '|')
	b = append(b, stream...)
	ids.buf = b
	if s := ids.streams[string(b)]; s != nil {
		return s, nil
	}
	s := &identityStream{key: string(b)}
	v, ok, err := ids.tb.Get(streamKey('w', s.key))
	if err != nil {
		return nil, fmt.Errorf("reading the dedup watermark of %s: %w", s.key, err)
	}
	if ok {
		wm, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("reading the dedup watermark of %s: bad value %q: %w", s.key, v, err)
		}
		s.has, s.wm = true, wm
	}
	ids.streams[s.key] = s
	return s, nil
}

var errStopScan = errors.New("stop")

// expire deletes the entries of s older than cut.
func (ids *identities) expire(s *identityStream, cut int64) error {
	prefix := streamKey('e', s.key)
	var old [][]byte
	err := ids.tb.Scan(prefix, func(k, _ []byte) error {
		if len(k) < len(prefix)+8 || sortableTime(k[len(prefix):]) >= cut {
			return errStopScan
		}
		old = append(old, bytes.Clone(k))
		return nil
	})
	if err != nil && !errors.Is(err, errStopScan) {
		return fmt.Errorf("scanning the dedup entries of %s: %w", s.key, err)
	}
	for _, k := range old {
		if err := ids.tb.Delete(k); err != nil {
			return fmt.Errorf("forgetting a dedup entry of %s: %w", s.key, err)
		}
	}
	ids.expired += int64(len(old))
	s.cut, s.cutValid = cut, true
	return nil
}

func (ids *identities) entryKey(s *identityStream, at int64, rest []byte) []byte {
	k := streamKey('e', s.key)
	k = binary.BigEndian.AppendUint64(k, uint64(at)^(1<<63))
	return append(k, rest...)
}

func streamKey(kind byte, s string) []byte {
	k := make([]byte, 0, 1+binary.MaxVarintLen64+len(s)+8+64)
	k = append(k, kind)
	k = binary.AppendUvarint(k, uint64(len(s)))
	return append(k, s...)
}

func sortableTime(b []byte) int64 { return int64(binary.BigEndian.Uint64(b) ^ (1 << 63)) }

// splitIdentity splits a content identity into its stream, the rest, and its time (ms):
//
//   - a window close "wclose/<task>/<table>/<start>/<hex key>" (libs/tables.CloseIdentity):
//     stream "wclose/<task>/<table>", time the window's end (HeaderWindowEnd; its start
//     without one);
//   - a timer firing "timer/<task>/<timer>/<scheduled ms>" (TimerIdentity): stream
//     "timer/<task>/<timer>", time the scheduled time;
//   - any other form: stream the producing task, time the record's timestamp.
func splitIdentity(task, identity, windowEnd []byte, ts time.Time) (stream, rest []byte, at int64) {
	switch {
	case bytes.HasPrefix(identity, []byte("wclose/")):
		i1 := bytes.LastIndexByte(identity, '/')
		i2 := bytes.LastIndexByte(identity[:i1], '/')
		if i2 > len("wclose") {
			start, err := strconv.ParseInt(string(identity[i2+1:i1]), 10, 64)
			if err == nil {
				if end, err := strconv.ParseInt(string(windowEnd), 10, 64); err == nil && windowEnd != nil {
					start = end
				}
				return identity[:i2], identity[i2:], start
			}
		}
	case bytes.HasPrefix(identity, []byte("timer/")):
		i1 := bytes.LastIndexByte(identity, '/')
		if i1 > len("timer") {
			if at, err := strconv.ParseInt(string(identity[i1+1:]), 10, 64); err == nil {
				return identity[:i1], identity[i1:], at
			}
		}
	}
	stream = append([]byte("task/"), task...)
	return stream, append([]byte{'/'}, identity...), ts.UnixMilli()
}
