package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"connectrpc.com/connect"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/weirhq/weir/gen/weir/v1/weirv1connect"
	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/libs/topics"
)

// DefaultMaxRequestBytes caps a request body: an app's source with its var files.
const DefaultMaxRequestBytes = 4 << 20

// Leadership tells the service whether this controller leads and who does. Implementations
// are safe for concurrent use.
type Leadership interface {
	// Guard returns the current leadership term's guard, and false when this controller is
	// not the leader.
	Guard() (cluster.Guard, bool)
	// Leader returns the current leader's id and Connect address; empty when unknown.
	Leader() (id, addr string)
}

// Config is what the service needs.
type Config struct {
	ID         string // this controller's id
	Layout     cluster.Layout
	Etcd       *clientv3.Client
	Kafka      topics.ClientConfig
	Leadership Leadership
	Log        *slog.Logger
	// MaxRequestBytes caps request bodies (DefaultMaxRequestBytes when zero); larger ones get
	// RESOURCE_EXHAUSTED.
	MaxRequestBytes int
	// ReleaseWait bounds how long a state wipe waits for the app's tasks to be released (the
	// assignment loop unassigns them once the app is paused); 30 s when zero.
	ReleaseWait time.Duration
	// Now returns the time (time.Now when nil).
	Now func() time.Time
}

// Service implements weir.v1.ControllerService.
type Service struct {
	cfg   Config
	kafka *kafkaOps
	// writeMu serializes this controller's writes: one apply, rollback, reset or delete at a
	// time. Across controllers the leadership guard and the head revision fence them.
	writeMu sync.Mutex
}

var _ weirv1connect.ControllerServiceHandler = (*Service)(nil)

// New checks cfg and returns the service.
func New(cfg Config) (*Service, error) {
	if cfg.Etcd == nil || cfg.Leadership == nil {
		return nil, fmt.Errorf("controller service: etcd client and leadership are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if cfg.ReleaseWait <= 0 {
		cfg.ReleaseWait = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := cfg.Kafka.Validate(); err != nil {
		return nil, fmt.Errorf("controller service: %w", err)
	}
	return &Service{cfg: cfg, kafka: newKafkaOps(cfg.Kafka)}, nil
}

// kadmin returns a new Kafka admin. libs/topics' Admin answers metadata from kafka-go's
// transport cache (30 s), which misses topics created by other processes and keeps deleted
// ones; a fresh admin per step sees the cluster as it is. (Workaround until libs/topics
// refreshes its metadata itself.)
func (s *Service) kadmin() *topics.Admin {
	a, err := topics.NewAdmin(s.cfg.Kafka)
	if err != nil {
		panic(fmt.Sprintf("Kafka config validated in New failed later: %v", err)) // unreachable
	}
	return a
}

// Handler returns the Connect handler's path and handler, with the request size cap.
func (s *Service) Handler() (string, http.Handler) {
	return weirv1connect.NewControllerServiceHandler(s, connect.WithReadMaxBytes(s.cfg.MaxRequestBytes))
}
