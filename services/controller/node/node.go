package node

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/libs/service"
	"github.com/weirhq/weir/services/controller/assigner"
	"github.com/weirhq/weir/services/controller/leader"
	"github.com/weirhq/weir/services/controller/server"
)

// Node is one controller process. Create it with New, then call Run once.
type Node struct {
	cfg    Config
	log    *slog.Logger
	srv    *service.Server
	etcd   *clientv3.Client
	layout cluster.Layout
	lead   *leadership
	addr   string // advertised address, set by Run

	readyMu   sync.Mutex
	announced bool
}

// New connects the etcd client (lazily) and builds the server; nothing listens yet.
func New(cfg Config, log *slog.Logger) (*Node, error) {
	srv, err := service.New(service.Config{Name: "controller", Listen: cfg.Service.Listen, InstanceID: cfg.ID, Logger: log})
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
	kcfg, err := cfg.Service.KafkaClient()
	if err != nil {
		cli.Close()
		return nil, err
	}
	n := &Node{cfg: cfg, log: log, srv: srv, etcd: cli, layout: cluster.Layout{Prefix: cfg.EtcdPrefix}, lead: &leadership{self: cfg.ID}}
	svc, err := server.New(server.Config{
		ID: cfg.ID, Layout: n.layout, Etcd: cli, Kafka: kcfg, Leadership: n.lead, Log: log,
		MaxRequestBytes: cfg.MaxRequestBytes, ReleaseWait: cfg.ReleaseWait,
	})
	if err != nil {
		cli.Close()
		return nil, err
	}
	srv.Handle(svc.Handler())
	return n, nil
}

// Run serves until ctx is done: it listens, registers the controller, campaigns for
// leadership and follows the election, logging "ready" (with addr) once a leader is known.
// On the way out it resigns (so another controller takes over at once) and deregisters.
func (n *Node) Run(ctx context.Context) error {
	defer n.etcd.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	listening := make(chan string, 1)
	served := make(chan error, 1)
	go func() { served <- n.srv.Run(ctx, listening) }()
	var addr string
	select {
	case addr = <-listening:
	case err := <-served:
		return err
	}
	if n.cfg.Advertise != "" {
		addr = n.cfg.Advertise
	}
	n.addr = addr

	var wg sync.WaitGroup
	errs := make(chan error, 3)
	wg.Go(func() { errs <- n.register(ctx, addr) })
	wg.Go(func() { errs <- n.campaign(ctx) })
	wg.Go(func() { errs <- n.follow(ctx) })

	var err error
	serverDone := false
	select {
	case err = <-served:
		serverDone = true
	case err = <-errs:
	}
	cancel()
	wg.Wait()
	if !serverDone {
		if serr := <-served; err == nil {
			err = serr
		}
	}
	return err
}

// register keeps this controller's registry key alive under its own lease, re-registering
// whenever the lease is lost.
func (n *Node) register(ctx context.Context, addr string) error {
	rec := cluster.ControllerRecord{ID: n.cfg.ID, Addr: addr, Version: service.Version, StartedAt: time.Now().UTC()}
	put, err := cluster.PutJSONOp(n.layout.ControllerKey(n.cfg.ID), rec)
	if err != nil {
		return err
	}
	ttl := int64(max(1, n.cfg.SessionTTL/time.Second))
	for ctx.Err() == nil {
		lease, err := n.etcd.Grant(ctx, ttl)
		if err != nil {
			n.log.Warn("registering: granting lease", "err", err)
			sleep(ctx, time.Second)
			continue
		}
		if _, err := n.etcd.Put(ctx, string(put.KeyBytes()), string(put.ValueBytes()), clientv3.WithLease(lease.ID)); err != nil {
			n.log.Warn("registering: writing registry key", "err", err)
			sleep(ctx, time.Second)
			continue
		}
		alive, err := n.etcd.KeepAlive(ctx, lease.ID)
		if err != nil {
			n.log.Warn("registering: keep-alive", "err", err)
			sleep(ctx, time.Second)
			continue
		}
		for range alive { // drained until the lease is lost or ctx ends
		}
		if ctx.Err() == nil {
			n.log.Warn("registration lease lost; registering again")
		} else {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			_, _ = n.etcd.Revoke(rctx, lease.ID) // deregister now rather than at expiry
			cancel()
		}
	}
	return nil
}

// campaign runs the election loop: campaign, hold the term until it ends, campaign again.
func (n *Node) campaign(ctx context.Context) error {
	for ctx.Err() == nil {
		term, err := leader.Campaign(ctx, n.etcd, n.layout, n.cfg.ID, n.cfg.SessionTTL)
		if err != nil {
			if ctx.Err() == nil {
				n.log.Warn("campaign failed; retrying", "err", err)
				sleep(ctx, time.Second)
			}
			continue
		}
		n.lead.setTerm(term)
		n.log.Info("elected leader", "id", n.cfg.ID, "guard_key", term.Guard().Key, "guard_rev", term.Guard().Rev)
		n.updateReady()
		// The leader also runs the assignment loop for as long as it holds the term.
		actx, stopAssigner := context.WithCancel(ctx)
		assigned := make(chan error, 1)
		go func() { assigned <- assigner.Lead(actx, n.etcd, n.assignerConfig(), term) }()
		select {
		case <-term.Done():
			n.log.Warn("leadership lost")
		case err := <-assigned:
			if err != nil && ctx.Err() == nil {
				n.log.Warn("assignment loop ended; giving up leadership", "err", err)
			}
		case <-ctx.Done():
		}
		stopAssigner()
		if err := <-assigned; err != nil && ctx.Err() == nil {
			n.log.Warn("assignment loop", "err", err)
		}
		n.lead.setTerm(nil)
		n.updateReady()
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		if err := term.Resign(rctx); err != nil {
			n.log.Warn("resigning", "err", err)
		}
		cancel()
	}
	return nil
}

// follow watches the controllers prefix to know the leader, and sets readiness.
func (n *Node) follow(ctx context.Context) error {
	v := &view{layout: n.layout}
	return cluster.Follow(ctx, n.etcd, n.layout.ControllersPrefix(), func(b cluster.Batch) error {
		id, laddr := v.apply(b)
		n.lead.mu.Lock()
		changed := id != n.lead.leaderID || laddr != n.lead.leaderAddr
		n.lead.leaderID, n.lead.leaderAddr, n.lead.known = id, laddr, true
		n.lead.mu.Unlock()
		if changed && id != "" {
			n.log.Info("leader", "leader_id", id, "leader_addr", laddr)
		}
		n.updateReady()
		return nil
	}, func(err error) {
		n.log.Warn("following the controllers", "err", err)
		n.srv.SetReady(false)
	})
}

// updateReady sets readiness from the leadership state and logs "ready" the first time.
func (n *Node) updateReady() {
	n.readyMu.Lock()
	defer n.readyMu.Unlock()
	ready := n.lead.ready()
	n.srv.SetReady(ready)
	if ready && !n.announced {
		n.announced = true
		n.log.Info("ready", "service", "controller", "addr", n.addr, "id", n.cfg.ID)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// assignerConfig is the assignment loop's configuration: the documented defaults, this
// controller's id and key layout, and its election TTL.
func (n *Node) assignerConfig() assigner.Config {
	cfg := assigner.Defaults()
	cfg.ID = n.cfg.ID
	cfg.Layout = n.layout
	cfg.ElectionTTL = n.cfg.SessionTTL
	cfg.Logger = n.log
	return cfg
}
