// Package consumer applies the order events payments acts on: an order
// placed is charged, an order cancelled refunded or its payment closed.
package consumer

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/payments/internal/payments"
	"github.com/daprshop/daprshop/services/platform/apperr"
	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/events"
)

// Payments charges and refunds orders, once per event.
type Payments interface {
	Charge(ctx context.Context, eventID string, o contracts.OrderCreatedV1) error
	RefundOrder(ctx context.Context, eventID string, orderID uuid.UUID) error
	CancelOrder(ctx context.Context, orderID uuid.UUID, reason string) error
}

// Consumer handles order events.
type Consumer struct{ payments Payments }

// New returns a Consumer.
func New(p Payments) *Consumer { return &Consumer{payments: p} }

// Subscriptions lists the topics to mount with events.Mount.
func (c *Consumer) Subscriptions() []events.Subscription {
	return []events.Subscription{
		{Topic: contracts.TopicOrderCreated, Route: contracts.Route(contracts.TopicOrderCreated), Handler: c.orderCreated},
		{Topic: contracts.TopicOrderCancelled, Route: contracts.Route(contracts.TopicOrderCancelled), Handler: c.orderCancelled},
	}
}

// orderCancelled refunds a paid order in full. An unpaid one has its
// payment closed, so that it can never charge; a provider refusing that
// is final and goes to the dead letters.
func (c *Consumer) orderCancelled(ctx context.Context, e events.Event) error {
	var o contracts.OrderCancelledV1
	if err := e.Decode(&o); err != nil {
		return fmt.Errorf("decode order.cancelled %s: %w", e.ID, err)
	}
	if !o.Refund {
		err := c.payments.CancelOrder(ctx, o.OrderID, o.Reason)
		if apperr.KindOf(err) == apperr.BadGateway {
			return events.Drop(err)
		}
		return err
	}
	err := c.payments.RefundOrder(ctx, e.ID, o.OrderID)
	if errors.Is(err, payments.ErrPaymentNotFound) || errors.Is(err, payments.ErrNotRefundable) || errors.Is(err, payments.ErrOverRefund) {
		return events.Drop(err)
	}
	return err
}

// orderCreated charges the order. A provider outage is retried by Dapr;
// an order that can never be charged goes to the dead letters.
func (c *Consumer) orderCreated(ctx context.Context, e events.Event) error {
	var o contracts.OrderCreatedV1
	if err := e.Decode(&o); err != nil {
		return fmt.Errorf("decode order.created %s: %w", e.ID, err)
	}
	err := c.payments.Charge(ctx, e.ID, o)
	if errors.Is(err, payments.ErrBadOrder) {
		return events.Drop(err)
	}
	return err
}
