// Package consumer turns the events the notifications service subscribes
// to into deliveries and sends them. Each event takes effect once: its id
// is recorded in the same transaction as the deliveries it queues, and the
// deliveries are sent after commit. A send that fails leaves its delivery
// queued and asks Dapr to deliver the event again, so the retry cadence is
// the pub/sub resiliency policy's; after MaxAttempts the delivery is
// failed, a dead letter admins can list.
package consumer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daprshop/daprshop/services/notifications/internal/notifications"
	"github.com/daprshop/daprshop/services/notifications/internal/postgres"
	"github.com/daprshop/daprshop/services/platform/events"
)

// Name identifies this consumer in processed_events.
const Name = "notifications"

// DeadLetterTopic receives the events that cannot be applied.
const DeadLetterTopic = "deadletter"

// Topics and routes of the subscriptions.
const (
	TopicUserRegistered = "user.registered"
	RouteUserRegistered = "/events/user-registered"
)

// Sender sends one delivery on its channel.
type Sender interface {
	Send(ctx context.Context, d notifications.Delivery) error
}

// Options configure a Consumer.
type Options struct {
	// MaxAttempts bounds the sends of one delivery; keep it below the
	// number of deliveries the pub/sub inbound retry policy makes, or the
	// event is dead-lettered while its delivery is still queued.
	MaxAttempts int
	// AdminEmail receives the messages meant for the shop's admins.
	AdminEmail string
	Log        *slog.Logger
}

// Consumer handles the subscribed events.
type Consumer struct {
	pool   *pgxpool.Pool
	store  *postgres.Store
	sender Sender
	opts   Options
	now    func() time.Time
}

