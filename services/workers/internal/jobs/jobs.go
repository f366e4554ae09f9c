// Package jobs runs the scheduled jobs the cron input bindings trigger:
// daprd POSTs to /<binding name> on schedule, the job runs, logs one
// summary line and updates its Prometheus counters.
package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/daprshop/daprshop/services/platform/server"
)

// Job does one run and reports how many items it handled.
type Job func(ctx context.Context) (items int, err error)

// Runner runs jobs and accounts for them.
type Runner struct {
	log      *slog.Logger
	now      func() time.Time
	runs     *prometheus.CounterVec
	items    *prometheus.CounterVec
	failures *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// lastSuccess is when each job last ran without error, 0 before its
	// first success: "how long since the purge worked" is the question a
	// failure counter cannot answer once the failures stop being counted
	// (the workers restarted).
	lastSuccess *prometheus.GaugeVec
}

// NewRunner returns a Runner whose metrics are registered on reg. They are
// labelled job_name: "job" is the label Prometheus gives every target, and
// a series of its own "job" would arrive renamed exported_job.
func NewRunner(log *slog.Logger, reg prometheus.Registerer, now func() time.Time) (*Runner, error) {
	r := &Runner{
		log: log,
		now: now,
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "workers_job_runs_total", Help: "Scheduled job runs, by job.",
		}, []string{"job_name"}),
		items: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "workers_job_items_total", Help: "Items handled by scheduled jobs, by job.",
		}, []string{"job_name"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "workers_job_failures_total", Help: "Scheduled job runs that failed, by job.",
		}, []string{"job_name"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "workers_job_duration_seconds", Help: "Time a scheduled job run took, by job.",
			Buckets: []float64{.01, .05, .1, .5, 1, 5, 10, 30, 60},
		}, []string{"job_name"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "workers_job_last_success_timestamp_seconds", Help: "When each scheduled job last ran without error, in Unix seconds; 0 until it has.",
		}, []string{"job_name"}),
	}
	for _, c := range []prometheus.Collector{r.runs, r.items, r.failures, r.duration, r.lastSuccess} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Run runs job once as name, logs its summary line and counts it.
func (r *Runner) Run(ctx context.Context, name string, job Job) error {
	start := r.now()
	items, err := job(ctx)
	end := r.now()
	took := end.Sub(start)
	r.runs.WithLabelValues(name).Inc()
	r.items.WithLabelValues(name).Add(float64(items))
	r.duration.WithLabelValues(name).Observe(took.Seconds())
	if err != nil {
		r.failures.WithLabelValues(name).Inc()
		r.log.ErrorContext(ctx, "job failed", "job", name, "items", items, "duration_ms", took.Milliseconds(), "err", err)
		return err
	}
	r.lastSuccess.WithLabelValues(name).Set(float64(end.UnixNano()) / 1e9)
	r.log.InfoContext(ctx, "job done", "job", name, "items", items, "duration_ms", took.Milliseconds())
	return nil
}

// Mount serves each job at POST /<name>, where its cron binding of that
// name delivers. Only the workers' own sidecar may call it: an invocation,
// from any app, is refused. A failed run answers 500, which daprd logs; the
// next scheduled run tries again.
func (r *Runner) Mount(app fiber.Router, jobs map[string]Job) {
	for name, job := range jobs {
		// Every job's counters report from the start, zero included, so
		// that rates (and the JobFailing alert) see the first failure.
		r.runs.WithLabelValues(name)
		r.items.WithLabelValues(name)
		r.failures.WithLabelValues(name)
		r.lastSuccess.WithLabelValues(name)
		app.Post("/"+name, server.NotInvoked, func(c *fiber.Ctx) error {
			if err := r.Run(c.UserContext(), name, job); err != nil {
				return err
			}
			return c.SendStatus(fiber.StatusOK)
		})
	}
}
