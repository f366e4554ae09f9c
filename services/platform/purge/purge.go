// Package purge serves the housekeeping endpoint of every service: the
// workers' scheduled purge job invokes it through Dapr, and each service
// deletes what has outlived its use in its own database.
package purge

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/server"
)

// Batch bounds the rows one task deletes per run, so a run stays short
// behind the caller's timeout; the next run takes the rest.
const Batch = 10_000

// Task deletes what is due at now and says how many rows went.
type Task func(ctx context.Context, now time.Time) (int64, error)

// Result is the purge's answer: rows deleted, by task.
type Result struct {
	Purged map[string]int64 `json:"purged"`
}

// Total is the number of rows deleted by all tasks.
func (r Result) Total() int64 {
	var n int64
	for _, c := range r.Purged {
		n += c
	}
	return n
}

// Run runs every task; one failing does not stop the others.
func Run(ctx context.Context, now time.Time, tasks map[string]Task) (Result, error) {
	names := make([]string, 0, len(tasks))
	for name := range tasks {
		names = append(names, name)
	}
	sort.Strings(names)
	res := Result{Purged: make(map[string]int64, len(tasks))}
	var errs []error
	for _, name := range names {
		n, err := tasks[name](ctx, now)
		res.Purged[name] = n
		if err != nil {
			errs = append(errs, fmt.Errorf("purge %s: %w", name, err))
		}
	}
	return res, errors.Join(errs...)
}

// Mount serves contracts.PurgePath to its caller, answering the Result, or
// 500 when a task failed.
func Mount(app fiber.Router, now func() time.Time, tasks map[string]Task) {
	app.Post(contracts.PurgePath, server.OnlyCallers(contracts.PurgeCaller), func(c *fiber.Ctx) error {
		res, err := Run(c.UserContext(), now(), tasks)
		if err != nil {
			return err
		}
		return c.JSON(res)
	})
}

// Older deletes up to Batch rows of table whose column is older than
// retention. table and column are the caller's constants, never input.
func Older(db *pgxpool.Pool, table, column string, retention time.Duration) Task {
	query := fmt.Sprintf(`DELETE FROM %[1]s WHERE ctid IN (SELECT ctid FROM %[1]s WHERE %[2]s < $1 LIMIT $2)`, table, column)
	return func(ctx context.Context, now time.Time) (int64, error) {
		tag, err := db.Exec(ctx, query, now.Add(-retention), Batch)
		if err != nil {
			return 0, err
		}
		return tag.RowsAffected(), nil
	}
}

// ProcessedEvents forgets the ids of events consumed longer than
// retention ago: the broker never redelivers an event that old.
func ProcessedEvents(db *pgxpool.Pool, retention time.Duration) Task {
	return Older(db, "processed_events", "processed_at", retention)
}

// PublishedOutbox deletes outbox rows published longer than retention ago
// (kept meanwhile to trace what was sent).
func PublishedOutbox(db *pgxpool.Pool, retention time.Duration) Task {
	return Older(db, "outbox", "published_at", retention)
}

// Retention is how long rows outlive their use, the same settings in
// every service (read with config.Parse).
type Retention struct {
	ProcessedEvents time.Duration `env:"PROCESSED_EVENTS_RETENTION" default:"720h" doc:"How long ids of consumed events are kept to drop redeliveries: well past the broker's redelivery window."`
	PublishedOutbox time.Duration `env:"OUTBOX_RETENTION" default:"168h" doc:"How long published outbox rows are kept to trace what was sent."`
}
