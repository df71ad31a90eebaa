package topics

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
)

// ClientConfig says how to reach the Kafka cluster. It is shared by Admin, Producer and
// Consumer.
type ClientConfig struct {
	Brokers  []string       // bootstrap addresses, host:port
	ClientID string         // sent to the broker; "weir" when empty
	TLS      *tls.Config    // nil for plaintext
	SASL     sasl.Mechanism // nil for no authentication
	// DialTimeout bounds connecting to a broker (5 s when zero).
	DialTimeout time.Duration
}

// Validate reports every problem of the configuration at once.
func (c ClientConfig) Validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("kafka: no brokers configured"))
	}
	for i, b := range c.Brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			errs = append(errs, fmt.Errorf("kafka: broker %d (%q) is not host:port: %w", i, b, err))
		}
	}
	return errors.Join(errs...)
}

// ParseBrokers splits a comma-separated broker list (as in KAFKA_BROKERS).
func ParseBrokers(s string) []string {
	var out []string
	for _, b := range strings.Split(s, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

func (c ClientConfig) clientID() string {
	if c.ClientID == "" {
		return "weir"
	}
	return c.ClientID
}

// transport builds a kafka-go transport; each Admin, Producer and Consumer owns its own so a
// consumer's long-polling fetches never queue behind produce requests.
func (c ClientConfig) transport() *kafka.Transport {
	dt := c.DialTimeout
	if dt <= 0 {
		dt = 5 * time.Second
	}
	return &kafka.Transport{
		DialTimeout: dt,
		IdleTimeout: 5 * time.Minute,
		MetadataTTL: 30 * time.Second,
		ClientID:    c.clientID(),
		TLS:         c.TLS,
		SASL:        c.SASL,
	}
}

func (c ClientConfig) addr() net.Addr { return kafka.TCP(c.Brokers...) }
