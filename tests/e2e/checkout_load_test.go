package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/authn"
)

// BenchmarkCheckout is a bounded load run on POST /api/v1/checkout through
// the gateway: 8 clients for 10s, each iteration a new customer who adds one
// product to the cart (not timed) and checks out (timed). It reports
// checkout rps, p50 and p99, then the outbox lag of the run's order.created
// events: from the order's transaction (outbox.created_at) to the
// notifications consumer recording it (its processed_events.processed_at),
// p50 and p99. Start the system without rate limits:
//
//	RATE_LIMITS=off go test -run '^$' -bench Checkout -benchtime 1x ./e2e
func BenchmarkCheckout(b *testing.B) {
	const (
		clients  = 8
		duration = 10 * time.Second
	)
	admin := "Bearer " + token(b, uuid.New(), authn.RoleAdmin)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}, Timeout: 30 * time.Second}
	send := func(method, path, auth, key, body string) (int, []byte, error) {
		req, err := http.NewRequest(method, gatewayURL+path, strings.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", auth)
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, b, err
	}
	sku := "LOADCO-" + uuid.NewString()[:8]
	status, body, err := send(http.MethodPost, "/api/v1/products", admin, "",
		`{"sku": "`+sku+`", "name": "Load Checkout Mug", "price_cents": 1000, "initial_stock": 1000000}`)
	require.NoError(b, err)
	require.Equal(b, http.StatusCreated, status, "%s", body)
	var p struct{ ID string }
	require.NoError(b, json.Unmarshal(body, &p))
	addBody := fmt.Sprintf(`{"product_id": %q, "quantity": 1}`, p.ID)

	for b.Loop() {
		took, failed := loadRun(clients, duration, func() (time.Duration, bool) {
			customer := "Bearer " + token(b, uuid.New(), authn.RoleCustomer)
			if status, _, err := send(http.MethodPost, "/api/v1/cart/items", customer, "", addBody); err != nil || status != http.StatusOK {
				return 0, false
			}
			start := time.Now()
			status, _, err := send(http.MethodPost, "/api/v1/checkout", customer, uuid.NewString(), address)
			return time.Since(start), err == nil && status == http.StatusCreated
		})
		require.NotEmpty(b, took)
		b.ReportMetric(float64(len(took))/duration.Seconds(), "checkouts/s")
		reportLatencies(b, "checkout", took)
		b.ReportMetric(float64(failed), "errors")

		lags := outboxLags(b, p.ID, len(took)-failed)
		b.ReportMetric(ms(lags[len(lags)/2]), "lag-p50-ms")
		b.ReportMetric(ms(lags[len(lags)*99/100]), "lag-p99-ms")
		b.Logf("checkouts=%d failed=%d events=%d", len(took), failed, len(lags))
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// outboxLags waits for the notifications consumer to have recorded the
// order.created events of orders for productID (at least want of them) and
// returns each one's lag, sorted. Both ends are Postgres timestamps, read
// on one server's clock.
func outboxLags(b *testing.B, productID string, want int) []time.Duration {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ordersDB, err := pgx.Connect(ctx, databaseURL("orders"))
	require.NoError(b, err)
	defer ordersDB.Close(ctx)
	notifyDB, err := pgx.Connect(ctx, databaseURL("notifications"))
	require.NoError(b, err)
	defer notifyDB.Close(ctx)

	rows, _ := ordersDB.Query(ctx, `SELECT event_id::text, created_at FROM outbox
		WHERE topic = 'order.created' AND payload->'items' @> jsonb_build_array(jsonb_build_object('product_id', $1::text))`, productID)
	type written struct {
		ID string
		At time.Time
	}
	events, err := pgx.CollectRows(rows, pgx.RowToStructByPos[written])
	require.NoError(b, err)
	require.GreaterOrEqual(b, len(events), want)
	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = e.ID
	}
	consumed := map[string]time.Time{}
	require.Eventually(b, func() bool {
		rows, _ := notifyDB.Query(ctx, `SELECT event_id, processed_at FROM processed_events
			WHERE consumer = 'notifications' AND event_id = ANY($1)`, ids)
		got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[written])
		if err != nil {
			return false
		}
		for _, g := range got {
			consumed[g.ID] = g.At
		}
		return len(consumed) == len(events)
	}, time.Minute, 250*time.Millisecond, "notifications consumed every order.created")
	lags := make([]time.Duration, 0, len(events))
	for _, e := range events {
		lags = append(lags, consumed[e.ID].Sub(e.At))
	}
	slices.Sort(lags)
	return lags
}
