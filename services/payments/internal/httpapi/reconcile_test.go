package httpapi_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/payments/internal/httpapi"
	"github.com/daprshop/daprshop/services/platform/contracts"
)

func TestReconcileSettlesWhatTheWebhookMissed(t *testing.T) {
	f := newFixture(t)
	user, order := uuid.New(), uuid.New()
	f.insertCard(t, user, "visa", "4242", true, 0)
	f.charge(t, "evt-order", order, user) // the intent succeeded; its webhook never comes
	other := uuid.New()
	f.charge(t, "evt-other", other, uuid.New()) // no card: still awaiting the client

	later := time.Now().Add(time.Hour)
	for range 2 { // a second run changes nothing
		_, err := f.svc.Reconcile(context.Background(), later, time.Minute, 10)
		require.NoError(t, err)
	}
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM payments WHERE order_id = $1 AND status = 'succeeded'`, order))
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM payments WHERE order_id = $1 AND status = 'pending'`, other))
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM outbox WHERE topic = 'payment.succeeded'`))
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM invoices WHERE order_id = $1`, order))

	t.Run("recent payments are left to their webhook", func(t *testing.T) {
		fresh := uuid.New()
		f.charge(t, "evt-fresh", fresh, user)
		n, err := f.svc.Reconcile(context.Background(), time.Now(), time.Minute, 10)
		require.NoError(t, err)
		assert.Zero(t, n)
		assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM payments WHERE order_id = $1 AND status = 'processing'`, fresh))
	})
	t.Run("the late webhook changes nothing", func(t *testing.T) {
		payload := intentEvent(t, "evt_late", "payment_intent.succeeded", "pi_"+order.String())
		require.Equal(t, http.StatusOK, f.webhook(t, payload, sign(payload, webhookSecret, time.Now())))
		assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM outbox WHERE topic = 'payment.succeeded'`))
	})
}

func TestReconcileWaitsForProcessingIntents(t *testing.T) {
	for _, tt := range []struct {
		name, status, failure string
		topic, webhook        string
		paymentStatus         string
		invoices              int
	}{
		{"settled as succeeded", "succeeded", "", "payment.succeeded", "payment_intent.succeeded", "succeeded", 1},
		{"settled as declined", "requires_payment_method", "generic_decline: Your card was declined.",
			"payment.failed", "payment_intent.payment_failed", "failed", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.provider.async = true
			user, order := uuid.New(), uuid.New()
			intent := "pi_" + order.String()
			f.insertCard(t, user, "visa", "0077", true, 0)
			f.charge(t, "evt-order", order, user)
			require.Equal(t, 1, f.count(t, `SELECT count(*) FROM payments WHERE order_id = $1 AND status = 'processing'`, order))
			settledEvents := `SELECT count(*) FROM outbox WHERE topic IN ('payment.succeeded', 'payment.failed')`
			later := time.Now().Add(time.Hour)
			reconcile := func() int {
				t.Helper()
				n, err := f.svc.Reconcile(context.Background(), later, time.Minute, 10)
				require.NoError(t, err)
				return n
			}

			payload := intentEvent(t, "evt_processing", "payment_intent.processing", intent)
			assert.Equal(t, http.StatusOK, f.webhook(t, payload, sign(payload, webhookSecret, time.Now())), "acknowledged")
			assert.Zero(t, reconcile(), "still processing: left for a later run")
			assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM payments WHERE order_id = $1 AND status = 'processing'`, order))
			assert.Zero(t, f.count(t, settledEvents))

			f.provider.settle(order, tt.status, tt.failure)
			assert.Equal(t, 1, reconcile(), "the verdict is in: settled")
			assert.Zero(t, reconcile(), "a second run changes nothing")
			assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM payments WHERE order_id = $1 AND status = $2`, order, tt.paymentStatus))
			assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM outbox WHERE topic = $1 AND payload->>'order_id' = $2`, tt.topic, order.String()))
			assert.Equal(t, 1, f.count(t, settledEvents))
			assert.Equal(t, tt.invoices, f.count(t, `SELECT count(*) FROM invoices WHERE order_id = $1`, order))

			payload = intentEvent(t, "evt_late", tt.webhook, intent)
			require.Equal(t, http.StatusOK, f.webhook(t, payload, sign(payload, webhookSecret, time.Now())), "the late webhook")
			assert.Equal(t, 1, f.count(t, settledEvents), "changes nothing")
			assert.Equal(t, tt.invoices, f.count(t, `SELECT count(*) FROM invoices WHERE order_id = $1`, order))
		})
	}
}

// backdate makes order's payment minutes older.
func (f fixture) backdate(t *testing.T, order uuid.UUID, minutes int) {
	t.Helper()
	_, err := f.pool.Exec(context.Background(), `UPDATE payments
		SET created_at = created_at - make_interval(mins => $2), updated_at = updated_at - make_interval(mins => $2)
		WHERE order_id = $1`, order, minutes)
	require.NoError(t, err)
}

func TestReconcileReachesEveryPaymentInTurn(t *testing.T) {
	f := newFixture(t)
	// Three payments whose client never confirms, older than the one whose
	// webhook is lost: a batch of two must not keep taking the same ones.
	for i := range 3 {
		order := uuid.New()
		f.charge(t, fmt.Sprintf("evt-open-%d", i), order, uuid.New())
		f.backdate(t, order, 30-i)
	}
	user, paid := uuid.New(), uuid.New()
	f.insertCard(t, user, "visa", "4242", true, 0)
	f.charge(t, "evt-paid", paid, user)

	later := time.Now().Add(time.Hour)
	n, err := f.svc.Reconcile(context.Background(), later, time.Minute, 2)
	require.NoError(t, err)
	assert.Zero(t, n, "the two oldest are still awaiting their client")
	n, err = f.svc.Reconcile(context.Background(), later.Add(time.Minute), time.Minute, 2)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "the next run starts with the payments the first did not reach")
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM payments WHERE order_id = $1 AND status = 'succeeded'`, paid))
	assert.Equal(t, 3, f.count(t, `SELECT count(*) FROM payments WHERE status = 'pending'`))
}

