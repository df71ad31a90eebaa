package node

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/libs/config"
	"github.com/weirhq/weir/libs/service"
	"github.com/weirhq/weir/services/controller/server"
)

// DefaultListen is the controller's default listen address.
const DefaultListen = "127.0.0.1:7070"

// Config is a controller process's configuration: the shared service settings plus the
// controller's own.
type Config struct {
	Service config.Service
	// ID identifies the controller in the registry and the election (hostname-pid by default).
	ID string
	// Advertise is the address other processes reach this controller at; the bound listen
	// address when empty.
	Advertise string
	// EtcdPrefix is the root of every Weir key (cluster.DefaultPrefix by default).
	EtcdPrefix string
	// SessionTTL is the lease TTL of the registration and the election session: a dead
	// leader is replaced within it.
	SessionTTL time.Duration
	// MaxRequestBytes caps request bodies.
	MaxRequestBytes int
	// ReleaseWait bounds a state wipe's wait for the app's tasks to be released.
	ReleaseWait time.Duration
}

// Flags binds the controller's own settings to a flag set; each can also be set through the
// environment variable named in its usage (flags win).
type Flags struct {
	loader *config.Loader
	cfg    Config
	fs     *flag.FlagSet
}

// controllerEnv maps the controller's own flags to their environment variables.
var controllerEnv = map[string]string{
	"instance-id":       "WEIR_CONTROLLER_ID",
	"advertise":         "WEIR_CONTROLLER_ADVERTISE",
	"etcd-prefix":       "WEIR_ETCD_PREFIX",
	"session-ttl":       "WEIR_CONTROLLER_SESSION_TTL",
	"max-request-bytes": "WEIR_CONTROLLER_MAX_REQUEST_BYTES",
	"release-wait":      "WEIR_CONTROLLER_RELEASE_WAIT",
}

// RegisterFlags adds the service settings (libs/config) and the controller's own to fs.
func RegisterFlags(fs *flag.FlagSet) *Flags {
	f := &Flags{loader: config.NewLoader(config.Defaults(DefaultListen)), fs: fs}
	f.loader.RegisterFlags(fs)
	fs.StringVar(&f.cfg.ID, "instance-id", service.DefaultInstanceID(), "controller `id` in the registry and the election; env WEIR_CONTROLLER_ID")
	fs.StringVar(&f.cfg.Advertise, "advertise", "", "`host:port` others reach this controller at (default: the bound listen address); env WEIR_CONTROLLER_ADVERTISE")
	fs.StringVar(&f.cfg.EtcdPrefix, "etcd-prefix", cluster.DefaultPrefix, "root `prefix` of Weir's etcd keys; env WEIR_ETCD_PREFIX")
	fs.DurationVar(&f.cfg.SessionTTL, "session-ttl", 10*time.Second, "lease `TTL` of registration and leadership: a dead leader is replaced within it; env WEIR_CONTROLLER_SESSION_TTL")
	fs.IntVar(&f.cfg.MaxRequestBytes, "max-request-bytes", server.DefaultMaxRequestBytes, "largest request body in `bytes`; env WEIR_CONTROLLER_MAX_REQUEST_BYTES")
	fs.DurationVar(&f.cfg.ReleaseWait, "release-wait", 30*time.Second, "how long a state wipe waits for the app's tasks to be released; env WEIR_CONTROLLER_RELEASE_WAIT")
	return f
}

// PrintConfig reports whether --print-config was given.
func (f *Flags) PrintConfig() bool { return f.loader.PrintConfig() }

// Load applies defaults < file < environment < flags and checks everything, reporting every
// problem at once.
func (f *Flags) Load(getenv func(string) (string, bool)) (Config, error) {
	svc, err := f.loader.Load(getenv)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, config.SetFlagsFromEnv(f.fs, controllerEnv, getenv)...)
	cfg := f.cfg
	cfg.Service = svc
	if err := cluster.ValidateControllerID(cfg.ID); err != nil {
		errs = append(errs, fmt.Errorf("instance-id: %w", err))
	}
	if cfg.SessionTTL < time.Second {
		errs = append(errs, fmt.Errorf("session-ttl: %s is below etcd's 1 s lease granularity", cfg.SessionTTL))
	}
	if cfg.MaxRequestBytes < 1024 {
		errs = append(errs, fmt.Errorf("max-request-bytes: %d is too small (at least 1024)", cfg.MaxRequestBytes))
	}
	if cfg.ReleaseWait <= 0 {
		errs = append(errs, errors.New("release-wait: must be positive"))
	}
	if !strings.HasPrefix(cfg.EtcdPrefix, "/") {
		errs = append(errs, fmt.Errorf("etcd-prefix: %q must start with /", cfg.EtcdPrefix))
	}
	return cfg, errors.Join(errs...)
}

// PrintControllerSettings writes the controller's own settings after --print-config's output.
func PrintControllerSettings(w io.Writer, cfg Config) {
	fmt.Fprintf(w, "# controller settings (flags / environment):\n")
	fmt.Fprintf(w, "#   instance-id=%s advertise=%s etcd-prefix=%s session-ttl=%s max-request-bytes=%d release-wait=%s\n",
		cfg.ID, cfg.Advertise, cfg.EtcdPrefix, cfg.SessionTTL, cfg.MaxRequestBytes, cfg.ReleaseWait)
}
