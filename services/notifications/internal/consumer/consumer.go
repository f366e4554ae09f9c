// Package consumer receives the events the notifications service
// subscribes to and hands each to the notifications service, answering
// Dapr SUCCESS, RETRY (a delivery still queued, a fault) or DROP (an event
// that can never make a message, or whose message failed for good: a dead
// letter, whose replay sends it again).
package consumer

import (
	"context"

	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/notifications/internal/notifications"
	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/events"
)

// Consumer handles the subscribed events.
type Consumer struct{ svc *notifications.Service }

// New returns a Consumer applying events with svc.
func New(svc *notifications.Service) *Consumer { return &Consumer{svc: svc} }

// Subscriptions lists the topics to mount with events.Mount.
func (c *Consumer) Subscriptions() []events.Subscription {
	sub := func(topic string, h events.Handler) events.Subscription {
		return events.Subscription{Topic: topic, Route: contracts.Route(topic), Handler: c.resendOnReplay(h)}
	}
	return []events.Subscription{
		sub(contracts.TopicUserRegistered, apply(c.svc.Welcome)),
		sub(contracts.TopicOrderCreated, toUser(c.svc, "order_created", orderCreated)),
		sub(contracts.TopicOrderPaid, toUser(c.svc, "order_paid", orderPaid)),
		sub(contracts.TopicOrderShipped, toUser(c.svc, "order_shipped", orderStatusChanged)),
		sub(contracts.TopicOrderDelivered, toUser(c.svc, "order_delivered", orderStatusChanged)),
		sub(contracts.TopicOrderCancelled, toUser(c.svc, "order_cancelled", orderCancelled)),
		sub(contracts.TopicPaymentFailed, toUser(c.svc, "payment_failed", paymentFailed)),
		sub(contracts.TopicPaymentRefunded, toUser(c.svc, "payment_refunded", paymentRefunded)),
		sub(contracts.TopicInventoryLowStock, apply(c.lowStock)),
		sub(contracts.TopicNotificationRequested, apply(c.svc.Request)),
	}
}

// apply hands events to f; one that can never make a message is dropped,
// and so is one whose message could not be sent in MaxAttempts sends.
func apply[T any](f func(ctx context.Context, eventID string, data T) error) events.Handler {
	return events.Apply(f, notifications.ErrMalformed, notifications.ErrTemplateNotFound, notifications.ErrUndelivered)
}

// resendOnReplay gives the failed deliveries of an event an operator
// replays from the dead letters another send, then handles it with h. A
// mere redelivery of the event sends nothing that failed.
func (c *Consumer) resendOnReplay(h events.Handler) events.Handler {
	return func(ctx context.Context, e events.Event) error {
		if events.IsReplay(ctx) {
			if err := c.svc.Resend(ctx, e.ID); err != nil {
				return err
			}
		}
		return h(ctx, e)
	}
}

// lowStock tells the shop's admins a product runs low.
func (c *Consumer) lowStock(ctx context.Context, eventID string, e contracts.LowStockV1) error {
	return c.svc.NotifyAdmins(ctx, eventID, "low_stock", lowStockData(e))
}

func lowStockData(e contracts.LowStockV1) notifications.LowStockData {
	return notifications.LowStockData{
		ProductID: e.ProductID.String(), SKU: e.SKU, ProductName: e.Name, Available: e.Available, Threshold: e.Threshold,
	}
}

// message is an event's message to a user: who, at which address when the
// event names one, and the data the template renders.
type message struct {
	userID uuid.UUID
	email  string
	data   any
}

// toUser sends the user an event of type T concerns the template's
// message, made of the event by of.
func toUser[T any](svc *notifications.Service, template string, of func(T) message) events.Handler {
	return apply(func(ctx context.Context, eventID string, e T) error {
		m := of(e)
		return svc.NotifyUser(ctx, eventID, template, m.userID, m.email, m.data)
	})
}

func orderCreated(e contracts.OrderCreatedV1) message {
	return message{e.UserID, e.Email, notifications.OrderData{
		OrderID: e.OrderID.String(), UserID: e.UserID.String(), Email: e.Email, TotalCents: e.TotalCents, Currency: e.Currency,
	}}
}

func orderPaid(e contracts.OrderPaidV1) message {
	return message{e.UserID, "", notifications.OrderPaidData{
		OrderID: e.OrderID.String(), UserID: e.UserID.String(), TotalCents: e.TotalCents, Currency: e.Currency,
		InvoiceNumber: e.InvoiceNumber, PaidAt: e.PaidAt,
	}}
}

func orderStatusChanged(e contracts.OrderStatusChangedV1) message {
	return message{e.UserID, "", notifications.OrderData{
		OrderID: e.OrderID.String(), UserID: e.UserID.String(), TotalCents: e.TotalCents, Currency: e.Currency,
	}}
}

func orderCancelled(e contracts.OrderCancelledV1) message {
	return message{e.UserID, "", notifications.OrderData{
		OrderID: e.OrderID.String(), UserID: e.UserID.String(), TotalCents: e.TotalCents, Currency: e.Currency, Reason: e.Reason,
	}}
}

func paymentFailed(e contracts.PaymentFailedV1) message {
	return message{e.UserID, "", notifications.PaymentData{
		PaymentID: e.PaymentID.String(), OrderID: e.OrderID.String(), UserID: e.UserID.String(), Reason: e.Reason,
	}}
}

func paymentRefunded(e contracts.PaymentRefundedV1) message {
	return message{e.UserID, "", notifications.PaymentData{
		PaymentID: e.PaymentID.String(), OrderID: e.OrderID.String(), UserID: e.UserID.String(),
		AmountCents: e.AmountCents, Currency: e.Currency,
	}}
}
