package deadletter_test

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/clocktest"
	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/deadletter"
	"github.com/daprshop/daprshop/services/platform/events"
	"github.com/daprshop/daprshop/services/platform/server"
	"github.com/daprshop/daprshop/services/platform/server/servertest"
)

//go:embed testdata/migrations/*.sql
var testMigrations embed.FS

// fixture is a service "shop" consuming order.paid with an idempotent
// effect that fails while outage is set, and its dead letters.
type fixture struct {
	*servertest.API
	letters *deadletter.Letters
	clock   *clocktest.Clock

	mu     sync.Mutex
	outage error
	// replays are the events the consumer was handed as replays.
	replays []string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	migrations, err := fs.Sub(testMigrations, "testdata/migrations")
	require.NoError(t, err)
	f := &fixture{API: servertest.NewAPI(t, "shop", migrations), clock: clocktest.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))}
	require.NoError(t, deadletter.Migrate(context.Background(), f.DB))
	log := slog.New(slog.DiscardHandler)
	f.letters = deadletter.New(context.Background(), "shop", deadletter.NewStore(f.DB), log, f.clock.Now,
		events.Subscription{Topic: "order.paid", Route: "/events/order.paid", Handler: f.apply})
	t.Cleanup(func() { require.NoError(t, f.letters.Close()) })
	events.Mount(f.App(), log, f.letters.Subscriptions()...)
	f.letters.Mount(f.App())
	return f
}

// apply is the consumer: it records the event's effect once, in the
// transaction that records the event.
func (f *fixture) apply(ctx context.Context, e events.Event) error {
	if events.IsReplay(ctx) {
		f.mu.Lock()
		f.replays = append(f.replays, e.ID)
		f.mu.Unlock()
	}
	return events.Once(ctx, f.DB, "shop", e, func(ctx context.Context, tx pgx.Tx) error {
		f.mu.Lock()
		outage := f.outage
		f.mu.Unlock()
		if outage != nil {
			return outage
		}
		_, err := tx.Exec(ctx, `INSERT INTO effects (event_id) VALUES ($1)`, e.ID)
		return err
	})
}

func (f *fixture) setOutage(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.outage = err
}

func (f *fixture) effects(t *testing.T, eventID string) int {
	t.Helper()
	var n int
	require.NoError(t, f.DB.QueryRow(context.Background(), `SELECT count(*) FROM effects WHERE event_id = $1`, eventID).Scan(&n))
	return n
}

// deliver posts a CloudEvent at route as the sidecar does and returns its
// answer. The dead letter of an event is that event's CloudEvent, posted
// at the dead-letter topic's route: Client.Deliver would name that topic.
func (f *fixture) deliver(t *testing.T, route, cloudEvent string) string {
	t.Helper()
	r := f.Send(t, http.MethodPost, route, "", cloudEvent)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var answer struct{ Status string }
	r.JSON(t, &answer)
	return answer.Status
}

// paid is an order.paid CloudEvent as delivered, and as dead-lettered:
// Dapr publishes the same bytes on the dead-letter topic.
func paid(id string) string {
	return `{"specversion": "1.0", "id": "` + id + `", "source": "orders", "type": "com.dapr.event.sent",
		"topic": "order.paid", "pubsubname": "pubsub", "datacontenttype": "application/json",
		"data": {"order_id": "o-1", "total_cents": 4200}}`
}

type letterJSON struct {
	ID           string          `json:"id"`
	Service      string          `json:"service"`
	EventID      string          `json:"event_id"`
	Topic        string          `json:"topic"`
	Payload      json.RawMessage `json:"payload"`
	LastError    string          `json:"error"`
	Count        int             `json:"attempts"`
	FirstSeen    time.Time       `json:"first_seen"`
	LastSeen     time.Time       `json:"last_seen"`
	Status       string          `json:"status"`
	ReplayedAt   *time.Time      `json:"replayed_at"`
	LastReplayAt *time.Time      `json:"last_replay_at"`
}

type pageJSON struct {
	Items []letterJSON `json:"items"`
	Total int          `json:"total"`
}

// internal sends a request to the letters' internal API as the workers'
// invocation arrives, and returns the answer.
func (f *fixture) internal(t *testing.T, method, path string) servertest.Response {
	t.Helper()
	return f.Send(t, method, contracts.DeadLettersPath+path, "", "", server.HeaderCallerAppID, contracts.DeadLettersCaller)
}

