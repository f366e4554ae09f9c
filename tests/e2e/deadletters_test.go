package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/apiclient"
	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/deadletter"
)

// deadLetterJSON is one letter of GET /api/v1/admin/dead-letters.
type deadLetterJSON struct {
	ID           string     `json:"id"`
	Service      string     `json:"service"`
	EventID      string     `json:"event_id"`
	Topic        string     `json:"topic"`
	LastError    string     `json:"error"`
	Count        int        `json:"attempts"`
	Status       string     `json:"status"`
	ReplayedAt   *time.Time `json:"replayed_at"`
	LastReplayAt *time.Time `json:"last_replay_at"`
	Payload      struct {
		ID   string `json:"id"`
		Data struct {
			OrderID string `json:"order_id"`
		} `json:"data"`
	} `json:"payload"`
}

// deadLetterPageJSON is a page of GET /api/v1/admin/dead-letters.
type deadLetterPageJSON struct {
	Items       []deadLetterJSON `json:"items"`
	Total       int              `json:"total"`
	Unavailable []string         `json:"unavailable"`
}

// deadLetters is the admin API of every service's dead letters, through
// the gateway (served by the workers).
type deadLetters struct{}

// admin is a fresh admin's token per call: the waits here can outlast one
// token's lifetime.
func (deadLetters) admin(t *testing.T) apiclient.RequestEditorFn {
	return as("Bearer " + token(t, uuid.New(), authn.RoleAdmin))
}

// page lists the first 100 letters of service and topic.
func (d deadLetters) page(t *testing.T, service, topic string) deadLetterPageJSON {
	t.Helper()
	params := &apiclient.ListDeadLettersParams{PageSize: new(100)}
	if service != "" {
		params.Service = new(apiclient.ListDeadLettersParamsService(service))
	}
	if topic != "" {
		params.Topic = new(topic)
	}
	sent, err := api.ListDeadLetters(ctx(t), params, d.admin(t))
	resp := answer(t, sent, err)
	require.Equal(t, http.StatusOK, resp.Status, "dead letters: %s", resp.Body)
	var page deadLetterPageJSON
	resp.JSON(t, &page)
	return page
}

// find returns service's letter of eventID on topic, if the first page
// holds it (the unresolved come first, the most recently seen first among
// them).
func (d deadLetters) find(t *testing.T, service, topic, eventID string) (deadLetterJSON, bool) {
	t.Helper()
	for _, l := range d.page(t, service, topic).Items {
		if l.EventID == eventID {
			return l, true
		}
	}
	return deadLetterJSON{}, false
}

// startReplay asks for the replay of the letter id and returns the
// answer: 202 and the letter as it stood.
func (d deadLetters) startReplay(t *testing.T, id string) deadLetterJSON {
	t.Helper()
	sent, err := api.ReplayDeadLetter(ctx(t), uuid.MustParse(id), d.admin(t))
	resp := answer(t, sent, err)
	require.Equal(t, http.StatusAccepted, resp.Status, "replay %s: %s", id, resp.Body)
	var l deadLetterJSON
	resp.JSON(t, &l)
	require.Equal(t, id, l.ID)
	return l
}

// lastReplay reads when the letter l, kept in db, was last replayed; nil
// when never.
func (deadLetters) lastReplay(t *testing.T, db *pgx.Conn, l deadLetterJSON) *time.Time {
	t.Helper()
	var at *time.Time
	require.NoError(t, db.QueryRow(ctx(t), `SELECT last_replay_at FROM dead_letters WHERE id = $1`, l.ID).Scan(&at))
	return at
}

// ran waits until a replay of letter l has run after before, its last
// replay when the replay was asked for (nil: never), and returns the
// letter then: replayed, or unresolved with the replay's error. It reads
// db, the owner's database: a letter replayed goes after every unresolved
// one in the list, past its first page on a busy system.
func (d deadLetters) ran(t *testing.T, db *pgx.Conn, l deadLetterJSON, before *time.Time) deadLetterJSON {
	t.Helper()
	var got deadLetterJSON
	require.Eventually(t, func() bool {
		got = d.read(t, db, l)
		return replayedSince(got, before)
	}, 2*time.Minute, 200*time.Millisecond, "the replay of %s's letter %s runs", l.Service, l.EventID)
	return got
}

