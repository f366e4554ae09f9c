// Package consumer applies the order events the catalog subscribes to: a
// placed order's reservation no longer counts as abandoned, a paid
// order's reservation is committed, a cancelled order's released (or,
// paid, committed), and the units of a refunded order that never shipped come back to stock.
package consumer

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/events"
)

// Orders applies an order event to the catalog, once per event id.
type Orders interface {
	OrderPlaced(ctx context.Context, orderID uuid.UUID) error
	OrderPaid(ctx context.Context, eventID string, orderID uuid.UUID) error
	OrderCancelled(ctx context.Context, eventID string, orderID uuid.UUID, paid bool) error
	OrderRefunded(ctx context.Context, eventID string, orderID uuid.UUID, restock bool) error
}

// Consumer handles the subscribed events.
type Consumer struct{ orders Orders }

// New returns a Consumer applying events through orders.
func New(orders Orders) *Consumer { return &Consumer{orders: orders} }

// Subscriptions lists the topics to mount with events.Mount.
func (c *Consumer) Subscriptions() []events.Subscription {
	subscribe := func(topic string, h events.Handler) events.Subscription {
		return events.Subscription{Topic: topic, Route: contracts.Route(topic), Handler: h}
	}
	return []events.Subscription{
		subscribe(contracts.TopicOrderCreated, apply(func(o contracts.OrderCreatedV1) uuid.UUID { return o.OrderID },
			func(ctx context.Context, _ string, o contracts.OrderCreatedV1) error {
				return c.orders.OrderPlaced(ctx, o.OrderID)
			})),
		subscribe(contracts.TopicOrderPaid, apply(func(o contracts.OrderPaidV1) uuid.UUID { return o.OrderID },
			func(ctx context.Context, id string, o contracts.OrderPaidV1) error {
				return c.orders.OrderPaid(ctx, id, o.OrderID)
			})),
		subscribe(contracts.TopicOrderCancelled, apply(func(o contracts.OrderCancelledV1) uuid.UUID { return o.OrderID },
			func(ctx context.Context, id string, o contracts.OrderCancelledV1) error {
				return c.orders.OrderCancelled(ctx, id, o.OrderID, o.Refund)
			})),
		subscribe(contracts.TopicOrderRefunded, apply(func(o contracts.OrderRefundedV1) uuid.UUID { return o.OrderID },
			func(ctx context.Context, id string, o contracts.OrderRefundedV1) error {
				return c.orders.OrderRefunded(ctx, id, o.OrderID, o.Restock)
			})),
	}
}

var errNoOrder = errors.New("order_id is not an order id")

// apply decodes the event as a T and hands it to use with the event's id.
// An event whose orderID is none can never succeed on redelivery: it is
// dropped.
func apply[T any](orderID func(T) uuid.UUID, use func(ctx context.Context, eventID string, data T) error) events.Handler {
	return func(ctx context.Context, e events.Event) error {
		var data T
		if err := e.Decode(&data); err != nil {
			return fmt.Errorf("decode %s event %s: %w", e.Topic, e.ID, err)
		}
		if orderID(data) == uuid.Nil {
			return events.Drop(fmt.Errorf("%s event %s: %w", e.Topic, e.ID, errNoOrder))
		}
		return use(ctx, e.ID, data)
	}
}
