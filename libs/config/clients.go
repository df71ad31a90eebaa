package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/weirhq/weir/libs/topics"
)

// KafkaClient returns the libs/topics client configuration for the Kafka settings.
func (s Service) KafkaClient() (topics.ClientConfig, error) {
	cfg := topics.ClientConfig{Brokers: s.Kafka.Brokers, ClientID: s.Kafka.ClientID}
	t, err := s.Kafka.TLS.config()
	if err != nil {
		return cfg, fmt.Errorf("configuring Kafka TLS: %w", err)
	}
	cfg.TLS = t
	var mech sasl.Mechanism
	switch s.Kafka.SASL.Mechanism {
	case "":
	case "plain":
		mech = plain.Mechanism{Username: s.Kafka.SASL.Username, Password: s.Kafka.SASL.Password}
	case "scram-sha-256":
		mech, err = scram.Mechanism(scram.SHA256, s.Kafka.SASL.Username, s.Kafka.SASL.Password)
	case "scram-sha-512":
		mech, err = scram.Mechanism(scram.SHA512, s.Kafka.SASL.Username, s.Kafka.SASL.Password)
	default:
		err = fmt.Errorf("unknown mechanism %q", s.Kafka.SASL.Mechanism)
	}
	if err != nil {
		return cfg, fmt.Errorf("configuring Kafka SASL: %w", err)
	}
	cfg.SASL = mech
	return cfg, nil
}

// EtcdClient returns the etcd client configuration for the etcd settings.
func (s Service) EtcdClient() (clientv3.Config, error) {
	cfg := clientv3.Config{Endpoints: s.Etcd.Endpoints, Username: s.Etcd.Username, Password: s.Etcd.Password, DialTimeout: s.Etcd.DialTimeout}
	t, err := s.Etcd.TLS.config()
	if err != nil {
		return cfg, fmt.Errorf("configuring etcd TLS: %w", err)
	}
	cfg.TLS = t
	return cfg, nil
}

// Logger returns a slog logger writing to stderr at the configured level and format.
func (s Service) Logger() *slog.Logger { return s.LoggerTo(os.Stderr) }

// LoggerTo returns a slog logger writing to w at the configured level and format.
func (s Service) LoggerTo(w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(s.Log.Level)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if s.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func (t TLS) config() (*tls.Config, error) {
	if !t.Enabled {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("reading CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", t.CAFile)
		}
		c.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("loading client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}
