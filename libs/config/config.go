package config

import "time"

// Service is the configuration of one Weir service process.
type Service struct {
	Listen  string
	DataDir string
	Log     Log
	Kafka   Kafka
	Etcd    Etcd
}

// Log configures log/slog output.
type Log struct {
	Level  string // debug, info, warn, error
	Format string // text or json
}

// Kafka says how to reach the Kafka cluster.
type Kafka struct {
	Brokers  []string
	ClientID string
	TLS      TLS
	SASL     SASL
}

// SASL authenticates to Kafka: mechanism plain, scram-sha-256 or scram-sha-512.
type SASL struct {
	Mechanism string
	Username  string
	Password  string
}

// Etcd says how to reach the etcd cluster.
type Etcd struct {
	Endpoints   []string
	Username    string
	Password    string
	DialTimeout time.Duration
	TLS         TLS
}

// TLS enables TLS with optional CA, client certificate and key files.
type TLS struct {
	Enabled            bool
	CAFile             string
	CertFile           string
	KeyFile            string
	ServerName         string
	InsecureSkipVerify bool
}

// Defaults returns the built-in configuration of a service listening on listen by default.
func Defaults(listen string) Service {
	return Service{
		Listen:  listen,
		DataDir: "weir-data",
		Log:     Log{Level: "info", Format: "text"},
		Kafka:   Kafka{Brokers: []string{"127.0.0.1:9092"}, ClientID: "weir"},
		Etcd:    Etcd{Endpoints: []string{"127.0.0.1:2379"}, DialTimeout: 5 * time.Second},
	}
}
