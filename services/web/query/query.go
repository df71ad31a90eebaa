// Package query implements weir.v1.QueryService: table reads routed to owners (package
// router) and views of the apps, workers, assignment and health read from etcd.
package query

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"connectrpc.com/connect"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/weirhq/weir/gen/weir/v1/weirv1connect"
	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/services/web/apps"
	"github.com/weirhq/weir/services/web/health"
	"github.com/weirhq/weir/services/web/router"
)

// Config configures the service.
type Config struct {
	KV       clientv3.KV
	Layout   cluster.Layout
	Catalogs *apps.Catalogs
	Router   *router.Router
	Health   *health.Aggregator
	// Timeout bounds one request, retries included (10 s when zero).
	Timeout time.Duration
	Logger  *slog.Logger
}

// Service implements weir.v1.QueryService.
type Service struct {
	cfg Config
	log *slog.Logger
}

var _ weirv1connect.QueryServiceHandler = (*Service)(nil)

// New returns the service.
func New(cfg Config) (*Service, error) {
	if cfg.KV == nil || cfg.Catalogs == nil || cfg.Router == nil || cfg.Health == nil {
		return nil, errors.New("creating the query service: etcd, catalogs, router and health are required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{cfg: cfg, log: cfg.Logger.With("component", "query")}, nil
}

// route resolves a table, mapping what goes wrong to Connect codes.
func (s *Service) route(ctx context.Context, app, table string) (cluster.TableRoute, error) {
	if app == "" || table == "" {
		return cluster.TableRoute{}, connect.NewError(connect.CodeInvalidArgument, errors.New("app and table are required"))
	}
	r, err := s.cfg.Catalogs.Route(ctx, app, table)
	switch {
	case errors.Is(err, apps.ErrNoApp), errors.Is(err, cluster.ErrNoTable):
		return cluster.TableRoute{}, connect.NewError(connect.CodeNotFound, err)
	case err != nil:
		return cluster.TableRoute{}, etcdError(err)
	}
	return r, nil
}

// etcdError is UNAVAILABLE for a failed etcd read.
func etcdError(err error) error {
	if ce := new(connect.Error); errors.As(err, &ce) {
		return err
	}
	return connect.NewError(connect.CodeUnavailable, fmt.Errorf("reading the cluster from etcd: %w", err))
}
