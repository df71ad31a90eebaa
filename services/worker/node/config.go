package node

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/libs/config"
	"github.com/weirhq/weir/libs/service"
)

// DefaultListen is the worker's default listen address.
const DefaultListen = "127.0.0.1:7071"

// Config is a worker's configuration.
type Config struct {
	Service    config.Service
	ID         string
	Advertise  string // host:port others reach the worker at (default: the bound address)
	Capacity   int
	Zone       string
	EtcdPrefix string
	LeaseTTL   time.Duration
	// DrainTimeout bounds a graceful stop (SIGTERM).
	DrainTimeout   time.Duration
	CommitInterval time.Duration
	// StallTimeout is how long an active task may have lag and make no progress before it is
	// reported stalled and restarted from its last commit.
	StallTimeout time.Duration
}

// Flags binds the worker's settings to a flag set.
type Flags struct {
	loader *config.Loader
	cfg    Config
	fs     *flag.FlagSet
}

var workerEnv = map[string]string{
	"instance-id":     "WEIR_WORKER_ID",
	"advertise":       "WEIR_WORKER_ADVERTISE",
	"capacity":        "WEIR_WORKER_CAPACITY",
	"zone":            "WEIR_WORKER_ZONE",
	"etcd-prefix":     "WEIR_ETCD_PREFIX",
	"lease-ttl":       "WEIR_WORKER_LEASE_TTL",
	"drain-timeout":   "WEIR_WORKER_DRAIN_TIMEOUT",
	"commit-interval": "WEIR_WORKER_COMMIT_INTERVAL",
	"stall-timeout":   "WEIR_WORKER_STALL_TIMEOUT",
}

// RegisterFlags adds the service settings (libs/config) and the worker's own to fs.
func RegisterFlags(fs *flag.FlagSet) *Flags {
	f := &Flags{loader: config.NewLoader(config.Defaults(DefaultListen)), fs: fs}
	f.loader.RegisterFlags(fs)
	fs.StringVar(&f.cfg.ID, "instance-id", service.DefaultInstanceID(), "worker `id`, unique in the cluster; env WEIR_WORKER_ID")
	fs.StringVar(&f.cfg.Advertise, "advertise", "", "`host:port` others reach this worker at (default: the bound listen address); env WEIR_WORKER_ADVERTISE")
	fs.IntVar(&f.cfg.Capacity, "capacity", 1, "relative capacity: tasks are balanced by it; env WEIR_WORKER_CAPACITY")
	fs.StringVar(&f.cfg.Zone, "zone", "", "failure zone: standbys spread across zones; env WEIR_WORKER_ZONE")
	fs.StringVar(&f.cfg.EtcdPrefix, "etcd-prefix", cluster.DefaultPrefix, "root `prefix` of Weir's etcd keys; env WEIR_ETCD_PREFIX")
	fs.DurationVar(&f.cfg.LeaseTTL, "lease-ttl", 10*time.Second, "TTL of the worker's etcd lease; env WEIR_WORKER_LEASE_TTL")
	fs.DurationVar(&f.cfg.DrainTimeout, "drain-timeout", 90*time.Second, "how long SIGTERM waits for tasks to be handed off; env WEIR_WORKER_DRAIN_TIMEOUT")
	fs.DurationVar(&f.cfg.CommitInterval, "commit-interval", 100*time.Millisecond, "how often active tasks commit; env WEIR_WORKER_COMMIT_INTERVAL")
	fs.DurationVar(&f.cfg.StallTimeout, "stall-timeout", time.Minute, "how long an active task may have lag and make no progress before it is reported stalled and restarted; env WEIR_WORKER_STALL_TIMEOUT")
	return f
}

// PrintConfig reports whether --print-config was given.
func (f *Flags) PrintConfig() bool { return f.loader.PrintConfig() }

// Load applies defaults < file < environment < flags and checks everything at once.
func (f *Flags) Load(getenv func(string) (string, bool)) (Config, error) {
	svc, err := f.loader.Load(getenv)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, config.SetFlagsFromEnv(f.fs, workerEnv, getenv)...)
	cfg := f.cfg
	cfg.Service = svc
	if cfg.ID == "" || strings.ContainsAny(cfg.ID, "/ ") {
		errs = append(errs, fmt.Errorf("instance-id: %q must be non-empty without '/' or spaces", cfg.ID))
	}
	if cfg.Capacity < 1 {
		errs = append(errs, fmt.Errorf("capacity: %d must be at least 1", cfg.Capacity))
	}
	if cfg.LeaseTTL < 2*time.Second {
		errs = append(errs, fmt.Errorf("lease-ttl: %s is below 2s", cfg.LeaseTTL))
	}
	if cfg.DrainTimeout <= 0 || cfg.CommitInterval <= 0 || cfg.StallTimeout <= 0 {
		errs = append(errs, errors.New("drain-timeout, commit-interval and stall-timeout must be positive"))
	}
	if !strings.HasPrefix(cfg.EtcdPrefix, "/") {
		errs = append(errs, fmt.Errorf("etcd-prefix: %q must start with /", cfg.EtcdPrefix))
	}
	return cfg, errors.Join(errs...)
}

// dataDir is where this worker keeps its tables: one directory per worker id, so several
// workers can share a data_dir on one machine.
func (c Config) dataDir() string { return filepath.Join(c.Service.DataDir, c.ID) }

// PrintWorkerSettings writes the worker's own settings after --print-config's output.
func PrintWorkerSettings(w io.Writer, cfg Config) {
	fmt.Fprintf(w, "# worker settings (flags / environment):\n")
	fmt.Fprintf(w, "#   instance-id=%s advertise=%s capacity=%d zone=%s etcd-prefix=%s lease-ttl=%s drain-timeout=%s commit-interval=%s stall-timeout=%s\n",
		cfg.ID, cfg.Advertise, cfg.Capacity, cfg.Zone, cfg.EtcdPrefix, cfg.LeaseTTL, cfg.DrainTimeout, cfg.CommitInterval, cfg.StallTimeout)
}
