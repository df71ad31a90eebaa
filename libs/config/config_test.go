package config

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func load(t *testing.T, file string, environ map[string]string, args ...string) (Service, error) {
	t.Helper()
	l := NewLoader(Defaults("127.0.0.1:7070"))
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	l.RegisterFlags(fs)
	if file != "" {
		path := filepath.Join(t.TempDir(), "weir.hcl")
		if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append([]string{"--config", path}, args...)
	}
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return l.Load(env(environ))
}

func TestLayersOverrideInOrder(t *testing.T) {
	file := `
listen = "127.0.0.1:8000"
log {
  level = "debug"
}
kafka {
  brokers = ["file-a:9092", "file-b:9092"]
  sasl {
    mechanism = "scram-sha-512"
    username  = "file-user"
    password  = "file-secret"
  }
}
etcd {
  endpoints = ["file-etcd:2379"]
}
`
	// Defaults only.
	cfg, err := load(t, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:7070" || cfg.Kafka.Brokers[0] != "127.0.0.1:9092" || cfg.Log.Level != "info" {
		t.Fatalf("defaults: %+v", cfg)
	}
	// File over defaults; untouched settings keep their defaults.
	cfg, err = load(t, file, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:8000" || cfg.Log.Level != "debug" || cfg.Log.Format != "text" ||
		strings.Join(cfg.Kafka.Brokers, ",") != "file-a:9092,file-b:9092" || cfg.Kafka.SASL.Username != "file-user" || cfg.Etcd.Endpoints[0] != "file-etcd:2379" {
		t.Fatalf("file layer: %+v", cfg)
	}
	// Environment over file.
	cfg, err = load(t, file, map[string]string{"WEIR_LISTEN": "127.0.0.1:8001", "WEIR_KAFKA_BROKERS": "env:9092", "WEIR_KAFKA_SASL_PASSWORD": "env-secret"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:8001" || cfg.Kafka.Brokers[0] != "env:9092" || len(cfg.Kafka.Brokers) != 1 || cfg.Kafka.SASL.Password != "env-secret" || cfg.Log.Level != "debug" {
		t.Fatalf("env layer: %+v", cfg)
	}
	// Flags over environment.
	cfg, err = load(t, file, map[string]string{"WEIR_LISTEN": "127.0.0.1:8001"}, "--listen", "127.0.0.1:8002", "--log-format", "json")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:8002" || cfg.Log.Format != "json" {
		t.Fatalf("flag layer: %+v", cfg)
	}
	// WEIR_CONFIG names the file when --config is absent.
	path := filepath.Join(t.TempDir(), "c.hcl")
	os.WriteFile(path, []byte(`data_dir = "/from/env/file"`), 0o600)
	cfg, err = load(t, "", map[string]string{"WEIR_CONFIG": path})
	if err != nil || cfg.DataDir != "/from/env/file" {
		t.Fatalf("WEIR_CONFIG: %+v %v", cfg, err)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	_, err := load(t, "", map[string]string{
		"WEIR_LISTEN":               "nonsense",
		"WEIR_LOG_LEVEL":            "loud",
		"WEIR_KAFKA_BROKERS":        "ok:9092,bad",
		"WEIR_KAFKA_SASL_MECHANISM": "scram-sha-512",
		"WEIR_ETCD_ENDPOINTS":       "",
		"WEIR_ETCD_TLS_ENABLED":     "true",
		"WEIR_ETCD_TLS_CA_FILE":     "/no/such/ca.pem",
	})
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{
		`listen: "nonsense" is not host:port`,
		`log.level: "loud" is not one of`,
		`kafka.brokers: entry 2: "bad" is not host:port`,
		`kafka.sasl.username: is required with mechanism scram-sha-512`,
		`kafka.sasl.password: is required`,
		`etcd.endpoints: no endpoints given`,
		`etcd.tls.ca_file: stat /no/such/ca.pem`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if n := len(strings.Split(err.Error(), "\n")); n != 7 {
		t.Errorf("want 7 problems, got %d:\n%v", n, err)
	}
}

func TestConfigFileErrorsArePositioned(t *testing.T) {
	file := `listen = 42
kafka {
  brokerz = ["a:1"]
  tls {
    enabled = "yes"
  }
}
metrics {
}
`
	_, err := load(t, file, nil)
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{
		`weir.hcl:1,10-12: Invalid value for listen; want a string, got number`,
		`weir.hcl:3,3-10: Unknown setting; "kafka.brokerz" is not a setting here; settings of this block: brokers, client_id, sasl, tls`,
		`weir.hcl:5,15-20: Invalid value for kafka.tls.enabled; want true or false, got string`,
		`weir.hcl:8,1-8: Unknown block`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	// Bad environment and flag values are reported too, named by their source.
	_, err = load(t, "", map[string]string{"WEIR_KAFKA_TLS_ENABLED": "maybe"})
	if err == nil || !strings.Contains(err.Error(), "environment WEIR_KAFKA_TLS_ENABLED: want true or false") {
		t.Errorf("bad env bool: %v", err)
	}
}

func TestPrintConfigRoundTripsAndRedacts(t *testing.T) {
	cfg, err := load(t, "", map[string]string{"WEIR_KAFKA_SASL_MECHANISM": "plain", "WEIR_KAFKA_SASL_USERNAME": "u", "WEIR_KAFKA_SASL_PASSWORD": "hunter2", "WEIR_KAFKA_BROKERS": "a:1,b:2"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	cfg.Print(&buf)
	out := buf.String()
	if strings.Contains(out, "hunter2") || !strings.Contains(out, `password = "(redacted)"`) {
		t.Fatalf("secret not redacted:\n%s", out)
	}
	// The printed file loads back to the same configuration (the secret aside).
	back, err := load(t, strings.ReplaceAll(out, "(redacted)", "hunter2"), nil)
	if err != nil {
		t.Fatalf("printed config does not load: %v\n%s", err, out)
	}
	back.Etcd.DialTimeout = cfg.Etcd.DialTimeout
	var a, b bytes.Buffer
	cfg.Print(&a)
	back.Print(&b)
	if a.String() != b.String() {
		t.Fatalf("round trip differs:\n%s\nvs\n%s", a.String(), b.String())
	}
}

func TestClientsFromConfig(t *testing.T) {
	cfg := Defaults("127.0.0.1:7070")
	cfg.Kafka.SASL = SASL{Mechanism: "scram-sha-256", Username: "u", Password: "p"}
	kc, err := cfg.KafkaClient()
	if err != nil || kc.SASL == nil || kc.SASL.Name() != "SCRAM-SHA-256" || kc.TLS != nil {
		t.Fatalf("kafka client: %+v %v", kc, err)
	}
	cfg.Etcd.TLS = TLS{Enabled: true, CAFile: filepath.Join(t.TempDir(), "missing.pem")}
	if _, err := cfg.EtcdClient(); err == nil || !strings.Contains(err.Error(), "reading CA file") {
		t.Fatalf("etcd TLS with a missing CA: %v", err)
	}
}
