// Package deadletter keeps the events a service's subscriptions give up
// on. When a handler drops an event, or still fails it once the
// resiliency policy's retries are spent, the service's sidecar publishes
// the CloudEvent on the service's own dead-letter topic
// (contracts.DeadLetterTopic) and acknowledges the original. The service
// subscribes to that topic, records each letter in its own database
// (dead_letters) and serves them to the workers (Mount), who list every
// service's to admins; a replay runs in process, through the handler that
// failed: the consumer's idempotency (processed_events) makes a second
// replay change nothing.
package deadletter

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
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
	// LastReplayAt is when a replay last ran, applied or not.
	LastReplayAt *time.Time
	// ID names the letter to the admins.
	ID uuid.UUID
}

// ErrNotFound is returned for an id that names no dead letter.
var ErrNotFound = apperr.New(apperr.NotFound, "dead letter not found")

// UnknownError is the last error recorded when the instance receiving a
// dead letter never saw its consumer fail (another replica did, it
// restarted since, or the event was dropped before its handler ran).
const UnknownError = "the consumer's error was not kept: another instance failed this event, or this one restarted since"

// maxErrorLen bounds a stored error message.
const maxErrorLen = 2000

// ReplayBatch is the most letters one replay of all takes: one replay
// runs for up to replayTimeout, and the next call takes the rest.
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
	replays  *background
	inFlight claims
	// The metrics: see Collect.
	received   *prometheus.CounterVec
	unresolved *prometheus.Desc
}

// New returns the Letters of app's subscriptions subs (as a consumer lists
// them for events.Mount), kept in store. Replays run in the background
// until ctx ends or Close is called.
func New(ctx context.Context, app string, store *Store, log *slog.Logger, now func() time.Time, subs ...events.Subscription) *Letters {
	l := &Letters{
		app: app, store: store, log: log, now: now,
		handlers: make(map[string]events.Handler, len(subs)),
		errs:     newLastErrors(1024),
		replays:  newBackground(ctx, replaySlots),
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

// List returns up to limit letters of topic (every topic when empty) from
// offset, unresolved first, and how many there are.
func (l *Letters) List(ctx context.Context, topic string, offset, limit int) ([]Letter, int, error) {
	return l.store.List(ctx, topic, offset, limit)
}

// StartReplay hands the letter named id to its topic's handler again,
// after it returns: it returns the letter as it stands, or ErrNotFound.
// The outcome is recorded on the letter (ReplayedAt, or LastError; both
// set LastReplayAt). A letter replayed before goes through the handler
// again, which finds the event applied and changes nothing.
func (l *Letters) StartReplay(ctx context.Context, id uuid.UUID) (View, error) {
	letter, err := l.store.Get(ctx, id)
	if err != nil {
		return View{}, err
	}
	err = l.replays.start(ctx, func(ctx context.Context) {
		if _, err := l.replay(ctx, letter); err != nil {
			l.log.ErrorContext(ctx, "dead letter replay not recorded", "event_id", letter.EventID, "err", err)
		}
	})
	if err != nil {
		return View{}, err
	}
	return NewView(l.app, letter), nil
}

// Queued is what StartReplayAll set off.
type Queued struct {
	// Queued are the letters whose replay was started.
	Queued int `json:"queued"`
	// Unresolved are the letters of the topic no replay had applied when
	// asked, those queued included: past the batch, the next call takes
	// the rest.
	Unresolved int `json:"unresolved"`
}

// StartReplayAll replays up to ReplayBatch unresolved letters of topic
// (every topic when empty), the longest unseen first, one after another
// after it returns.
func (l *Letters) StartReplayAll(ctx context.Context, topic string) (Queued, error) {
	batch, err := l.store.Unresolved(ctx, topic, ReplayBatch)
	if err != nil {
		return Queued{}, err
	}
	counts, err := l.store.UnresolvedByTopic(ctx)
	if err != nil {
		return Queued{}, err
	}
	q := Queued{Queued: len(batch), Unresolved: counts[topic]}
	if topic == "" {
		for _, n := range counts {
			q.Unresolved += n
		}
	}
	if len(batch) == 0 {
		return q, nil
	}
	err = l.replays.start(ctx, func(ctx context.Context) {
		for _, letter := range batch {
			if ctx.Err() != nil {
				return // stopping: the rest stay unresolved
			}
			if _, err := l.replay(ctx, letter); err != nil {
				l.log.ErrorContext(ctx, "dead letter replay not recorded", "event_id", letter.EventID, "err", err)
			}
		}
	})
	return q, err
}

// Close stops the replays under way and waits for them to return.
func (l *Letters) Close() error {
	l.replays.close()
	return nil
}

// replay applies letter and records the outcome; only a failure to record
// it is returned.
func (l *Letters) replay(ctx context.Context, letter Letter) (Letter, error) {
	// A letter asked for twice at once (a double click, one and all, a
	// request Dapr retried) is replayed once.
	if !l.inFlight.claim(letter.ID) {
		return letter, nil
	}
	defer l.inFlight.release(letter.ID)
	ctx, cancel := context.WithTimeout(ctx, replayTimeout)
	defer cancel()
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
