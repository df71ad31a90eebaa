package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
	"github.com/weirhq/weir/gen/weir/v1/weirv1connect"
	"github.com/weirhq/weir/libs/service"
	"github.com/weirhq/weir/libs/service/servicetest"
)

var quiet = slog.New(slog.DiscardHandler)

// running is a Server started by start.
type running struct {
	*service.Server
	addr string
	stop func() error // cancels Run's context and returns what Run returned
}

// start runs a server for "controller" on a free loopback port, waiting until it listens.
func start(t *testing.T, setup func(*service.Server)) running {
	t.Helper()
	srv, err := service.New(service.Config{
		Name: "controller", Version: "v9.9.9", Listen: "127.0.0.1:0", InstanceID: "ctl-1", Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(srv)
	}
	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan string)
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("Run: %v", err)
	}
	var result *error
	stop := func() error {
		if result == nil {
			cancel()
			err := <-done
			result = &err
		}
		return *result
	}
	t.Cleanup(func() { _ = stop() })
	return running{srv, addr, stop}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  service.Config
		want []string // every problem must be reported
	}{
		{"empty", service.Config{}, []string{"name is required", "listen address is required"}},
		{"bad name and port", service.Config{Name: "Con troller", Listen: "127.0.0.1:70000"},
			[]string{`name "Con troller"`, `port "70000"`}},
		{"no port", service.Config{Name: "web", Listen: "localhost"}, []string{`listen address "localhost"`}},
		{"named port", service.Config{Name: "web", Listen: "localhost:http"}, []string{`port "http"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := service.New(tc.cfg)
			if err == nil {
				t.Fatal("New succeeded, want an error")
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not mention %q:\n%v", want, err)
				}
			}
		})
	}
}

func TestNewFillsDefaults(t *testing.T) {
	srv, err := service.New(service.Config{Name: "worker", Listen: ":0"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := srv.Config()
	if cfg.Listen != "127.0.0.1:0" || cfg.Version != service.Version || cfg.InstanceID == "" || cfg.Logger == nil {
		t.Errorf("Config() = %+v; want listen 127.0.0.1:0, version %q, an instance id and a logger", cfg, service.Version)
	}
}

func TestGetInfo(t *testing.T) {
	before := time.Now()
	s := start(t, nil)
	for _, ready := range []bool{false, true} {
		s.SetReady(ready)
		for proto, client := range servicetest.InfoClients(t, s.addr) {
			resp, err := client.GetInfo(t.Context(), connect.NewRequest(&weirv1.GetInfoRequest{}))
			if err != nil {
				t.Fatalf("%s: %v", proto, err)
			}
			got := resp.Msg
			if got.GetService() != "controller" || got.GetVersion() != "v9.9.9" || got.GetInstanceId() != "ctl-1" || got.GetReady() != ready {
				t.Errorf("%s: GetInfo = %v; want controller v9.9.9 ctl-1 ready=%v", proto, got, ready)
			}
			if at := got.GetStartedAt().AsTime(); at.Before(before.Truncate(time.Second)) || at.After(time.Now()) {
				t.Errorf("%s: started_at %v not between %v and now", proto, at, before)
			}
		}
	}
}

// TestGetInfoJSON calls GetInfo the way curl would:
// curl -d '{}' -H 'Content-Type: application/json' http://ADDR/weir.v1.InfoService/GetInfo
func TestGetInfoJSON(t *testing.T) {
	s := start(t, nil)
	resp, err := servicetest.HTTP1Client(t).Post("http://"+s.addr+weirv1connect.InfoServiceGetInfoProcedure,
		"application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %s, Content-Type %q, body %s; want 200 application/json", resp.Status, resp.Header.Get("Content-Type"), body)
	}
	var raw map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, body)
	}
	if raw["service"] != "controller" || raw["instanceId"] != "ctl-1" {
		t.Errorf("body %s; want service controller and instanceId ctl-1", body)
	}
	var msg weirv1.GetInfoResponse
	if err := protojson.Unmarshal(body, &msg); err != nil || msg.GetStartedAt() == nil {
		t.Errorf("body %s does not decode to a GetInfoResponse with started_at: %v", body, err)
	}
}

func TestProbes(t *testing.T) {
	s := start(t, nil)
	client := servicetest.HTTP1Client(t)
	get := func(path string) (int, string) {
		resp, err := client.Get("http://" + s.addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(body))
	}
	for _, tc := range []struct {
		ready    bool
		path     string
		wantCode int
		wantBody string
	}{
		{false, "/healthz", 200, "ok"},
		{false, "/readyz", 503, "not ready: controller has not finished starting"},
		{true, "/healthz", 200, "ok"},
		{true, "/readyz", 200, "ok"},
	} {
		s.SetReady(tc.ready)
		if code, body := get(tc.path); code != tc.wantCode || body != tc.wantBody {
			t.Errorf("ready=%v GET %s = %d %q; want %d %q", tc.ready, tc.path, code, body, tc.wantCode, tc.wantBody)
		}
	}
}

func TestGRPCHealth(t *testing.T) {
	s := start(t, nil)
	client := grpchealth.NewClient(servicetest.H2CClient(t), "http://"+s.addr, connect.WithGRPC())
	for _, ready := range []bool{false, true} {
		s.SetReady(ready)
		want := grpchealth.StatusNotServing
		if ready {
			want = grpchealth.StatusServing
		}
		for _, name := range []string{"", weirv1connect.InfoServiceName} {
			resp, err := client.Check(t.Context(), &grpchealth.CheckRequest{Service: name})
			if err != nil {
				t.Fatalf("Check(%q): %v", name, err)
			}
			if resp.Status != want {
				t.Errorf("ready=%v: Check(%q) = %v, want %v", ready, name, resp.Status, want)
			}
		}
	}
	_, err := client.Check(t.Context(), &grpchealth.CheckRequest{Service: "no.such.Service"})
	if connect.CodeOf(err) != connect.CodeNotFound {
		t.Errorf("Check(unknown service) error = %v, want code not_found", err)
	}
}

func TestReflection(t *testing.T) {
	s := start(t, nil)
	stream := grpcreflect.NewClient(servicetest.H2CClient(t), "http://"+s.addr, connect.WithGRPC()).NewStream(t.Context())
	defer stream.Close()
	names, err := stream.ListServices()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []protoreflect.FullName{weirv1connect.InfoServiceName, grpchealth.HealthV1ServiceName} {
		if !slices.Contains(names, want) {
			t.Errorf("ListServices() = %v, missing %s", names, want)
		}
	}
	files, err := stream.FileContainingSymbol(weirv1connect.InfoServiceName)
	if err != nil || len(files) == 0 || files[0].GetName() != "weir/v1/info.proto" {
		t.Errorf("FileContainingSymbol(InfoService) = %d files, %v; want weir/v1/info.proto first", len(files), err)
	}
}

func TestHandle(t *testing.T) {
	s := start(t, func(srv *service.Server) {
		srv.Handle("/hello", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "hi") }))
	})
	resp, err := servicetest.HTTP1Client(t).Get("http://" + s.addr + "/hello")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if body, _ := io.ReadAll(resp.Body); string(body) != "hi" {
		t.Errorf("GET /hello = %q, want hi", body)
	}
}

func TestRunStopsCleanly(t *testing.T) {
	s := start(t, nil)
	s.SetReady(true)
	// An idle HTTP/2 connection delays shutdown by the GOAWAY grace (1s) but must not block it.
	if _, err := servicetest.InfoClients(t, s.addr)["grpc"].GetInfo(t.Context(), connect.NewRequest(&weirv1.GetInfoRequest{})); err != nil {
		t.Fatal(err)
	}
	if err := s.stop(); err != nil {
		t.Fatalf("Run returned %v after cancel, want nil", err)
	}
	if s.Ready() {
		t.Error("still ready after Run returned")
	}
	if conn, err := net.Dial("tcp", s.addr); err == nil {
		conn.Close()
		t.Errorf("%s still accepts connections after Run returned", s.addr)
	}
	if err := s.Run(t.Context(), nil); err == nil {
		t.Error("second Run succeeded, want an error")
	}
}

func TestRunFailsOnBusyPort(t *testing.T) {
	s := start(t, nil)
	srv, err := service.New(service.Config{Name: "worker", Listen: s.addr, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	err = srv.Run(t.Context(), nil)
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Errorf("Run on a busy port = %v, want a *net.OpError", err)
	}
}
