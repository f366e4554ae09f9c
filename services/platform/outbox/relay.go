package outbox

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	dapr "github.com/dapr/go-sdk/client"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/daprshop/daprshop/services/platform/events"
	"github.com/daprshop/daprshop/services/platform/postgres"
	"github.com/daprshop/daprshop/services/platform/telemetry"
)

// Publisher publishes one event to a pub/sub component; the sidecar's
// go-sdk client satisfies it.
type Publisher interface {
	PublishEvent(ctx context.Context, pubsubName, topic string, data any, opts ...dapr.PublishEventOption) error
}

// Options tune a Relay; zero values take the defaults.
type Options struct {
	// Source is the CloudEvent source of every event: the service name.
	Source string
	// Topics are the topics the service publishes: their counters report
	// from the start, zero included, so that rates see the first event.
	Topics []string
	// BatchSize bounds the rows claimed per transaction (default 100).
	BatchSize int
	// PollInterval is how often the relay looks for rows without being
	// notified (default 5s): a lost notification or a row committed while
	// the listener reconnects still goes out.
	PollInterval time.Duration
	// MinBackoff and MaxBackoff bound the wait after a failed pass
	// (defaults 100ms and 10s), doubling while the sidecar or broker stays down.
	MinBackoff, MaxBackoff time.Duration
}

// Relay publishes the outbox rows of one database through Dapr, oldest
// first, and marks them published. Delivery is at least once: a crash
// between publishing and committing the mark publishes a row again, with
// the same CloudEvent id, which consumers deduplicate on (events.Once).
//
// Relays of several replicas on one database take turns: one holds a
// transaction-scoped advisory lock while it relays, so no row goes out twice
// in normal operation and each topic keeps its order across replicas.
type Relay struct {
	pool *pgxpool.Pool
	pub  Publisher
	log  *slog.Logger
	opts Options

	published *prometheus.CounterVec
	failures  *prometheus.CounterVec
	backlog   *prometheus.Desc
	lag       *prometheus.Desc
}

// NewRelay returns a Relay over pool's outbox table; call Run to start it.
// The Relay is a prometheus.Collector of its counters and of the outbox's
// backlog and lag.
func NewRelay(pool *pgxpool.Pool, pub Publisher, log *slog.Logger, opts Options) *Relay {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 100
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 5 * time.Second
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 100 * time.Millisecond
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(10*time.Second, opts.MinBackoff)
	}
	labels := prometheus.Labels{"service": opts.Source}
	r := &Relay{
		pool: pool, pub: pub, log: log, opts: opts,
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "outbox_events_published_total", Help: "Outbox events published to the broker, by topic.", ConstLabels: labels,
		}, []string{"topic"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "outbox_publish_failures_total", Help: "Failed attempts to publish an outbox event, by topic.", ConstLabels: labels,
		}, []string{"topic"}),
		backlog: prometheus.NewDesc("outbox_backlog",
			"Outbox events committed and not yet published.", nil, labels),
		lag: prometheus.NewDesc("outbox_lag_seconds",
			"Age of the oldest outbox event not yet published; 0 when none waits.", nil, labels),
	}
	for _, topic := range opts.Topics {
		r.published.WithLabelValues(topic)
		r.failures.WithLabelValues(topic)
	}
	return r
}

// Describe implements prometheus.Collector.
func (r *Relay) Describe(ch chan<- *prometheus.Desc) {
	r.published.Describe(ch)
	r.failures.Describe(ch)
	ch <- r.backlog
	ch <- r.lag
}

// scrapeTimeout bounds the database read behind a scrape.
const scrapeTimeout = 2 * time.Second

// backlogQuery reads the unpublished rows through the relay's partial
// index. clock_timestamp: the age at this moment, whatever the transaction.
const backlogQuery = `SELECT count(*), coalesce(extract(epoch FROM clock_timestamp() - min(created_at)), 0)::float8
	FROM outbox WHERE published_at IS NULL`