func (f *fixture) list(t *testing.T, query string) pageJSON {
	t.Helper()
	r := f.internal(t, http.MethodGet, query)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var p pageJSON
	r.JSON(t, &p)
	return p
}

func (f *fixture) letter(t *testing.T, eventID string) letterJSON {
	t.Helper()
	for _, l := range f.list(t, "?limit=100").Items {
		if l.EventID == eventID {
			return l
		}
	}
	require.FailNow(t, "no dead letter "+eventID)
	return letterJSON{}
}

// replay replays the letter of eventID and returns it once the replay has
// run (at the clock's time: advance it between two replays of a letter).
func (f *fixture) replay(t *testing.T, eventID string) letterJSON {
	t.Helper()
	r := f.internal(t, http.MethodPost, "/"+f.letter(t, eventID).ID+"/replay")
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
	var accepted letterJSON
	r.JSON(t, &accepted)
	require.Equal(t, eventID, accepted.EventID)
	return f.replayed(t, eventID)
}

// replayed waits until a replay of the letter of eventID has run at the
// clock's time, and returns the letter.
func (f *fixture) replayed(t *testing.T, eventID string) letterJSON {
	t.Helper()
	var l letterJSON
	require.Eventually(t, func() bool {
		l = f.letter(t, eventID)
		return l.LastReplayAt != nil && l.LastReplayAt.Equal(f.clock.Now())
	}, 10*time.Second, 5*time.Millisecond, "the replay of %s runs", eventID)
	return l
}

// replayAll asks for a replay of the unresolved letters (of the topic in
// query) and returns the answer.
func (f *fixture) replayAll(t *testing.T, query string) string {
	t.Helper()
	r := f.internal(t, http.MethodPost, "/replay"+query)
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
	return string(r.Body)
}

// deadLetter makes event id a dead letter as the sidecar would: its
// delivery fails (the consumer's database is out), then it arrives on the
// dead-letter topic.
func (f *fixture) deadLetter(t *testing.T, id string) {
	t.Helper()
	f.setOutage(errors.New("relation \"effects\" is unavailable"))
	defer f.setOutage(nil)
	require.Equal(t, "RETRY", f.deliver(t, "/events/order.paid", paid(id)))
	require.Equal(t, "SUCCESS", f.deliver(t, "/events/deadletter.shop", paid(id)))
}

func TestSubscriptionsDeadLetterToTheAppsOwnTopic(t *testing.T) {
	f := newFixture(t)
	r := f.Get(t, "/dapr/subscribe", "")
	require.Equal(t, http.StatusOK, r.Status)
	assert.JSONEq(t, `[
		{"pubsubname": "pubsub", "topic": "order.paid", "route": "/events/order.paid", "deadLetterTopic": "deadletter.shop"},
		{"pubsubname": "pubsub", "topic": "deadletter.shop", "route": "/events/deadletter.shop"}
	]`, string(r.Body), "the dead letters' own subscription has no dead-letter topic: its failures are redelivered")
}

func TestADeadLetterIsRecordedWithItsLastError(t *testing.T) {
	f := newFixture(t)
	f.deadLetter(t, "e-1")

	l := f.letter(t, "e-1")
	_, err := uuid.Parse(l.ID)
	assert.NoError(t, err, "the letter's id is a UUID")
	assert.Equal(t, "shop", l.Service)
	assert.Equal(t, "order.paid", l.Topic)
	assert.Equal(t, `relation "effects" is unavailable`, l.LastError)
	assert.Equal(t, 1, l.Count)
	assert.Equal(t, "unresolved", l.Status)
	assert.Nil(t, l.ReplayedAt)
	assert.Equal(t, f.clock.Now(), l.FirstSeen)
	assert.Equal(t, f.clock.Now(), l.LastSeen)
	assert.JSONEq(t, paid("e-1"), string(l.Payload), "the CloudEvent as delivered")
	assert.Zero(t, f.effects(t, "e-1"))

	t.Run("dead-lettered again, it counts twice and keeps its first sighting", func(t *testing.T) {
		f.clock.Advance(time.Minute)
		f.deadLetter(t, "e-1")
		again := f.letter(t, "e-1")
		assert.Equal(t, l.ID, again.ID, "the same letter")
		l := again
		assert.Equal(t, 2, l.Count)
		assert.Equal(t, f.clock.Now().Add(-time.Minute), l.FirstSeen)
		assert.Equal(t, f.clock.Now(), l.LastSeen)
	})

	t.Run("an event this instance never saw fail is recorded too", func(t *testing.T) {
		require.Equal(t, "SUCCESS", f.deliver(t, "/events/deadletter.shop", paid("e-2")))
		assert.Equal(t, deadletter.UnknownError, f.letter(t, "e-2").LastError)
	})
}

