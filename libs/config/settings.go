package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Setting is one configuration value with its name in each layer.
type Setting struct {
	Path   string // the config file's name, e.g. "kafka.sasl.username"
	Env    string // the environment variable, e.g. "WEIR_KAFKA_SASL_USERNAME"
	Flag   string // the command-line flag without dashes, e.g. "kafka-sasl-username"
	Usage  string
	Secret bool   // redacted by --print-config
	Kind   string // "string", "list" or "bool": the value's type in a config file
	get    func(*Service) string
	set    func(*Service, string) error
}

func str(p func(*Service) *string) (func(*Service) string, func(*Service, string) error) {
	return func(s *Service) string { return *p(s) },
		func(s *Service, v string) error { *p(s) = v; return nil }
}

func list(p func(*Service) *[]string) (func(*Service) string, func(*Service, string) error) {
	return func(s *Service) string { return strings.Join(*p(s), ",") },
		func(s *Service, v string) error {
			var out []string
			for _, e := range strings.Split(v, ",") {
				if e = strings.TrimSpace(e); e != "" {
					out = append(out, e)
				}
			}
			*p(s) = out
			return nil
		}
}

func boolean(p func(*Service) *bool) (func(*Service) string, func(*Service, string) error) {
	return func(s *Service) string { return strconv.FormatBool(*p(s)) },
		func(s *Service, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("want true or false, got %q", v)
			}
			*p(s) = b
			return nil
		}
}

func setting(path, kind, usage string, secret bool, get func(*Service) string, set func(*Service, string) error) Setting {
	env := "WEIR_" + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(path))
	flag := strings.NewReplacer(".", "-", "_", "-").Replace(path)
	return Setting{Path: path, Env: env, Flag: flag, Usage: usage, Secret: secret, Kind: kind, get: get, set: set}
}

func tlsSettings(prefix string, t func(*Service) *TLS) []Setting {
	s := func(name, usage string, p func(*TLS) *string) Setting {
		g, st := str(func(sv *Service) *string { return p(t(sv)) })
		return setting(prefix+".tls."+name, "string", usage, false, g, st)
	}
	b := func(name, usage string, p func(*TLS) *bool) Setting {
		g, st := boolean(func(sv *Service) *bool { return p(t(sv)) })
		return setting(prefix+".tls."+name, "bool", usage, false, g, st)
	}
	return []Setting{
		b("enabled", "use TLS", func(t *TLS) *bool { return &t.Enabled }),
		s("ca_file", "PEM file of CAs to trust (system roots when empty)", func(t *TLS) *string { return &t.CAFile }),
		s("cert_file", "PEM client certificate", func(t *TLS) *string { return &t.CertFile }),
		s("key_file", "PEM client key", func(t *TLS) *string { return &t.KeyFile }),
		s("server_name", "expected server name (defaults to the host dialed)", func(t *TLS) *string { return &t.ServerName }),
		b("insecure_skip_verify", "do not verify the server certificate (testing only)", func(t *TLS) *bool { return &t.InsecureSkipVerify }),
	}
}

// Settings lists every setting in the order --print-config and --help show them.
func Settings() []Setting {
	out := []Setting{}
	add := func(path, usage string, secret bool, g func(*Service) string, s func(*Service, string) error) {
		kind := "string"
		if strings.HasSuffix(path, "brokers") || strings.HasSuffix(path, "endpoints") {
			kind = "list"
		}
		out = append(out, setting(path, kind, usage, secret, g, s))
	}
	g, s := str(func(c *Service) *string { return &c.Listen })
	add("listen", "address to serve on (host:port)", false, g, s)
	g, s = str(func(c *Service) *string { return &c.DataDir })
	add("data_dir", "directory for local state", false, g, s)
	g, s = str(func(c *Service) *string { return &c.Log.Level })
	add("log.level", "debug, info, warn or error", false, g, s)
	g, s = str(func(c *Service) *string { return &c.Log.Format })
	add("log.format", "text or json", false, g, s)
	g, s = list(func(c *Service) *[]string { return &c.Kafka.Brokers })
	add("kafka.brokers", "Kafka bootstrap brokers, comma-separated host:port", false, g, s)
	g, s = str(func(c *Service) *string { return &c.Kafka.ClientID })
	add("kafka.client_id", "client id sent to Kafka", false, g, s)
	out = append(out, tlsSettings("kafka", func(c *Service) *TLS { return &c.Kafka.TLS })...)
	g, s = str(func(c *Service) *string { return &c.Kafka.SASL.Mechanism })
	add("kafka.sasl.mechanism", "plain, scram-sha-256 or scram-sha-512 (empty: no SASL)", false, g, s)
	g, s = str(func(c *Service) *string { return &c.Kafka.SASL.Username })
	add("kafka.sasl.username", "SASL user", false, g, s)
	g, s = str(func(c *Service) *string { return &c.Kafka.SASL.Password })
	add("kafka.sasl.password", "SASL password", true, g, s)
	g, s = list(func(c *Service) *[]string { return &c.Etcd.Endpoints })
	add("etcd.endpoints", "etcd endpoints, comma-separated host:port", false, g, s)
	g, s = str(func(c *Service) *string { return &c.Etcd.Username })
	add("etcd.username", "etcd user", false, g, s)
	g, s = str(func(c *Service) *string { return &c.Etcd.Password })
	add("etcd.password", "etcd password", true, g, s)
	out = append(out, tlsSettings("etcd", func(c *Service) *TLS { return &c.Etcd.TLS })...)
	return out
}
