package events_test

import (
	"context"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/events"
	"github.com/daprshop/daprshop/services/platform/postgres/pgtest"
	"github.com/daprshop/daprshop/services/platform/telemetry"
)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func send(t *testing.T, app *fiber.App, method, path, body string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/cloudevents+json")
	resp, err := app.Test(req, -1)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestMountServesSubscriptions(t *testing.T) {
	app := fiber.New()
	events.Mount(app, discard(),
		events.Subscription{Topic: "order.created", Route: "/events/order-created", DeadLetterTopic: "deadletter"},
		events.Subscription{Topic: "order.paid", Route: "/events/order-paid"},
	)
	status, body := send(t, app, http.MethodGet, "/dapr/subscribe", "")
	require.Equal(t, 200, status)
	assert.JSONEq(t, `[
		{"pubsubname":"pubsub","topic":"order.created","route":"/events/order-created","deadLetterTopic":"deadletter"},
		{"pubsubname":"pubsub","topic":"order.paid","route":"/events/order-paid"}
	]`, body)
}

func TestDeliveryAnswers(t *testing.T) {
	type payload struct {
		OrderID string `json:"order_id"`
	}
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	var got []events.Event
	var gotTraceparent string
	handlerErr := error(nil)
	app := fiber.New()
	events.Mount(app, discard(), events.Subscription{Topic: "order.created", Route: "/events", Handler: func(ctx context.Context, e events.Event) error {
		got = append(got, e)
		gotTraceparent = telemetry.Traceparent(ctx)
		if handlerErr != nil {
			return handlerErr
		}
		var p payload
		return e.Decode(&p)
	}})

	event := func(data string) string {
		return `{"id":"e-1","source":"orders","type":"order.created","topic":"order.created","pubsubname":"pubsub","traceparent":"` + tp + `","data":` + data + `}`
	}
	b64 := base64.StdEncoding.EncodeToString([]byte(`{"order_id":"o-9"}`))
	tests := []struct {
		name       string
		body       string
		handlerErr error
		status     string
		handled    bool
	}{
		{"handled", event(`{"order_id":"o-1"}`), nil, "SUCCESS", true},
		{"drop error", event(`{"order_id":"o-1"}`), events.Drop(errors.New("unknown product")), "DROP", true},
		{"wrapped drop error", event(`{"order_id":"o-1"}`), errors.Join(errors.New("ctx"), events.Drop(errors.New("bad"))), "DROP", true},
		{"transient error", event(`{"order_id":"o-1"}`), errors.New("database down"), "RETRY", true},
		{"data of the wrong shape", event(`"just a string"`), nil, "DROP", true},
		{"data base64", `{"id":"e-2","topic":"order.created","data_base64":"` + b64 + `"}`, nil, "SUCCESS", true},
		{"bad base64", `{"id":"e-3","data_base64":"%%%"}`, nil, "DROP", false},
		{"not json", `{"id":`, nil, "DROP", false},
		{"no id", `{"data":{}}`, nil, "DROP", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, gotTraceparent, handlerErr = nil, "", tt.handlerErr
			status, body := send(t, app, http.MethodPost, "/events", tt.body)
			require.Equal(t, 200, status)
			assert.JSONEq(t, `{"status":"`+tt.status+`"}`, body)
			if !tt.handled {
				assert.Empty(t, got, "handler must not run")
				return
			}
			require.Len(t, got, 1)
			assert.Equal(t, tt.body, string(got[0].Raw), "the CloudEvent as delivered")
			if tt.name == "data base64" {
				assert.JSONEq(t, `{"order_id":"o-9"}`, string(got[0].Data))
				return
			}
			assert.Equal(t, "e-1", got[0].ID)
			assert.Equal(t, "orders", got[0].Source)
			// The handler runs in a span of the event's trace.
			assert.Equal(t, tp[:35], gotTraceparent[:min(35, len(gotTraceparent))])
		})
	}
}

//go:embed testdata/migrations/*.sql
var migrationFiles embed.FS

func newDB(t *testing.T) *pgxpool.Pool {
	t.Helper()
	migrations, err := fs.Sub(migrationFiles, "testdata/migrations")
	require.NoError(t, err)
	return pgtest.NewDatabase(t, migrations)
}

func TestOnceAppliesEffectOncePerEvent(t *testing.T) {
	pool := newDB(t)
	ctx := context.Background()
	calls := 0
	effect := func(ctx context.Context, tx pgx.Tx) error {
		calls++
		_, err := tx.Exec(ctx, `INSERT INTO effects (event_id) VALUES ('e-1')`)
		return err
	}
	e := events.Event{ID: "e-1"}
	for range 3 {
		require.NoError(t, events.Once(ctx, pool, "orders", e, effect))
	}
	assert.Equal(t, 1, calls)
	assert.Equal(t, 1, count(t, pool, `SELECT count(*) FROM effects`))

	t.Run("another consumer applies it too", func(t *testing.T) {
		require.NoError(t, events.Once(ctx, pool, "notifications", e, effect))
		assert.Equal(t, 2, calls)
	})
}

func TestOnceRollsBackFailedEffect(t *testing.T) {
	pool := newDB(t)
	ctx := context.Background()
	e := events.Event{ID: "e-1"}
	errBoom := errors.New("stock service down")
	err := events.Once(ctx, pool, "orders", e, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO effects (event_id) VALUES ('e-1')`); err != nil {
			return err
		}
		return errBoom
	})
	require.ErrorIs(t, err, errBoom)
	assert.Zero(t, count(t, pool, `SELECT count(*) FROM effects`), "half an effect left behind")
	assert.Zero(t, count(t, pool, `SELECT count(*) FROM processed_events`), "event recorded although its effect failed")

	applied := false
	require.NoError(t, events.Once(ctx, pool, "orders", e, func(ctx context.Context, tx pgx.Tx) error {
		applied = true
		_, err := tx.Exec(ctx, `INSERT INTO effects (event_id) VALUES ('e-1')`)
		return err
	}))
	assert.True(t, applied, "the retry applies the effect")
	assert.Equal(t, 1, count(t, pool, `SELECT count(*) FROM effects`))
}

func count(t *testing.T, pool *pgxpool.Pool, query string) int {
	t.Helper()
	var n int
	require.NoError(t, pool.QueryRow(context.Background(), query).Scan(&n))
	return n
}

func TestEventDecode(t *testing.T) {
	var v struct{ N int }
	require.NoError(t, events.Event{Data: json.RawMessage(`{"N":3}`)}.Decode(&v))
	assert.Equal(t, 3, v.N)
	err := events.Event{Data: json.RawMessage(`"x"`)}.Decode(&v)
	assert.ErrorContains(t, err, "poison event")
}
