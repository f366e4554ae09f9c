package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	runtimev1pb "github.com/dapr/dapr/pkg/proto/runtime/v1"
	dapr "github.com/dapr/go-sdk/client"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/events"
	"github.com/daprshop/daprshop/services/platform/outbox"
	"github.com/daprshop/daprshop/services/platform/outbox/outboxtest"
	"github.com/daprshop/daprshop/services/platform/postgres/pgtest"
	"github.com/daprshop/daprshop/services/platform/telemetry"
)

func newDB(t *testing.T) *pgxpool.Pool {
	t.Helper()
	return pgtest.NewDatabase(t, outboxtest.Migrations)
}

// publishedEvent is one successful call of fakePublisher, with the options
// applied the way the go-sdk applies them to its request.
type publishedEvent struct {
	Pubsub      string
	Topic       string
	Data        []byte
	ContentType string
	Metadata    map[string]string
}

// fakePublisher records what it publishes and fails its first failFirst
// calls, like a sidecar whose broker is down.
type fakePublisher struct {
	mu        sync.Mutex
	failFirst int
	calls     int
	published []publishedEvent
}

func (p *fakePublisher) PublishEvent(_ context.Context, pubsubName, topic string, data any, opts ...dapr.PublishEventOption) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if p.calls <= p.failFirst {
		return errors.New("broker unavailable")
	}
	req := &runtimev1pb.PublishEventRequest{PubsubName: pubsubName, Topic: topic}
	for _, o := range opts {
		o(req)
	}
	body, ok := data.([]byte)
	if !ok {
		return fmt.Errorf("data is %T, want []byte", data)
	}
	p.published = append(p.published, publishedEvent{
		Pubsub: req.GetPubsubName(), Topic: req.GetTopic(), Data: body,
		ContentType: req.GetDataContentType(), Metadata: req.GetMetadata(),
	})
	return nil
}

func (p *fakePublisher) events() []publishedEvent {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]publishedEvent(nil), p.published...)
}

func (p *fakePublisher) callCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

// ids lists the CloudEvent ids published, in order.
func (p *fakePublisher) ids() []string {
	var ids []string
	for _, e := range p.events() {
		ids = append(ids, e.Metadata["cloudevent.id"])
	}
	return ids
}

func (p *fakePublisher) hasPublished(id uuid.UUID) bool {
	for _, got := range p.ids() {
		if got == id.String() {
			return true
		}
	}
	return false
}

// startRelay runs a relay until the test ends and checks that Run returns.
func startRelay(t *testing.T, pool *pgxpool.Pool, pub outbox.Publisher, opts outbox.Options) *outbox.Relay {
	t.Helper()
	if opts.Source == "" {
		opts.Source = "orders"
	}
	relay := outbox.NewRelay(pool, pub, slog.New(slog.NewTextHandler(io.Discard, nil)), opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- relay.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err, "Run after cancel")
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	})
	return relay
}

// add commits one event on topic and returns its id.
func add(t *testing.T, ctx context.Context, pool *pgxpool.Pool, topic string, payload any) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) (err error) {
		id, err = outbox.Add(ctx, tx, topic, payload)
		return err
	}))
	return id
}

type outboxRow struct {
	Published bool
	Attempts  int
	LastError *string
}

func readRow(t *testing.T, pool *pgxpool.Pool, eventID uuid.UUID) outboxRow {
	t.Helper()
	var r outboxRow
	require.NoError(t, pool.QueryRow(context.Background(),
		`SELECT published_at IS NOT NULL, attempts, last_error FROM outbox WHERE event_id = $1`, eventID).
		Scan(&r.Published, &r.Attempts, &r.LastError))
	return r
}

const waitFor, tick = 10 * time.Second, 5 * time.Millisecond

