package topics

import (
	"bufio"
	"encoding/hex"
	"os"
	"strconv"
	"strings"
	"testing"
)

// keyVector is one line of testdata/murmur2_java.tsv: what the Java client computes for a key.
type keyVector struct {
	key        []byte
	hash       int32
	partitions map[int]int32 // partition count → chosen partition
}

var vectorCounts = []int{1, 3, 8, 12, 100}

func loadKeyVectors(t *testing.T) []keyVector {
	t.Helper()
	f, err := os.Open("testdata/murmur2_java.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []keyVector
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 2+len(vectorCounts) {
			t.Fatalf("bad vector line %q", line)
		}
		key, err := hex.DecodeString(cols[0])
		if err != nil {
			t.Fatal(err)
		}
		h, err := strconv.ParseInt(cols[1], 10, 32)
		if err != nil {
			t.Fatal(err)
		}
		v := keyVector{key: key, hash: int32(h), partitions: map[int]int32{}}
		for i, n := range vectorCounts {
			p, err := strconv.ParseInt(cols[2+i], 10, 32)
			if err != nil {
				t.Fatal(err)
			}
			v.partitions[n] = int32(p)
		}
		out = append(out, v)
	}
	if len(out) < 50 {
		t.Fatalf("only %d vectors in testdata/murmur2_java.tsv", len(out))
	}
	return out
}

func TestKeyPartitionMatchesJavaClient(t *testing.T) {
	for _, v := range loadKeyVectors(t) {
		if got := Murmur2(v.key); got != v.hash {
			t.Errorf("Murmur2(%x) = %d, Java client says %d", v.key, got, v.hash)
		}
		for n, want := range v.partitions {
			if got := KeyPartition(v.key, n); got != want {
				t.Errorf("KeyPartition(%x, %d) = %d, Java client says %d", v.key, n, got, want)
			}
		}
	}
}
