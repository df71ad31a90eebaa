package agents

import (
	"strconv"
	"strings"
)

// Dedup drops the records a Weir task consumes twice because their Weir producer emitted
// them twice: after a crash, the producing task reprocesses its inputs from its last commit
// and emits the same records again, with the same dedup headers (HeaderTask, HeaderSource,
// HeaderOffset, HeaderSeq).
//
// For every input partition it reads, the consuming task keeps a high-water mark per
// (producing task, its input partition): the highest (offset, seq) consumed. One producer
// task writes the records derived from one of its input partitions to a partition in
// (offset, seq) order, so a record at or below the mark is a replay and is dropped. The
// marks are committed in the task's commit marker together with its input positions
// (Changed → tables.Task.Commit; NewDedup(task.Dedup()) at start), so they are exactly as
// old as the state they protect.
//
// Records identified by content (HeaderIdentity: window closes, timer firings) are dropped
// when the task tracks identities (TrackIdentities; see dedup_identity.go): exactly within
// a horizon, from entries in a table of the task's own state. Records without those
// headers (external producers) are never dropped. Dedup is not safe for concurrent use
// (one task goroutine). A nil *Dedup drops nothing (guarantee "at_least_once").
type Dedup struct {
	marks   map[string]*dedupMark // by base key: "<in topic>/<in partition>|<task>|<source>"
	changed []*dedupMark
	buf     []byte
	dropped int64
	ids     *identities // content identities; nil: not tracked
}

type dedupMark struct {
	key         string
	offset, seq int64
	dirty       bool
}

// Keys of the marks in a commit marker: offset and seq of one high-water mark.
const (
	dedupOffsetPrefix = "o:"
	dedupSeqPrefix    = "s:"
)

// NewDedup starts from committed marks (tables.Task.Dedup()); marks of other forms are
// ignored.
func NewDedup(committed map[string]int64) *Dedup {
	d := &Dedup{marks: map[string]*dedupMark{}}
	for k, off := range committed {
		base, ok := strings.CutPrefix(k, dedupOffsetPrefix)
		if !ok {
			continue
		}
		d.marks[base] = &dedupMark{key: base, offset: off, seq: committed[dedupSeqPrefix+base]}
	}
	return d
}

// Seen reports whether rec (consumed from rec.Topic/rec.Partition) is a replay of a record
// already consumed; if not, it raises the high-water mark of its producer (or remembers
// its content identity). An error comes from the identities' table only (the task's
// state failed): the task must stop.
func (d *Dedup) Seen(rec *Record) (bool, error) {
	if d == nil {
		return false, nil
	}
	var task, source, offset, seq, identity, windowEnd []byte
	n := 0
	for i := range rec.Headers {
		h := &rec.Headers[i]
		switch h.Key {
		case HeaderTask:
			task, n = h.Value, n+1
		case HeaderSource:
			source, n = h.Value, n+1
		case HeaderOffset:
			offset, n = h.Value, n+1
		case HeaderSeq:
			seq, n = h.Value, n+1
		case HeaderIdentity:
			identity = h.Value
		case HeaderWindowEnd:
			windowEnd = h.Value
		}
	}
	if n != 4 || task == nil || source == nil || offset == nil || seq == nil {
		if n == 2 && identity != nil && task != nil && seq != nil {
			return d.seenIdentity(rec, task, identity, seq, windowEnd)
		}
		return false, nil // not emitted by Weir (or headers repeated): keep it
	}
	off, ok1 := parseDecimal(offset)
	sq, ok2 := parseDecimal(seq)
	if !ok1 || !ok2 {
		return false, nil
	}
	b := append(d.buf[:0], rec.Topic...)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(rec.Partition), 10)
	b = append(b, '|')
	b = append(b, task...)
	b = append(b, '|')
	b = append(b, source...)
	d.buf = b
	m := d.marks[string(b)]
	if m == nil {
		m = &dedupMark{key: string(b), offset: -1, seq: -1}
		d.marks[m.key] = m
	} else if off < m.offset || (off == m.offset && sq <= m.seq) {
		d.dropped++
		return true, nil
	}
	m.offset, m.seq = off, sq
	if !m.dirty {
		m.dirty = true
		d.changed = append(d.changed, m)
	}
	return false, nil
}

// Changed returns the marks raised since the last call, in the form tables.Task.Commit
// merges into the committed ones, and forgets them (nil when none changed).
func (d *Dedup) Changed() map[string]int64 {
	if d == nil || len(d.changed) == 0 {
		return nil
	}
	out := make(map[string]int64, 2*len(d.changed))
	for _, m := range d.changed {
		out[dedupOffsetPrefix+m.key] = m.offset
		out[dedupSeqPrefix+m.key] = m.seq
		m.dirty = false
	}
	d.changed = d.changed[:0]
	return out
}

// Dropped counts the replays dropped so far.
func (d *Dedup) Dropped() int64 {
	if d == nil {
		return 0
	}
	return d.dropped
}

// parseDecimal parses a non-negative decimal int64 without allocating.
func parseDecimal(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 { // 18 digits always fit an int64
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
