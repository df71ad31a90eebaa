package node_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
	"github.com/weirhq/weir/gen/weir/v1/weirv1connect"
	"github.com/weirhq/weir/libs/config"
	"github.com/weirhq/weir/libs/service"
	"github.com/weirhq/weir/services/web/node"
)

// start runs a web node whose etcd is unreachable, so every answer that gets past the
// auth check is a clear UNAVAILABLE.
func start(t *testing.T, token string) string {
	t.Helper()
	svc := config.Defaults("127.0.0.1:0")
	svc.Etcd.Endpoints = []string{"127.0.0.1:1"}
	svc.Etcd.DialTimeout = 200 * time.Millisecond
	n, err := node.New(node.Config{Service: svc, ID: "web-test", EtcdPrefix: "/weir-test", AuthToken: token,
		QueryTimeout: 300 * time.Millisecond}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	listening := make(chan string, 1)
	go func() { done <- n.Run(ctx, listening) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	select {
	case addr := <-listening:
		return "http://" + addr
	case err := <-done:
		t.Fatalf("node stopped: %v", err)
	}
	return ""
}

func TestBearerAuth(t *testing.T) {
	url := start(t, "s3cret")
	ctx := t.Context()
	for name, tc := range map[string]struct {
		token string
		code  connect.Code
	}{
		"no token":    {"", connect.CodeUnauthenticated},
		"wrong token": {"nope", connect.CodeUnauthenticated},
		"right token": {"s3cret", connect.CodeUnavailable}, // past auth: etcd is unreachable
	} {
		t.Run(name, func(t *testing.T) {
			c := weirv1connect.NewQueryServiceClient(http.DefaultClient, url, connect.WithInterceptors(service.WithBearer(tc.token)))
			_, err := c.ListApps(ctx, connect.NewRequest(&weirv1.ListAppsRequest{}))
			if connect.CodeOf(err) != tc.code {
				t.Fatalf("ListApps: %v, want %v", err, tc.code)
			}
			if tc.code == connect.CodeUnavailable && !strings.Contains(err.Error(), "etcd") {
				t.Errorf("error %q does not say etcd is the reason", err)
			}
		})
	}
	// Health, metrics and the dashboard stay open.
	for _, path := range []string{"/healthz", "/metrics", "/", "/static/app.js"} {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s, want 200 without a token", path, resp.Status)
		}
	}
}

func TestCurlJSON(t *testing.T) {
	url := start(t, "")
	req, _ := http.NewRequest("POST", url+"/weir.v1.QueryService/GetTableValue", strings.NewReader(`{"app":"","table":"t"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "invalid_argument") {
		t.Errorf("POST GetTableValue without an app: %s %s; want 400 invalid_argument", resp.Status, body)
	}
}
