//go:build integration

package browser_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/weirhq/weir/integration/browser"
	"github.com/weirhq/weir/integration/harness"
	"github.com/weirhq/weir/libs/cluster"
)

func TestMain(m *testing.M) { harness.Main(m) }

// chromium finds a headless-capable Chromium: $WEIR_CHROMIUM, else Debian's chromium. Without
// one the test is skipped, except under CI=true, where it fails.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("WEIR_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless_shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const why = "no Chromium found (install Debian's chromium: apt-get install -y chromium, or set WEIR_CHROMIUM)"
	if os.Getenv("CI") == "true" {
		t.Fatal(why)
	}
	t.Skip(why)
	return ""
}

// artifactDir is where screenshots go: $WEIR_ARTIFACTS, else $TMPDIR/weir-artifacts.
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("WEIR_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "weir-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestBrowserDashboard loads the dashboard in headless Chromium, sees the workers and the
// partitions' owners, looks a key up in the table browser and sees its value, and saves a
// screenshot.
func TestBrowserDashboard(t *testing.T) {
	exe := chromium(t)
	c := browser.NewCluster(t, "w1", "w2")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	owner := map[int]string{0: "w1", 1: "w2", 2: "w1", 3: "w2"}
	as := map[int]cluster.Assignment{}
	for p, w := range owner {
		as[p] = cluster.Assignment{Active: w, Standbys: []string{map[string]string{"w1": "w2", "w2": "w1"}[w]}}
	}
	epochs := c.Assign(ctx, as)
	counts := map[string]int{"home": 42, "pricing": 7, "docs": 19, "blog": 3, "about": 11, "careers": 5}
	for p, w := range owner {
		task := c.OpenTask(ctx, c.Workers[w], p, epochs[p])
		tb, err := task.Table("counts")
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range counts {
			if browser.Partition(k) == p {
				if err := tb.Set([]byte(k), []byte(strconv.Itoa(v))); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := task.Commit(ctx, task.Positions(), task.Dedup()); err != nil {
			t.Fatal(err)
		}
		c.Workers[w].Hold(p, cluster.RoleActive, epochs[p])
		c.Workers[map[string]string{"w1": "w2", "w2": "w1"}[w]].Hold(p, cluster.RoleStandby, epochs[p])
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1400, 1800),
		chromedp.Flag("headless", "new"))
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	defer cancelBrowser()

	key := "home"
	poll := func(expr string) chromedp.Action[chromedp.Void] {
		p := chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(30*time.Second), chromedp.WithPollingInterval(100*time.Millisecond))
		return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
			_, err := p(ctx, t)
			return chromedp.Void{}, err
		}
	}
	err := chromedp.Do(bctx,
		chromedp.Navigate(c.WebURL+"/"),
		poll(`document.querySelectorAll('#workers tbody tr').length === 2`),
		poll(`document.querySelectorAll('#assignment td.A').length === 4`),
		poll(`document.querySelector('#table-select').options.length > 0`),
		chromedp.SetValue(`#table-select`, "counts"),
		chromedp.SendKeys(`#key`, key),
		chromedp.Click(`#lookup`),
		poll(`document.querySelector('#lookup-result').textContent.includes('served by')`),
		chromedp.Click(`#scan`),
		poll(`document.querySelectorAll('#scan-result tbody tr').length === 6`),
	)
	if err != nil {
		t.Fatalf("driving the dashboard: %v", err)
	}
	text := func(sel string) string {
		s, err := chromedp.Run(bctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("reading %s: %v", sel, err)
		}
		return s
	}
	result, workers, assignment := text(`#lookup-result`), text(`#workers tbody`), text(`#assignment`)
	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("taking a screenshot: %v", err)
	}
	path := filepath.Join(artifactDir(t), "dashboard.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("dashboard screenshot: %s", path)

	wantOwner := owner[browser.Partition(key)]
	if !strings.HasPrefix(result, "42\n") || !strings.Contains(result, "served by "+wantOwner+" as active") {
		t.Errorf("lookup of %q shows %q; want 42 served by %s", key, result, wantOwner)
	}
	for _, w := range []string{"w1", "w2"} {
		if !strings.Contains(workers, w) || !strings.Contains(strings.ToLower(assignment), w) {
			t.Errorf("workers %q / assignment %q do not show %s", workers, assignment, w)
		}
	}
}