func TestRelayPublishesCommittedEventOnce(t *testing.T) {
	pool := newDB(t)
	pub := &fakePublisher{}
	relay := startRelay(t, pool, pub, outbox.Options{Source: "orders"})
	const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	ctx := telemetry.WithTraceparent(context.Background(), traceparent)

	id := add(t, ctx, pool, "order.created", map[string]any{"order_id": "o-1", "total_cents": 1250})
	require.Eventually(t, func() bool { return readRow(t, pool, id).Published }, waitFor, tick)

	// A later event going out proves the relay made another pass without
	// publishing the first one again.
	next := add(t, ctx, pool, "order.paid", map[string]any{"order_id": "o-1"})
	require.Eventually(t, func() bool { return readRow(t, pool, next).Published }, waitFor, tick)

	got := pub.events()
	require.Len(t, got, 2)
	first := got[0]
	assert.Equal(t, events.PubsubName, first.Pubsub)
	assert.Equal(t, "order.created", first.Topic)
	assert.JSONEq(t, `{"order_id": "o-1", "total_cents": 1250}`, string(first.Data))
	assert.Equal(t, "application/json", first.ContentType)
	// The event names the relay's publish span, in the producer's trace.
	published := first.Metadata["cloudevent.traceparent"]
	assert.Equal(t, traceparent[:35], published[:min(35, len(published))])
	assert.NotEqual(t, traceparent, published)
	delete(first.Metadata, "cloudevent.traceparent")
	assert.Equal(t, map[string]string{
		"cloudevent.id":     id.String(),
		"cloudevent.type":   "order.created",
		"cloudevent.source": "orders",
	}, first.Metadata)
	assert.Equal(t, next.String(), got[1].Metadata["cloudevent.id"])
	assert.Equal(t, outboxRow{Published: true}, readRow(t, pool, id))
	assert.NoError(t, testutil.CollectAndCompare(relay, strings.NewReader(`
		# HELP outbox_events_published_total Outbox events published to the broker, by topic.
		# TYPE outbox_events_published_total counter
		outbox_events_published_total{service="orders",topic="order.created"} 1
		outbox_events_published_total{service="orders",topic="order.paid"} 1
		# HELP outbox_backlog Outbox events committed and not yet published.
		# TYPE outbox_backlog gauge
		outbox_backlog{service="orders"} 0
		# HELP outbox_lag_seconds Age of the oldest outbox event not yet published; 0 when none waits.
		# TYPE outbox_lag_seconds gauge
		outbox_lag_seconds{service="orders"} 0
	`), "outbox_events_published_total", "outbox_backlog", "outbox_lag_seconds"))
}

func TestRelayNeverPublishesRolledBackEvent(t *testing.T) {
	pool := newDB(t)
	pub := &fakePublisher{}
	startRelay(t, pool, pub, outbox.Options{})
	ctx := context.Background()

	var rolledBack uuid.UUID
	errAbort := errors.New("abort")
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) (err error) {
		if rolledBack, err = outbox.Add(ctx, tx, "order.created", map[string]string{"order_id": "o-1"}); err != nil {
			return err
		}
		return errAbort
	})
	require.ErrorIs(t, err, errAbort)
	committed := add(t, ctx, pool, "order.created", map[string]string{"order_id": "o-2"})

	require.Eventually(t, func() bool { return pub.hasPublished(committed) }, waitFor, tick)
	assert.Equal(t, []string{committed.String()}, pub.ids())
	var rows int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE event_id = $1`, rolledBack).Scan(&rows))
	assert.Zero(t, rows)
}

func TestRelayRetriesInOrderWhileBrokerIsDown(t *testing.T) {
	pool := newDB(t)
	ctx := context.Background()
	// Written before the relay starts, in one transaction: order within a
	// transaction must hold too.
	var ids []uuid.UUID
	require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for i, topic := range []string{"order.created", "order.created", "order.paid", "order.created"} {
			id, err := outbox.Add(ctx, tx, topic, map[string]int{"seq": i})
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	}))
	const failures = 3
	pub := &fakePublisher{failFirst: failures}
	relay := startRelay(t, pool, pub, outbox.Options{MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})

	// The relay marks rows published after the broker took them: wait for
	// the marks, not for the broker.
	require.Eventually(t, func() bool {
		var published int
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE published_at IS NOT NULL`).Scan(&published))
		return published == len(ids)
	}, waitFor, tick)
	want := make([]string, len(ids))
	for i, id := range ids {
		want[i] = id.String()
	}
	assert.Equal(t, want, pub.ids(), "published once each, in the order added")
	assert.Equal(t, failures+len(ids), pub.callCount(), "later events wait for the failing one")

	first := readRow(t, pool, ids[0])
	assert.True(t, first.Published)
	assert.Equal(t, failures, first.Attempts)
	require.NotNil(t, first.LastError)
	assert.Contains(t, *first.LastError, "broker unavailable")
	for _, id := range ids[1:] {
		assert.Equal(t, outboxRow{Published: true}, readRow(t, pool, id))
	}
	assert.NoError(t, testutil.CollectAndCompare(relay, strings.NewReader(`
		# HELP outbox_events_published_total Outbox events published to the broker, by topic.
		# TYPE outbox_events_published_total counter
		outbox_events_published_total{service="orders",topic="order.created"} 3
		outbox_events_published_total{service="orders",topic="order.paid"} 1
		# HELP outbox_publish_failures_total Failed attempts to publish an outbox event, by topic.
		# TYPE outbox_publish_failures_total counter
		outbox_publish_failures_total{service="orders",topic="order.created"} 3
	`), "outbox_events_published_total", "outbox_publish_failures_total"))
}

