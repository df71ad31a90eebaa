package service

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestMetricsEndpoint(t *testing.T) {
	s, err := New(Config{Name: "worker", Version: "v-test", Listen: "127.0.0.1:0", InstanceID: "w-1"})
	if err != nil {
		t.Fatal(err)
	}
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "weir_test_records_total", Help: "test"})
	s.Metrics().MustRegister(c)
	c.Add(3)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, ready) }()
	defer func() { cancel(); <-done }()
	addr := <-ready

	scrape := func() string {
		res, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("GET /metrics: %d", res.StatusCode)
		}
		return string(b)
	}
	s.SetReady(false)
	out := scrape()
	for _, want := range []string{
		`weir_service_info{instance="w-1",service="worker",version="v-test"} 1`,
		"weir_service_ready 0",
		"weir_test_records_total 3",
		"go_goroutines ",
		"process_resident_memory_bytes ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	s.SetReady(true)
	if out := scrape(); !strings.Contains(out, "weir_service_ready 1") {
		t.Error("weir_service_ready did not follow SetReady(true)")
	}
}
