// Package consumer applies payments' events to orders: each moves its
// order through the state machine (or records payment news) once, in the
// transaction that records the event id.
package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/orders/internal/orders"
	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/events"
)

// Orders applies payment events to orders, once per event.
type Orders interface {
	ApplyPayment(ctx context.Context, eventID, topic string, orderID uuid.UUID, p orders.PaymentNews) (orders.Detail, bool, error)
}

// Consumer handles the payment events.
type Consumer struct {
	orders Orders
	log    *slog.Logger
}

// New returns a Consumer applying events to o.
func New(o Orders, log *slog.Logger) *Consumer { return &Consumer{orders: o, log: log} }

// Subscriptions lists the topics to mount with events.Mount.
func (c *Consumer) Subscriptions() []events.Subscription {
	topics := []string{contracts.TopicPaymentCreated, contracts.TopicPaymentSucceeded, contracts.TopicPaymentFailed, contracts.TopicPaymentRefunded}
	subs := make([]events.Subscription, len(topics))
	for i, t := range topics {
		subs[i] = events.Subscription{Topic: t, Route: contracts.Route(t), Handler: c.payment}
	}
	return subs
}

var errNoOrder = errors.New("order_id is not an order id")

// payment applies a payment event to its order. An event for an order
// this service never placed cannot succeed on redelivery: it is dropped.
func (c *Consumer) payment(ctx context.Context, e events.Event) error {
	orderID, news, err := decodePayment(e)
	if err != nil {
		return fmt.Errorf("decode %s event %s: %w", e.Topic, e.ID, err)
	}
	if orderID == uuid.Nil {
		return events.Drop(fmt.Errorf("%s event %s: %w", e.Topic, e.ID, errNoOrder))
	}
	d, unpayable, err := c.orders.ApplyPayment(ctx, e.ID, e.Topic, orderID, news)
	if errors.Is(err, orders.ErrNotFound) {
		return events.Drop(fmt.Errorf("%s event %s for order %s: %w", e.Topic, e.ID, orderID, err))
	}
	if err != nil {
		return err
	}
	if unpayable {
		// Payments must refund it; logged for follow-up.
		c.log.WarnContext(ctx, "payment succeeded for an order that is not payable", "order_id", d.ID, "status", d.Status)
	}
	return nil
}

// decodePayment decodes payment event e as its topic's payload and
// returns its order and what it tells the order.
func decodePayment(e events.Event) (uuid.UUID, orders.PaymentNews, error) {
	switch e.Topic {
	case contracts.TopicPaymentCreated:
		var p contracts.PaymentCreatedV1
		err := e.Decode(&p)
		return p.OrderID, orders.PaymentNews{PaymentID: p.PaymentID, PaymentIntentID: p.PaymentIntentID, ClientSecret: p.ClientSecret, ApprovalURL: p.ApprovalURL, Status: p.Status}, err
	case contracts.TopicPaymentSucceeded:
		var p contracts.PaymentSucceededV1
		err := e.Decode(&p)
		return p.OrderID, orders.PaymentNews{PaymentID: p.PaymentID, PaymentIntentID: p.PaymentIntentID, InvoiceNumber: p.InvoiceNumber}, err
	case contracts.TopicPaymentFailed:
		var p contracts.PaymentFailedV1
		err := e.Decode(&p)
		return p.OrderID, orders.PaymentNews{PaymentID: p.PaymentID, PaymentIntentID: p.PaymentIntentID}, err
	case contracts.TopicPaymentRefunded:
		var p contracts.PaymentRefundedV1
		err := e.Decode(&p)
		return p.OrderID, orders.PaymentNews{PaymentID: p.PaymentID, PaymentIntentID: p.PaymentIntentID}, err
	}
	return uuid.Nil, orders.PaymentNews{}, events.Drop(fmt.Errorf("not a payment topic: %q", e.Topic))
}