// replayedSince: letter l was replayed after before (nil: ever).
func replayedSince(l deadLetterJSON, before *time.Time) bool {
	return l.LastReplayAt != nil && (before == nil || l.LastReplayAt.After(*before))
}

// read returns the letter l as db, its owner's database, holds it now.
func (deadLetters) read(t *testing.T, db *pgx.Conn, l deadLetterJSON) deadLetterJSON {
	t.Helper()
	got := l
	err := db.QueryRow(ctx(t), `SELECT last_error, replayed_at, last_replay_at FROM dead_letters WHERE id = $1`, l.ID).
		Scan(&got.LastError, &got.ReplayedAt, &got.LastReplayAt)
	require.NoError(t, err)
	got.Status = "unresolved"
	if got.ReplayedAt != nil {
		got.Status = "replayed"
	}
	return got
}

// replay replays the letter l, kept in db, and returns it once the replay
// has run: its last replay moved past the one before the request.
func (d deadLetters) replay(t *testing.T, db *pgx.Conn, l deadLetterJSON) deadLetterJSON {
	t.Helper()
	before := d.lastReplay(t, db, l)
	d.startReplay(t, l.ID)
	return d.ran(t, db, l, before)
}

// metric reads the value of series (name and labels, as exposed) from the
// app's /metrics on port; absent, it is 0.
func metric(t *testing.T, port int, series string) float64 {
	t.Helper()
	resp := call(t, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/metrics", port), nil)
	require.Equal(t, http.StatusOK, resp.Status)
	sc := bufio.NewScanner(strings.NewReader(string(resp.Body)))
	for sc.Scan() {
		if value, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			var n float64
			_, err := fmt.Sscan(value, &n)
			require.NoError(t, err)
			return n
		}
	}
	return 0
}

// refuseEvents makes the consumers of database fail the events ids, as a
// full disk or a half-applied migration would: the table every idempotent
// consumer records its events in refuses them. It returns the repair.
func refuseEvents(t *testing.T, database string, ids ...string) func() {
	t.Helper()
	db := connect(t, database)
	quoted := make([]string, len(ids))
	for i, id := range ids {
		quoted[i] = "'" + id + "'"
	}
	_, err := db.Exec(ctx(t), fmt.Sprintf(`
		CREATE FUNCTION e2e_refuse_events() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'event %% refused', NEW.event_id; END $$;
		CREATE TRIGGER e2e_refuse_events BEFORE INSERT ON processed_events
			FOR EACH ROW WHEN (NEW.event_id IN (%s)) EXECUTE FUNCTION e2e_refuse_events()`, strings.Join(quoted, ", ")))
	require.NoError(t, err)
	var once sync.Once
	repair := func() {
		once.Do(func() {
			_, err := db.Exec(ctx(t), `DROP TRIGGER IF EXISTS e2e_refuse_events ON processed_events; DROP FUNCTION IF EXISTS e2e_refuse_events()`)
			require.NoError(t, err)
		})
	}
	t.Cleanup(repair)
	return repair
}

// processed counts the records of eventID in db's processed_events.
func processed(t *testing.T, db *pgx.Conn, eventID string) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow(ctx(t),
		`SELECT count(*) FROM processed_events WHERE event_id = $1`, eventID).Scan(&n))
	return n
}