// Collect implements prometheus.Collector. The backlog is read from the
// database at each scrape, so every replica reports the same truth, and
// the lag keeps growing while the relay is stuck, which a counter could
// not show. A database that does not answer leaves both out: absent, not
// zero.
func (r *Relay) Collect(ch chan<- prometheus.Metric) {
	r.published.Collect(ch)
	r.failures.Collect(ch)
	// Collect is given no context: the scrape's own bound is this one.
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	var (
		backlog int64
		lag     float64
	)
	if err := r.pool.QueryRow(ctx, backlogQuery).Scan(&backlog, &lag); err != nil {
		r.log.WarnContext(ctx, "outbox backlog not counted", "err", err)
		return
	}
	ch <- prometheus.MustNewConstMetric(r.backlog, prometheus.GaugeValue, float64(backlog))
	ch <- prometheus.MustNewConstMetric(r.lag, prometheus.GaugeValue, lag)
}

// Run relays until ctx ends, then returns nil. Publishing and database
// failures are logged and retried with backoff; Run returns an error only
// when the database has no outbox table, which no retry can fix.
func (r *Relay) Run(ctx context.Context) error {
	wake := make(chan struct{}, 1)
	listenCtx, stopListening := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.listen(listenCtx, wake)
	}()
	defer wg.Wait()
	defer stopListening() // before the Wait: Run may return before ctx ends

	poll := time.NewTicker(r.opts.PollInterval)
	defer poll.Stop()
	backoff := time.Duration(0)
	for {
		err := r.drain(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case postgres.IsCode(err, codeUndefinedTable):
			return fmt.Errorf("outbox relay: %w", err)
		case err != nil:
			backoff = min(max(2*backoff, r.opts.MinBackoff), r.opts.MaxBackoff)
			r.log.WarnContext(ctx, "outbox relay pass failed", "err", err, "retry_in", backoff.String())
			// Notifications do not cut the wait short: while the broker is
			// down, each new event must not set off another attempt.
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			continue
		}
		backoff = 0
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-poll.C:
		}
	}
}

const codeUndefinedTable = "42P01"

// listen turns notifications on Channel into wake-ups, reconnecting with
// backoff when its connection breaks. After each (re)connection it wakes
// the relay once, for rows committed while nobody was listening.
func (r *Relay) listen(ctx context.Context, wake chan<- struct{}) {
	backoff := time.Duration(0)
	for {
		err := r.listenOnce(ctx, wake)
		if ctx.Err() != nil {
			return
		}
		backoff = min(max(2*backoff, r.opts.MinBackoff), r.opts.MaxBackoff)
		r.log.WarnContext(ctx, "outbox listener failed", "err", err, "retry_in", backoff.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
	}
}

func (r *Relay) listenOnce(ctx context.Context, wake chan<- struct{}) error {
	pc, err := r.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire listener connection: %w", err)
	}
	// Hijacked, the connection never goes back to the pool still listening.
	conn := pc.Hijack()
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx) // the connection is done with either way
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{Channel}.Sanitize()); err != nil {
		return fmt.Errorf("listen on %s: %w", Channel, err)
	}
	for {
		select {
		case wake <- struct{}{}:
		default: // a wake-up is already pending
		}
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return fmt.Errorf("wait for notification: %w", err)
		}
	}
}

// drain relays batches until none is left or one fails.
func (r *Relay) drain(ctx context.Context) error {
	for {
		more, err := r.relayBatch(ctx)
		if err != nil || !more {
			return err
		}
	}
}

type row struct {
	ID          uuid.UUID
	Topic       string
	EventID     uuid.UUID
	Payload     []byte
	Traceparent string
}

