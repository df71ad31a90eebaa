package devstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/segmentio/kafka-go"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// WaitKafka blocks until the broker at addr answers a metadata request listing at least one
// broker, or ctx ends. It returns the last failure on timeout so the caller can say why.
func WaitKafka(ctx context.Context, addr string) error {
	client := &kafka.Client{Addr: kafka.TCP(addr), Timeout: 2 * time.Second}
	var last error
	for {
		attempt, cancel := context.WithTimeout(ctx, 3*time.Second)
		md, err := client.Metadata(attempt, &kafka.MetadataRequest{})
		cancel()
		if err == nil && len(md.Brokers) > 0 {
			return nil
		}
		if err == nil {
			err = errors.New("metadata lists no brokers yet")
		}
		last = err
		if !sleepCtx(ctx, 200*time.Millisecond) {
			return fmt.Errorf("waiting for Kafka at %s: %w (last error: %v)", addr, ctx.Err(), last)
		}
	}
}

// WaitEtcd blocks until the etcd server at endpoint reports its status, or ctx ends.
func WaitEtcd(ctx context.Context, endpoint string) error {
	var last error
	for {
		err := etcdStatus(ctx, endpoint)
		if err == nil {
			return nil
		}
		last = err
		if !sleepCtx(ctx, 200*time.Millisecond) {
			return fmt.Errorf("waiting for etcd at %s: %w (last error: %v)", endpoint, ctx.Err(), last)
		}
	}
}

func etcdStatus(ctx context.Context, endpoint string) error {
	// A plain TCP probe first: the etcd client retries internally and would hide a closed port.
	conn, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", endpoint)
	if err != nil {
		return err
	}
	conn.Close()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 2 * time.Second})
	if err != nil {
		return err
	}
	defer cli.Close()
	attempt, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err = cli.Status(attempt, endpoint)
	return err
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
