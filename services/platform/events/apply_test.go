package events_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/events"
)

func TestApplyAnswersByTheOutcome(t *testing.T) {
	type payload struct {
		OrderID string `json:"order_id"`
	}
	errPoison, errTransient := errors.New("never applicable"), errors.New("database down")
	var gotID string
	var gotData payload
	outcome := error(nil)
	app := fiber.New()
	events.Mount(app, discard(), events.Subscription{Topic: "order.paid", Route: "/events", Handler: events.Apply(
		func(_ context.Context, eventID string, data payload) error {
			gotID, gotData = eventID, data
			return outcome
		}, errPoison)})

	tests := []struct {
		name    string
		data    string
		outcome error
		want    string
	}{
		{"applied", `{"order_id": "o-1"}`, nil, "SUCCESS"},
		{"data of the wrong shape", `{"order_id": 42}`, nil, "DROP"},
		{"a permanent error, wrapped", `{"order_id": "o-1"}`, fmt.Errorf("order o-1: %w", errPoison), "DROP"},
		{"any other error", `{"order_id": "o-1"}`, errTransient, "RETRY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outcome = tt.outcome
			status, body := send(t, app, http.MethodPost, "/events", `{"id": "e-7", "topic": "order.paid", "data": `+tt.data+`}`)
			require.Equal(t, fiber.StatusOK, status)
			assert.JSONEq(t, `{"status": "`+tt.want+`"}`, body)
		})
	}
	assert.Equal(t, "e-7", gotID)
	assert.Equal(t, payload{OrderID: "o-1"}, gotData)
}
