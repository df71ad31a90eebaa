package tables

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Get returns the value of key in the worker's copy of the global table. A key belongs to
// one partition of the source topic (its records'); should it exist in several (the
// source's producer changed partitioners, or pinned partitions), the lowest-numbered
// partition wins, here and in Scan, and a delete on one partition leaves the key's entries
// on the others. Each partition is read as of its last applied batch.
func (g *Global) Get(key []byte) ([]byte, bool, error) {
	ck := changelogKey(g.cfg.Table, key)
	for _, p := range g.partitions() {
		v, ok, err := g.store.get(dataKey(partitionPrefix(g.ns, p), ck))
		if err != nil {
			return nil, false, fmt.Errorf("reading global table %q: %w", g.cfg.Table, err)
		}
		if ok {
			return v, true, nil
		}
	}
	return nil, false, nil
}

// Scan calls fn for every key of the global table that starts with prefix, in key order
// across all partitions, until fn returns false. key and value are valid only during the
// call.
func (g *Global) Scan(prefix []byte, fn func(key, value []byte) bool) (err error) {
	type cursor struct {
		it  *pebble.Iterator
		cut int
	}
	var cs []cursor
	defer func() {
		for _, c := range cs {
			err = errors.Join(err, c.it.Close())
		}
		if err != nil {
			err = fmt.Errorf("scanning global table %q: %w", g.cfg.Table, err)
		}
	}()
	for _, p := range g.partitions() {
		base := dataKey(partitionPrefix(g.ns, p), g.base)
		lower := append(bytes.Clone(base), prefix...)
		it, err := g.store.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: successor(lower)})
		if err != nil {
			return err
		}
		cs = append(cs, cursor{it: it, cut: len(base)})
		it.First()
	}
	for {
		// The smallest key among the cursors; the lowest partition wins a tie.
		best := -1
		for i, c := range cs {
			if !c.it.Valid() {
				continue
			}
			if best < 0 || bytes.Compare(c.it.Key()[c.cut:], cs[best].it.Key()[cs[best].cut:]) < 0 {
				best = i
			}
		}
		if best < 0 {
			break
		}
		key := bytes.Clone(cs[best].it.Key()[cs[best].cut:])
		if !fn(key, cs[best].it.Value()) {
			break
		}
		for _, c := range cs {
			if c.it.Valid() && bytes.Equal(c.it.Key()[c.cut:], key) {
				c.it.Next()
			}
		}
	}
	for _, c := range cs {
		if err := c.it.Error(); err != nil {
			return err
		}
	}
	return nil
}
