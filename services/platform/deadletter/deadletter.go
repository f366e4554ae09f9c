// Package deadletter keeps the events a service's subscriptions give up
// on. When a handler drops an event, or still fails it once the
// resiliency policy's retries are spent, the service's sidecar publishes
// the CloudEvent on the service's own dead-letter topic
// (contracts.DeadLetterTopic) and acknowledges the original. The service
// subscribes to that topic, records each letter in its own database
// (dead_letters), lists them to admins and replays them, in process,
// through the handler that failed: the consumer's idempotency
// (processed_events) makes a second replay change nothing.
package deadletter

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/daprshop/daprshop/services/platform/apperr"
	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/events"
)

// Letter is one dead-lettered event.
type Letter struct {
	EventID string
	// Topic is the topic the event was published on.
	Topic string
	// Payload is the CloudEvent as delivered.
	Payload []byte
	// LastError is the last error its consumer (or a replay) returned, or
	// UnknownError when the instance that recorded it never saw it fail.
	LastError string
	// Count is how many times the event was dead-lettered.
	Count               int
	FirstSeen, LastSeen time.Time
	// ReplayedAt is when a replay applied it; nil while unresolved.
	ReplayedAt *time.Time
}

// ErrNotFound is returned for an event id with no dead letter.
var ErrNotFound = apperr.New(apperr.NotFound, "dead letter not found")

// UnknownError is the last error recorded when the instance receiving a
// dead letter never saw its consumer fail (another replica did, it
// restarted since, or the event was dropped before its handler ran).
const UnknownError = "the consumer's error was not kept: another instance failed this event, or this one restarted since"

// maxErrorLen bounds a stored error message.
const maxErrorLen = 2000

// ReplayBatch is the most letters one replay of all takes: a call stays
// well within the gateway's deadline, and the next call takes the rest.
const ReplayBatch = 20

// Letters records the dead letters of one service's subscriptions and
// replays them.
type Letters struct {
	app      string
	store    *Store
	log      *slog.Logger
	now      func() time.Time
	subs     []events.Subscription
	handlers map[string]events.Handler // by topic
	errs     *lastErrors
	// The metrics: see Collect.
	received   *prometheus.CounterVec
	unresolved *prometheus.Desc
}

// New returns the Letters of app's subscriptions subs (as a consumer lists
// them for events.Mount), kept in store.
func New(app string, store *Store, log *slog.Logger, now func() time.Time, subs ...events.Subscription) *Letters {
	l := &Letters{
		app: app, store: store, log: log, now: now,
		handlers: make(map[string]events.Handler, len(subs)),
		errs:     newLastErrors(1024),
	}
	topics := make([]string, 0, len(subs))
	for _, s := range subs {
		l.handlers[s.Topic] = s.Handler
		topics = append(topics, s.Topic)
		s.DeadLetterTopic = contracts.DeadLetterTopic(app)
		s.Handler = l.watch(s.Handler)
		l.subs = append(l.subs, s)
	}
	l.received, l.unresolved = receivedCounter(app, topics), unresolvedDesc(app)
	return l
}

// Subscriptions are the subscriptions to mount with events.Mount: the
// consumer's, each dead-lettering to the app's topic, and the dead-letter
// topic's own. That one has no dead-letter topic, so a letter that cannot
// be recorded is redelivered by the broker rather than lost.
func (l *Letters) Subscriptions() []events.Subscription {
	topic := contracts.DeadLetterTopic(l.app)
	return append(l.subs[:len(l.subs):len(l.subs)],
		events.Subscription{Topic: topic, Route: contracts.Route(topic), Handler: l.record})
}

// watch remembers the last error handler h returned for each event, for
// the dead letter the event may become.
func (l *Letters) watch(h events.Handler) events.Handler {
	return func(ctx context.Context, e events.Event) error {
		err := h(ctx, e)
		if err != nil {
			l.errs.remember(e.ID, err.Error())
		}
		return err
	}
}

// record is the dead-letter topic's handler. Its error asks for the
// letter again.
func (l *Letters) record(ctx context.Context, e events.Event) error {
	lastError, ok := l.errs.last(e.ID)
	if !ok {
		lastError = UnknownError
	}
	if err := l.store.Record(ctx, e, errorText(lastError), l.now()); err != nil {
		return err
	}
	l.received.WithLabelValues(e.Topic).Inc()
	l.log.WarnContext(ctx, "dead letter recorded", "topic", e.Topic, "event_id", e.ID, "last_error", lastError)
	return nil
}

