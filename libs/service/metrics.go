package service

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// newMetrics returns the server's Prometheus registry with the Go runtime and process
// collectors, weir_service_info and weir_service_ready.
func newMetrics(s *Server) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "weir_service_info",
			Help:        "Always 1; the labels name the service, its version and instance.",
			ConstLabels: prometheus.Labels{"service": s.cfg.Name, "version": s.cfg.Version, "instance": s.cfg.InstanceID},
		}, func() float64 { return 1 }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "weir_service_ready",
			Help: "1 while the service reports ready on /readyz, else 0.",
		}, func() float64 {
			if s.Ready() {
				return 1
			}
			return 0
		}),
	)
	return reg
}

// Metrics is the server's Prometheus registry, served on GET /metrics; services register
// their own collectors on it.
func (s *Server) Metrics() *prometheus.Registry { return s.metrics }

func (s *Server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics, promhttp.HandlerOpts{Registry: s.metrics})
}