func TestALetterThatCannotBeRecordedIsAskedForAgain(t *testing.T) {
	f := newFixture(t)
	_, err := f.DB.Exec(context.Background(), `ALTER TABLE dead_letters RENAME TO dead_letters_away`)
	require.NoError(t, err)
	assert.Equal(t, "RETRY", f.deliver(t, "/events/deadletter.shop", paid("e-1")))

	_, err = f.DB.Exec(context.Background(), `ALTER TABLE dead_letters_away RENAME TO dead_letters`)
	require.NoError(t, err)
	assert.Equal(t, "SUCCESS", f.deliver(t, "/events/deadletter.shop", paid("e-1")), "the redelivery is recorded")
	assert.Equal(t, 1, f.letter(t, "e-1").Count)
}

func TestReplayAppliesALetterOnce(t *testing.T) {
	f := newFixture(t)
	f.deadLetter(t, "e-1")

	t.Run("a replay failing again keeps the letter with the new error", func(t *testing.T) {
		f.setOutage(errors.New("still down"))
		defer f.setOutage(nil)
		f.clock.Advance(time.Minute)
		l := f.replay(t, "e-1")
		assert.Equal(t, "unresolved", l.Status)
		assert.Equal(t, "still down", l.LastError)
		assert.Equal(t, f.clock.Now(), l.LastSeen)
		assert.Nil(t, l.ReplayedAt)
		assert.Equal(t, 1, l.Count, "a failed replay is no new dead letter")
		assert.Zero(t, f.effects(t, "e-1"))
	})

	f.clock.Advance(time.Minute)
	replayedAt := f.clock.Now()
	l := f.replay(t, "e-1")
	assert.Equal(t, "replayed", l.Status)
	require.NotNil(t, l.ReplayedAt)
	assert.Equal(t, replayedAt, *l.ReplayedAt)
	assert.Equal(t, 1, f.effects(t, "e-1"), "applied")

	t.Run("a second replay changes nothing", func(t *testing.T) {
		f.clock.Advance(time.Minute)
		again := f.replay(t, "e-1")
		assert.Equal(t, 1, f.effects(t, "e-1"), "the consumer knows the event")
		assert.Equal(t, l.ReplayedAt, again.ReplayedAt, "the letter keeps its first replay")
		l.LastReplayAt = again.LastReplayAt
		assert.Equal(t, l, again, "and nothing else changes but when a replay last ran")
	})

	t.Run("a redelivery after the replay is acknowledged and changes nothing", func(t *testing.T) {
		assert.Equal(t, "SUCCESS", f.deliver(t, "/events/order.paid", paid("e-1")))
		assert.Equal(t, 1, f.effects(t, "e-1"))
	})

	t.Run("the consumer tells the replays from the deliveries", func(t *testing.T) {
		f.mu.Lock()
		defer f.mu.Unlock()
		assert.Equal(t, []string{"e-1", "e-1", "e-1"}, f.replays, "three replays, no delivery")
	})
}

func TestReplayAllTakesTheUnresolvedLongestUnseenFirst(t *testing.T) {
	f := newFixture(t)
	for _, id := range []string{"e-1", "e-2", "e-3"} {
		f.deadLetter(t, id)
		f.clock.Advance(time.Second)
	}
	f.replay(t, "e-2")

	assert.JSONEq(t, `{"queued": 2, "unresolved": 2}`, f.replayAll(t, ""))
	for _, id := range []string{"e-1", "e-3"} {
		f.replayed(t, id)
	}
	for _, id := range []string{"e-1", "e-2", "e-3"} {
		assert.Equal(t, 1, f.effects(t, id), id)
		assert.Equal(t, "replayed", f.letter(t, id).Status, id)
	}

	t.Run("letters failing again stay and go last", func(t *testing.T) {
		f.deadLetter(t, "e-4")
		f.clock.Advance(time.Second)
		f.deadLetter(t, "e-5")
		f.setOutage(errors.New("down again"))
		assert.JSONEq(t, `{"queued": 2, "unresolved": 2}`, f.replayAll(t, ""))
		f.replayed(t, "e-4")
		f.replayed(t, "e-5")
		f.setOutage(nil)
		assert.Equal(t, "down again", f.letter(t, "e-4").LastError)

		page := f.list(t, "")
		require.Len(t, page.Items, 5)
		assert.Equal(t, []string{"unresolved", "unresolved", "replayed", "replayed", "replayed"},
			[]string{page.Items[0].Status, page.Items[1].Status, page.Items[2].Status, page.Items[3].Status, page.Items[4].Status},
			"unresolved first")
	})

	t.Run("nothing to replay", func(t *testing.T) {
		assert.JSONEq(t, `{"queued": 0, "unresolved": 0}`, f.replayAll(t, "?topic=order.shipped"))
	})
}

