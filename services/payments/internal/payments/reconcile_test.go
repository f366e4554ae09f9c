package payments_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/payments/internal/payments"
)

func TestReconcileSettlesWhatTheWebhookMissed(t *testing.T) {
	f := newFixture(t)
	user, order := uuid.New(), uuid.New()
	f.saveCard(t, user)
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
		require.NoError(t, f.svc.Settle(context.Background(), intentEvent("evt_late", payments.IntentSucceeded, "pi_"+order.String())))
		assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM outbox WHERE topic = 'payment.succeeded'`))
	})
}

func TestReconcileWaitsForProcessingIntents(t *testing.T) {
	for _, tt := range []struct {
		name          string
		status        payments.IntentStatus
		failure       string
		topic         string
		paymentStatus string
		invoices      int
	}{
		{"settled as succeeded", payments.IntentSucceeded, "", "payment.succeeded", "succeeded", 1},
		{"settled as declined", payments.IntentAwaitingMethod, decline, "payment.failed", "failed", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.provider.Async = true
			user, order := uuid.New(), uuid.New()
			intent := "pi_" + order.String()
			f.saveCard(t, user)
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

			assert.NoError(t, f.svc.Settle(context.Background(), intentEvent("evt_processing", payments.IntentProcessing, intent)), "acknowledged")
			assert.Zero(t, reconcile(), "still processing: left for a later run")
			assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM payments WHERE order_id = $1 AND status = 'processing'`, order))
			assert.Zero(t, f.count(t, settledEvents))

			f.provider.Settle(order, tt.status, tt.failure)
			assert.Equal(t, 1, reconcile(), "the verdict is in: settled")
			assert.Zero(t, reconcile(), "a second run changes nothing")
			assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM payments WHERE order_id = $1 AND status = $2`, order, tt.paymentStatus))
			assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM outbox WHERE topic = $1 AND payload->>'order_id' = $2`, tt.topic, order.String()))
			assert.Equal(t, 1, f.count(t, settledEvents))
			assert.Equal(t, tt.invoices, f.count(t, `SELECT count(*) FROM invoices WHERE order_id = $1`, order))

			require.NoError(t, f.svc.Settle(context.Background(), intentEvent("evt_late", tt.status, intent)), "the late webhook")
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
	f.saveCard(t, user)
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
	f.saveCard(t, user)
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
			assert.NoError(t, f.svc.Settle(context.Background(), intentEvent(fmt.Sprintf("evt_succeeded_%d", i), payments.IntentSucceeded, "pi_"+order.String())))
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