func TestRelayWakesOnNotification(t *testing.T) {
	pool := newDB(t)
	pub := &fakePublisher{}
	// Polling only every hour: the event must go out because of NOTIFY.
	startRelay(t, pool, pub, outbox.Options{PollInterval: time.Hour})
	ctx := context.Background()
	require.Eventually(t, func() bool {
		var listening bool
		err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE datname = current_database() AND query = 'LISTEN "outbox"' AND state = 'idle')`).Scan(&listening)
		return err == nil && listening
	}, waitFor, tick, "relay listening")

	for i := range 3 {
		id := add(t, ctx, pool, "order.created", map[string]int{"seq": i})
		require.Eventually(t, func() bool { return pub.hasPublished(id) }, waitFor, tick, "event %d", i)
	}
}

func TestRelayReplicasPublishEachEventOnce(t *testing.T) {
	pool := newDB(t)
	// One publisher behind both relays, so its log is the order the
	// broker saw. Each relay has its own pool, as each replica has.
	pub := &fakePublisher{}
	startRelay(t, pool, pub, outbox.Options{BatchSize: 3})
	startRelay(t, pgtest.AnotherPool(t, pool), pub, outbox.Options{BatchSize: 3})
	ctx := context.Background()
	const producers, perProducer = 4, 15
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range perProducer {
				add(t, ctx, pool, fmt.Sprintf("topic-%d", p), map[string]int{"seq": i})
			}
		})
	}
	wg.Wait()
	require.Eventually(t, func() bool {
		var pending int
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE published_at IS NULL`).Scan(&pending))
		return pending == 0
	}, waitFor, tick)

	got := pub.events()
	assert.Len(t, got, producers*perProducer, "every event published exactly once")
	seen := map[string]int{}
	next := map[string]int{}
	for _, e := range got {
		seen[e.Metadata["cloudevent.id"]]++
		var payload struct{ Seq int }
		require.NoError(t, json.Unmarshal(e.Data, &payload))
		assert.Equal(t, next[e.Topic], payload.Seq, "order of %s", e.Topic)
		next[e.Topic] = payload.Seq + 1
	}
	assert.Len(t, seen, producers*perProducer)
	for id, n := range seen {
		assert.Equal(t, 1, n, "event %s", id)
	}
}

// stuckPublisher stands for a replica's sidecar that never answers: its
// first call signals entered, and every call waits for its context.
type stuckPublisher struct {
	entered chan struct{}
	once    sync.Once
}

func (p *stuckPublisher) PublishEvent(ctx context.Context, _, _ string, _ any, _ ...dapr.PublishEventOption) error {
	p.once.Do(func() { close(p.entered) })
	<-ctx.Done()
	return ctx.Err()
}

