// Package consumer applies the order events the catalog subscribes to:
// a paid order's reservation is committed, a cancelled order's released.
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
	OrderPaid(ctx context.Context, eventID string, orderID uuid.UUID) error
	OrderCancelled(ctx context.Context, eventID string, orderID uuid.UUID) error
}

// Consumer handles the subscribed events.
type Consumer struct{ orders Orders }

// New returns a Consumer applying events through orders.
func New(orders Orders) *Consumer { return &Consumer{orders: orders} }

// Subscriptions lists the topics to mount with events.Mount.
func (c *Consumer) Subscriptions() []events.Subscription {
	return []events.Subscription{
		{Topic: contracts.TopicOrderPaid, Route: contracts.Route(contracts.TopicOrderPaid),
			Handler: apply(func(o contracts.OrderPaidV1) uuid.UUID { return o.OrderID }, c.orders.OrderPaid)},
		{Topic: contracts.TopicOrderCancelled, Route: contracts.Route(contracts.TopicOrderCancelled),
			Handler: apply(func(o contracts.OrderCancelledV1) uuid.UUID { return o.OrderID }, c.orders.OrderCancelled)},
	}
}

var errNoOrder = errors.New("order_id is not an order id")

// apply decodes the event as a T, takes its order id and hands it to use.
// An event without one can never succeed on redelivery: it is dropped.
func apply[T any](orderID func(T) uuid.UUID, use func(ctx context.Context, eventID string, orderID uuid.UUID) error) events.Handler {
	return func(ctx context.Context, e events.Event) error {
		var data T
		if err := e.Decode(&data); err != nil {
			return fmt.Errorf("decode %s event %s: %w", e.Topic, e.ID, err)
		}
		id := orderID(data)
		if id == uuid.Nil {
			return events.Drop(fmt.Errorf("%s event %s: %w", e.Topic, e.ID, errNoOrder))
		}
		return use(ctx, e.ID, id)
	}
}