func TestReplayAllTakesABatch(t *testing.T) {
	f := newFixture(t)
	for i := range deadletter.ReplayBatch + 2 {
		f.deadLetter(t, fmt.Sprintf("e-%02d", i))
	}
	assert.JSONEq(t, fmt.Sprintf(`{"queued": %d, "unresolved": %d}`, deadletter.ReplayBatch, deadletter.ReplayBatch+2), f.replayAll(t, "?topic=order.paid"))
	require.Eventually(t, func() bool { return f.unresolved(t) == 2 }, 10*time.Second, 5*time.Millisecond, "the next call takes the rest")
	f.mu.Lock()
	defer f.mu.Unlock()
	assert.Len(t, f.replays, deadletter.ReplayBatch)
}

func (f *fixture) unresolved(t *testing.T) int {
	t.Helper()
	var n int
	require.NoError(t, f.DB.QueryRow(context.Background(), `SELECT count(*) FROM dead_letters WHERE replayed_at IS NULL`).Scan(&n))
	return n
}

func TestALetterOfATopicNoLongerSubscribedFailsItsReplay(t *testing.T) {
	f := newFixture(t)
	gone := strings.Replace(paid("e-9"), `"topic": "order.paid"`, `"topic": "order.gone"`, 1)
	require.Equal(t, "SUCCESS", f.deliver(t, "/events/deadletter.shop", gone))
	l := f.replay(t, "e-9")
	assert.Equal(t, "unresolved", l.Status)
	assert.Contains(t, l.LastError, `"order.gone"`)
}

func TestTheInternalAPIIsForTheWorkersOnly(t *testing.T) {
	f := newFixture(t)
	f.deadLetter(t, "e-1")
	id := f.letter(t, "e-1").ID
	before := f.list(t, "")

	for _, tt := range []struct {
		name, method, path string
		callers            []string
		want               int
	}{
		{"the gateway lists", http.MethodGet, "", []string{contracts.AppGateway}, http.StatusForbidden},
		{"orders replays one", http.MethodPost, "/" + id + "/replay", []string{contracts.AppOrders}, http.StatusForbidden},
		{"a client reaching the app replays all", http.MethodPost, "/replay", nil, http.StatusForbidden},
		{"the workers smuggled beside the gateway", http.MethodPost, "/replay", []string{contracts.AppGateway, contracts.AppWorkers}, http.StatusForbidden},
		{"an unknown id", http.MethodPost, "/" + uuid.NewString() + "/replay", []string{contracts.AppWorkers}, http.StatusNotFound},
		{"an event id for an id", http.MethodPost, "/e-1/replay", []string{contracts.AppWorkers}, http.StatusUnprocessableEntity},
		{"an id in braces", http.MethodPost, "/{" + id + "}/replay", []string{contracts.AppWorkers}, http.StatusUnprocessableEntity},
		{"offset -1", http.MethodGet, "?offset=-1", []string{contracts.AppWorkers}, http.StatusUnprocessableEntity},
		{"limit 0", http.MethodGet, "?limit=0", []string{contracts.AppWorkers}, http.StatusUnprocessableEntity},
		{"limit past the most", http.MethodGet, fmt.Sprintf("?limit=%d", deadletter.MaxLimit+1), []string{contracts.AppWorkers}, http.StatusUnprocessableEntity},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, contracts.DeadLettersPath+tt.path, nil)
			for i, c := range tt.callers { // each under its own spelling, as a smuggled copy arrives
				req.Header[[]string{server.HeaderCallerAppID, "Dapr-Caller-App-Id"}[i]] = []string{c}
			}
			r := f.Do(t, req) // checks problem+json
			assert.Equal(t, tt.want, r.Status, "%s", r.Body)
			assert.Equal(t, before, f.list(t, ""), "nothing changed")
			assert.Zero(t, f.effects(t, "e-1"), "nothing replayed")
		})
	}
}

