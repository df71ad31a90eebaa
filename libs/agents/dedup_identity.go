package agents

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
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
// A stream that stops (its producer gone: an app deleted, an every_worker timer of a
// worker id that never comes back) would keep its last horizon of identities forever, so
// a stream from which nothing was consumed while the newest identity time on its input
// partition advanced by staleAfter (max(2 × horizon, 24 h)) is dropped whole.
//
// Table layout (keys; values are decimal):
//
//	'w' lp(tp) lp(stream)                         → "<watermark ms>,<partition newest ms at its last record>"
//	'e' lp(tp) lp(stream) time(8, big endian) rest → the highest seq consumed of the identity
//
// where lp(x) is uvarint(len(x)) x, tp is the input "<topic>/<partition>", time is the
// identity's time in ms with the sign bit flipped (so entries sort by time), and rest is
// the identity after its stream.
type identities struct {
	tb         Table
	horizon    int64                      // ms
	step       int64                      // ms the cut-off advances between two expiry scans
	staleAfter int64                      // ms
	streams    map[string]*identityStream // by tp "\x00" stream
	parts      map[string]*identityPart   // by tp
	buf        []byte
	beyond     int64
	expired    int64
}

type identityStream struct {
	tp, name string
	part     *identityPart
	wkey     []byte // its 'w' key
	eprefix  []byte // the prefix of its 'e' keys
	has      bool   // wm is set
	wm       int64  // highest identity time seen (ms)
	seenAt   int64  // part.newest when a record of the stream was last stored
	cut      int64  // entries before cut were deleted
	cutValid bool
}

// identityPart is what is known of one input partition: the newest identity time seen
// on it in this run, and the last sweep of its stopped streams.
type identityPart struct {
	tp         string
	has        bool
	newest     int64
	swept      int64
	sweptValid bool
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
	d.ids = &identities{tb: tb, horizon: h, step: max(h/8, 1), staleAfter: max(2*h, 24*time.Hour.Milliseconds()),
		streams: map[string]*identityStream{}, parts: map[string]*identityPart{}}
}

// BeyondHorizon counts the content-identified records kept because their time was
// already older than the dedup horizon when they arrived.
func (d *Dedup) BeyondHorizon() int64 {
	if d == nil || d.ids == nil {
		return 0
	}
	return d.ids.beyond
}

// ExpiredIdentities counts the remembered identities forgotten past the horizon (or with
// their stopped stream).
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
	p := s.part
	if !p.has || at > p.newest {
		p.has, p.newest = true, at
	}
	advanced := !s.has || at > s.wm
	if advanced {
		s.has, s.wm = true, at
	}
	if advanced || p.newest-s.seenAt >= ids.step {
		s.seenAt = p.newest
		if err := ids.tb.Set(s.wkey, fmt.Appendf(nil, "%d,%d", s.wm, s.seenAt)); err != nil {
			return false, fmt.Errorf("raising the dedup watermark of %s %s: %w", s.tp, s.name, err)
		}
	}
	if cut := s.wm - ids.horizon; advanced && (!s.cutValid || cut-s.cut >= ids.step) {
		if err := ids.expire(s, cut); err != nil {
			return false, err
		}
	}
	if !p.sweptValid || p.newest-p.swept >= ids.step {
		if err := ids.sweep(p, s); err != nil {
			return false, err
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
	tpLen := len(b)
	b = append(b, 0)
	b = append(b, stream...)
	ids.buf = b
	if s := ids.streams[string(b)]; s != nil {
		return s, nil
	}
	tp := string(b[:tpLen])
	p := ids.parts[tp]
	if p == nil {
		p = &identityPart{tp: tp}
		ids.parts[tp] = p
	}
	s := &identityStream{tp: tp, name: string(stream), part: p}
	s.wkey = appendLP(appendLP([]byte{'w'}, tp), s.name)
	s.eprefix = appendLP(appendLP([]byte{'e'}, tp), s.name)
	v, ok, err := ids.tb.Get(s.wkey)
	if err != nil {
		return nil, fmt.Errorf("reading the dedup watermark of %s %s: %w", tp, s.name, err)
	}
	if ok {
		wm, seenAt, err := parseWatermark(v)
		if err != nil {
			return nil, fmt.Errorf("reading the dedup watermark of %s %s: %w", tp, s.name, err)
		}
		s.has, s.wm, s.seenAt = true, wm, seenAt
	}
	ids.streams[string(b)] = s
	return s, nil
}

func parseWatermark(v []byte) (wm, seenAt int64, err error) {
	a, b, _ := strings.Cut(string(v), ",")
	wm, err1 := strconv.ParseInt(a, 10, 64)
	seenAt, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("bad value %q", v)
	}
	return wm, seenAt, nil
}

