// Package node is one web service process: the QueryService (table reads routed to their
// owners, cluster views, ClusterHealth), the dashboard at /, and the common endpoints of
// libs/service (health, readiness, metrics, InfoService, gRPC health and reflection).
package node

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"connectrpc.com/connect"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/weirhq/weir/gen/weir/v1/weirv1connect"
	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/libs/service"
	"github.com/weirhq/weir/services/web/apps"
	"github.com/weirhq/weir/services/web/dashboard"
	"github.com/weirhq/weir/services/web/health"
	"github.com/weirhq/weir/services/web/query"
	"github.com/weirhq/weir/services/web/router"
)

// Node is one web process. Create it with New, then call Run once.
type Node struct {
	cfg  Config
	log  *slog.Logger
	srv  *service.Server
	etcd *clientv3.Client
}

// New connects the etcd client (lazily) and mounts the handlers; nothing listens yet.
func New(cfg Config, log *slog.Logger) (*Node, error) {
	srv, err := service.New(service.Config{Name: "web", Listen: cfg.Service.Listen, InstanceID: cfg.ID, Logger: log})
	if err != nil {
		return nil, err
	}
	ecfg, err := cfg.Service.EtcdClient()
	if err != nil {
		return nil, err
	}
	ecfg.Logger = nil
	cli, err := clientv3.New(ecfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to etcd: %w", err)
	}
	layout := cluster.Layout{Prefix: cfg.EtcdPrefix}
	clients := router.NewClients(cfg.WorkerToken, 0)
	rt, err := router.New(router.Config{Directory: router.EtcdDirectory{KV: cli, Layout: layout}, Clients: clients, Logger: log})
	if err != nil {
		cli.Close()
		return nil, err
	}
	q, err := query.New(query.Config{KV: cli, Layout: layout, Catalogs: apps.NewCatalogs(cli, layout, 0), Router: rt,
		Health: &health.Aggregator{KV: cli, Layout: layout, Clients: clients}, Timeout: cfg.QueryTimeout, Logger: log})
	if err != nil {
		cli.Close()
		return nil, err
	}
	srv.Handle(weirv1connect.NewQueryServiceHandler(q, connect.WithInterceptors(service.BearerAuth(cfg.AuthToken))))
	srv.Serve(weirv1connect.QueryServiceName)
	dashboard.Mount(srv)
	return &Node{cfg: cfg, log: log, srv: srv, etcd: cli}, nil
}

// Run serves until ctx is done, sending the bound address on listening (if not nil) once it
// listens. The web service is ready once etcd answers; it stays up (not ready) while etcd is
// unreachable.
func (n *Node) Run(ctx context.Context, listening chan<- string) error {
	defer n.etcd.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	bound := make(chan string, 1)
	served := make(chan error, 1)
	go func() { served <- n.srv.Run(ctx, bound) }()
	var addr string
	select {
	case addr = <-bound:
	case err := <-served:
		return err
	}
	if listening != nil {
		select {
		case listening <- addr:
		case <-ctx.Done():
		}
	}
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		n.watchEtcd(ctx, addr)
	}()
	err := <-served
	cancel()
	<-watched
	return err
}

// watchEtcd sets readiness from etcd's reachability, checking every few seconds, and logs
// "ready" the first time.
func (n *Node) watchEtcd(ctx context.Context, addr string) {
	announced := false
	t := time.NewTicker(3 * time.Second)
	defer t.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := n.etcd.Get(cctx, cluster.Layout{Prefix: n.cfg.EtcdPrefix}.All(), clientv3.WithCountOnly(), clientv3.WithPrefix())
		cancel()
		if ctx.Err() != nil {
			return
		}
		n.srv.SetReady(err == nil)
		switch {
		case err != nil:
			n.log.Warn("etcd unreachable; not ready", "err", err)
		case !announced:
			announced = true
			n.log.Info("ready", "service", "web", "addr", addr, "dashboard", "http://"+addr+"/")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