// New returns a Consumer writing to pool and sending through sender.
func New(pool *pgxpool.Pool, sender Sender, opts Options) *Consumer {
	if opts.MaxAttempts < 1 {
		opts.MaxAttempts = 1
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &Consumer{pool: pool, store: postgres.NewStore(pool), sender: sender, opts: opts, now: time.Now}
}

// Subscriptions lists the topics to mount with events.Mount.
func (c *Consumer) Subscriptions() []events.Subscription {
	sub := func(topic, route string, h events.Handler) events.Subscription {
		return events.Subscription{Topic: topic, Route: route, DeadLetterTopic: DeadLetterTopic, Handler: h}
	}
	order := func(tpl string) events.Handler {
		return func(ctx context.Context, e events.Event) error {
			var data notifications.OrderEvent
			if err := decode(e, &data); err != nil {
				return err
			}
			return c.userMessage(ctx, e, tpl, data, data.UserID, data.Email, nil)
		}
	}
	payment := func(tpl string) events.Handler {
		return func(ctx context.Context, e events.Event) error {
			var data notifications.PaymentEvent
			if err := decode(e, &data); err != nil {
				return err
			}
			return c.userMessage(ctx, e, tpl, data, data.UserID, data.Email, nil)
		}
	}
	return []events.Subscription{
		sub(TopicUserRegistered, RouteUserRegistered, c.userRegistered),
		sub("order.created", "/events/order-created", order("order_created")),
		sub("order.paid", "/events/order-paid", c.orderPaid),
		sub("order.shipped", "/events/order-shipped", order("order_shipped")),
		sub("order.delivered", "/events/order-delivered", order("order_delivered")),
		sub("order.cancelled", "/events/order-cancelled", order("order_cancelled")),
		sub("payment.failed", "/events/payment-failed", payment("payment_failed")),
		sub("payment.refunded", "/events/payment-refunded", payment("payment_refunded")),
		sub("inventory.low_stock", "/events/inventory-low-stock", c.lowStock),
		sub("notification.requested", "/events/notification-requested", c.requested),
	}
}

var errNoUser = errors.New("user_id is not a user id")

func decode(e events.Event, v any) error {
	if err := e.Decode(v); err != nil {
		return fmt.Errorf("decode %s event %s: %w", e.Topic, e.ID, err)
	}
	return nil
}

func parseUser(e events.Event, raw string) (uuid.UUID, error) {
	id, err := uuid.Parse(raw)
	if err != nil || id == uuid.Nil {
		return uuid.Nil, events.Drop(fmt.Errorf("%s event %s: %w", e.Topic, e.ID, errNoUser))
	}
	return id, nil
}

// userRegistered records the new user's address, gives them the default
// preferences (unless they chose already) and welcomes them.
func (c *Consumer) userRegistered(ctx context.Context, e events.Event) error {
	var data notifications.UserRegistered
	if err := decode(e, &data); err != nil {
		return err
	}
	return c.userMessage(ctx, e, "welcome", data, data.UserID, data.Email,
		func(ctx context.Context, tx pgx.Tx, userID uuid.UUID) error {
			if data.Email != "" {
				if err := postgres.SaveRecipient(ctx, tx, userID, data.Email, data.Name); err != nil {
					return err
				}
			}
			return postgres.CreatePreferences(ctx, tx, notifications.DefaultPreferences(userID))
		})
}

func (c *Consumer) orderPaid(ctx context.Context, e events.Event) error {
	var data notifications.OrderPaid
	if err := decode(e, &data); err != nil {
		return err
	}
	return c.userMessage(ctx, e, "order_paid", data, data.UserID, data.Email, nil)
}

// userMessage queues and sends the template's message, rendered with data,
// to rawUser at email (or the address user.registered gave); before runs
// first, in the same transaction.
func (c *Consumer) userMessage(ctx context.Context, e events.Event, tpl string, data any, rawUser, email string,
	before func(ctx context.Context, tx pgx.Tx, userID uuid.UUID) error) error {
	userID, err := parseUser(e, rawUser)
	if err != nil {
		return err
	}
	err = events.Once(ctx, c.pool, Name, e, func(ctx context.Context, tx pgx.Tx) error {
		if before != nil {
			if err := before(ctx, tx, userID); err != nil {
				return err
			}
		}
		if email == "" {
			if email, err = postgres.RecipientEmail(ctx, tx, userID); err != nil {
				return err
			}
		}
		prefs, err := postgres.PreferencesTx(ctx, tx, userID)
		if err != nil {
			return err
		}
		return c.queue(ctx, tx, notifications.Request{EventID: e.ID, UserID: userID, Email: email, Data: data}, tpl, prefs)
	})
	if err != nil {
		return err
	}
	return c.send(ctx, e.ID)
}

// lowStock tells the shop's admins a product runs low.
func (c *Consumer) lowStock(ctx context.Context, e events.Event) error {
	var data notifications.LowStock
	if err := decode(e, &data); err != nil {
		return err
	}
	return c.adminMessage(ctx, e, "low_stock", data)
}

// requested is notification.requested: another service asks for a named
// message to a user or, without user_id, to the admins.
type requested struct {
	Template string          `json:"template"`
	UserID   string          `json:"user_id,omitempty"`
	Email    string          `json:"email,omitempty"`
	Data     json.RawMessage `json:"data"`
}

func (c *Consumer) requested(ctx context.Context, e events.Event) error {
	var data requested
	if err := decode(e, &data); err != nil {
		return err
	}
	kind, ok := notifications.Kinds[data.Template]
	if !ok {
		return events.Drop(fmt.Errorf("%s event %s: unknown template %q", e.Topic, e.ID, data.Template))
	}
	msgData, err := kind.DecodeData(data.Data)
	if err != nil {
		return events.Drop(fmt.Errorf("%s event %s: %w", e.Topic, e.ID, err))
	}
	if data.UserID == "" {
		return c.adminMessage(ctx, e, data.Template, msgData)
	}
	return c.userMessage(ctx, e, data.Template, msgData, data.UserID, data.Email, nil)
}

func (c *Consumer) adminMessage(ctx context.Context, e events.Event, tpl string, data any) error {
	err := events.Once(ctx, c.pool, Name, e, func(ctx context.Context, tx pgx.Tx) error {
		all := notifications.Preferences{Email: true}
		return c.queue(ctx, tx, notifications.Request{EventID: e.ID, Email: c.opts.AdminEmail, Data: data}, tpl, all)
	})
	if err != nil {
		return err
	}
	return c.send(ctx, e.ID)
}

func (c *Consumer) queue(ctx context.Context, tx pgx.Tx, r notifications.Request, tpl string, prefs notifications.Preferences) error {
	t, err := postgres.TemplateTx(ctx, tx, tpl)
	if errors.Is(err, notifications.ErrTemplateNotFound) {
		return events.Drop(fmt.Errorf("event %s: template %s: %w", r.EventID, tpl, err))
	}
	if err != nil {
		return err
	}
	r.Template = t
	return postgres.InsertDeliveries(ctx, tx, notifications.Plan(r, prefs, uuid.New))
}

// send attempts the event's queued deliveries; any left queued make the
// event fail, so Dapr delivers it again under its retry policy.
func (c *Consumer) send(ctx context.Context, eventID string) error {
	pending, err := c.store.SendQueued(ctx, eventID, func(ctx context.Context, d *notifications.Delivery) error {
		sendErr := c.sender.Send(ctx, *d)
		if err := d.RecordAttempt(sendErr, c.opts.MaxAttempts, c.now()); err != nil {
			return err
		}
		switch d.Status {
		case notifications.StatusFailed:
			c.opts.Log.ErrorContext(ctx, "delivery dead-lettered", "delivery_id", d.ID, "event_id", eventID,
				"channel", d.Channel, "attempts", d.Attempts, "err", sendErr)
		case notifications.StatusQueued:
			c.opts.Log.WarnContext(ctx, "delivery will be retried", "delivery_id", d.ID, "event_id", eventID,
				"channel", d.Channel, "attempts", d.Attempts, "err", sendErr)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if pending > 0 {
		return fmt.Errorf("event %s: %d deliveries not sent yet", eventID, pending)
	}
	return nil
}
