package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/weirhq/weir/libs/agents"
	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/libs/service"
	"github.com/weirhq/weir/libs/tables"
	"github.com/weirhq/weir/services/worker/membership"
	"github.com/weirhq/weir/services/worker/runtime"
	"github.com/weirhq/weir/services/worker/tableservice"
)

// Run runs a worker until ctx ends: on cancellation (SIGTERM) it drains — its tasks are handed
// off while it keeps processing — then deregisters and returns nil.
func Run(ctx context.Context, cfg Config, handlers agents.Handlers, log *slog.Logger) error {
	srv, err := service.New(service.Config{Name: "worker", Listen: cfg.Service.Listen, InstanceID: cfg.ID, Logger: log})
	if err != nil {
		return err
	}
	ecfg, err := cfg.Service.EtcdClient()
	if err != nil {
		return err
	}
	ecfg.Logger = nil
	cli, err := clientv3.New(ecfg)
	if err != nil {
		return fmt.Errorf("connecting to etcd: %w", err)
	}
	defer cli.Close()
	kcfg, err := cfg.Service.KafkaClient()
	if err != nil {
		return err
	}
	store, err := tables.Open(cfg.dataDir(), tables.Options{Logger: log})
	if err != nil {
		return fmt.Errorf("opening the table store: %w", err)
	}
	defer store.Close()
	layout := cluster.Layout{Prefix: cfg.EtcdPrefix}
	var ts *tableservice.Service
	rt, err := runtime.New(runtime.Config{
		WorkerID: cfg.ID, Store: store, Kafka: kcfg, Etcd: cli, Layout: layout, Handlers: handlers,
		CommitInterval: cfg.CommitInterval, StallTimeout: cfg.StallTimeout, Logger: log, Metrics: srv.Metrics(),
		OnAppVersion: func(v cluster.AppVersion) {
			if c, err := v.Catalog(); err == nil {
				ts.PutApp(c)
			} else {
				log.Warn("table service: reading the app's tables", "app", v.App, "err", err)
			}
		},
		OnGlobalTable: func(g *runtime.GlobalTable) { ts.RegisterGlobal(g.App, g.Table, g) },
	})
	if err != nil {
		return err
	}
	defer rt.Close()
	// Table queries (TableService) and live figures (WorkerService) for the web service.
	ts, err = tableservice.New(tableservice.Config{
		Worker: cfg.ID, Store: store, Owns: rt.Owns, Stats: stats(rt), Etcd: cli, Layout: layout, Logger: log,
	})
	if err != nil {
		return err
	}
	ts.Mount(srv)

	// Serve health first: the advertised address is the bound one unless set.
	sctx, stopServer := context.WithCancel(context.WithoutCancel(ctx))
	bound := make(chan string, 1)
	served := make(chan error, 1)
	go func() { served <- srv.Run(sctx, bound) }()
	var addr string
	select {
	case addr = <-bound:
	case err := <-served:
		stopServer()
		return fmt.Errorf("serving: %w", err)
	}
	if cfg.Advertise != "" {
		addr = cfg.Advertise
	}
	mcfg := membership.Defaults()
	mcfg.ID, mcfg.Addr, mcfg.Capacity, mcfg.Zone, mcfg.Version = cfg.ID, addr, cfg.Capacity, cfg.Zone, service.Version
	mcfg.Layout, mcfg.LeaseTTL, mcfg.DrainTimeout, mcfg.Logger = layout, cfg.LeaseTTL, cfg.DrainTimeout, log
	m, err := membership.New(cli, mcfg, rt)
	if err != nil {
		stopServer()
		<-served
		return err
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		// Ready once registered; not ready again once the lease is lost or the worker drains.
		select {
		case <-m.Ready():
			srv.SetReady(true)
			log.Info("ready", "service", "worker", "addr", addr, "id", cfg.ID, "data_dir", cfg.dataDir())
		case <-ctx.Done():
		}
	})
	err = m.Run(ctx)
	srv.SetReady(false)
	wg.Wait()
	stopServer()
	if serr := <-served; serr != nil && !errors.Is(serr, context.Canceled) {
		log.Warn("server stopped", "err", serr)
	}
	return err
}

// stats reports the runtime's replicas to the web service.
func stats(rt *runtime.Runtime) tableservice.StatsFunc {
	return func(context.Context) (tableservice.Stats, error) {
		var out tableservice.Stats
		for _, s := range rt.Status() {
			out.Tasks = append(out.Tasks, tableservice.TaskStats{Task: s.Task, Role: s.Role, State: s.State, Epoch: s.Epoch, Lag: s.Lag, Stalled: s.Stalled})
		}
		return out, nil
	}
}