func TestListPages(t *testing.T) {
	f := newFixture(t)
	for _, id := range []string{"e-1", "e-2", "e-3"} {
		f.deadLetter(t, id)
		f.clock.Advance(time.Second)
	}
	page := f.list(t, "?offset=2&limit=2")
	assert.Equal(t, 3, page.Total)
	require.Len(t, page.Items, 1)
	assert.Equal(t, "e-1", page.Items[0].EventID, "the most recently seen first")
	assert.Empty(t, f.list(t, "?offset=2147483647&limit=100").Items)

	t.Run("by topic", func(t *testing.T) {
		assert.Equal(t, 3, f.list(t, "?topic=order.paid").Total)
		page := f.list(t, "?topic=order.shipped")
		assert.Zero(t, page.Total)
		assert.NotNil(t, page.Items, "[] rather than null")
	})
}

func TestMetricsCountLettersAndTheUnresolved(t *testing.T) {
	f := newFixture(t)
	assertMetrics := func(t *testing.T, received, unresolved int) {
		t.Helper()
		want := fmt.Sprintf(`
			# HELP dead_letters_received_total Events dead-lettered after their consumer dropped them or spent its retries, by the topic they were published on.
			# TYPE dead_letters_received_total counter
			dead_letters_received_total{service="shop",topic="order.paid"} %d
			# HELP dead_letters_unresolved Dead letters no replay has applied yet, by the topic they were published on.
			# TYPE dead_letters_unresolved gauge
			dead_letters_unresolved{service="shop",topic="order.paid"} %d
		`, received, unresolved)
		assert.NoError(t, testutil.CollectAndCompare(f.letters, strings.NewReader(want)))
	}
	assertMetrics(t, 0, 0)

	f.deadLetter(t, "e-1")
	f.deadLetter(t, "e-1")
	f.deadLetter(t, "e-2")
	assertMetrics(t, 3, 2)

	f.replay(t, "e-1")
	assertMetrics(t, 3, 1)

	t.Run("letters recorded by another replica are counted", func(t *testing.T) {
		require.NoError(t, deadletter.NewStore(f.DB).Record(context.Background(),
			events.Event{ID: "e-3", Topic: "order.paid", Raw: json.RawMessage(paid("e-3"))}, "boom", f.clock.Now()))
		assertMetrics(t, 3, 2)
	})
}

func TestPurgeForgetsLettersReplayedLongAgo(t *testing.T) {
	f := newFixture(t)
	f.deadLetter(t, "old")
	f.deadLetter(t, "unresolved")
	f.replay(t, "old")
	f.clock.Advance(time.Hour)
	f.deadLetter(t, "recent")
	f.replay(t, "recent")

	n, err := deadletter.PurgeReplayed(f.DB, 30*time.Minute)(context.Background(), f.clock.Now())
	require.NoError(t, err)
	assert.EqualValues(t, 1, n)
	var left []string
	for _, l := range f.list(t, "").Items {
		left = append(left, l.EventID)
	}
	assert.ElementsMatch(t, []string{"unresolved", "recent"}, left)
}

func TestALetterPostgresWouldRefuseAsTextIsRecorded(t *testing.T) {
	f := newFixture(t)
	event := strings.Replace(paid("e-nul"), `"o-1"`, `"o-\u0000"`, 1) // jsonb refuses \u0000
	f.setOutage(errors.New("bad bytes: \x00\xff"))
	require.Equal(t, "RETRY", f.deliver(t, "/events/order.paid", event))
	f.setOutage(nil)
	require.Equal(t, "SUCCESS", f.deliver(t, "/events/deadletter.shop", event))

	l := f.letter(t, "e-nul")
	assert.JSONEq(t, event, string(l.Payload))
	assert.Equal(t, "bad bytes: \uFFFD", l.LastError)
	assert.Equal(t, "replayed", f.replay(t, "e-nul").Status)
	assert.Equal(t, 1, f.effects(t, "e-nul"))
}

func TestAReplayAskedForWhileStoppingIsRefused(t *testing.T) {
	f := newFixture(t)
	f.deadLetter(t, "e-1")
	id := f.letter(t, "e-1").ID
	require.NoError(t, f.letters.Close())

	for _, path := range []string{"/" + id + "/replay", "/replay"} {
		r := f.internal(t, http.MethodPost, path)
		assert.Equal(t, http.StatusServiceUnavailable, r.Status, "%s: %s", path, r.Body)
	}
	assert.Zero(t, f.effects(t, "e-1"))
	assert.Nil(t, f.letter(t, "e-1").LastReplayAt, "no replay ran")
}
