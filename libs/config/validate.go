package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
)

// Validate reports every problem of the configuration at once, each naming its setting.
func (s Service) Validate() error {
	var errs []error
	bad := func(setting, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{setting}, args...)...))
	}
	if err := checkHostPort(s.Listen); err != nil {
		bad("listen", "%v", err)
	}
	if s.DataDir == "" {
		bad("data_dir", "is empty")
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, s.Log.Level) {
		bad("log.level", "%q is not one of debug, info, warn, error", s.Log.Level)
	}
	if !slices.Contains([]string{"text", "json"}, s.Log.Format) {
		bad("log.format", "%q is not one of text, json", s.Log.Format)
	}
	if len(s.Kafka.Brokers) == 0 {
		bad("kafka.brokers", "no brokers given")
	}
	for i, b := range s.Kafka.Brokers {
		if err := checkHostPort(b); err != nil {
			bad("kafka.brokers", "entry %d: %v", i+1, err)
		}
	}
	switch s.Kafka.SASL.Mechanism {
	case "":
		if s.Kafka.SASL.Username != "" || s.Kafka.SASL.Password != "" {
			bad("kafka.sasl.mechanism", "is empty but a username or password is set; choose plain, scram-sha-256 or scram-sha-512")
		}
	case "plain", "scram-sha-256", "scram-sha-512":
		if s.Kafka.SASL.Username == "" {
			bad("kafka.sasl.username", "is required with mechanism %s", s.Kafka.SASL.Mechanism)
		}
		if s.Kafka.SASL.Password == "" {
			bad("kafka.sasl.password", "is required with mechanism %s", s.Kafka.SASL.Mechanism)
		}
	default:
		bad("kafka.sasl.mechanism", "%q is not one of plain, scram-sha-256, scram-sha-512", s.Kafka.SASL.Mechanism)
	}
	errs = append(errs, s.Kafka.TLS.validate("kafka.tls")...)
	if len(s.Etcd.Endpoints) == 0 {
		bad("etcd.endpoints", "no endpoints given")
	}
	for i, e := range s.Etcd.Endpoints {
		if err := checkHostPort(trimScheme(e)); err != nil {
			bad("etcd.endpoints", "entry %d: %v", i+1, err)
		}
	}
	if (s.Etcd.Username == "") != (s.Etcd.Password == "") {
		bad("etcd.username", "username and password must be given together")
	}
	errs = append(errs, s.Etcd.TLS.validate("etcd.tls")...)
	return errors.Join(errs...)
}

func (t TLS) validate(prefix string) []error {
	var errs []error
	if !t.Enabled {
		if t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" {
			errs = append(errs, fmt.Errorf("%s.enabled: is false but TLS files are set; set enabled = true or remove them", prefix))
		}
		return errs
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		errs = append(errs, fmt.Errorf("%s: cert_file and key_file must be given together", prefix))
	}
	for name, f := range map[string]string{"ca_file": t.CAFile, "cert_file": t.CertFile, "key_file": t.KeyFile} {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			errs = append(errs, fmt.Errorf("%s.%s: %w", prefix, name, err))
		}
	}
	slices.SortFunc(errs, func(a, b error) int { return compareStrings(a.Error(), b.Error()) })
	return errs
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func checkHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port", addr)
	}
	if host == "" {
		return fmt.Errorf("%q has no host (use 127.0.0.1 or 0.0.0.0 explicitly)", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q has an invalid port", addr)
	}
	return nil
}

func trimScheme(endpoint string) string {
	for _, p := range []string{"http://", "https://"} {
		if len(endpoint) > len(p) && endpoint[:len(p)] == p {
			return endpoint[len(p):]
		}
	}
	return endpoint
}
