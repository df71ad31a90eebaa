package devstack

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// EtcdConfig says where an embedded etcd server keeps its data and which loopback ports it
// listens on. A port of 0 picks a free one.
type EtcdConfig struct {
	Dir        string // data directory; created if missing, reused if present
	Host       string // listen host, 127.0.0.1 when empty
	ClientPort int
	PeerPort   int
	// CompactionRetention is how much history etcd keeps: auto-compaction runs periodically
	// with this retention (1h when zero), as production etcd deployments should.
	CompactionRetention time.Duration
	LogLevel            string // etcd's zap level; "error" when empty
}

// Etcd is a running embedded etcd server.
type Etcd struct {
	server   *embed.Etcd
	endpoint string
}

// StartEtcd starts a single-member etcd server and waits until it serves clients.
func StartEtcd(ctx context.Context, cfg EtcdConfig) (*Etcd, error) {
	if cfg.Dir == "" {
		return nil, errors.New("starting etcd: a data directory is required")
	}
	host := cfg.Host
	if host == "" {
		host = "127.0.0.1"
	}
	retention := cfg.CompactionRetention
	if retention <= 0 {
		retention = time.Hour
	}
	level := cfg.LogLevel
	if level == "" {
		level = "error"
	}
	ec := embed.NewConfig()
	ec.Name = "weir-dev"
	ec.Dir = cfg.Dir
	ec.LogLevel = level
	ec.AutoCompactionMode = "periodic"
	ec.AutoCompactionRetention = retention.String()
	clientURL := url.URL{Scheme: "http", Host: fmt.Sprintf("%s:%d", host, cfg.ClientPort)}
	peerURL := url.URL{Scheme: "http", Host: fmt.Sprintf("%s:%d", host, cfg.PeerPort)}
	ec.ListenClientUrls = []url.URL{clientURL}
	ec.AdvertiseClientUrls = []url.URL{clientURL}
	ec.ListenPeerUrls = []url.URL{peerURL}
	ec.AdvertisePeerUrls = []url.URL{peerURL}
	ec.InitialCluster = ec.InitialClusterFromName(ec.Name)

	srv, err := embed.StartEtcd(ec)
	if err != nil {
		return nil, fmt.Errorf("starting etcd in %s: %w", cfg.Dir, err)
	}
	select {
	case <-srv.Server.ReadyNotify():
	case err := <-srv.Err():
		srv.Close()
		return nil, fmt.Errorf("starting etcd in %s: %w", cfg.Dir, err)
	case <-ctx.Done():
		srv.Close()
		return nil, fmt.Errorf("starting etcd in %s: %w", cfg.Dir, ctx.Err())
	}
	return &Etcd{server: srv, endpoint: srv.Clients[0].Addr().String()}, nil
}

// Endpoint is the client address (host:port) the server listens on.
func (e *Etcd) Endpoint() string { return e.endpoint }

// Err reports a fatal server error after start.
func (e *Etcd) Err() <-chan error { return e.server.Err() }

// Close stops the server gracefully.
func (e *Etcd) Close() { e.server.Close() }