// Claiming rows FOR UPDATE (not SKIP LOCKED) keeps topic order even if
// something other than a relay holds a row: the relay waits for it rather
// than publishing the rows behind it. Relays never wait on each other: the
// advisory lock, taken by the same statement (one round trip), lets one
// in at a time; a relay that does not get it claims nothing. A row
// another relay published meanwhile fails the WHERE again under its row
// lock and is left out.
const (
	claimQuery = `SELECT id, topic, event_id, payload, traceparent FROM outbox
		WHERE published_at IS NULL AND (SELECT pg_try_advisory_xact_lock(hashtext('outbox relay')))
		ORDER BY created_at, id LIMIT $1 FOR UPDATE`
	// clock_timestamp, not now(): the relay's transaction may have begun
	// before the producer's, and published_at must not precede created_at.
	markQuery = `UPDATE outbox SET published_at = greatest(clock_timestamp(), created_at)
		WHERE id = ANY($1)`
	failQuery = `UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1`
)

// relayBatch publishes one batch in one transaction, marking what went out.
// It stops at the first failure, so no later event of any topic overtakes
// the failed one; the failure is recorded on its row and returned. more
// reports a full batch, after which more rows may be waiting.
func (r *Relay) relayBatch(ctx context.Context) (more bool, err error) {
	var sent []uuid.UUID
	var topics []string // of sent, counted once the marks commit
	var pubErr error
	err = pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		// No rows either when another replica is relaying; it is notified too.
		rows, err := tx.Query(ctx, claimQuery, r.opts.BatchSize)
		if err != nil {
			return fmt.Errorf("claim outbox rows: %w", err)
		}
		batch, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
		if err != nil {
			return fmt.Errorf("claim outbox rows: %w", err)
		}
		more = len(batch) == r.opts.BatchSize
		sent = make([]uuid.UUID, 0, len(batch))
		for _, ev := range batch {
			if pubErr = r.publish(ctx, ev); pubErr != nil {
				r.failures.WithLabelValues(ev.Topic).Inc()
				if _, err := tx.Exec(ctx, failQuery, ev.ID, pubErr.Error()); err != nil {
					return fmt.Errorf("record outbox failure: %w", err)
				}
				more = false
				break
			}
			sent = append(sent, ev.ID)
			topics = append(topics, ev.Topic)
		}
		if len(sent) > 0 {
			if _, err := tx.Exec(ctx, markQuery, sent); err != nil {
				return fmt.Errorf("mark outbox rows published: %w", err)
			}
		}
		// The publish failure is returned after the commit, so the marks
		// and the recorded attempt stay.
		return nil
	})
	if err != nil {
		return false, err
	}
	for _, topic := range topics {
		r.published.WithLabelValues(topic).Inc()
	}
	return more, pubErr
}

// publish sends ev with the CloudEvent fields consumers rely on. Dapr 1.14
// builds the envelope itself and lets "cloudevent.*" publish metadata
// override id, source, type and traceparent (dapr pkg/runtime/pubsub
// NewCloudEvent, on the gRPC PublishEvent path the go-sdk takes), so the id
// is the row's event_id on every attempt and redeliveries deduplicate.
// The publish is a span of the trace of the request that added the event,
// and the event's traceparent names it: consumers continue that trace.
func (r *Relay) publish(ctx context.Context, ev row) error {
	ctx, span := telemetry.Continue(ctx, ev.Traceparent, ev.Topic+" publish", trace.SpanKindProducer)
	defer span.End()
	span.SetAttributes(attribute.String("messaging.destination.name", ev.Topic), attribute.String("messaging.message.id", ev.EventID.String()))
	md := map[string]string{
		"cloudevent.id":     ev.EventID.String(),
		"cloudevent.type":   ev.Topic,
		"cloudevent.source": r.opts.Source,
	}
	if tp := telemetry.Traceparent(ctx); tp != "" {
		md["cloudevent.traceparent"] = tp
	}
	err := r.pub.PublishEvent(ctx, events.PubsubName, ev.Topic, ev.Payload,
		dapr.PublishEventWithContentType("application/json"), dapr.PublishEventWithMetadata(md))
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
		return fmt.Errorf("publish %s event %s: %w", ev.Topic, ev.EventID, err)
	}
	return nil
}
