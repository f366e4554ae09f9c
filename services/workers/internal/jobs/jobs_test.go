package jobs

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunnerCountsAndLogsEveryRun(t *testing.T) {
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	clock := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { clock = clock.Add(250 * time.Millisecond); return clock }
	r, err := NewRunner(slog.New(slog.NewJSONHandler(&logs, nil)), reg, now)
	require.NoError(t, err)
	app := fiber.New()
	fail := false
	r.Mount(app, map[string]Job{"cron-purge": func(context.Context) (int, error) {
		if fail {
			return 2, errors.New("database down")
		}
		return 7, nil
	}})
	post := func() int {
		resp, err := app.Test(httptest.NewRequest(http.MethodPost, "/cron-purge", nil), -1)
		require.NoError(t, err)
		return resp.StatusCode
	}

	assert.Equal(t, http.StatusOK, post())
	assert.Equal(t, http.StatusOK, post())
	fail = true
	assert.Equal(t, http.StatusInternalServerError, post())

	assert.Equal(t, 3.0, testutil.ToFloat64(r.runs.WithLabelValues("cron-purge")))
	assert.Equal(t, 16.0, testutil.ToFloat64(r.items.WithLabelValues("cron-purge")))
	assert.Equal(t, 1.0, testutil.ToFloat64(r.failures.WithLabelValues("cron-purge")))
	assert.Equal(t, 1, testutil.CollectAndCount(r.duration))
	// The second run's end; the failed third leaves it.
	assert.Equal(t, float64(time.Date(2025, 3, 1, 0, 0, 1, 0, time.UTC).Unix()),
		testutil.ToFloat64(r.lastSuccess.WithLabelValues("cron-purge")))
	assert.Contains(t, logs.String(), `"msg":"job done","job":"cron-purge","items":7,"duration_ms":250`)
	assert.Contains(t, logs.String(), `"msg":"job failed","job":"cron-purge","items":2,"duration_ms":250,"err":"database down"`)
}

func TestMountedJobsReportBeforeTheirFirstRun(t *testing.T) {
	reg := prometheus.NewRegistry()
	r, err := NewRunner(slog.New(slog.DiscardHandler), reg, time.Now)
	require.NoError(t, err)
	r.Mount(fiber.New(), map[string]Job{"cron-purge": func(context.Context) (int, error) { return 0, nil }})

	assert.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
		# HELP workers_job_failures_total Scheduled job runs that failed, by job.
		# TYPE workers_job_failures_total counter
		workers_job_failures_total{job_name="cron-purge"} 0
		# HELP workers_job_runs_total Scheduled job runs, by job.
		# TYPE workers_job_runs_total counter
		workers_job_runs_total{job_name="cron-purge"} 0
		# HELP workers_job_last_success_timestamp_seconds When each scheduled job last ran without error, in Unix seconds; 0 until it has.
		# TYPE workers_job_last_success_timestamp_seconds gauge
		workers_job_last_success_timestamp_seconds{job_name="cron-purge"} 0
	`), "workers_job_failures_total", "workers_job_runs_total", "workers_job_last_success_timestamp_seconds"))
}
