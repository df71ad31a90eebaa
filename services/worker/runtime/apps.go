package runtime

import (
	"context"
	"fmt"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/weirhq/weir/libs/agents"
	"github.com/weirhq/weir/libs/agents/pipeline"
	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/libs/config/app"
)

// appCache compiles each app version once.
type appCache struct {
	etcd     *clientv3.Client
	layout   cluster.Layout
	handlers agents.Handlers
	onApp    func(cluster.AppVersion)

	mu    sync.Mutex
	plans map[string]compiled // by app name: the newest version compiled
}

type compiled struct {
	version int64
	plan    *pipeline.Plan
}

func newAppCache(etcd *clientv3.Client, l cluster.Layout, h agents.Handlers, onApp func(cluster.AppVersion)) *appCache {
	return &appCache{etcd: etcd, layout: l, handlers: h, onApp: onApp, plans: map[string]compiled{}}
}

// current returns the app's current version number.
func (c *appCache) current(ctx context.Context, name string) (int64, error) {
	st, err := cluster.ReadApp(ctx, c.etcd, c.layout, name)
	if err != nil {
		return 0, fmt.Errorf("reading app %q: %w", name, err)
	}
	if st.Head == nil || st.Current == nil {
		return 0, fmt.Errorf("app %q is not deployed", name)
	}
	return st.Head.Version, nil
}

// plan returns the compiled plan of the app's current version.
func (c *appCache) plan(ctx context.Context, name string) (*pipeline.Plan, int64, error) {
	st, err := cluster.ReadApp(ctx, c.etcd, c.layout, name)
	if err != nil {
		return nil, 0, fmt.Errorf("reading app %q: %w", name, err)
	}
	if st.Head == nil || st.Current == nil {
		return nil, 0, fmt.Errorf("app %q is not deployed", name)
	}
	v := st.Current
	c.mu.Lock()
	if cp, ok := c.plans[name]; ok && cp.version == v.Version {
		c.mu.Unlock()
		return cp.plan, v.Version, nil
	}
	c.mu.Unlock()

	files := map[string][]byte{}
	for _, f := range v.Files {
		files[f.Name] = []byte(f.Content)
	}
	opts := app.Options{Vars: v.Vars}
	for _, f := range v.VarFiles {
		opts.VarFiles = append(opts.VarFiles, app.File{Name: f.Name, Src: []byte(f.Content)})
	}
	a, diags := app.Parse(files, opts)
	if diags.HasErrors() {
		return nil, 0, fmt.Errorf("parsing app %q version %d: %s", name, v.Version, diags.Error())
	}
	p, err := pipeline.Compile(a, c.handlers)
	if err != nil {
		return nil, 0, fmt.Errorf("compiling app %q version %d: %w", name, v.Version, err)
	}
	c.mu.Lock()
	c.plans[name] = compiled{version: v.Version, plan: p}
	c.mu.Unlock()
	if c.onApp != nil {
		c.onApp(*v)
	}
	return p, v.Version, nil
}

// group returns the task group named name of the plan's app.
func group(p *pipeline.Plan, name string) (app.TaskGroup, error) {
	for _, g := range p.App().TaskGroups() {
		if g.Name == name {
			return g, nil
		}
	}
	return app.TaskGroup{}, fmt.Errorf("app %q has no task group %q", p.App().Name, name)
}