// TestDeadLetters makes consumers of three services fail events for real
// until the sidecars' retries are spent, on whichever broker the suite
// runs on: the workers' analytics (their database refuses the day's sales
// row), payments charging an order.created and products committing an
// order.paid (their databases refuse to record the events). Each event
// becomes a dead letter its service records, and the workers list them
// all to admins through the gateway. Once the databases accept again, a
// replay by id, through the workers and each owner's sidecar, applies each
// event once and a second replay changes nothing; a replay of all takes
// the letters of one service and topic.
func TestDeadLetters(t *testing.T) {
	const workersPort = 3006
	letters := deadLetters{}
	analytics := connect(t, "analytics")
	// A day of its own, decades back: no other test sells on it.
	day := time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rand.IntN(3650))
	_, err := analytics.Exec(ctx(t), fmt.Sprintf(`
		CREATE FUNCTION e2e_refuse_day() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'daily sales of %% refused', NEW.day; END $$;
		CREATE TRIGGER e2e_refuse_day BEFORE INSERT OR UPDATE ON daily_sales
			FOR EACH ROW WHEN (NEW.day = DATE '%s') EXECUTE FUNCTION e2e_refuse_day()`, day.Format(time.DateOnly)))
	require.NoError(t, err)
	repairAnalytics := func() {
		_, err := analytics.Exec(ctx(t), `DROP TRIGGER IF EXISTS e2e_refuse_day ON daily_sales; DROP FUNCTION IF EXISTS e2e_refuse_day()`)
		require.NoError(t, err)
	}
	t.Cleanup(repairAnalytics)

	const received = `dead_letters_received_total{service="workers",topic="order.paid"}`
	const unresolved = `dead_letters_unresolved{service="workers",topic="order.paid"}`
	receivedBefore := metric(t, workersPort, received)
	unresolvedInDB := func(t *testing.T) float64 {
		var n float64
		require.NoError(t, analytics.QueryRow(ctx(t),
			`SELECT count(*) FROM dead_letters WHERE topic = 'order.paid' AND replayed_at IS NULL`).Scan(&n))
		return n
	}
	sales := func(t *testing.T) []daySales {
		admin := token(t, uuid.New(), authn.RoleAdmin)
		resp := call(t, http.MethodGet, fmt.Sprintf("%s/api/v1/admin/analytics/sales?from=%s&to=%[2]s", gatewayURL, day.Format(time.DateOnly)),
			nil, "Authorization", "Bearer "+admin)
		require.Equal(t, http.StatusOK, resp.Status, "sales: %s", resp.Body)
		var days []daySales
		resp.JSON(t, &days)
		return days
	}

	// The events: one the workers fail, one payments fails (and one for
	// its replay of all), one products fails (and one for its replay of
	// all).
	paidID, orderID := uuid.NewString(), uuid.NewString()
	charged, chargedAll := uuid.NewString(), uuid.NewString()
	committed, committedAll := uuid.NewString(), uuid.NewString()
	repairPayments := refuseEvents(t, "payments", charged, chargedAll)
	repairProducts := refuseEvents(t, "products", committed, committedAll)
	publishEvent(t, "order.paid", paidID, map[string]any{
		"order_id": orderID, "user_id": uuid.NewString(), "payment_id": uuid.NewString(),
		"total_cents": 4250, "currency": "USD",
		"items":   []map[string]any{{"product_id": uuid.NewString(), "name": "Widget", "quantity": 2, "unit_price_cents": 2125}},
		"paid_at": day.Add(15 * time.Hour), "invoice_number": "1990-000001",
	})
	for _, id := range []string{charged, chargedAll} {
		publishEvent(t, contracts.TopicOrderCreated, id, map[string]any{
			"order_id": uuid.NewString(), "user_id": uuid.NewString(), "total_cents": 1999, "currency": "USD",
			"items": []map[string]any{{"product_id": uuid.NewString(), "name": "Widget", "quantity": 1, "unit_price_cents": 1999}},
		})
	}
	// The workers count these sales too, on a day of their own: another
	// decade back.
	otherDay := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rand.IntN(3650))
	for _, id := range []string{committed, committedAll} {
		publishEvent(t, contracts.TopicOrderPaid, id, map[string]any{
			"order_id": uuid.NewString(), "user_id": uuid.NewString(), "payment_id": uuid.NewString(),
			"total_cents": 1000, "currency": "USD",
			"items":   []map[string]any{{"product_id": uuid.NewString(), "name": "Widget", "quantity": 1, "unit_price_cents": 1000}},
			"paid_at": otherDay.Add(9 * time.Hour), "invoice_number": "1970-000001",
		})
	}

	// The resiliency policy retries a delivery for about a minute
	// (pubsubDelivery); then the sidecar dead-letters it.
	wait := func(t *testing.T, service, topic, eventID string) deadLetterJSON {
		t.Helper()
		var letter deadLetterJSON
		require.Eventually(t, func() bool {
			var ok bool
			letter, ok = letters.find(t, service, topic, eventID)
			return ok
		}, 4*time.Minute, time.Second, "the exhausted %s %s is a dead letter of %s", topic, eventID, service)
		assert.Equal(t, service, letter.Service)
		assert.Equal(t, topic, letter.Topic)
		assert.Equal(t, "unresolved", letter.Status)
		assert.GreaterOrEqual(t, letter.Count, 1)
		assert.Equal(t, eventID, letter.Payload.ID, "the CloudEvent as delivered")
		_, err := uuid.Parse(letter.ID)
		assert.NoError(t, err, "a letter's id is a UUID")
		return letter
	}
	letter := wait(t, contracts.AppWorkers, "order.paid", paidID)
	assert.Contains(t, letter.LastError, "daily sales of "+day.Format(time.DateOnly)+" refused", "the consumer's own error")
	assert.Equal(t, orderID, letter.Payload.Data.OrderID)
	assert.Empty(t, sales(t), "nothing applied")
	paymentsLetter := wait(t, contracts.AppPayments, contracts.TopicOrderCreated, charged)
	assert.Contains(t, paymentsLetter.LastError, "event "+charged+" refused")
	productsLetter := wait(t, contracts.AppProducts, contracts.TopicOrderPaid, committed)
	// The events for the replays of all must be letters before the
	// databases accept again, or their deliveries would apply them.
	wait(t, contracts.AppPayments, contracts.TopicOrderCreated, chargedAll)
	wait(t, contracts.AppProducts, contracts.TopicOrderPaid, committedAll)
	// Products runs as two instances: the dead letter may reach the one
	// that never saw the event fail, which cannot know its error.
	if productsLetter.LastError != deadletter.UnknownError {
		assert.Contains(t, productsLetter.LastError, "event "+committed+" refused")
	}

	t.Run("the metrics count it", func(t *testing.T) {
		assert.GreaterOrEqual(t, metric(t, workersPort, received), receivedBefore+1)
		assert.GreaterOrEqual(t, metric(t, workersPort, unresolved), float64(1))
		assert.Equal(t, unresolvedInDB(t), metric(t, workersPort, unresolved), "the letters the database holds")
	})

	t.Run("one list holds every service's letters, and filters by service and topic", func(t *testing.T) {
		ids := map[string]bool{}
		var all deadLetterPageJSON
		sent, err := api.ListDeadLetters(ctx(t), &apiclient.ListDeadLettersParams{PageSize: new(100)}, letters.admin(t))
		resp := answer(t, sent, err)
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		resp.JSON(t, &all)
		assert.Empty(t, all.Unavailable, "every service answered")
		services := map[string]int{}
		for _, l := range all.Items {
			ids[l.ID] = true
			services[l.Service]++
		}
		// The first page holds the unresolved, the most recent first: ours
		// are among them unless a hundred newer are unresolved.
		for _, l := range []deadLetterJSON{letter, paymentsLetter, productsLetter} {
			if len(all.Items) < 100 {
				assert.True(t, ids[l.ID], "%s's letter %s is listed", l.Service, l.EventID)
			}
		}
		assert.GreaterOrEqual(t, all.Total, 5)
		for _, l := range letters.page(t, contracts.AppPayments, "").Items {
			assert.Equal(t, contracts.AppPayments, l.Service)
		}
		for _, l := range letters.page(t, contracts.AppProducts, contracts.TopicOrderPaid).Items {
			assert.Equal(t, contracts.AppProducts, l.Service)
			assert.Equal(t, contracts.TopicOrderPaid, l.Topic)
		}
	})

	repairAnalytics()
	repairPayments()
	repairProducts()

	want := []daySales{{Date: day.Format(time.DateOnly), Orders: 1, RevenueCents: 4250, ItemsSold: 2}}
	replayed := letters.replay(t, analytics, letter)
	assert.Equal(t, "replayed", replayed.Status)
	require.NotNil(t, replayed.ReplayedAt)
	assert.Equal(t, want, sales(t), "applied once")
	assert.Equal(t, unresolvedInDB(t), metric(t, workersPort, unresolved))

	t.Run("a second replay changes nothing", func(t *testing.T) {
		again := letters.replay(t, analytics, letter)
		assert.True(t, again.LastReplayAt.After(*replayed.LastReplayAt), "the second replay ran")
		assert.Equal(t, "replayed", again.Status)
		assert.Equal(t, replayed.ReplayedAt, again.ReplayedAt, "the letter keeps its first replay")
		assert.Equal(t, want, sales(t), "the sale counted once")
	})

	// The letters of other services are replayed in their owner, reached
	// through the workers' sidecar and the owner's access policy.
	paymentsDB, productsDB := connect(t, "payments"), connect(t, "products")
	for _, tc := range []struct {
		letter   deadLetterJSON
		database *pgx.Conn
		// effects counts what applying the letter's event leaves about
		// its order ($1): the payment and its events; the reservation
		// and its events (none for products' letter, an order.paid of an
		// order it never reserved for: there, only processed shows it).
		effects string
	}{
		{paymentsLetter, paymentsDB, `SELECT (SELECT count(*) FROM payments WHERE order_id = $1::uuid)
			+ (SELECT count(*) FROM outbox WHERE payload->>'order_id' = $1::text)`},
		{productsLetter, productsDB, `SELECT (SELECT count(*) FROM reservations WHERE order_id = $1::uuid)
			+ (SELECT count(*) FROM outbox WHERE payload->>'order_id' = $1::text)`},
	} {
		t.Run("a replay by id applies "+tc.letter.Service+"'s letter once", func(t *testing.T) {
			effects := func(t *testing.T) int {
				t.Helper()
				var n int
				require.NoError(t, tc.database.QueryRow(ctx(t), tc.effects, tc.letter.Payload.Data.OrderID).Scan(&n))
				return n
			}
			got := letters.replay(t, tc.database, tc.letter)
			assert.Equal(t, "replayed", got.Status, "error: %s", got.LastError)
			require.NotNil(t, got.ReplayedAt)
			assert.Equal(t, 1, processed(t, tc.database, tc.letter.EventID), "applied")
			applied := effects(t)

			again := letters.replay(t, tc.database, tc.letter)
			assert.True(t, again.LastReplayAt.After(*got.LastReplayAt), "the second replay ran")
			assert.Equal(t, "replayed", again.Status)
			assert.Equal(t, got.ReplayedAt, again.ReplayedAt, "the letter keeps its first replay")
			assert.Equal(t, 1, processed(t, tc.database, tc.letter.EventID), "applied once")
			assert.Equal(t, applied, effects(t), "nothing more applied")
		})
	}

	for _, tc := range []struct {
		service, topic, eventID string
		database                *pgx.Conn
	}{
		{contracts.AppPayments, contracts.TopicOrderCreated, chargedAll, paymentsDB},
		{contracts.AppProducts, contracts.TopicOrderPaid, committedAll, productsDB},
	} {
		t.Run("a replay of all applies "+tc.service+"'s letters of "+tc.topic, func(t *testing.T) {
			l := wait(t, tc.service, tc.topic, tc.eventID)
			before := letters.lastReplay(t, tc.database, l)
			// A replay of all takes the longest unseen letters, a batch at a
			// time, and one that fails again goes last: asked again, it
			// pages through the letters of the topic, however many older
			// ones a busy system holds, until ours has run.
			var last atomic.Value // the last answer, for the failure message; set in the condition's goroutine
			reached := assert.Eventually(t, func() bool {
				if replayedSince(letters.read(t, tc.database, l), before) {
					return true
				}
				sent, err := api.ReplayDeadLetters(ctx(t), &apiclient.ReplayDeadLettersParams{
					Service: new(apiclient.ReplayDeadLettersParamsService(tc.service)), Topic: new(tc.topic),
				}, letters.admin(t))
				if err != nil {
					last.Store(err.Error())
					return false
				}
				body, _ := io.ReadAll(sent.Body)
				sent.Body.Close()
				last.Store(fmt.Sprintf("%d %s", sent.StatusCode, body))
				return false
			}, 4*time.Minute, 2*time.Second)
			require.True(t, reached, "a replay of all reaches %s's letter %s (last answer: %v)", tc.service, tc.eventID, last.Load())
			got := letters.read(t, tc.database, l)
			assert.Equal(t, "replayed", got.Status, "error: %s", got.LastError)
			assert.Equal(t, 1, processed(t, tc.database, tc.eventID))
		})
	}

	t.Run("the workers' sidecar reaches the owners' letters; other callers are refused", func(t *testing.T) {
		// The list and a replay below it: Dapr 1.14 decides both by the
		// first listed prefix of the path (deploy/internalpaths_test.go).
		resp := invokeAs(t, contracts.AppWorkers, http.MethodGet, contracts.AppPayments, "internal/dead-letters?limit=1", "")
		assert.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		resp = invokeAs(t, contracts.AppWorkers, http.MethodPost, contracts.AppPayments, "internal/dead-letters/"+uuid.NewString()+"/replay", "")
		assert.Equal(t, http.StatusNotFound, resp.Status, "payments' own answer: %s", resp.Body)
		assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))

		for _, caller := range []string{contracts.AppGateway, contracts.AppOrders} {
			for _, c := range []struct{ verb, method string }{
				{http.MethodGet, "internal/dead-letters"},
				{http.MethodPost, "internal/dead-letters/replay"},
				{http.MethodPost, "internal/dead-letters/" + paymentsLetter.ID + "/replay"},
			} {
				resp := invokeAs(t, caller, c.verb, contracts.AppPayments, c.method, "")
				assert.Equal(t, http.StatusForbidden, resp.Status, "%s %s %s: %s", caller, c.verb, c.method, resp.Body)
				var e sidecarError
				if assert.NoError(t, json.Unmarshal(resp.Body, &e), "%s", resp.Body) {
					assert.Equal(t, "ERR_DIRECT_INVOKE", e.ErrorCode)
					assert.Contains(t, e.Message, "access control policy has denied access")
				}
			}
		}
	})
}

