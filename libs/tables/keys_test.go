package tables

import (
	"bytes"
	"testing"
)

func TestKeyLayout(t *testing.T) {
	prefix := partitionPrefix("orders-changelog", 5)
	if want := []byte("t/orders-changelog/\x00\x00\x00\x05"); !bytes.Equal(prefix, want) {
		t.Fatalf("partition prefix = %q, want %q", prefix, want)
	}
	if got, want := metaKey("orders-changelog", 5), []byte("m/orders-changelog/\x00\x00\x00\x05"); !bytes.Equal(got, want) {
		t.Fatalf("meta key = %q, want %q", got, want)
	}
	ck := changelogKey("counts", []byte("k\x00ey"))
	if want := []byte("counts\x00k\x00ey"); !bytes.Equal(ck, want) {
		t.Fatalf("changelog key = %q, want %q", ck, want)
	}
	if got, want := dataKey(prefix, ck), []byte("t/orders-changelog/\x00\x00\x00\x05counts\x00k\x00ey"); !bytes.Equal(got, want) {
		t.Fatalf("data key = %q, want %q", got, want)
	}
	table, key, err := splitChangelogKey(ck)
	if err != nil || table != "counts" || string(key) != "k\x00ey" {
		t.Fatalf("split = %q %q %v", table, key, err)
	}
	// Partitions sort numerically and one partition's range excludes its neighbours.
	p1, p256 := partitionPrefix("c", 1), partitionPrefix("c", 256)
	if bytes.Compare(p1, p256) >= 0 || bytes.Compare(successor(p1), p256) > 0 {
		t.Fatalf("partition 1 range [%q,%q) overlaps partition 256 %q", p1, successor(p1), p256)
	}
	// Table "a" never covers table "a.b" or "ab".
	a := changelogKey("a", nil)
	for _, other := range []string{"a.b", "ab"} {
		if bytes.HasPrefix(changelogKey(other, []byte("x")), a) {
			t.Fatalf("table %q falls under table a's prefix", other)
		}
	}
	// The marker key is never a table key.
	if _, _, err := splitChangelogKey(MarkerKey); err == nil {
		t.Fatal("marker key parses as a table key")
	}
	if got := successor([]byte{1, 0xff}); !bytes.Equal(got, []byte{2}) {
		t.Fatalf("successor = %v", got)
	}
	if successor([]byte{0xff}) != nil {
		t.Fatal("successor of 0xff should be nil")
	}
}

func TestNames(t *testing.T) {
	for _, n := range []string{"", "a b", "a/b", "a\x00b", string(make([]byte, MaxTableName+1))} {
		if ValidTableName(n) == nil {
			t.Errorf("table name %q accepted", n)
		}
	}
	for _, n := range []string{"counts", "by_user.v2", "A-1"} {
		if err := ValidTableName(n); err != nil {
			t.Errorf("table name %q refused: %v", n, err)
		}
	}
	if validTopic("a/b") == nil || validTopic("") == nil || validPartition(-1) == nil {
		t.Error("bad topic or partition accepted")
	}
}
