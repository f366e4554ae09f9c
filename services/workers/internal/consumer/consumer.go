// Package consumer folds order and payment events into the daily sales
// aggregates. Each event counts once: its id is recorded in the same
// transaction as the sums it adds to.
package consumer

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daprshop/daprshop/services/platform/events"
	"github.com/daprshop/daprshop/services/workers/internal/analytics"
	"github.com/daprshop/daprshop/services/workers/internal/postgres"
)

// Name identifies this consumer in processed_events.
const Name = "analytics"

// DeadLetterTopic receives the events that cannot be applied.
const DeadLetterTopic = "deadletter"

// OrderPaid is the part of order.paid (published by orders) the analytics
// read. PaidAt decides the day; without it, the event's id does (see
// Consumer.when).
type OrderPaid struct {
	OrderID    string    `json:"order_id"`
	TotalCents int64     `json:"total_cents"`
	Currency   string    `json:"currency"`
	Items      []Item    `json:"items"`
	PaidAt     time.Time `json:"paid_at,omitzero"`
}

// Item is one line of a paid order.
type Item struct {
	ProductID string `json:"product_id"`
	Quantity  int    `json:"quantity"`
}

// PaymentRefunded is the part of payment.refunded (published by payments)
// the analytics read. RefundedAt decides the day; without it, the event's
// id does (see Consumer.when).
type PaymentRefunded struct {
	PaymentID   string    `json:"payment_id"`
	OrderID     string    `json:"order_id"`
	AmountCents int64     `json:"amount_cents"`
	Currency    string    `json:"currency"`
	RefundedAt  time.Time `json:"refunded_at,omitzero"`
}

// Consumer handles the subscribed events.
type Consumer struct {
	pool *pgxpool.Pool
	now  func() time.Time
}

// New returns a Consumer writing to pool; now dates events that carry no
// time of their own, neither in their data nor in their id.
func New(pool *pgxpool.Pool, now func() time.Time) *Consumer { return &Consumer{pool: pool, now: now} }

// Subscriptions lists the topics to mount with events.Mount.
func (c *Consumer) Subscriptions() []events.Subscription {
	return []events.Subscription{
		{Topic: "order.paid", Route: "/events/order-paid", DeadLetterTopic: DeadLetterTopic, Handler: c.orderPaid},
		{Topic: "payment.refunded", Route: "/events/payment-refunded", DeadLetterTopic: DeadLetterTopic, Handler: c.paymentRefunded},
	}
}

// when is the time that decides an event's day: the one in its data, else
// the one in its id when that is a version 7 UUID (outbox event ids are,
// minted in the transaction that made the change), else now. Only the
// last moves when the event is replayed on another day, as an operator
// does to rebuild the aggregates.
func (c *Consumer) when(t time.Time, eventID string) time.Time {
	if !t.IsZero() {
		return t
	}
	if id, err := uuid.Parse(eventID); err == nil && id.Version() == 7 {
		return time.Unix(id.Time().UnixTime())
	}
	return c.now()
}

func (c *Consumer) orderPaid(ctx context.Context, e events.Event) error {
	var data OrderPaid
	if err := e.Decode(&data); err != nil {
		return fmt.Errorf("decode %s event %s: %w", e.Topic, e.ID, err)
	}
	quantities := make([]int, len(data.Items))
	for i, it := range data.Items {
		quantities[i] = it.Quantity
	}
	sale, err := analytics.Paid(c.when(data.PaidAt, e.ID), data.TotalCents, quantities)
	if err != nil {
		return events.Drop(fmt.Errorf("%s event %s: %w", e.Topic, e.ID, err))
	}
	return events.Once(ctx, c.pool, Name, e, func(ctx context.Context, tx pgx.Tx) error {
		return postgres.AddSales(ctx, tx, sale)
	})
}

func (c *Consumer) paymentRefunded(ctx context.Context, e events.Event) error {
	var data PaymentRefunded
	if err := e.Decode(&data); err != nil {
		return fmt.Errorf("decode %s event %s: %w", e.Topic, e.ID, err)
	}
	refund, err := analytics.Refunded(c.when(data.RefundedAt, e.ID), data.AmountCents)
	if err != nil {
		return events.Drop(fmt.Errorf("%s event %s: %w", e.Topic, e.ID, err))
	}
	return events.Once(ctx, c.pool, Name, e, func(ctx context.Context, tx pgx.Tx) error {
		return postgres.AddSales(ctx, tx, refund)
	})
}
