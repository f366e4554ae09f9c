package servertest_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/apperr"
	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/events"
	"github.com/daprshop/daprshop/services/platform/server/servertest"
)

// echo answers what the request carried.
func echo(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{
		"authorization": c.Get(fiber.HeaderAuthorization),
		"content_type":  c.Get(fiber.HeaderContentType),
		"key":           c.Get("Idempotency-Key"),
		"body":          string(c.Body()),
	})
}

func TestSendCarriesTokenBodyAndHeaders(t *testing.T) {
	api := servertest.NewClient("test")
	api.App().All("/echo", echo)
	tests := []struct {
		name   string
		method string
		token  string
		body   string
		header []string
		want   map[string]any
	}{
		{"nothing", http.MethodGet, "", "", nil,
			map[string]any{"authorization": "", "content_type": "", "key": "", "body": ""}},
		{"a token and a JSON body", http.MethodPost, "tok", `{"a":1}`, nil,
			map[string]any{"authorization": "Bearer tok", "content_type": fiber.MIMEApplicationJSON, "key": "", "body": `{"a":1}`}},
		{"headers after the content type", http.MethodPut, "", "a=1", []string{fiber.HeaderContentType, "text/plain", "Idempotency-Key", "k1"},
			map[string]any{"authorization": "", "content_type": "text/plain", "key": "k1", "body": "a=1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := api.Send(t, tt.method, "/echo", tt.token, tt.body, tt.header...)
			require.Equal(t, http.StatusOK, r.Status, string(r.Body))
			assert.Equal(t, tt.want, r.Object)
		})
	}
}

func TestResponseDecodesJSONAndProblems(t *testing.T) {
	api := servertest.NewClient("test")
	api.App().Get("/list", func(c *fiber.Ctx) error { return c.JSON([]int{1, 2}) })
	api.App().Get("/text", func(c *fiber.Ctx) error { return c.SendString(`{"not":"json content"}`) })
	api.App().Get("/invalid", func(*fiber.Ctx) error {
		return apperr.Validation(apperr.FieldError{Field: "from", Message: "m"}, apperr.FieldError{Field: "to", Message: "m"})
	})

	list := api.Get(t, "/list", "")
	assert.Nil(t, list.Object, "an array is no object")
	var got []int
	list.JSON(t, &got)
	assert.Equal(t, []int{1, 2}, got)

	assert.Nil(t, api.Get(t, "/text", "").Object, "only JSON media types are decoded")

	problem := api.Get(t, "/invalid", "")
	assert.Equal(t, http.StatusUnprocessableEntity, problem.Status)
	assert.Equal(t, []string{"from", "to"}, problem.Fields())
}

func TestDeliverHandsTheEventToItsSubscription(t *testing.T) {
	api := servertest.NewClient("test")
	var got []events.Event
	answers := map[string]error{"ok": nil, "poison": events.Drop(errors.New("unreadable")), "later": errors.New("database down")}
	events.Mount(api.App(), slog.New(slog.DiscardHandler), events.Subscription{
		Topic: contracts.TopicOrderPaid, Route: contracts.Route(contracts.TopicOrderPaid),
		Handler: func(_ context.Context, e events.Event) error {
			got = append(got, e)
			return answers[e.ID]
		},
	})

	assert.Equal(t, "SUCCESS", api.Deliver(t, contracts.TopicOrderPaid, "ok", `{"order_id": "o-1"}`))
	assert.Equal(t, "DROP", api.Deliver(t, contracts.TopicOrderPaid, "poison", `"text"`))
	assert.Equal(t, "RETRY", api.Deliver(t, contracts.TopicOrderPaid, "later", `null`))
	require.Len(t, got, 3)
	assert.Equal(t, "ok", got[0].ID)
	assert.Equal(t, contracts.TopicOrderPaid, got[0].Topic)
	assert.JSONEq(t, `{"order_id": "o-1"}`, string(got[0].Data))
}
