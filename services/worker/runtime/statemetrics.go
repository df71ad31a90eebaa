package runtime

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/libs/tables"
)

// stateKey names one replica's state series: app, task and role.
type stateKey struct {
	app, task, role string
}

// stateSources are the tables metrics of the replicas running now, plus what replicas that
// stopped had counted (so the counters only grow while the worker runs).
type stateSources struct {
	live    map[cluster.TaskKey]stateSource
	retired map[stateKey]tables.Metrics
}

type stateSource struct {
	key     stateKey
	metrics func() tables.Metrics
}

// watchState makes a replica's tables metrics (commits, restores, repairs, standby lag)
// part of the worker's /metrics until forgetState.
func (rt *Runtime) watchState(r cluster.TaskKey, role cluster.Role, m func() tables.Metrics) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.forgetStateLocked(r)
	rt.state.live[r] = stateSource{key: stateKey{app: r.App, task: taskLabel(r), role: string(role)}, metrics: m}
}

func (rt *Runtime) forgetState(r cluster.TaskKey) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.forgetStateLocked(r)
}

func (rt *Runtime) forgetStateLocked(r cluster.TaskKey) {
	src, ok := rt.state.live[r]
	if !ok {
		return
	}
	delete(rt.state.live, r)
	rt.state.retired[src.key] = addMetrics(rt.state.retired[src.key], src.metrics())
}

func addMetrics(a, b tables.Metrics) tables.Metrics {
	a.Commits += b.Commits
	a.Heartbeats += b.Heartbeats
	a.CommitRecords += b.CommitRecords
	a.CommitBytes += b.CommitBytes
	a.RestoredRecords += b.RestoredRecords
	a.SkippedBatches += b.SkippedBatches
	a.Repairs += b.Repairs
	a.RepairedKeys += b.RepairedKeys
	return a
}

// stateCollector exports the replicas' tables metrics at scrape time.
type stateCollector struct{ rt *Runtime }

var (
	stateLabels   = []string{"app", "task", "role"}
	descCommits   = prometheus.NewDesc("weir_changelog_commits_total", "Commit batches a task appended to its changelog (fences and idle markers not included).", stateLabels, nil)
	descMarkers   = prometheus.NewDesc("weir_changelog_idle_markers_total", "Idle markers a task appended to its changelog.", stateLabels, nil)
	descRecords   = prometheus.NewDesc("weir_changelog_commit_records_total", "Changelog records a task appended (markers included).", stateLabels, nil)
	descBytes     = prometheus.NewDesc("weir_changelog_commit_bytes_total", "Estimated bytes a task appended to its changelog.", stateLabels, nil)
	descRestored  = prometheus.NewDesc("weir_changelog_restored_records_total", "Table records applied from the changelog by a recovery or a standby.", stateLabels, nil)
	descSkipped   = prometheus.NewDesc("weir_changelog_skipped_batches_total", "Changelog batches skipped (a lower epoch or a late duplicate).", stateLabels, nil)
	descRepairs   = prometheus.NewDesc("weir_changelog_repairs_total", "Foreign (zombie) batches found in a task's changelog and repaired.", stateLabels, nil)
	descRepaired  = prometheus.NewDesc("weir_changelog_repaired_keys_total", "Keys re-appended by repairs.", stateLabels, nil)
	descStandbyLg = prometheus.NewDesc("weir_standby_lag_records", "Changelog records a standby or warm-up has not applied yet (-1 while unknown).", stateLabels, nil)
)

func (c stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descCommits, descMarkers, descRecords, descBytes, descRestored, descSkipped, descRepairs, descRepaired, descStandbyLg} {
		ch <- d
	}
}

func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	c.rt.mu.Lock()
	totals := make(map[stateKey]tables.Metrics, len(c.rt.state.retired)+len(c.rt.state.live))
	for k, m := range c.rt.state.retired {
		totals[k] = m
	}
	lags := map[stateKey]int64{}
	for _, src := range c.rt.state.live {
		m := src.metrics()
		totals[src.key] = addMetrics(totals[src.key], m)
		if src.key.role != string(cluster.RoleActive) {
			lags[src.key] = m.StandbyLag
		}
	}
	c.rt.mu.Unlock()
	counter := func(d *prometheus.Desc, v int64, k stateKey) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), k.app, k.task, k.role)
	}
	for k, m := range totals {
		counter(descCommits, m.Commits, k)
		counter(descMarkers, m.Heartbeats, k)
		counter(descRecords, m.CommitRecords, k)
		counter(descBytes, m.CommitBytes, k)
		counter(descRestored, m.RestoredRecords, k)
		counter(descSkipped, m.SkippedBatches, k)
		counter(descRepairs, m.Repairs, k)
		counter(descRepaired, m.RepairedKeys, k)
	}
	for k, lag := range lags {
		ch <- prometheus.MustNewConstMetric(descStandbyLg, prometheus.GaugeValue, float64(lag), k.app, k.task, k.role)
	}
}
