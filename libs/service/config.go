package service

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"regexp"
	"strconv"
)

// Version is the build version reported by every service. Release builds set it with
// -ldflags "-X github.com/weirhq/weir/libs/service.Version=v1.2.3".
var Version = "dev"

// DefaultHost is the host a listen address without one (":7070") binds to. Binding every
// interface takes an explicit "0.0.0.0:7070" or "[::]:7070".
const DefaultHost = "127.0.0.1"

// Config describes one service process.
type Config struct {
	// Name is the service's name as GetInfo reports it: "controller", "worker" or "web".
	// Lowercase letters, digits and '-'.
	Name string
	// Version is the build version; empty means the package's Version.
	Version string
	// Listen is the TCP address to serve on, such as "127.0.0.1:7070". Port 0 picks a free
	// port; a missing host means DefaultHost.
	Listen string
	// InstanceID tells this process apart from other instances of the same service; empty
	// means DefaultInstanceID().
	InstanceID string
	// Logger receives the server's logs; nil means slog.Default().
	Logger *slog.Logger
}

var validName = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// withDefaults returns cfg with empty optional fields filled in and every problem found in
// it, joined into one error.
func (cfg Config) withDefaults() (Config, error) {
	var errs []error
	switch {
	case cfg.Name == "":
		errs = append(errs, errors.New("name is required"))
	case !validName.MatchString(cfg.Name):
		errs = append(errs, fmt.Errorf("name %q: want lowercase letters, digits and '-', starting with a letter", cfg.Name))
	}
	if listen, err := normalizeListen(cfg.Listen); err != nil {
		errs = append(errs, err)
	} else {
		cfg.Listen = listen
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("invalid service config: %w", err)
	}
	if cfg.Version == "" {
		cfg.Version = Version
	}
	if cfg.InstanceID == "" {
		cfg.InstanceID = DefaultInstanceID()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg, nil
}

// normalizeListen checks a host:port listen address and fills in DefaultHost when the host
// is missing.
func normalizeListen(listen string) (string, error) {
	if listen == "" {
		return "", errors.New("listen address is required (host:port, e.g. 127.0.0.1:7070)")
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("listen address %q: want host:port: %w", listen, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return "", fmt.Errorf("listen address %q: port %q is not a number from 0 to 65535", listen, port)
	}
	if host == "" {
		host = DefaultHost
	}
	return net.JoinHostPort(host, port), nil
}

// DefaultInstanceID returns "HOSTNAME-PID", which tells apart the processes of one service
// on one machine and across machines.
func DefaultInstanceID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}