// A replica that dies while it holds the relay's lock, its batch claimed
// and nothing marked, leaves that batch to the other replica: its
// transaction ends with it, and so do its locks.
func TestRelayReplicaDyingMidBatchLosesNothing(t *testing.T) {
	pool := newDB(t)
	ctx := context.Background()
	stuck := &stuckPublisher{entered: make(chan struct{})}
	dying := outbox.NewRelay(pgtest.AnotherPool(t, pool), stuck, slog.New(slog.NewTextHandler(io.Discard, nil)), outbox.Options{Source: "orders"})
	runCtx, die := context.WithCancel(ctx)
	defer die()
	done := make(chan error, 1)
	go func() { done <- dying.Run(runCtx) }()
	var ids []uuid.UUID
	for i := range 5 {
		ids = append(ids, add(t, ctx, pool, "order.created", map[string]int{"seq": i}))
	}
	select {
	case <-stuck.entered:
	case <-time.After(waitFor):
		require.FailNow(t, "the first replica never started publishing")
	}
	pub := &fakePublisher{}
	startRelay(t, pool, pub, outbox.Options{PollInterval: 20 * time.Millisecond})

	die()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(waitFor):
		require.FailNow(t, "the dying replica's Run did not return")
	}
	require.Eventually(t, func() bool { return readRow(t, pool, ids[len(ids)-1]).Published }, waitFor, tick)
	want := make([]string, 0, len(ids))
	for _, id := range ids {
		assert.True(t, readRow(t, pool, id).Published)
		want = append(want, id.String())
	}
	assert.Equal(t, want, pub.ids(), "every event once, in order, from the survivor")
}

func TestRelayReportsBacklogAndLag(t *testing.T) {
	pool := newDB(t)
	ctx := context.Background()
	// No relay runs: the events wait, the oldest since 90 seconds.
	old := add(t, ctx, pool, "order.created", map[string]string{"order_id": "o-1"})
	add(t, ctx, pool, "order.paid", map[string]string{"order_id": "o-1"})
	_, err := pool.Exec(ctx, `UPDATE outbox SET created_at = now() - interval '90 seconds' WHERE event_id = $1`, old)
	require.NoError(t, err)
	relay := outbox.NewRelay(pool, &fakePublisher{}, slog.New(slog.NewTextHandler(io.Discard, nil)), outbox.Options{Source: "orders"})

	assert.NoError(t, testutil.CollectAndCompare(relay, strings.NewReader(`
		# HELP outbox_backlog Outbox events committed and not yet published.
		# TYPE outbox_backlog gauge
		outbox_backlog{service="orders"} 2
	`), "outbox_backlog"))
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(relay))
	families, err := reg.Gather()
	require.NoError(t, err)
	var lag []float64
	for _, f := range families {
		if f.GetName() == "outbox_lag_seconds" {
			for _, m := range f.GetMetric() {
				lag = append(lag, m.GetGauge().GetValue())
			}
		}
	}
	require.Len(t, lag, 1)
	assert.InDelta(t, 90, lag[0], 30, "the age of the oldest waiting event")
}

// TestRelayReportsItsTopicsAtZero: a topic nothing has been published on
// yet is a series at 0, not an absent one, so that a dashboard's funnel
// shows "none yet" and a rate sees the first event.
func TestRelayReportsItsTopicsAtZero(t *testing.T) {
	pool := newDB(t)
	relay := outbox.NewRelay(pool, &fakePublisher{}, slog.New(slog.NewTextHandler(io.Discard, nil)),
		outbox.Options{Source: "payments", Topics: []string{"payment.succeeded", "payment.failed"}})
	assert.NoError(t, testutil.CollectAndCompare(relay, strings.NewReader(`
		# HELP outbox_events_published_total Outbox events published to the broker, by topic.
		# TYPE outbox_events_published_total counter
		outbox_events_published_total{service="payments",topic="payment.failed"} 0
		outbox_events_published_total{service="payments",topic="payment.succeeded"} 0
		# HELP outbox_publish_failures_total Failed attempts to publish an outbox event, by topic.
		# TYPE outbox_publish_failures_total counter
		outbox_publish_failures_total{service="payments",topic="payment.failed"} 0
		outbox_publish_failures_total{service="payments",topic="payment.succeeded"} 0
	`), "outbox_events_published_total", "outbox_publish_failures_total"))
}
