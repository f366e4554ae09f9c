// Package consumer applies the events the notifications service subscribes
// to. Each event takes effect once: its id is recorded in the same
// transaction as its effect.
package consumer

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daprshop/daprshop/services/notifications/internal/notifications"
	"github.com/daprshop/daprshop/services/notifications/internal/postgres"
	"github.com/daprshop/daprshop/services/platform/events"
)

// Name identifies this consumer in processed_events.
const Name = "notifications"

// Topics and routes of the subscriptions.
const (
	TopicUserRegistered = "user.registered"
	RouteUserRegistered = "/events/user-registered"
	DeadLetterTopic     = "deadletter"
)

// Consumer handles the subscribed events.
type Consumer struct{ pool *pgxpool.Pool }

// New returns a Consumer writing to pool.
func New(pool *pgxpool.Pool) *Consumer { return &Consumer{pool: pool} }

// Subscriptions lists the topics to mount with events.Mount.
func (c *Consumer) Subscriptions() []events.Subscription {
	return []events.Subscription{{
		Topic: TopicUserRegistered, Route: RouteUserRegistered, DeadLetterTopic: DeadLetterTopic,
		Handler: c.userRegistered,
	}}
}

// userRegistered is the data of a user.registered event, as auth
// publishes it.
type userRegistered struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
	Name   string `json:"name"`
}

var errNoUser = errors.New("user_id is not a user id")

// userRegistered gives a new user the default preferences. An event
// without a valid user id can never succeed, so it is dropped to the
// dead-letter topic instead of retried.
func (c *Consumer) userRegistered(ctx context.Context, e events.Event) error {
	var data userRegistered
	if err := e.Decode(&data); err != nil {
		return fmt.Errorf("decode %s event %s: %w", TopicUserRegistered, e.ID, err)
	}
	userID, err := uuid.Parse(data.UserID)
	if err != nil || userID == uuid.Nil {
		return events.Drop(fmt.Errorf("%s event %s: %w", TopicUserRegistered, e.ID, errNoUser))
	}
	return events.Once(ctx, c.pool, Name, e, func(ctx context.Context, tx pgx.Tx) error {
		return postgres.CreatePreferences(ctx, tx, notifications.DefaultPreferences(userID))
	})
}
