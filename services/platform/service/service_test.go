package service_test

import (
	"context"
	"embed"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/config"
	"github.com/daprshop/daprshop/services/platform/events"
	"github.com/daprshop/daprshop/services/platform/outbox"
	"github.com/daprshop/daprshop/services/platform/outbox/outboxtest"
	"github.com/daprshop/daprshop/services/platform/postgres/pgtest"
	"github.com/daprshop/daprshop/services/platform/service"
)

//go:embed testdata/nooutbox/*.sql
var testdata embed.FS

// noOutbox migrates a database without the outbox table.
func noOutbox(t *testing.T) fs.FS {
	t.Helper()
	sub, err := fs.Sub(testdata, "testdata/nooutbox")
	require.NoError(t, err)
	return sub
}

// freePort is a port nothing listens on: a sidecar that is down.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	return port
}

// startService starts a service on a fresh database (made with the same
// migrations) with no sidecar running.
func startService(t *testing.T, spec service.Spec) (*service.Service, error) {
	t.Helper()
	pool := pgtest.NewDatabase(t, spec.Migrations)
	env := map[string]string{
		"DATABASE_URL":   config.DatabaseURL(pgtest.ServerURL(), pool.Config().ConnConfig.Database),
		"APP_PORT":       "0",
		"DAPR_GRPC_PORT": strconv.Itoa(freePort(t)),
		"DAPR_HTTP_PORT": strconv.Itoa(freePort(t)),
	}
	svc, err := service.Start(context.Background(), spec, func(k string) string { return env[k] }, io.Discard)
	if svc != nil {
		t.Cleanup(svc.Close)
	}
	return svc, err
}

func TestRunRelaysOutboxThroughSidecarAndStops(t *testing.T) {
	svc, err := startService(t, service.Spec{Name: "orders", Migrations: outboxtest.Migrations, Outbox: true})
	require.NoError(t, err)
	require.NotNil(t, svc.Relay)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()

	require.NoError(t, pgx.BeginFunc(ctx, svc.DB, func(tx pgx.Tx) error {
		_, err := outbox.Add(ctx, tx, "order.created", map[string]string{"order_id": "o-1"})
		return err
	}))
	// The sidecar is down, so the relay's attempts through it fail and are
	// recorded on the row.
	require.Eventually(t, func() bool {
		var attempts int
		err := svc.DB.QueryRow(ctx, `SELECT attempts FROM outbox`).Scan(&attempts)
		return err == nil && attempts > 0
	}, 10*time.Second, 10*time.Millisecond)

	resp, err := svc.Server.App().Test(httptest.NewRequest("GET", "/metrics", nil), -1)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Contains(t, string(body), `outbox_publish_failures_total{service="orders",topic="order.created"}`)
	assert.Contains(t, string(body), `outbox_backlog{service="orders"} 1`, "the event waits for the sidecar")

	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

func TestRunStopsWhenRelayCannotRun(t *testing.T) {
	svc, err := startService(t, service.Spec{Name: "orders", Migrations: noOutbox(t), Outbox: true})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- svc.Run(context.Background()) }()
	select {
	case err := <-done:
		assert.ErrorContains(t, err, "outbox")
	case <-time.After(20 * time.Second):
		t.Fatal("Run kept serving without an outbox table")
	}
}

func TestStartRefusesOutboxWithoutDatabase(t *testing.T) {
	_, err := service.Start(context.Background(), service.Spec{Name: "gateway", Outbox: true},
		func(string) string { return "" }, io.Discard)
	assert.ErrorContains(t, err, "outbox relay needs the service's database")
}

func TestSubscribeMountsTheDeadLetters(t *testing.T) {
	svc, err := startService(t, service.Spec{Name: "orders", Migrations: noOutbox(t)})
	require.NoError(t, err)
	require.NoError(t, svc.Subscribe(context.Background(),
		events.Subscription{Topic: "payment.succeeded", Route: "/events/payment.succeeded", Handler: func(context.Context, events.Event) error { return nil }}))

	resp, err := svc.Server.App().Test(httptest.NewRequest("GET", "/dapr/subscribe", nil), -1)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.JSONEq(t, `[
		{"pubsubname": "pubsub", "topic": "payment.succeeded", "route": "/events/payment.succeeded", "deadLetterTopic": "deadletter.orders"},
		{"pubsubname": "pubsub", "topic": "deadletter.orders", "route": "/events/deadletter.orders"}
	]`, string(body))

	resp, err = svc.Server.App().Test(httptest.NewRequest("GET", "/internal/dead-letters", nil), -1)
	require.NoError(t, err)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "served, to the workers only")
	assert.NotNil(t, svc.DeadLetters)

	resp, err = svc.Server.App().Test(httptest.NewRequest("GET", "/metrics", nil), -1)
	require.NoError(t, err)
	body, err = io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Contains(t, string(body), `dead_letters_unresolved{service="orders",topic="payment.succeeded"} 0`, "the table exists and is counted")
}

func TestSubscribeNeedsTheDatabase(t *testing.T) {
	svc, err := service.Start(context.Background(), service.Spec{Name: "gateway"}, func(string) string { return "" }, io.Discard)
	require.NoError(t, err)
	t.Cleanup(svc.Close)
	assert.ErrorContains(t, svc.Subscribe(context.Background()), "dead letters need the service's database")
}

// closerFunc is an io.Closer.
type closerFunc func() error

func (f closerFunc) Close() error { return f() }

func TestProgramClosesWhatWireOwnsWhenWiringFails(t *testing.T) {
	closed := false
	p := service.Program[struct{}]{
		Spec: service.Spec{Name: "gateway"},
		Wire: func(_ context.Context, svc *service.Service, _ struct{}) error {
			svc.Own(closerFunc(func() error { closed = true; return nil }))
			return errors.New("routes file unreadable")
		},
	}
	err := p.Run(context.Background(), func(string) string { return "" }, io.Discard)
	assert.ErrorContains(t, err, "routes file unreadable")
	assert.True(t, closed, "what wire owned is closed")
}

func TestProgramReadsItsSettingsBeforeStarting(t *testing.T) {
	type settings struct {
		Limit int `env:"LIMIT" default:"3"`
	}
	tests := []struct {
		name, limit string
		want        int
		err         string
	}{
		{"default", "", 3, ""},
		{"set", "7", 7, ""},
		{"malformed", "seven", 0, `LIMIT: "seven" is not an integer`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := 0
			p := service.Program[settings]{
				Spec: service.Spec{Name: "gateway"},
				Wire: func(_ context.Context, _ *service.Service, s settings) error {
					got = s.Limit
					return errors.New("stop before serving")
				},
			}
			err := p.Run(context.Background(), func(k string) string {
				if k == "LIMIT" {
					return tt.limit
				}
				return ""
			}, io.Discard)
			if tt.err != "" {
				assert.ErrorContains(t, err, tt.err)
			} else {
				assert.ErrorContains(t, err, "stop before serving")
			}
			assert.Equal(t, tt.want, got)
		})
	}
}