// TestDeadLettersRefuse: the dead letters are for admins, and an id that
// names no letter of any service is no letter.
func TestDeadLettersRefuse(t *testing.T) {
	admin := "Bearer " + token(t, uuid.New(), authn.RoleAdmin)
	customer := "Bearer " + token(t, uuid.New())
	base := gatewayURL + "/api/v1/admin/dead-letters"
	for _, tc := range []struct {
		name, method, url, auth string
		want                    int
	}{
		{"no token lists", http.MethodGet, base, "", http.StatusUnauthorized},
		{"no token replays all", http.MethodPost, base + "/replay", "", http.StatusUnauthorized},
		{"a customer lists", http.MethodGet, base, customer, http.StatusForbidden},
		{"a customer replays one", http.MethodPost, base + "/" + uuid.NewString() + "/replay", customer, http.StatusForbidden},
		{"a customer replays all", http.MethodPost, base + "/replay", customer, http.StatusForbidden},
		{"a forged token", http.MethodGet, base, "Bearer " + strings.Repeat("a", 40), http.StatusUnauthorized},
		{"an unknown id", http.MethodPost, base + "/" + uuid.NewString() + "/replay", admin, http.StatusNotFound},
		{"an event id for an id", http.MethodPost, base + "/order.paid-1/replay", admin, http.StatusUnprocessableEntity},
		{"an unknown service", http.MethodGet, base + "?service=auth", admin, http.StatusUnprocessableEntity},
		{"replay all of an unknown service", http.MethodPost, base + "/replay?service=gateway", admin, http.StatusUnprocessableEntity},
		{"page 0", http.MethodGet, base + "?page=0", admin, http.StatusUnprocessableEntity},
		{"past the merged window", http.MethodGet, base + "?page=11&page_size=100", admin, http.StatusUnprocessableEntity},
	} {
		t.Run(tc.name, func(t *testing.T) {
			invalidRequests(t) // no token, a bad id, a value the document refuses
			resp := call(t, tc.method, tc.url, nil, "Authorization", tc.auth)
			assert.Equal(t, tc.want, resp.Status, "%s", resp.Body)
			assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
		})
	}
	t.Run("an unknown id answers at once", func(t *testing.T) {
		// Every owner answers 404, and its sidecar hands that back as it
		// is: the workers' sidecar retries no app answer
		// (resiliency/workers.yaml). Under a retry policy, three retries
		// of each took 1.2 s at the least.
		start := time.Now()
		resp := call(t, http.MethodPost, base+"/"+uuid.NewString()+"/replay", nil, "Authorization", admin)
		took := time.Since(start)
		t.Logf("an unknown id: %d in %s", resp.Status, took.Round(time.Millisecond))
		assert.Equal(t, http.StatusNotFound, resp.Status, "%s", resp.Body)
	})
}

