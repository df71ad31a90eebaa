// Package servicetest holds test helpers for code built on package service: HTTP clients
// for both Connect and gRPC (h2c), a way to run a service binary's command line in-process,
// and TestCLI, the checks every Weir service's cli package must pass.
package servicetest

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"connectrpc.com/connect"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
	"github.com/weirhq/weir/gen/weir/v1/weirv1connect"
)

// RunFunc is a service binary's command line: cli.RunContext in each service.
type RunFunc func(ctx context.Context, args []string, stdout, stderr io.Writer) int

// HTTP1Client returns a client that speaks HTTP/1.1 only, as curl does by default.
func HTTP1Client(t testing.TB) *http.Client {
	var p http.Protocols
	p.SetHTTP1(true)
	return newClient(t, p)
}

// H2CClient returns a client that speaks cleartext HTTP/2 with prior knowledge, as gRPC
// clients do.
func H2CClient(t testing.TB) *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return newClient(t, p)
}

func newClient(t testing.TB, p http.Protocols) *http.Client {
	tr := &http.Transport{Protocols: &p}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// InfoClients returns InfoService clients for the server at addr, keyed by protocol:
// "connect" (Connect protocol over HTTP/1.1) and "grpc" (gRPC over h2c).
func InfoClients(t testing.TB, addr string) map[string]weirv1connect.InfoServiceClient {
	base := "http://" + addr
	return map[string]weirv1connect.InfoServiceClient{
		"connect": weirv1connect.NewInfoServiceClient(HTTP1Client(t), base),
		"grpc":    weirv1connect.NewInfoServiceClient(H2CClient(t), base, connect.WithGRPC()),
	}
}

// Process is a service command line running in-process, started by Start.
type Process struct {
	// Addr is the address the server listens on.
	Addr string

	cancel context.CancelFunc
	code   chan int
	logs   chan string // everything the process wrote to stderr, once it has exited
	exit   *int
}

var readyLine = regexp.MustCompile(`msg=ready .*\baddr=(\S+)`)

// Start runs run(ctx, args) in a goroutine and returns once the process has logged that it is
// ready, with the address it listens on. The test fails if the process exits first. Stop, or
// the end of the test, stops it.
func Start(t testing.TB, run RunFunc, args ...string) *Process {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	p := &Process{cancel: cancel, code: make(chan int, 1), logs: make(chan string, 1)}
	addrs := make(chan string, 1)

	go func() {
		code := run(ctx, args, io.Discard, pw)
		_ = pw.Close()
		p.code <- code
	}()
	go func() { // read stderr to its end: spot the ready line, keep the rest for failures
		var all bytes.Buffer
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			all.WriteString(sc.Text() + "\n")
			if m := readyLine.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addrs <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, pr)
		close(addrs)
		p.logs <- all.String()
	}()
	t.Cleanup(func() { p.Stop(t) })

	addr, ok := <-addrs
	if !ok {
		t.Fatalf("%v exited with code %d before it was ready; stderr:\n%s", args, p.Stop(t), p.Logs())
	}
	p.Addr = addr
	return p
}

// Stop cancels the process's context and returns its exit code once it has exited.
func (p *Process) Stop(t testing.TB) int {
	t.Helper()
	if p.exit == nil {
		p.cancel()
		code := <-p.code
		p.exit = &code
	}
	return *p.exit
}

// Logs returns what the process wrote to stderr. Call it only after Stop: it waits for
// the process's stderr to close.
func (p *Process) Logs() string {
	s := <-p.logs
	p.logs <- s
	return s
}

// TestCLI checks the command line every Weir service binary shares (see service.Main):
// help lists the commands and exits 0, a bad command line exits 2, version prints the
// version, and `serve --listen 127.0.0.1:0` serves GetInfo as service name until its context
// is cancelled, then exits 0 and closes its port.
func TestCLI(t *testing.T, run RunFunc, name string) {
	TestCommands(t, run, name)
	TestServe(t, run, name)
}

// TestCommands checks the command line without serving: help, usage errors and version.
func TestCommands(t *testing.T, run RunFunc, name string) {
	exec := func(args ...string) (code int, stdout, stderr string) {
		var out, errb strings.Builder
		code = run(t.Context(), args, &out, &errb)
		return code, out.String(), errb.String()
	}

	for _, arg := range []string{"help", "-h", "--help"} {
		t.Run("usage/"+arg, func(t *testing.T) {
			code, stdout, _ := exec(arg)
			if code != 0 {
				t.Fatalf("exit code %d, want 0", code)
			}
			for _, want := range []string{name, "serve", "version", "help"} {
				if !strings.Contains(stdout, want) {
					t.Errorf("usage does not mention %q:\n%s", want, stdout)
				}
			}
		})
	}

	for _, tc := range []struct {
		name   string
		args   []string
		stderr string
	}{
		{"no command", nil, "Usage:"},
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"unknown serve flag", []string{"serve", "--bogus"}, "flag provided but not defined"},
		{"bad listen address", []string{"serve", "--listen", "nope"}, "listen"},
		{"extra arguments", []string{"serve", "now"}, "unexpected arguments"},
	} {
		t.Run("usage error/"+tc.name, func(t *testing.T) {
			code, stdout, stderr := exec(tc.args...)
			if code != 2 {
				t.Errorf("exit code %d, want 2", code)
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr does not contain %q:\n%s", tc.stderr, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout not empty:\n%s", stdout)
			}
		})
	}

	t.Run("version", func(t *testing.T) {
		code, stdout, _ := exec("version")
		if code != 0 || !strings.HasPrefix(stdout, name+" ") {
			t.Errorf("exit code %d, stdout %q; want 0 and %q", code, stdout, name+" VERSION")
		}
	})

}

// TestServe checks that `serve --listen 127.0.0.1:0 --instance-id test-1 [extra...]` serves
// GetInfo as service name, ready, until its context is cancelled, then exits 0 and closes its
// port. Services that need etcd or Kafka pass their flags in extra.
func TestServe(t *testing.T, run RunFunc, name string, extra ...string) {
	t.Run("serve", func(t *testing.T) {
		p := Start(t, run, append([]string{"serve", "--listen", "127.0.0.1:0", "--instance-id", "test-1"}, extra...)...)
		h1, h2c := HTTP1Client(t), H2CClient(t)
		base := "http://" + p.Addr
		for proto, client := range map[string]weirv1connect.InfoServiceClient{
			"connect": weirv1connect.NewInfoServiceClient(h1, base),
			"grpc":    weirv1connect.NewInfoServiceClient(h2c, base, connect.WithGRPC()),
		} {
			resp, err := client.GetInfo(t.Context(), connect.NewRequest(&weirv1.GetInfoRequest{}))
			if err != nil {
				t.Fatalf("%s: GetInfo: %v", proto, err)
			}
			if got := resp.Msg; got.GetService() != name || got.GetInstanceId() != "test-1" || !got.GetReady() {
				t.Errorf("%s: GetInfo = %v; want service %q, instance test-1, ready", proto, got, name)
			}
		}
		// Idle HTTP/2 connections would delay the server's graceful shutdown by a second.
		h1.CloseIdleConnections()
		h2c.CloseIdleConnections()
		if code := p.Stop(t); code != 0 {
			t.Errorf("exit code %d after cancel, want 0; stderr:\n%s", code, p.Logs())
		}
		if conn, err := net.Dial("tcp", p.Addr); err == nil {
			conn.Close()
			t.Errorf("%s still accepts connections after serve stopped", p.Addr)
		}
	})
}
