package failpoint

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	ps, err := parse("commit.after-flush=kill@3, commit.before-append=zombie@1")
	if err != nil {
		t.Fatal(err)
	}
	if p := ps["commit.after-flush"]; p == nil || p.action != "kill" || p.at != 3 {
		t.Fatalf("after-flush: %+v", p)
	}
	if p := ps["commit.before-append"]; p == nil || p.action != "zombie" || p.at != 1 {
		t.Fatalf("before-append: %+v", p)
	}
	if ps, err := parse("  "); err != nil || ps != nil {
		t.Fatalf("empty: %v %v", ps, err)
	}
}

func TestParseReportsEveryError(t *testing.T) {
	_, err := parse("a=kill,b=kill@0,=kill@1,c=kill@x,d=kill@1,d=kill@2,e=kill@+x,f=kill@+-1s")
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`"a=kill"`, `"b=kill@0"`, `"=kill@1"`, `"c=kill@x"`, `"d=kill@2"`, `"e=kill@+x"`, `"f=kill@+-1s"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestHitFiresOnceOnTheNthPass(t *testing.T) {
	old := points
	t.Cleanup(func() { points = old })
	points, _ = parse("p=zombie@3")
	var got []string
	for range 5 {
		got = append(got, Hit("p"))
	}
	if strings.Join(got, ",") != ",,zombie,," {
		t.Fatalf("hits: %q", got)
	}
	if Hit("other") != "" {
		t.Fatal("an unarmed point fired")
	}
}

func TestHitByTimeFiresOnceAtTheFirstPassAfterTheDelay(t *testing.T) {
	old := points
	t.Cleanup(func() { points = old })
	due := time.Since(started) + 50*time.Millisecond // 50 ms from now
	var err error
	if points, err = parse(fmt.Sprintf("p=zombie@+%s", due)); err != nil {
		t.Fatal(err)
	}
	if Hit("p") != "" {
		t.Fatal("fired before the delay")
	}
	for time.Since(started) < due {
		time.Sleep(5 * time.Millisecond)
	}
	if Hit("p") != "zombie" {
		t.Fatal("did not fire after the delay")
	}
	if Hit("p") != "" {
		t.Fatal("fired twice")
	}
}

func TestUnarmedIsFree(t *testing.T) {
	old := points
	t.Cleanup(func() { points = old })
	points = nil
	if n := testing.AllocsPerRun(100, func() { Hit("commit.after-flush") }); n != 0 {
		t.Fatalf("Hit allocates %v times when unarmed", n)
	}
}
