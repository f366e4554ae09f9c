// Package events receives CloudEvents from the Dapr sidecar on a Fiber app:
// it serves the programmatic subscription list and turns each handler's
// result into Dapr's SUCCESS / RETRY / DROP answer.
package events

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/gofiber/fiber/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/daprshop/daprshop/services/platform/server"
	"github.com/daprshop/daprshop/services/platform/telemetry"
)

// PubsubName is the pub/sub component every service uses; the backend
// behind it is chosen by component file, not by code.
const PubsubName = "pubsub"

// Event is a delivered CloudEvent.
type Event struct {
	ID          string          `json:"id"`
	Source      string          `json:"source"`
	Type        string          `json:"type"`
	Topic       string          `json:"topic"`
	PubsubName  string          `json:"pubsubname"`
	Traceparent string          `json:"traceparent"`
	Data        json.RawMessage `json:"data"`
	DataBase64  string          `json:"data_base64"`
	// Raw is the CloudEvent as delivered: what a dead letter keeps, to be
	// parsed again when it is replayed.
	Raw json.RawMessage `json:"-"`
}

// errUnreadable is a delivery that is not a CloudEvent with an id.
var errUnreadable = errors.New("not a CloudEvent with an id")

// Parse reads a delivered CloudEvent, taking its data from data_base64
// when the publisher sent binary data. It returns an error for a body that
// is not a CloudEvent with an id: no handler can apply that. The Event
// keeps raw (Raw) and its data is a copy.
func Parse(raw []byte) (Event, error) {
	var e Event
	if err := json.Unmarshal(raw, &e); err != nil {
		return Event{}, fmt.Errorf("%w: %w", errUnreadable, err)
	}
	if e.ID == "" {
		return Event{}, errUnreadable
	}
	if e.DataBase64 != "" {
		data, err := base64.StdEncoding.DecodeString(e.DataBase64)
		if err != nil {
			return Event{}, fmt.Errorf("data_base64 of event %s: %w", e.ID, err)
		}
		e.Data = data
	}
	e.Raw = raw
	return e, nil
}

// Decode unmarshals the event's data into v.
func (e Event) Decode(v any) error {
	if err := json.Unmarshal(e.Data, v); err != nil {
		return Drop(err)
	}
	return nil
}

// Handler applies one event. Returning nil acknowledges it; an error wrapped
// by Drop discards it (to the dead-letter topic); any other error asks Dapr
// to deliver it again.
type Handler func(ctx context.Context, e Event) error

type dropError struct{ err error }

func (d dropError) Error() string { return "poison event: " + d.err.Error() }
func (d dropError) Unwrap() error { return d.err }

// Drop marks err as permanent: retrying the event cannot succeed.
func Drop(err error) error { return dropError{err} }

type replayKey struct{}

// Replaying marks ctx as carrying an operator's replay of a dead letter,
// as deadletter does: a handler may then retry what it gave up on when
// the event first came.
func Replaying(ctx context.Context) context.Context {
	return context.WithValue(ctx, replayKey{}, true)
}

// IsReplay reports whether ctx carries an operator's replay (Replaying).
func IsReplay(ctx context.Context) bool {
	replay, _ := ctx.Value(replayKey{}).(bool)
	return replay
}

// Subscription binds a topic to a handler at route.
type Subscription struct {
	Topic           string
	Route           string
	DeadLetterTopic string
	Handler         Handler
}

type subscriptionJSON struct {
	PubsubName      string `json:"pubsubname"`
	Topic           string `json:"topic"`
	Route           string `json:"route"`
	DeadLetterTopic string `json:"deadLetterTopic,omitempty"`
}

// Mount serves GET /dapr/subscribe for subs and one POST route per
// subscription. Only the app's own sidecar may call them: an invoked
// request, whoever sent it, could otherwise forge any event.
func Mount(app fiber.Router, log *slog.Logger, subs ...Subscription) {
	list := make([]subscriptionJSON, 0, len(subs))
	for _, s := range subs {
		list = append(list, subscriptionJSON{PubsubName: PubsubName, Topic: s.Topic, Route: s.Route, DeadLetterTopic: s.DeadLetterTopic})
		app.Post(s.Route, server.NotInvoked, deliver(log, s))
	}
	app.Get("/dapr/subscribe", server.NotInvoked, func(c *fiber.Ctx) error { return c.JSON(list) })
}

// Dapr's delivery answers.
const (
	statusSuccess = "SUCCESS"
	statusRetry   = "RETRY"
	statusDrop    = "DROP"
)

func deliver(log *slog.Logger, s Subscription) fiber.Handler {
	return func(c *fiber.Ctx) error {
		// A copy: Fiber reuses the body's buffer once the handler returns.
		e, err := Parse(bytes.Clone(c.Body()))
		if err != nil {
			log.WarnContext(c.UserContext(), "dropping unreadable event", "topic", s.Topic, "err", err)
			return c.JSON(fiber.Map{"status": statusDrop})
		}
		// The handling continues the trace of the request that produced
		// the event, linked to this delivery's.
		ctx, span := telemetry.Continue(c.UserContext(), e.Traceparent, s.Topic+" process", trace.SpanKindConsumer)
		defer span.End()
		span.SetAttributes(attribute.String("messaging.destination.name", s.Topic), attribute.String("messaging.message.id", e.ID))
		err = s.Handler(ctx, e)
		if err != nil {
			span.SetStatus(codes.Error, err.Error())
		}
		switch outcome(err) {
		case outcomeProcessed:
			return c.JSON(fiber.Map{"status": statusSuccess})
		case outcomeDropped:
			log.ErrorContext(ctx, "event dropped", "topic", s.Topic, "event_id", e.ID, "err", err)
			return c.JSON(fiber.Map{"status": statusDrop})
		default:
			log.WarnContext(ctx, "event will be retried", "topic", s.Topic, "event_id", e.ID, "err", err)
			return c.JSON(fiber.Map{"status": statusRetry})
		}
	}
}