// List returns up to limit letters from offset, unresolved first, and how
// many there are.
func (l *Letters) List(ctx context.Context, offset, limit int) ([]Letter, int, error) {
	return l.store.List(ctx, offset, limit)
}

// Replay hands the letter of eventID to its topic's handler again and
// returns the letter: replayed, or still unresolved with the replay's
// error as its last error. A letter replayed before goes through the
// handler again, which finds the event applied and changes nothing. It
// returns ErrNotFound for an unknown id.
func (l *Letters) Replay(ctx context.Context, eventID string) (Letter, error) {
	letter, err := l.store.Get(ctx, eventID)
	if err != nil {
		return Letter{}, err
	}
	return l.replay(ctx, letter)
}

// Outcome is what a replay of all letters did.
type Outcome struct {
	Replayed int // applied
	Failed   int // failed again, kept unresolved
	// Remaining are the letters still unresolved: those that failed and
	// those past the batch.
	Remaining int
}

// ReplayAll replays up to ReplayBatch unresolved letters, the longest
// unseen first.
func (l *Letters) ReplayAll(ctx context.Context) (Outcome, error) {
	batch, err := l.store.Unresolved(ctx, ReplayBatch)
	if err != nil {
		return Outcome{}, err
	}
	var o Outcome
	for _, letter := range batch {
		got, err := l.replay(ctx, letter)
		if err != nil {
			return Outcome{}, err
		}
		if got.ReplayedAt != nil {
			o.Replayed++
		} else {
			o.Failed++
		}
	}
	counts, err := l.store.UnresolvedByTopic(ctx)
	if err != nil {
		return Outcome{}, err
	}
	for _, n := range counts {
		o.Remaining += n
	}
	return o, nil
}

// replay applies letter and records the outcome; only a failure to record
// it is returned.
func (l *Letters) replay(ctx context.Context, letter Letter) (Letter, error) {
	if err := l.apply(ctx, letter); err != nil {
		l.log.WarnContext(ctx, "dead letter replay failed", "topic", letter.Topic, "event_id", letter.EventID, "err", err)
		return l.store.ReplayFailed(ctx, letter.EventID, errorText(err.Error()), l.now())
	}
	l.log.InfoContext(ctx, "dead letter replayed", "topic", letter.Topic, "event_id", letter.EventID)
	return l.store.Replayed(ctx, letter.EventID, l.now())
}

func (l *Letters) apply(ctx context.Context, letter Letter) error {
	handle, ok := l.handlers[letter.Topic]
	if !ok {
		return fmt.Errorf("%s subscribes to %q no more", l.app, letter.Topic)
	}
	e, err := events.Parse(letter.Payload)
	if err != nil {
		return err
	}
	return handle(events.Replaying(ctx), e)
}

// errorText is msg as a text column takes it: valid UTF-8 without NUL
// (a message Postgres refused would keep its letter from being recorded),
// at most maxErrorLen bytes.
func errorText(msg string) string {
	msg = strings.ReplaceAll(strings.ToValidUTF8(msg, "\uFFFD"), "\x00", "")
	if len(msg) <= maxErrorLen {
		return msg
	}
	cut := maxErrorLen
	for !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + "…"
}

// lastErrors remembers the last error of up to limit events; when full,
// the event remembered first is forgotten first.
type lastErrors struct {
	mu    sync.Mutex
	byID  map[string]string
	ring  []string // event ids in the order first remembered
	next  int      // the ring's oldest once full
	limit int
}

func newLastErrors(limit int) *lastErrors {
	return &lastErrors{byID: make(map[string]string, limit), limit: limit}
}

func (m *lastErrors) remember(id, msg string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.byID[id]; !ok {
		if len(m.ring) < m.limit {
			m.ring = append(m.ring, id)
		} else {
			delete(m.byID, m.ring[m.next])
			m.ring[m.next] = id
			m.next = (m.next + 1) % m.limit
		}
	}
	m.byID[id] = msg
}

func (m *lastErrors) last(id string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	msg, ok := m.byID[id]
	return msg, ok
}
