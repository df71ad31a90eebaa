package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Topology is what the controller assigns for one app, at Layout.Topology: its task groups and
// their partition counts (one task per partition of each group) and the configured number of
// standby replicas per task. `controller apply` writes it; tests write it directly.
type Topology struct {
	App      string  `json:"app"`
	Standbys int     `json:"standbys"`
	Groups   []Group `json:"groups"`
}

// Group is one task group of an app.
type Group struct {
	Name       string `json:"name"`
	Partitions int    `json:"partitions"`
}

// Tasks lists the app's tasks, by group in order, then partition.
func (t Topology) Tasks() []TaskKey {
	var out []TaskKey
	for _, g := range t.Groups {
		for p := range g.Partitions {
			out = append(out, TaskKey{App: t.App, Group: g.Name, Partition: p})
		}
	}
	return out
}

// Validate reports every problem with the topology at once.
func (t Topology) Validate() error {
	var errs []error
	if t.App == "" {
		errs = append(errs, errors.New("app name is empty"))
	}
	if t.Standbys < 0 {
		errs = append(errs, fmt.Errorf("standby count %d is negative", t.Standbys))
	}
	seen := map[string]bool{}
	for _, g := range t.Groups {
		if g.Name == "" {
			errs = append(errs, errors.New("a group has an empty name"))
		}
		if seen[g.Name] {
			errs = append(errs, fmt.Errorf("group %q is listed twice", g.Name))
		}
		seen[g.Name] = true
		if g.Partitions <= 0 {
			errs = append(errs, fmt.Errorf("group %q has %d partitions, want at least 1", g.Name, g.Partitions))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("topology of app %q: %w", t.App, err)
	}
	return nil
}

// PutTopology validates and writes an app's topology.
func PutTopology(ctx context.Context, kv clientv3.KV, l Layout, t Topology) error {
	if err := t.Validate(); err != nil {
		return err
	}
	value, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("encoding topology of app %q: %w", t.App, err)
	}
	if _, err := kv.Put(ctx, l.Topology(t.App), string(value)); err != nil {
		return fmt.Errorf("writing topology of app %q: %w", t.App, err)
	}
	return nil
}

// DecodeTopology decodes and validates a topology record.
func DecodeTopology(value []byte) (Topology, error) {
	var t Topology
	if err := json.Unmarshal(value, &t); err != nil {
		return Topology{}, fmt.Errorf("decoding topology: %w", err)
	}
	if err := t.Validate(); err != nil {
		return Topology{}, err
	}
	return t, nil
}