// TestDeadLettersWithAServiceDown kills the notifications process: the
// list of every service's letters names notifications as unavailable and
// lists the others'; its own list, and a replay of an id no other service
// holds, answer 503 naming it. Once it is back, it answers again.
func TestDeadLettersWithAServiceDown(t *testing.T) {
	base := gatewayURL + "/api/v1/admin/dead-letters"
	admin := func() string { return "Bearer " + token(t, uuid.New(), authn.RoleAdmin) }
	list := func(t *testing.T, query string) (response, deadLetterPageJSON) {
		t.Helper()
		resp := call(t, http.MethodGet, base+query, nil, "Authorization", admin())
		var page deadLetterPageJSON
		if resp.Status == http.StatusOK {
			resp.JSON(t, &page)
		}
		return resp, page
	}
	resp, page := list(t, "")
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	require.Empty(t, page.Unavailable)

	exe := filepath.Join(sys.root, ".bin", contracts.AppNotifications)
	pid := pidOf(t, exe)
	restart := restartable(t, exe, pid)
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			restart()
		}
	})

	require.Eventually(t, func() bool {
		resp, page := list(t, "")
		return resp.Status == http.StatusOK && slices.Equal(page.Unavailable, []string{contracts.AppNotifications})
	}, 30*time.Second, 200*time.Millisecond, "the list names notifications as unavailable")
	unavailable := func(t *testing.T, resp response) {
		t.Helper()
		assert.Equal(t, http.StatusServiceUnavailable, resp.Status, "%s", resp.Body)
		assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
		var p struct {
			Detail      string   `json:"detail"`
			Unavailable []string `json:"unavailable"`
		}
		resp.JSON(t, &p)
		assert.Equal(t, "the dead letters of notifications are unavailable", p.Detail)
		assert.Equal(t, []string{contracts.AppNotifications}, p.Unavailable)
		assert.NotContains(t, string(resp.Body), "127.0.0.1", "no internals leak")
	}
	t.Run("its own list is a 503 naming it", func(t *testing.T) {
		resp, _ := list(t, "?service=notifications")
		unavailable(t, resp)
	})
	t.Run("a replay of an id no other service holds is a 503, not a 404", func(t *testing.T) {
		unavailable(t, call(t, http.MethodPost, base+"/"+uuid.NewString()+"/replay", nil, "Authorization", admin()))
	})
	t.Run("a replay of all names it", func(t *testing.T) {
		resp := call(t, http.MethodPost, base+"/replay?topic=e2e.none", nil, "Authorization", admin())
		require.Equal(t, http.StatusAccepted, resp.Status, "%s", resp.Body)
		var accepted struct{ Unavailable []string }
		resp.JSON(t, &accepted)
		assert.Equal(t, []string{contracts.AppNotifications}, accepted.Unavailable)
	})

	restart()
	restarted = true
	require.Eventually(t, func() bool {
		resp, page := list(t, "")
		return resp.Status == http.StatusOK && len(page.Unavailable) == 0
	}, 60*time.Second, 200*time.Millisecond, "notifications answer again once back")
}
