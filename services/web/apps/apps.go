// Package apps is the web service's view of the apps stored in etcd: each app's current
// version and table routes (cached briefly, since every table query needs them), its
// definition, version history and topology.
package apps

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/weirhq/weir/libs/cluster"
)

// ErrNoApp is returned for an app that does not exist (or has no current version).
var ErrNoApp = errors.New("no such app")

// Catalogs reads and caches the table routes of the apps' current versions. Safe for
// concurrent use.
type Catalogs struct {
	kv     clientv3.KV
	layout cluster.Layout
	ttl    time.Duration
	now    func() time.Time

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	c  cluster.Catalog
	at time.Time
}

// NewCatalogs returns a cache whose entries live ttl (2 s when zero).
func NewCatalogs(kv clientv3.KV, l cluster.Layout, ttl time.Duration) *Catalogs {
	if ttl <= 0 {
		ttl = 2 * time.Second
	}
	return &Catalogs{kv: kv, layout: l, ttl: ttl, now: time.Now, cache: map[string]cached{}}
}

// Route returns the route of an app's table; an unknown table re-reads the app once, in
// case a new version declared it.
func (c *Catalogs) Route(ctx context.Context, app, table string) (cluster.TableRoute, error) {
	cat, err := c.get(ctx, app, false)
	if err != nil {
		return cluster.TableRoute{}, err
	}
	r, err := cat.Route(table)
	if errors.Is(err, cluster.ErrNoTable) {
		if cat, err = c.get(ctx, app, true); err != nil {
			return cluster.TableRoute{}, err
		}
		r, err = cat.Route(table)
	}
	return r, err
}

// Catalog returns an app's table routes.
func (c *Catalogs) Catalog(ctx context.Context, app string) (cluster.Catalog, error) {
	return c.get(ctx, app, false)
}

func (c *Catalogs) get(ctx context.Context, app string, fresh bool) (cluster.Catalog, error) {
	c.mu.Lock()
	e, ok := c.cache[app]
	c.mu.Unlock()
	if ok && !fresh && c.now().Sub(e.at) < c.ttl {
		return e.c, nil
	}
	st, err := cluster.ReadApp(ctx, c.kv, c.layout, app)
	if err != nil {
		return cluster.Catalog{}, err
	}
	if st.Current == nil {
		c.mu.Lock()
		delete(c.cache, app)
		c.mu.Unlock()
		return cluster.Catalog{}, fmt.Errorf("app %q: %w", app, ErrNoApp)
	}
	cat, err := st.Current.Catalog()
	if err != nil {
		return cluster.Catalog{}, err
	}
	c.mu.Lock()
	c.cache[app] = cached{c: cat, at: c.now()}
	c.mu.Unlock()
	return cat, nil
}
