// Package consumer applies the order events the catalog subscribes to:
// a paid order's reservation is committed, a cancelled order's released.
// Each event takes effect once: its id is recorded in the same transaction
// as its effect.
package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daprshop/daprshop/services/platform/events"
	"github.com/daprshop/daprshop/services/products/internal/catalog"
	"github.com/daprshop/daprshop/services/products/internal/postgres"
)

// Name identifies this consumer in processed_events.
const Name = "products"

// Routes of the subscriptions, and where poison events go.
const (
	RouteOrderPaid      = "/events/order-paid"
	RouteOrderCancelled = "/events/order-cancelled"
	DeadLetterTopic     = "deadletter"
)

// Invalidator forgets cached reads of products whose stock changed.
type Invalidator interface {
	Invalidate(ctx context.Context, productIDs ...uuid.UUID) error
}

// Consumer handles the subscribed events.
type Consumer struct {
	pool  *pgxpool.Pool
	cache Invalidator
	log   *slog.Logger
}

// New returns a Consumer writing to pool.
func New(pool *pgxpool.Pool, cache Invalidator, log *slog.Logger) *Consumer {
	return &Consumer{pool: pool, cache: cache, log: log}
}

// Subscriptions lists the topics to mount with events.Mount.
func (c *Consumer) Subscriptions() []events.Subscription {
	return []events.Subscription{
		{Topic: catalog.TopicOrderPaid, Route: RouteOrderPaid, DeadLetterTopic: DeadLetterTopic, Handler: c.orderPaid},
		{Topic: catalog.TopicOrderCancelled, Route: RouteOrderCancelled, DeadLetterTopic: DeadLetterTopic, Handler: c.orderCancelled},
	}
}

// orderEvent is the part of the order events the catalog reads.
type orderEvent struct {
	OrderID string `json:"order_id"`
}

var errNoOrder = errors.New("order_id is not an order id")

func decodeOrderID(e events.Event) (uuid.UUID, error) {
	var data orderEvent
	if err := e.Decode(&data); err != nil {
		return uuid.Nil, fmt.Errorf("decode %s event %s: %w", e.Topic, e.ID, err)
	}
	id, err := uuid.Parse(data.OrderID)
	if err != nil || id == uuid.Nil {
		return uuid.Nil, events.Drop(fmt.Errorf("%s event %s: %w", e.Topic, e.ID, errNoOrder))
	}
	return id, nil
}

// orderPaid commits the order's reservation. An order without one (it
// reserved nothing, or was released first) has nothing to commit; that
// is logged and acknowledged, since redelivery cannot change it.
func (c *Consumer) orderPaid(ctx context.Context, e events.Event) error {
	orderID, err := decodeOrderID(e)
	if err != nil {
		return err
	}
	return events.Once(ctx, c.pool, Name, e, func(ctx context.Context, tx pgx.Tx) error {
		_, err := postgres.CommitReservation(ctx, tx, orderID)
		if errors.Is(err, catalog.ErrNoReservation) || errors.Is(err, catalog.ErrReleased) {
			c.log.WarnContext(ctx, "paid order has no reservation to commit", "order_id", orderID, "err", err)
			return nil
		}
		return err
	})
}

// orderCancelled releases the order's reservation, so its stock is
// available again. A committed reservation stays committed: the units
// left the warehouse's free stock when the order was paid, and returning
// them is an inventory adjustment.
func (c *Consumer) orderCancelled(ctx context.Context, e events.Event) error {
	orderID, err := decodeOrderID(e)
	if err != nil {
		return err
	}
	var released catalog.Reservation
	err = events.Once(ctx, c.pool, Name, e, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		released, err = postgres.ReleaseReservation(ctx, tx, orderID)
		if errors.Is(err, catalog.ErrNoReservation) || errors.Is(err, catalog.ErrCommitted) {
			c.log.InfoContext(ctx, "cancelled order has no reservation to release", "order_id", orderID, "err", err)
			return nil
		}
		return err
	})
	if err != nil || len(released.Lines) == 0 {
		return err
	}
	// After commit, so no read can cache the stock from before the release.
	return c.cache.Invalidate(ctx, released.ProductIDs()...)
}
