package consumer_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/notifications/internal/consumer"
	"github.com/daprshop/daprshop/services/notifications/internal/notifications"
	"github.com/daprshop/daprshop/services/notifications/internal/postgres"
	"github.com/daprshop/daprshop/services/notifications/internal/postgres/migrations"
	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/events"
	"github.com/daprshop/daprshop/services/platform/postgres/pgtest"
	"github.com/daprshop/daprshop/services/platform/server/servertest"
)

func newApp(t *testing.T, pool *pgxpool.Pool) *servertest.Client {
	t.Helper()
	return newAppSending(t, pool, &fakeSender{})
}

func newAppSending(t *testing.T, pool *pgxpool.Pool, s *fakeSender) *servertest.Client {
	t.Helper()
	app := servertest.NewClient("notifications")
	c := consumer.New(notifications.NewService(postgres.NewStore(pool), s, notifications.Options{MaxAttempts: 3, AdminEmail: "ops@example.com"}))
	events.Mount(app.App(), slog.New(slog.DiscardHandler), c.Subscriptions()...)
	return app
}

func preferenceRows(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM preferences`).Scan(&n))
	return n
}

func TestUserRegisteredCreatesDefaultPreferencesOnce(t *testing.T) {
	pool := pgtest.NewDatabase(t, migrations.FS)
	app := newApp(t, pool)
	user := uuid.New()
	data := `{"user_id": "` + user.String() + `", "email": "a@example.com", "name": "A"}`

	assert.Equal(t, "SUCCESS", app.Deliver(t, contracts.TopicUserRegistered, "evt-1", data))
	assert.Equal(t, "SUCCESS", app.Deliver(t, contracts.TopicUserRegistered, "evt-1", data), "a redelivery is acknowledged")

	var email, sms, push bool
	require.NoError(t, pool.QueryRow(context.Background(),
		`SELECT email, sms, push FROM preferences WHERE user_id = $1`, user).Scan(&email, &sms, &push))
	assert.Equal(t, []bool{true, false, false}, []bool{email, sms, push})
	assert.Equal(t, 1, preferenceRows(t, pool))
	var processed int
	require.NoError(t, pool.QueryRow(context.Background(),
		`SELECT count(*) FROM processed_events WHERE consumer = 'notifications' AND event_id = 'evt-1'`).Scan(&processed))
	assert.Equal(t, 1, processed)
}

func TestUserRegisteredKeepsPreferencesChosenEarlier(t *testing.T) {
	pool := pgtest.NewDatabase(t, migrations.FS)
	app := newApp(t, pool)
	user := uuid.New()
	_, err := pool.Exec(context.Background(),
		`INSERT INTO preferences (user_id, email, sms, push) VALUES ($1, false, true, false)`, user)
	require.NoError(t, err)

	assert.Equal(t, "SUCCESS", app.Deliver(t, contracts.TopicUserRegistered, "evt-2", `{"user_id": "`+user.String()+`"}`))
	var email, sms bool
	require.NoError(t, pool.QueryRow(context.Background(),
		`SELECT email, sms FROM preferences WHERE user_id = $1`, user).Scan(&email, &sms))
	assert.False(t, email)
	assert.True(t, sms)
}

func TestMalformedUserRegisteredIsDropped(t *testing.T) {
	pool := pgtest.NewDatabase(t, migrations.FS)
	app := newApp(t, pool)
	envelopes := map[string]string{
		"not a cloud event": `not json`,
		"no event id":       `{"data": {"user_id": "` + uuid.NewString() + `"}}`,
	}
	for name, body := range envelopes {
		t.Run(name, func(t *testing.T) {
			r := app.Send(t, http.MethodPost, contracts.Route(contracts.TopicUserRegistered), "", body,
				fiber.HeaderContentType, "application/cloudevents+json")
			require.Equal(t, http.StatusOK, r.Status)
			assert.Equal(t, "DROP", r.Object["status"])
		})
	}
	payloads := map[string]struct{ id, data string }{
		"data not an object":    {"e1", `"hello"`},
		"no data":               {"e2", `null`},
		"missing user_id":       {"e3", `{"email": "a@example.com"}`},
		"user_id not a uuid":    {"e4", `{"user_id": "42"}`},
		"user_id of wrong type": {"e5", `{"user_id": 42}`},
		"nil user_id":           {"e6", `{"user_id": "` + uuid.Nil.String() + `"}`},
	}
	for name, e := range payloads {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, "DROP", app.Deliver(t, contracts.TopicUserRegistered, e.id, e.data))
		})
	}
	assert.Zero(t, preferenceRows(t, pool))
}

func TestUserRegisteredIsRetriedWhenTheDatabaseIsDown(t *testing.T) {
	pool := pgtest.NewDatabase(t, migrations.FS)
	app := newApp(t, pool)
	pool.Close()
	assert.Equal(t, "RETRY", app.Deliver(t, contracts.TopicUserRegistered, "e7", `{"user_id": "`+uuid.NewString()+`"}`))
}

func TestSubscriptionsAreAdvertised(t *testing.T) {
	app := newApp(t, pgtest.NewDatabase(t, migrations.FS))
	resp, err := app.App().Test(httptest.NewRequest(http.MethodGet, "/dapr/subscribe", nil), -1)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var subs []map[string]string
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&subs))
	topics := map[string]string{}
	for _, s := range subs {
		assert.Equal(t, "pubsub", s["pubsubname"])
		topics[s["topic"]] = s["route"]
	}
	assert.Equal(t, map[string]string{
		"user.registered":        "/events/user.registered",
		"order.created":          "/events/order.created",
		"order.paid":             "/events/order.paid",
		"order.shipped":          "/events/order.shipped",
		"order.delivered":        "/events/order.delivered",
		"order.cancelled":        "/events/order.cancelled",
		"payment.failed":         "/events/payment.failed",
		"payment.refunded":       "/events/payment.refunded",
		"inventory.low_stock":    "/events/inventory.low_stock",
		"notification.requested": "/events/notification.requested",
	}, topics)
}
