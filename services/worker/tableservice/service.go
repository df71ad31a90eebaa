package tableservice

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"connectrpc.com/connect"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/weirhq/weir/gen/weir/v1/weirv1connect"
	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/libs/service"
	"github.com/weirhq/weir/libs/tables"
)

// Owns reports what this worker holds of a task: its role, the epoch of the assignment it
// serves under and, for a standby or warm-up, how many changelog records it is behind (-1
// while unknown). ok is false when the worker holds no readable replica. It is called on
// every read, from any goroutine.
type Owns func(app, group string, partition int) (role cluster.Role, epoch, lag int64, ok bool)

// StatsFunc returns the worker's live figures for GetStats. It is called per request, from
// any goroutine, and should return quickly.
type StatsFunc func(ctx context.Context) (Stats, error)

// Store is what the service reads: committed state. *tables.Store implements it.
type Store interface {
	Get(topic string, partition int32, table string, key []byte) ([]byte, bool, error)
	Scan(topic string, partition int32, table string, prefix []byte, fn func(key, value []byte) bool) error
	WindowRange(topic string, partition int32, table string, key []byte, from, to int64) ([]tables.WindowValue, error)
	StreamTime(topic string, partition int32) (ms int64, ok bool, err error)
}

// Global is a worker's copy of a global table. *tables.Global implements it.
type Global interface {
	Get(key []byte) ([]byte, bool, error)
	Scan(prefix []byte, fn func(key, value []byte) bool) error
	Lag() int64
}

var _ Store = (*tables.Store)(nil)
var _ Global = (*tables.Global)(nil)

// Config configures the service.
type Config struct {
	// Worker is this worker's id, reported in every answer.
	Worker string
	// Version is reported by GetStats (service.Version when empty).
	Version string
	Store   Store
	Owns    Owns
	// Stats fills GetStats; nil reports only the registered global tables.
	Stats StatsFunc
	// Etcd and Layout let a refusal name the task's owner; without Etcd it says the owner is
	// unknown.
	Etcd   clientv3.KV
	Layout cluster.Layout
	// Token, when set, is the bearer token every call must carry.
	Token  string
	Logger *slog.Logger
	// OwnerLookupTimeout bounds the etcd read behind a refusal (1 s when zero).
	OwnerLookupTimeout time.Duration
}

// Service serves TableService and WorkerService. Create it with New; it is safe for
// concurrent use.
type Service struct {
	cfg Config
	log *slog.Logger

	mu      sync.RWMutex
	apps    map[string]cluster.Catalog
	globals map[globalKey]Global
}

type globalKey struct{ app, table string }

// New checks cfg and returns the service.
func New(cfg Config) (*Service, error) {
	var errs []error
	if cfg.Worker == "" {
		errs = append(errs, errors.New("worker id is empty"))
	}
	if cfg.Store == nil {
		errs = append(errs, errors.New("no store"))
	}
	if cfg.Owns == nil {
		errs = append(errs, errors.New("no ownership function"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("creating the table service: %w", err)
	}
	if cfg.Version == "" {
		cfg.Version = service.Version
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.OwnerLookupTimeout <= 0 {
		cfg.OwnerLookupTimeout = time.Second
	}
	return &Service{cfg: cfg, log: cfg.Logger.With("component", "tableservice"),
		apps: map[string]cluster.Catalog{}, globals: map[globalKey]Global{}}, nil
}

// Mount mounts TableService and WorkerService on srv (before srv.Run) and declares them for
// reflection and health.
func (s *Service) Mount(srv *service.Server) {
	opts := connect.WithInterceptors(service.BearerAuth(s.cfg.Token))
	srv.Handle(weirv1connect.NewTableServiceHandler(tableHandler{s}, opts))
	srv.Handle(weirv1connect.NewWorkerServiceHandler(statsHandler{s}, opts))
	srv.Serve(weirv1connect.TableServiceName, weirv1connect.WorkerServiceName)
}

// PutApp sets (or replaces) the table routes of an app the worker runs.
func (s *Service) PutApp(c cluster.Catalog) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[c.App] = c
}

// RemoveApp forgets an app's routes.
func (s *Service) RemoveApp(app string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.apps, app)
}

// RegisterGlobal makes a global table readable; the returned function unregisters it.
func (s *Service) RegisterGlobal(app, table string, g Global) (unregister func()) {
	k := globalKey{app, table}
	s.mu.Lock()
	s.globals[k] = g
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.globals[k] == g {
			delete(s.globals, k)
		}
	}
}

// route returns a table's route, NOT_FOUND for an app or table the worker does not know.
func (s *Service) route(app, table string) (cluster.TableRoute, error) {
	if app == "" || table == "" {
		return cluster.TableRoute{}, connect.NewError(connect.CodeInvalidArgument, errors.New("app and table are required"))
	}
	s.mu.RLock()
	c, ok := s.apps[app]
	s.mu.RUnlock()
	if !ok {
		return cluster.TableRoute{}, connect.NewError(connect.CodeNotFound, fmt.Errorf("worker %s runs no app %q", s.cfg.Worker, app))
	}
	r, err := c.Route(table)
	if err != nil {
		return cluster.TableRoute{}, connect.NewError(connect.CodeNotFound, err)
	}
	return r, nil
}

// global returns the registered copy of a global table.
func (s *Service) global(r cluster.TableRoute) (Global, error) {
	s.mu.RLock()
	g, ok := s.globals[globalKey{r.App, r.Table}]
	s.mu.RUnlock()
	if !ok {
		return nil, connect.NewError(connect.CodeUnavailable, fmt.Errorf("worker %s keeps no copy of global table %s.%s yet", s.cfg.Worker, r.App, r.Table))
	}
	return g, nil
}
