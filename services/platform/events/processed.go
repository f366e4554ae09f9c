package events

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Once applies effect for event e exactly once per consumer: the event id
// is recorded in the same transaction as the effect, so a redelivered event
// is acknowledged without running effect again, and a crash before commit
// leaves neither behind. The consuming service's migrations create
// processed_events (consumer text, event_id text, PRIMARY KEY (consumer, event_id)).
func Once(ctx context.Context, pool *pgxpool.Pool, consumer string, e Event, effect func(ctx context.Context, tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx,
			`INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
			consumer, e.ID)
		if err != nil {
			return fmt.Errorf("record event %s: %w", e.ID, err)
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		return effect(ctx, tx)
	})
}
