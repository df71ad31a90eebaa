package runtime

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirhq/weir/libs/agents"
	"github.com/weirhq/weir/libs/agents/pipeline"
	"github.com/weirhq/weir/libs/cluster"
)

// metrics are the runtime's Prometheus collectors. Series are labelled by app and task
// ("GROUP/PARTITION", or "timers" and "timers@WORKER" for timers), and by agent where one
// is known.
type metrics struct {
	recordsIn     *prometheus.CounterVec
	agentIn       *prometheus.CounterVec
	recordsOut    *prometheus.CounterVec
	errors        *prometheus.CounterVec
	deadLetters   *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	commitLatency *prometheus.HistogramVec
	lag           *prometheus.GaugeVec
	stalls        *prometheus.CounterVec
	restarts      *prometheus.CounterVec
	timerFirings  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	task := []string{"app", "task"}
	m := &metrics{
		recordsIn: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "weir_task_records_in_total",
			Help: "Input records processed by an active task."}, task),
		agentIn: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "weir_agent_records_in_total",
			Help: "Input records an agent processed (each record counts for every agent of the task reading its topic)."},
			[]string{"app", "task", "agent"}),
		recordsOut: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "weir_task_records_out_total",
			Help: "Records a task (or timer) emitted: outputs, repartitioned records and dead letters."}, task),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "weir_agent_errors_total",
			Help: "Records an agent failed on after its retries, by the policy applied (skip, dead_letter, stop); timer failures have policy \"timer\"."},
			[]string{"app", "task", "agent", "then"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "weir_agent_dead_letters_total",
			Help: "Records an agent sent to its dead-letter topic."}, []string{"app", "task", "agent"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "weir_task_processing_seconds",
			Help:    "Time to process one input record (every agent of the task that reads it).",
			Buckets: prometheus.ExponentialBuckets(1e-6, 4, 12)}, task),
		commitLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "weir_task_commit_seconds",
			Help:    "Time of a task's commit: outputs flushed, then the changelog batch appended and applied.",
			Buckets: prometheus.ExponentialBuckets(1e-4, 3, 12)}, task),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "weir_task_lag_records",
			Help: "Records of a task's inputs not yet processed (high watermark minus position)."}, task),
		stalls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "weir_task_stalls_total",
			Help: "Times the stall watchdog found a task with lag and no progress, and restarted it."}, task),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "weir_task_failures_total",
			Help: "Times an active task failed and restarts from its last commit."}, task),
		timerFirings: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "weir_timer_firings_total",
			Help: "Scheduled times a timer fired, by outcome (ok, error)."}, []string{"app", "timer", "outcome"}),
	}
	if reg != nil {
		reg.MustRegister(m.recordsIn, m.agentIn, m.recordsOut, m.errors, m.deadLetters, m.latency, m.commitLatency,
			m.lag, m.stalls, m.restarts, m.timerFirings)
	}
	return m
}

// taskObs are one task's collectors, resolved once.
type taskObs struct {
	m         *metrics
	app, task string
	in, out   prometheus.Counter
	latency   prometheus.Observer
	commit    prometheus.Observer
	lag       prometheus.Gauge
	byTopic   map[string][]prometheus.Counter // per input topic: its agents' records-in counters
}

func taskLabel(t cluster.TaskKey) string { return t.Group + "/" + strconv.Itoa(t.Partition) }

func (m *metrics) task(app, task string) *taskObs {
	return &taskObs{m: m, app: app, task: task,
		in: m.recordsIn.WithLabelValues(app, task), out: m.recordsOut.WithLabelValues(app, task),
		latency: m.latency.WithLabelValues(app, task), commit: m.commitLatency.WithLabelValues(app, task)}
}

// processed counts n records of topic processed by the agents of the task reading it.
func (o *taskObs) processed(p *pipeline.Plan, group, topic string, n int) {
	if n == 0 {
		return
	}
	o.in.Add(float64(n))
	cs, ok := o.byTopic[topic]
	if !ok {
		for _, ag := range p.AgentsReading(topic, group) {
			cs = append(cs, o.m.agentIn.WithLabelValues(o.app, o.task, ag))
		}
		if o.byTopic == nil {
			o.byTopic = map[string][]prometheus.Counter{}
		}
		o.byTopic[topic] = cs
	}
	for _, c := range cs {
		c.Add(float64(n))
	}
}

// agentFailed counts a record an agent failed on, by the policy applied.
func (o *taskObs) agentFailed(agent, then string) {
	if then == "" {
		then = "stop"
	}
	o.m.errors.WithLabelValues(o.app, o.task, agent, then).Inc()
	if then == "dead_letter" {
		o.m.deadLetters.WithLabelValues(o.app, o.task, agent).Inc()
	}
}

func (o *taskObs) timerFired(timer string, ok bool) {
	outcome := "ok"
	if !ok {
		outcome = "error"
		o.m.errors.WithLabelValues(o.app, o.task, timer, "timer").Inc()
	}
	o.m.timerFirings.WithLabelValues(o.app, timer, outcome).Inc()
}

func (o *taskObs) setLag(lag int64) {
	if o.lag == nil {
		o.lag = o.m.lag.WithLabelValues(o.app, o.task)
	}
	o.lag.Set(float64(lag))
}

func (o *taskObs) stalled()                   { o.m.stalls.WithLabelValues(o.app, o.task).Inc() }
func (o *taskObs) failed()                    { o.m.restarts.WithLabelValues(o.app, o.task).Inc() }
func (o *taskObs) commitTook(d time.Duration) { o.commit.Observe(d.Seconds()) }

// done drops the task's lag series when its replica stops running here.
func (o *taskObs) done() {
	if o.lag != nil {
		o.m.lag.DeleteLabelValues(o.app, o.task)
	}
}

// countingEmitter counts what a task emits.
type countingEmitter struct {
	agents.Emitter
	out prometheus.Counter
}

func (c countingEmitter) Emit(m agents.Message) error {
	c.out.Inc()
	return c.Emitter.Emit(m)
}
