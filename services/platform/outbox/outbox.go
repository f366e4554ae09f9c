// Package outbox makes events commit together with the state change they
// describe: producers insert the event into their database's outbox table
// in the same transaction, and a relay publishes it through Dapr after
// commit. No event is lost while the broker or the sidecar is down.
//
// Every producing service's migrations create the table:
//
//	CREATE TABLE outbox (
//	    id           uuid        PRIMARY KEY,
//	    topic        text        NOT NULL CHECK (topic <> ''),
//	    event_id     uuid        NOT NULL UNIQUE,  -- the CloudEvent id consumers deduplicate on
//	    payload      jsonb       NOT NULL,
//	    traceparent  text        NOT NULL DEFAULT '',
//	    created_at   timestamptz NOT NULL DEFAULT now(),
//	    published_at timestamptz CHECK (published_at >= created_at),
//	    attempts     integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
//	    last_error   text
//	);
//	CREATE INDEX outbox_unpublished_idx ON outbox (created_at, id) WHERE published_at IS NULL;
package outbox

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/daprshop/daprshop/services/platform/telemetry"
)

// Channel is the Postgres NOTIFY channel that wakes the relay.
const Channel = "outbox"

// Add records an event on topic in tx and returns its event id. It is
// published only if tx commits.
func Add(ctx context.Context, tx pgx.Tx, topic string, payload any) (uuid.UUID, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return uuid.Nil, fmt.Errorf("encode %s event: %w", topic, err)
	}
	// Time-ordered ids keep the events of one transaction (which share
	// created_at) in the order they were added: the relay sorts by both.
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.Nil, fmt.Errorf("new %s event id: %w", topic, err)
	}
	// One statement, one round trip: the notification is delivered on
	// commit only, and folded into one by Postgres when a transaction
	// notifies more than once.
	if _, err := tx.Exec(ctx, addQuery, id, topic, body, telemetry.Traceparent(ctx), Channel); err != nil {
		return uuid.Nil, fmt.Errorf("add %s event to outbox: %w", topic, err)
	}
	return id, nil
}

const addQuery = `WITH added AS (
		INSERT INTO outbox (id, topic, event_id, payload, traceparent) VALUES ($1, $2, $1, $3, $4) RETURNING id)
	SELECT pg_notify($5, '') FROM added`
