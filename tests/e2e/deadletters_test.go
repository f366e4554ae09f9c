package e2e

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/contracts"
)

// deadLetterJSON is one letter of GET /api/v1/admin/dead-letters/{app}.
type deadLetterJSON struct {
	EventID    string     `json:"event_id"`
	Topic      string     `json:"topic"`
	LastError  string     `json:"last_error"`
	Count      int        `json:"count"`
	Status     string     `json:"status"`
	ReplayedAt *time.Time `json:"replayed_at"`
	Payload    struct {
		ID   string `json:"id"`
		Data struct {
			OrderID string `json:"order_id"`
		} `json:"data"`
	} `json:"payload"`
}

// deadLetters is the admin API of app's dead letters, through the gateway.
type deadLetters struct{ app string }

func (d deadLetters) send(t *testing.T, method, path string) response {
	t.Helper()
	// A token per call: the waits here can outlast one token's lifetime.
	admin := token(t, uuid.New(), authn.RoleAdmin)
	return call(t, method, gatewayURL+"/api/v1/admin/dead-letters/"+d.app+path, nil, "Authorization", "Bearer "+admin)
}

// find returns the letter of eventID, if the first page holds it (the
// unresolved come first, the most recently seen first among them).
func (d deadLetters) find(t *testing.T, eventID string) (deadLetterJSON, bool) {
	t.Helper()
	resp := d.send(t, http.MethodGet, "?page_size=100")
	require.Equal(t, http.StatusOK, resp.Status, "dead letters: %s", resp.Body)
	var page struct {
		Items []deadLetterJSON `json:"items"`
	}
	resp.JSON(t, &page)
	for _, l := range page.Items {
		if l.EventID == eventID {
			return l, true
		}
	}
	return deadLetterJSON{}, false
}

func (d deadLetters) replay(t *testing.T, eventID string) deadLetterJSON {
	t.Helper()
	resp := d.send(t, http.MethodPost, "/"+eventID+"/replay")
	require.Equal(t, http.StatusOK, resp.Status, "replay: %s", resp.Body)
	var l deadLetterJSON
	resp.JSON(t, &l)
	return l
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

// TestDeadLetters makes the workers' analytics fail an order.paid for real
// until the sidecar's retries are spent (the workers' database refuses the
// day's sales row, as a full disk or a half-applied migration would), on
// whichever broker the suite runs on: the event becomes a dead letter the
// workers record, count and list to admins; once the database accepts the
// row again, a replay applies the event once and a second replay changes
// nothing.
func TestDeadLetters(t *testing.T) {
	const workersPort = 3006
	letters := deadLetters{app: contracts.AppWorkers}
	db := connect(t, "analytics")
	// A day of its own, decades back: no other test sells on it.
	day := time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rand.IntN(3650))
	_, err := db.Exec(ctx(t), fmt.Sprintf(`
		CREATE FUNCTION e2e_refuse_day() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'daily sales of %% refused', NEW.day; END $$;
		CREATE TRIGGER e2e_refuse_day BEFORE INSERT OR UPDATE ON daily_sales
			FOR EACH ROW WHEN (NEW.day = DATE '%s') EXECUTE FUNCTION e2e_refuse_day()`, day.Format(time.DateOnly)))
	require.NoError(t, err)
	repair := func() {
		_, err := db.Exec(ctx(t), `DROP TRIGGER IF EXISTS e2e_refuse_day ON daily_sales; DROP FUNCTION IF EXISTS e2e_refuse_day()`)
		require.NoError(t, err)
	}
	t.Cleanup(repair)

	const received = `dead_letters_received_total{service="workers",topic="order.paid"}`
	const unresolved = `dead_letters_unresolved{service="workers",topic="order.paid"}`
	receivedBefore := metric(t, workersPort, received)
	unresolvedInDB := func(t *testing.T) float64 {
		var n float64
		require.NoError(t, db.QueryRow(ctx(t),
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

	eventID, orderID := uuid.NewString(), uuid.NewString()
	publishEvent(t, "order.paid", eventID, map[string]any{
		"order_id": orderID, "user_id": uuid.NewString(), "payment_id": uuid.NewString(),
		"total_cents": 4250, "currency": "USD",
		"items":   []map[string]any{{"product_id": uuid.NewString(), "name": "Widget", "quantity": 2, "unit_price_cents": 2125}},
		"paid_at": day.Add(15 * time.Hour), "invoice_number": "1990-000001",
	})

	// The resiliency policy retries a delivery for about a minute
	// (pubsubDelivery); then the sidecar dead-letters it.
	var letter deadLetterJSON
	require.Eventually(t, func() bool {
		var ok bool
		letter, ok = letters.find(t, eventID)
		return ok
	}, 4*time.Minute, time.Second, "the exhausted order.paid is a dead letter of the workers")
	assert.Equal(t, "order.paid", letter.Topic)
	assert.Equal(t, "unresolved", letter.Status)
	assert.GreaterOrEqual(t, letter.Count, 1)
	assert.Contains(t, letter.LastError, "daily sales of "+day.Format(time.DateOnly)+" refused", "the consumer's own error")
	assert.Equal(t, eventID, letter.Payload.ID, "the CloudEvent as delivered")
	assert.Equal(t, orderID, letter.Payload.Data.OrderID)
	assert.Empty(t, sales(t), "nothing applied")

	t.Run("the metrics count it", func(t *testing.T) {
		assert.GreaterOrEqual(t, metric(t, workersPort, received), receivedBefore+1)
		assert.GreaterOrEqual(t, metric(t, workersPort, unresolved), float64(1))
		assert.Equal(t, unresolvedInDB(t), metric(t, workersPort, unresolved), "the letters the database holds")
	})

	repair()
	want := []daySales{{Date: day.Format(time.DateOnly), Orders: 1, RevenueCents: 4250, ItemsSold: 2}}
	replayed := letters.replay(t, eventID)
	assert.Equal(t, "replayed", replayed.Status)
	require.NotNil(t, replayed.ReplayedAt)
	assert.Equal(t, want, sales(t), "applied once")
	assert.Equal(t, unresolvedInDB(t), metric(t, workersPort, unresolved))

	t.Run("a second replay changes nothing", func(t *testing.T) {
		again := letters.replay(t, eventID)
		assert.Equal(t, "replayed", again.Status)
		assert.Equal(t, replayed.ReplayedAt, again.ReplayedAt)
		assert.Equal(t, want, sales(t))
	})
}
