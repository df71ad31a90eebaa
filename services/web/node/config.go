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
)

// DefaultListen is the web service's default listen address (loopback only).
const DefaultListen = "127.0.0.1:7072"

// Config is a web process's configuration: the shared service settings plus its own.
type Config struct {
	Service config.Service
	// ID is the instance id GetInfo reports.
	ID string
	// EtcdPrefix is the root of every Weir key.
	EtcdPrefix string
	// AuthToken, when set, is the bearer token every QueryService call must carry (the
	// dashboard asks for it); health, readiness, metrics and the page itself stay open.
	AuthToken string
	// WorkerToken is the bearer token sent to workers' TableService and WorkerService.
	WorkerToken string
	// QueryTimeout bounds one query, retries across a handoff included.
	QueryTimeout time.Duration
}

// Flags binds the web service's settings to a flag set; each can also be set through the
// environment variable named in its usage (flags win).
type Flags struct {
	loader *config.Loader
	cfg    Config
	fs     *flag.FlagSet
}

var webEnv = map[string]string{
	"instance-id":   "WEIR_WEB_ID",
	"etcd-prefix":   "WEIR_ETCD_PREFIX",
	"auth-token":    "WEIR_WEB_AUTH_TOKEN",
	"worker-token":  "WEIR_WORKER_TOKEN",
	"query-timeout": "WEIR_WEB_QUERY_TIMEOUT",
}

// RegisterFlags adds the service settings (libs/config) and the web service's own to fs.
func RegisterFlags(fs *flag.FlagSet) *Flags {
	f := &Flags{loader: config.NewLoader(config.Defaults(DefaultListen)), fs: fs}
	f.loader.RegisterFlags(fs)
	fs.StringVar(&f.cfg.ID, "instance-id", service.DefaultInstanceID(), "instance `id` reported by GetInfo; env WEIR_WEB_ID")
	fs.StringVar(&f.cfg.EtcdPrefix, "etcd-prefix", cluster.DefaultPrefix, "root `prefix` of Weir's etcd keys; env WEIR_ETCD_PREFIX")
	fs.StringVar(&f.cfg.AuthToken, "auth-token", "", "bearer `token` required by the query API (none when empty); env WEIR_WEB_AUTH_TOKEN")
	fs.StringVar(&f.cfg.WorkerToken, "worker-token", "", "bearer `token` sent to the workers' table API; env WEIR_WORKER_TOKEN")
	fs.DurationVar(&f.cfg.QueryTimeout, "query-timeout", 10*time.Second, "`limit` on one query, retries included; env WEIR_WEB_QUERY_TIMEOUT")
	return f
}

// PrintConfig reports whether --print-config was given.
func (f *Flags) PrintConfig() bool { return f.loader.PrintConfig() }

// Load applies defaults < file < environment < flags and checks everything.
func (f *Flags) Load(getenv func(string) (string, bool)) (Config, error) {
	svc, err := f.loader.Load(getenv)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, config.SetFlagsFromEnv(f.fs, webEnv, getenv)...)
	cfg := f.cfg
	cfg.Service = svc
	if cfg.QueryTimeout <= 0 {
		errs = append(errs, errors.New("query-timeout: must be positive"))
	}
	if !strings.HasPrefix(cfg.EtcdPrefix, "/") {
		errs = append(errs, fmt.Errorf("etcd-prefix: %q must start with /", cfg.EtcdPrefix))
	}
	return cfg, errors.Join(errs...)
}

// PrintWebSettings writes the web service's own settings after --print-config's output,
// tokens redacted.
func PrintWebSettings(w io.Writer, cfg Config) {
	redact := func(s string) string {
		if s == "" {
			return ""
		}
		return "<redacted>"
	}
	fmt.Fprintf(w, "# web settings (flags / environment):\n")
	fmt.Fprintf(w, "#   instance-id=%s etcd-prefix=%s auth-token=%s worker-token=%s query-timeout=%s\n",
		cfg.ID, cfg.EtcdPrefix, redact(cfg.AuthToken), redact(cfg.WorkerToken), cfg.QueryTimeout)
}