func TestReconcileRacingTheWebhooksSettlesOnce(t *testing.T) {
	f := newFixture(t)
	user := uuid.New()
	f.insertCard(t, user, "visa", "4242", true, 0)
	const orders = 10
	ids := make([]uuid.UUID, orders)
	for i := range ids {
		ids[i] = uuid.New()
		f.charge(t, fmt.Sprintf("evt-order-%d", i), ids[i], user)
	}
	later := time.Now().Add(time.Hour)
	var wg sync.WaitGroup
	for i, order := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			payload := intentEvent(t, fmt.Sprintf("evt_succeeded_%d", i), "payment_intent.succeeded", "pi_"+order.String())
			assert.Equal(t, http.StatusOK, f.webhook(t, payload, sign(payload, webhookSecret, time.Now())))
		}()
	}
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.svc.Reconcile(context.Background(), later, time.Minute, orders)
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	assert.Equal(t, orders, f.count(t, `SELECT count(*) FROM payments WHERE status = 'succeeded'`))
	assert.Equal(t, orders, f.count(t, `SELECT count(*) FROM outbox WHERE topic = 'payment.succeeded'`), "one event per payment")
	assert.Equal(t, orders, f.count(t, `SELECT count(*) FROM invoices`), "one invoice per payment")
}

func TestReconcileEndpoint(t *testing.T) {
	f := newFixture(t)
	httpapi.MountReconcile(f.app, f.svc, slog.New(slog.DiscardHandler), time.Hour, time.Now)
	user, order := uuid.New(), uuid.New()
	f.insertCard(t, user, "visa", "4242", true, 0)
	f.charge(t, "evt-order", order, user) // succeeded; its webhook never comes

	for _, tt := range []struct {
		name, query string
		status      int
		body        string
	}{
		{"younger than the configured age: left alone", "", http.StatusOK, `{"settled": 0}`},
		{"a negative age is refused", "?older_than=-1s", http.StatusUnprocessableEntity, ""},
		{"an age that is no duration is refused", "?older_than=soon", http.StatusUnprocessableEntity, ""},
		{"an explicit age takes the payment", "?older_than=0s", http.StatusOK, `{"settled": 1}`},
		{"once", "?older_than=0s", http.StatusOK, `{"settled": 0}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := f.do(t, http.MethodPost, contracts.ReconcilePaymentsPath+tt.query, "", nil)
			require.Equal(t, tt.status, resp.StatusCode, string(body))
			if tt.body != "" {
				assert.JSONEq(t, tt.body, string(body))
			}
		})
	}
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM payments WHERE order_id = $1 AND status = 'succeeded'`, order))
}
