package tables

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

func spec(t *testing.T, s WindowSpec) WindowSpec {
	t.Helper()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestWindowsFor(t *testing.T) {
	ms := time.Millisecond
	tumbling := WindowSpec{Kind: Tumbling, Size: 10 * ms}
	hop5 := WindowSpec{Kind: Hopping, Size: 10 * ms, Step: 5 * ms}
	hop3 := WindowSpec{Kind: Hopping, Size: 10 * ms, Step: 3 * ms}
	session := WindowSpec{Kind: Session, Gap: 7 * ms, Merge: mergeSum}
	cases := []struct {
		name string
		spec WindowSpec
		ts   int64
		want []Window
	}{
		{"tumbling zero", tumbling, 0, []Window{{0, 10}}},
		{"tumbling last ms", tumbling, 9, []Window{{0, 10}}},
		{"tumbling boundary", tumbling, 10, []Window{{10, 20}}},
		{"tumbling negative", tumbling, -1, []Window{{-10, 0}}},
		{"tumbling negative boundary", tumbling, -10, []Window{{-10, 0}}},
		{"tumbling negative inside", tumbling, -11, []Window{{-20, -10}}},
		{"hopping zero", hop5, 0, []Window{{-5, 5}, {0, 10}}},
		{"hopping inside", hop5, 4, []Window{{-5, 5}, {0, 10}}},
		{"hopping boundary", hop5, 5, []Window{{0, 10}, {5, 15}}},
		{"hopping negative", hop5, -1, []Window{{-10, 0}, {-5, 5}}},
		{"hopping uneven 4", hop3, 0, []Window{{-9, 1}, {-6, 4}, {-3, 7}, {0, 10}}},
		{"hopping uneven 3", hop3, 2, []Window{{-6, 4}, {-3, 7}, {0, 10}}},
		{"hopping uneven negative", hop3, -1, []Window{{-9, 1}, {-6, 4}, {-3, 7}}},
		{"session", session, -3, []Window{{-3, 4}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := spec(t, c.spec)
			got, err := s.WindowsFor(c.ts)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("WindowsFor(%d) = %v, want %v", c.ts, got, c.want)
			}
		})
	}
	// Every hopping window contains ts, and the count is the number of step multiples in (ts-size, ts].
	rng := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		size := 1 + rng.Int64N(50)
		step := 1 + rng.Int64N(size)
		s := spec(t, WindowSpec{Kind: Hopping, Size: time.Duration(size) * ms, Step: time.Duration(step) * ms})
		ts := rng.Int64N(1000) - 500
		got, err := s.WindowsFor(ts)
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for start := ts - size + 1; start <= ts; start++ {
			if floorDiv(start, step)*step == start {
				want++
			}
		}
		if len(got) != want {
			t.Fatalf("size %d step %d ts %d: %d windows, want %d", size, step, ts, len(got), want)
		}
		for _, w := range got {
			if w.Start > ts || w.End <= ts || w.End-w.Start != size || floorDiv(w.Start, step)*step != w.Start {
				t.Fatalf("size %d step %d ts %d: bad window %v", size, step, ts, w)
			}
		}
	}
	if _, err := tumbling.WindowsFor(MaxEventTime + 1); err == nil {
		t.Fatal("an event time out of range was accepted")
	}
}

func TestWindowSpecValidate(t *testing.T) {
	ms := time.Millisecond
	bad := []struct {
		spec WindowSpec
		want string
	}{
		{WindowSpec{Kind: "sliding", Size: ms}, "not one of"},
		{WindowSpec{Kind: Tumbling}, "size must be positive"},
		{WindowSpec{Kind: Tumbling, Size: -ms}, "negative"},
		{WindowSpec{Kind: Tumbling, Size: ms, Step: 2 * ms}, "no step"},
		{WindowSpec{Kind: Tumbling, Size: 1500 * time.Microsecond}, "whole number of milliseconds"},
		{WindowSpec{Kind: Hopping, Size: ms}, "step must be positive"},
		{WindowSpec{Kind: Hopping, Size: ms, Step: 2 * ms}, "larger than size"},
		{WindowSpec{Kind: Hopping, Size: time.Hour, Step: ms}, "windows per record"},
		{WindowSpec{Kind: Session, Gap: ms}, "merge function"},
		{WindowSpec{Kind: Session, Gap: ms, Size: ms, Merge: mergeSum}, "no size"},
		{WindowSpec{Kind: Tumbling, Size: ms, Grace: -ms}, "grace may not be negative"},
		{WindowSpec{Kind: Tumbling, Size: 10 * ms, Grace: 5 * ms, Expires: 12 * ms}, "shorter than its length + grace"},
		{WindowSpec{Kind: Tumbling, Size: 100 * 365 * 24 * time.Hour}, "longer than the maximum"},
	}
	for _, c := range bad {
		err := c.spec.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one containing %q", c.spec, err, c.want)
		}
	}
	s := spec(t, WindowSpec{Kind: Tumbling, Size: 10 * ms, Grace: 15 * ms})
	if s.Expires != 25*ms || s.Step != 10*ms {
		t.Fatalf("defaults: expires %s step %s", s.Expires, s.Step)
	}
	s = spec(t, WindowSpec{Kind: Session, Gap: 10 * ms, Merge: mergeSum})
	if s.Expires != 20*ms {
		t.Fatalf("session default expires %s", s.Expires)
	}
}

func TestWindowKeyLayout(t *testing.T) {
	keys := [][]byte{nil, {0}, {0, 0}, {0, 1}, {0, 0xff}, {1}, []byte("a"), []byte("a\x00"), []byte("a\x00b"), []byte("ab"), {0xff}}
	starts := []int64{-MaxEventTime, -10, -1, 0, 1, 10, MaxEventTime}
	var enc [][]byte
	for _, k := range keys {
		for _, s := range starts {
			wk := EncodeWindowKey(k, s)
			gk, gs, err := DecodeWindowKey(wk)
			if err != nil || !bytes.Equal(gk, k) || gs != s {
				t.Fatalf("round trip of (%q, %d) = (%q, %d, %v)", k, s, gk, gs, err)
			}
			if !bytes.HasPrefix(wk, WindowKeyPrefix(k)) {
				t.Fatalf("key %q window %d lacks its prefix", k, s)
			}
			for _, other := range keys {
				if !bytes.Equal(other, k) && bytes.HasPrefix(wk, WindowKeyPrefix(other)) {
					t.Fatalf("window of %q has the prefix of %q", k, other)
				}
			}
			enc = append(enc, wk)
		}
	}
	// Encoded order is (key bytewise, start numerically): the input order above.
	if !sort.SliceIsSorted(enc, func(i, j int) bool { return bytes.Compare(enc[i], enc[j]) < 0 }) {
		t.Fatal("window keys do not sort by key, then start")
	}
	for _, bad := range [][]byte{nil, []byte("short"), append([]byte("a\x00b\x00\x01"), make([]byte, 8)...)} {
		if _, _, err := DecodeWindowKey(bad); err == nil {
			t.Errorf("DecodeWindowKey(%q) accepted", bad)
		}
	}
	if _, _, err := DecodeWindowValue([]byte{1, 2}); err == nil {
		t.Error("a short window value was accepted")
	}
}