var errStopScan = errors.New("stop")

// expire deletes the entries of s older than cut.
func (ids *identities) expire(s *identityStream, cut int64) error {
	var old [][]byte
	err := ids.tb.Scan(s.eprefix, func(k, _ []byte) error {
		if len(k) < len(s.eprefix)+8 || sortableTime(k[len(s.eprefix):]) >= cut {
			return errStopScan
		}
		old = append(old, bytes.Clone(k))
		return nil
	})
	if err != nil && !errors.Is(err, errStopScan) {
		return fmt.Errorf("scanning the dedup entries of %s %s: %w", s.tp, s.name, err)
	}
	if err := ids.deleteAll(old); err != nil {
		return fmt.Errorf("forgetting dedup entries of %s %s: %w", s.tp, s.name, err)
	}
	s.cut, s.cutValid = cut, true
	return nil
}

// sweep drops the streams of partition p (but current) that stopped: nothing stored from
// them while the newest identity time on p advanced by staleAfter. The first sweep after
// a start also learns p's newest time from the stored watermarks.
func (ids *identities) sweep(p *identityPart, current *identityStream) error {
	prefix := appendLP([]byte{'w'}, p.tp)
	type stored struct {
		key        []byte
		wm, seenAt int64
	}
	var all []stored
	err := ids.tb.Scan(prefix, func(k, v []byte) error {
		wm, seenAt, err := parseWatermark(v)
		if err != nil {
			return fmt.Errorf("dedup watermark %q: %w", k, err)
		}
		all = append(all, stored{key: bytes.Clone(k), wm: wm, seenAt: seenAt})
		return nil
	})
	if err != nil {
		return fmt.Errorf("scanning the dedup watermarks of %s: %w", p.tp, err)
	}
	for _, st := range all {
		p.newest = max(p.newest, st.wm)
	}
	for _, st := range all {
		if st.seenAt >= p.newest-ids.staleAfter || bytes.Equal(st.key, current.wkey) {
			continue
		}
		name, ok := cutLP(st.key[len(prefix):])
		if !ok {
			continue // not written by this code: leave it
		}
		if err := ids.dropStream(p.tp, name, st.key); err != nil {
			return err
		}
	}
	p.swept, p.sweptValid = p.newest, true
	return nil
}

// dropStream deletes a stopped stream's entries and watermark.
func (ids *identities) dropStream(tp, name string, wkey []byte) error {
	eprefix := appendLP(appendLP([]byte{'e'}, tp), name)
	var keys [][]byte
	err := ids.tb.Scan(eprefix, func(k, _ []byte) error {
		keys = append(keys, bytes.Clone(k))
		return nil
	})
	if err != nil {
		return fmt.Errorf("scanning the dedup entries of stopped stream %s %s: %w", tp, name, err)
	}
	if err := ids.deleteAll(keys); err != nil {
		return fmt.Errorf("forgetting stopped stream %s %s: %w", tp, name, err)
	}
	if err := ids.tb.Delete(wkey); err != nil {
		return fmt.Errorf("forgetting stopped stream %s %s: %w", tp, name, err)
	}
	delete(ids.streams, tp+"\x00"+name)
	return nil
}

func (ids *identities) deleteAll(keys [][]byte) error {
	for _, k := range keys {
		if err := ids.tb.Delete(k); err != nil {
			return err
		}
	}
	ids.expired += int64(len(keys))
	return nil
}

func (ids *identities) entryKey(s *identityStream, at int64, rest []byte) []byte {
	k := make([]byte, 0, len(s.eprefix)+8+len(rest))
	k = append(k, s.eprefix...)
	k = binary.BigEndian.AppendUint64(k, uint64(at)^(1<<63))
	return append(k, rest...)
}

// appendLP appends uvarint(len(x)) x.
func appendLP(b []byte, x string) []byte {
	b = binary.AppendUvarint(b, uint64(len(x)))
	return append(b, x...)
}

// cutLP reads uvarint(len(x)) x, which must be all of b.
func cutLP(b []byte) (string, bool) {
	n, w := binary.Uvarint(b)
	if w <= 0 || uint64(len(b)-w) != n {
		return "", false
	}
	return string(b[w:]), true
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
