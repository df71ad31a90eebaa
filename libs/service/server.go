// Package service is the runtime every Weir service (controller, worker, web) runs on: one
// HTTP server that speaks HTTP/1.1 and cleartext HTTP/2 (h2c) on one address and serves
//
//   - /healthz: liveness, 200 "ok" while the process serves;
//   - /readyz: readiness, 200 once the service called SetReady(true), 503 with a reason before;
//   - weir.v1.InfoService (Connect, gRPC and gRPC-Web): who is answering and whether it is ready;
//   - grpc.health.v1.Health: SERVING for "" and "weir.v1.InfoService" while ready;
//   - gRPC server reflection (v1 and v1alpha) for the services above;
//
// plus whatever the service mounts with Handle. Main adds the command line shared by the
// services' binaries (serve, version, help).
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/prometheus/client_golang/prometheus"
	weirv1 "github.com/weirhq/weir/gen/weir/v1"

	"github.com/weirhq/weir/gen/weir/v1/weirv1connect"
)

// ShutdownTimeout bounds how long Run waits for in-flight requests once its context is done;
// connections still open after it are closed.
const ShutdownTimeout = 10 * time.Second

// Server is one service's HTTP server. Create it with New, mount handlers with Handle, then
// call Run once.
type Server struct {
	cfg     Config
	log     *slog.Logger
	mux     *http.ServeMux
	health  *grpchealth.StaticChecker
	ready   atomic.Bool
	stopped atomic.Bool               // set when Run begins shutting down
	started atomic.Pointer[time.Time] // set when Run starts serving
	running atomic.Bool               // guards against a second Run
	metrics *prometheus.Registry
	served  serviceNames // names reflected and reported by grpchealth
}

// New checks cfg, reporting every problem at once, and returns a server with the common
// endpoints mounted. It does not listen yet: see Run.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:    cfg,
		log:    cfg.Logger.With("service", cfg.Name),
		mux:    http.NewServeMux(),
		health: grpchealth.NewStaticChecker(),
	}
	s.metrics = newMetrics(s)
	s.served.add(weirv1connect.InfoServiceName, grpchealth.HealthV1ServiceName)
	s.SetReady(false)

	s.mux.Handle("GET /metrics", s.metricsHandler())
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeText(w, http.StatusOK, "ok")
	})
	s.mux.HandleFunc("GET /readyz", s.serveReadyz)
	s.mux.Handle(weirv1connect.NewInfoServiceHandler(infoHandler{s}))
	s.mux.Handle(grpchealth.NewHandler(s.health))
	reflector := grpcreflect.NewReflector(&s.served)
	s.mux.Handle(grpcreflect.NewHandlerV1(reflector))
	s.mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector))
	return s, nil
}

// Config returns the server's configuration with defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// Handle mounts h on path (a net/http ServeMux pattern), typically a generated Connect
// handler's path and handler. Call it before Run.
func (s *Server) Handle(path string, h http.Handler) { s.mux.Handle(path, h) }

// SetReady sets the readiness that /readyz, grpchealth and GetInfo report.
func (s *Server) SetReady(ready bool) {
	s.ready.Store(ready)
	status := grpchealth.StatusNotServing
	if ready {
		status = grpchealth.StatusServing
	}
	s.health.SetStatus("", status)
	for _, name := range s.served.Names() {
		if name != grpchealth.HealthV1ServiceName {
			s.health.SetStatus(name, status)
		}
	}
}

// Ready reports the readiness set with SetReady.
func (s *Server) Ready() bool { return s.ready.Load() }

// Run listens on the configured address, sends the bound address (useful with port 0) on
// ready if it is non-nil (unless ctx is done first), and serves until ctx is done. It then marks the server not ready,
// stops accepting connections and waits up to ShutdownTimeout for in-flight requests. Run
// returns nil after a clean stop and may be called only once.
func (s *Server) Run(ctx context.Context, ready chan<- string) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("service: Run called more than once")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("service %s: %w", s.cfg.Name, err)
	}
	addr := ln.Addr().String()

	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true) // gRPC clients speak HTTP/2 with prior knowledge
	srv := &http.Server{
		Handler:           s.mux,
		Protocols:         &protocols,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	now := time.Now()
	s.started.Store(&now)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	s.log.Info("listening on "+addr, "addr", addr, "instance_id", s.cfg.InstanceID, "version", s.cfg.Version)

	if ready != nil {
		select {
		case ready <- addr:
		case <-ctx.Done():
		case err := <-served:
			return fmt.Errorf("service %s: serve: %w", s.cfg.Name, err)
		}
	}
	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("service %s: serve: %w", s.cfg.Name, err)
	}

	s.log.Info("shutting down", "addr", addr)
	s.stopped.Store(true)
	s.SetReady(false)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	<-served // Serve returns http.ErrServerClosed as soon as Shutdown starts
	if err != nil {
		_ = srv.Close()
		return fmt.Errorf("service %s: shutdown: %w", s.cfg.Name, err)
	}
	s.log.Info("stopped")
	return nil
}

func (s *Server) serveReadyz(w http.ResponseWriter, _ *http.Request) {
	switch {
	case s.stopped.Load():
		writeText(w, http.StatusServiceUnavailable, "not ready: shutting down")
	case !s.ready.Load():
		writeText(w, http.StatusServiceUnavailable, "not ready: "+s.cfg.Name+" has not finished starting")
	default:
		writeText(w, http.StatusOK, "ok")
	}
}

func writeText(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = fmt.Fprintln(w, body)
}

// infoHandler implements weir.v1.InfoService from the server's config and state.
type infoHandler struct{ s *Server }

var _ weirv1connect.InfoServiceHandler = infoHandler{}

func (h infoHandler) GetInfo(context.Context, *connect.Request[weirv1.GetInfoRequest]) (*connect.Response[weirv1.GetInfoResponse], error) {
	resp := &weirv1.GetInfoResponse{
		Service:    h.s.cfg.Name,
		Version:    h.s.cfg.Version,
		InstanceId: h.s.cfg.InstanceID,
		Ready:      h.s.ready.Load(),
	}
	if t := h.s.started.Load(); t != nil {
		resp.StartedAt = timestamppb.New(*t)
	}
	return connect.NewResponse(resp), nil
}
