// Package consumer receives the events the notifications service
// subscribes to and hands each to the notifications service, answering
// Dapr SUCCESS, RETRY (a delivery still queued, a fault) or DROP (an event
// that can never make a message).
package consumer

import (
	"context"
	"errors"
	"fmt"

	"github.com/daprshop/daprshop/services/notifications/internal/notifications"
	"github.com/daprshop/daprshop/services/platform/events"
)

// DeadLetterTopic receives the events that cannot be applied.
const DeadLetterTopic = "deadletter"

// Topics and routes of the subscriptions.
const (
	TopicUserRegistered = "user.registered"
	RouteUserRegistered = "/events/user-registered"
)

// Consumer handles the subscribed events.
type Consumer struct{ svc *notifications.Service }

// New returns a Consumer applying events with svc.
func New(svc *notifications.Service) *Consumer { return &Consumer{svc: svc} }

// Subscriptions lists the topics to mount with events.Mount.
func (c *Consumer) Subscriptions() []events.Subscription {
	sub := func(topic, route string, h events.Handler) events.Subscription {
		return events.Subscription{Topic: topic, Route: route, DeadLetterTopic: DeadLetterTopic, Handler: h}
	}
	return []events.Subscription{
		sub(TopicUserRegistered, RouteUserRegistered, handle(c.svc.Welcome)),
		sub("order.created", "/events/order-created", handle(toUser[notifications.OrderEvent](c.svc, "order_created"))),
		sub("order.paid", "/events/order-paid", handle(toUser[notifications.OrderPaid](c.svc, "order_paid"))),
		sub("order.shipped", "/events/order-shipped", handle(toUser[notifications.OrderEvent](c.svc, "order_shipped"))),
		sub("order.delivered", "/events/order-delivered", handle(toUser[notifications.OrderEvent](c.svc, "order_delivered"))),
		sub("order.cancelled", "/events/order-cancelled", handle(toUser[notifications.OrderEvent](c.svc, "order_cancelled"))),
		sub("payment.failed", "/events/payment-failed", handle(toUser[notifications.PaymentEvent](c.svc, "payment_failed"))),
		sub("payment.refunded", "/events/payment-refunded", handle(toUser[notifications.PaymentEvent](c.svc, "payment_refunded"))),
		sub("inventory.low_stock", "/events/inventory-low-stock", handle(func(ctx context.Context, id string, d notifications.LowStock) error {
			return c.svc.NotifyAdmins(ctx, id, "low_stock", d)
		})),
		sub("notification.requested", "/events/notification-requested", handle(c.svc.Request)),
	}
}

// handle decodes an event's data as T and applies it with apply. An event
// that can never take effect is dropped; any other failure retried.
func handle[T any](apply func(ctx context.Context, eventID string, data T) error) events.Handler {
	return func(ctx context.Context, e events.Event) error {
		var data T
		if err := e.Decode(&data); err != nil {
			return fmt.Errorf("decode %s event %s: %w", e.Topic, e.ID, err)
		}
		err := apply(ctx, e.ID, data)
		if errors.Is(err, notifications.ErrMalformed) || errors.Is(err, notifications.ErrTemplateNotFound) {
			return events.Drop(fmt.Errorf("%s event %s: %w", e.Topic, e.ID, err))
		}
		return err
	}
}

// toUser applies an event of type T by sending the user it names the
// template's message, rendered with the event's data.
func toUser[T interface{ Recipient() (userID, email string) }](svc *notifications.Service, template string) func(ctx context.Context, eventID string, data T) error {
	return func(ctx context.Context, eventID string, data T) error {
		userID, email := data.Recipient()
		return svc.NotifyUser(ctx, eventID, template, userID, email, data)
	}
}
