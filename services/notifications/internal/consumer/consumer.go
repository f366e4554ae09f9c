// Package consumer receives the events the notifications service
// subscribes to and hands each to the notifications service, answering
// Dapr SUCCESS, RETRY (a delivery still queued, a fault) or DROP (an event
// that can never make a message).
package consumer

import (
	"context"

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
		return events.Subscription{Topic: topic, Route: contracts.Route(topic), Handler: h}
	}
	return []events.Subscription{
		sub(contracts.TopicUserRegistered, apply(c.svc.Welcome)),
		sub(contracts.TopicOrderCreated, apply(toUser[notifications.OrderEvent](c.svc, "order_created"))),
		sub(contracts.TopicOrderPaid, apply(toUser[notifications.OrderPaid](c.svc, "order_paid"))),
		sub(contracts.TopicOrderShipped, apply(toUser[notifications.OrderEvent](c.svc, "order_shipped"))),
		sub(contracts.TopicOrderDelivered, apply(toUser[notifications.OrderEvent](c.svc, "order_delivered"))),
		sub(contracts.TopicOrderCancelled, apply(toUser[notifications.OrderEvent](c.svc, "order_cancelled"))),
		sub(contracts.TopicPaymentFailed, apply(toUser[notifications.PaymentEvent](c.svc, "payment_failed"))),
		sub(contracts.TopicPaymentRefunded, apply(toUser[notifications.PaymentEvent](c.svc, "payment_refunded"))),
		sub(contracts.TopicInventoryLowStock, apply(c.lowStock)),
		sub(contracts.TopicNotificationRequested, apply(c.svc.Request)),
	}
}

// apply hands events to f; one that can never make a message is dropped.
func apply[T any](f func(ctx context.Context, eventID string, data T) error) events.Handler {
	return events.Apply(f, notifications.ErrMalformed, notifications.ErrTemplateNotFound)
}

// lowStock tells the shop's admins a product runs low.
func (c *Consumer) lowStock(ctx context.Context, eventID string, data notifications.LowStock) error {
	return c.svc.NotifyAdmins(ctx, eventID, "low_stock", data)
}

// toUser sends the user an event of type T names the template's message,
// rendered with the event's data.
func toUser[T interface{ Recipient() (userID, email string) }](svc *notifications.Service, template string) func(ctx context.Context, eventID string, data T) error {
	return func(ctx context.Context, eventID string, data T) error {
		userID, email := data.Recipient()
		return svc.NotifyUser(ctx, eventID, template, userID, email, data)
	}
}
