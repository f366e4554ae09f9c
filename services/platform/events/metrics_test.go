package events_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/events"
)

func TestHandledCountsEachDeliveryByOutcome(t *testing.T) {
	results := map[string]error{
		"e-ok":     nil,
		"e-busy":   errors.New("database busy"),
		"e-poison": events.Drop(errors.New("no such order")),
	}
	subs := []events.Subscription{
		{Topic: "order.paid", Route: "/events/order-paid", Handler: func(_ context.Context, e events.Event) error { return results[e.ID] }},
		{Topic: "order.cancelled", Route: "/events/order-cancelled", Handler: func(context.Context, events.Event) error { return nil }},
	}
	handled := events.NewHandled("orders", subs...)
	app := fiber.New()
	events.Mount(app, discard(), handled.Count(subs...)...)

	for _, id := range []string{"e-ok", "e-busy", "e-busy", "e-poison"} {
		status, body := send(t, app, http.MethodPost, "/events/order-paid", `{"id":"`+id+`","topic":"order.paid","data":{}}`)
		require.Equal(t, http.StatusOK, status, body)
	}
	assert.NoError(t, testutil.CollectAndCompare(handled, strings.NewReader(`
		# HELP events_handled_total Event deliveries handled, by topic and outcome (processed, retried, dropped).
		# TYPE events_handled_total counter
		events_handled_total{outcome="dropped",service="orders",topic="order.cancelled"} 0
		events_handled_total{outcome="dropped",service="orders",topic="order.paid"} 1
		events_handled_total{outcome="processed",service="orders",topic="order.cancelled"} 0
		events_handled_total{outcome="processed",service="orders",topic="order.paid"} 1
		events_handled_total{outcome="retried",service="orders",topic="order.cancelled"} 0
		events_handled_total{outcome="retried",service="orders",topic="order.paid"} 2
	`)))
}
