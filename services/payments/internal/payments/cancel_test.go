package payments_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/payments/internal/payments"
	"github.com/daprshop/daprshop/services/payments/internal/payments/paymentstest"
)

func TestCancelledUnpaidOrderCancelsItsIntentOnce(t *testing.T) {
	for _, reason := range []string{"customer_cancelled", "payment_timeout"} {
		t.Run(reason, func(t *testing.T) {
			f := newFixture(t)
			order := uuid.New()
			f.charge(t, "evt-order", order, uuid.New()) // no saved card: the client would confirm
			f.cancelOrder(t, order, reason)
			f.cancelOrder(t, order, reason) // redelivered

			assert.Equal(t, 1, f.provider.Cancelled(), "one cancellation at the provider")
			assert.Equal(t, payments.IntentCancelled, f.provider.IntentStatus(order))
			assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM payments WHERE order_id = $1 AND status = 'cancelled'`, order))
			assert.Empty(t, f.provider.Refunds())
			assert.Zero(t, f.count(t, `SELECT count(*) FROM outbox WHERE topic <> 'payment.created'`))

			n, err := f.svc.Reconcile(context.Background(), time.Now().Add(time.Hour), time.Minute, 10)
			require.NoError(t, err)
			assert.Zero(t, n, "a cancelled payment is not reconciled")
			assert.Equal(t, 1, f.provider.Cancelled())
		})
	}
}

func TestOrderCancelledBeforeItsChargeGetsNoIntent(t *testing.T) {
	f := newFixture(t)
	user, order := uuid.New(), uuid.New()
	f.saveCard(t, user)
	f.cancelOrder(t, order, "payment_timeout") // order.created still on its way
	f.charge(t, "evt-order", order, user)
	f.charge(t, "evt-order", order, user) // redelivered

	assert.Zero(t, f.provider.Created(), "no intent")
	assert.Empty(t, f.provider.Charged(), "the saved card is not charged")
	assert.Zero(t, f.count(t, `SELECT count(*) FROM payments`))
	assert.Zero(t, f.count(t, `SELECT count(*) FROM outbox`))
}

func TestOrderCancelledWhileItsIntentIsCreated(t *testing.T) {
	t.Run("the client's intent is cancelled at once", func(t *testing.T) {
		f := newFixture(t)
		order := uuid.New()
		f.provider.BeforeCreate = func() { f.cancelOrder(t, order, "customer_cancelled") }
		f.charge(t, "evt-order", order, uuid.New())

		assert.Equal(t, 1, f.provider.Created())
		assert.Equal(t, payments.IntentCancelled, f.provider.IntentStatus(order))
		assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM payments WHERE order_id = $1 AND status = 'cancelled'`, order))
		assert.Zero(t, f.count(t, `SELECT count(*) FROM outbox`), "no payment.created for a cancelled order")
	})
	t.Run("the saved card's charge is refunded", func(t *testing.T) {
		f := newFixture(t)
		user, order := uuid.New(), uuid.New()
		f.saveCard(t, user)
		f.provider.BeforeCreate = func() { f.cancelOrder(t, order, "customer_cancelled") }
		f.charge(t, "evt-order", order, user)
		f.deliver(t, "evt_succeeded", payments.IntentSucceeded, "pi_"+order.String())

		f.assertRefundedOnce(t, order)
		assert.Zero(t, f.events(t, "payment.created"))
	})
}

func TestSucceededAfterCancelIsRefundedOnce(t *testing.T) {
	f := newFixture(t)
	order := uuid.New()
	intent := "pi_" + order.String()
	f.charge(t, "evt-order", order, uuid.New())
	f.provider.Settle(order, payments.IntentSucceeded, "") // the client confirmed; its webhook is late

	f.cancelOrder(t, order, "customer_cancelled") // the provider refuses: succeeded
	f.cancelOrder(t, order, "customer_cancelled") // redelivered
	f.deliver(t, "evt_succeeded", payments.IntentSucceeded, intent)
	f.deliver(t, "evt_succeeded", payments.IntentSucceeded, intent) // redelivered
	_, err := f.svc.Reconcile(context.Background(), time.Now().Add(time.Hour), time.Minute, 10)
	require.NoError(t, err)

	assert.Zero(t, f.provider.Cancelled())
	f.assertRefundedOnce(t, order)
}

func TestCancelledOrderWithADeclinedPayment(t *testing.T) {
	// A decline cancels the order (payment.failed), whose order.cancelled
	// closes the intent the client could otherwise confirm again.
	f := newFixture(t)
	user, order := uuid.New(), uuid.New()
	f.saveCard(t, user)
	f.charge(t, "evt-order", order, user)
	f.provider.Settle(order, payments.IntentAwaitingMethod, decline)
	f.deliver(t, "evt_failed", payments.IntentAwaitingMethod, "pi_"+order.String())
	f.cancelOrder(t, order, "payment_failed")
	f.cancelOrder(t, order, "payment_failed")

	assert.Equal(t, payments.IntentCancelled, f.provider.IntentStatus(order))
	assert.Equal(t, 1, f.provider.Cancelled())
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM payments WHERE order_id = $1 AND status = 'failed'`, order))
	assert.Equal(t, 1, f.events(t, "payment.failed"))
}

func TestCancellingAPaidPaymentRefundsIt(t *testing.T) {
	// payment.succeeded was on its way to orders when the order was
	// cancelled: orders only records it; payments gives the money back.
	f := newFixture(t)
	order, _ := f.paidOrder(t)
	f.cancelOrder(t, order, "admin_cancelled")
	f.cancelOrder(t, order, "admin_cancelled")

	refunds := f.provider.Refunds()
	require.Len(t, refunds, 1)
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM payments WHERE order_id = $1 AND refunded_cents = 1500`, order))
	assert.Equal(t, 1, f.events(t, "payment.refunded"))
}

func TestProcessingPaymentOfACancelledOrder(t *testing.T) {
	for _, tt := range []struct {
		name             string
		status           payments.IntentStatus
		failure          string
		byReconciliation bool
	}{
		{"succeeds, told by webhook", payments.IntentSucceeded, "", false},
		{"succeeds, found by reconciliation", payments.IntentSucceeded, "", true},
		{"declines, told by webhook", payments.IntentAwaitingMethod, decline, false},
		{"declines, found by reconciliation", payments.IntentAwaitingMethod, decline, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.provider.Async = true
			user, order := uuid.New(), uuid.New()
			f.saveCard(t, user)
			f.charge(t, "evt-order", order, user)
			f.cancelOrder(t, order, "payment_timeout")
			assert.Equal(t, payments.IntentProcessing, f.provider.IntentStatus(order), "a processing intent cannot be cancelled")
			assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM payments WHERE order_id = $1 AND status = 'processing'`, order))

			f.provider.Settle(order, tt.status, tt.failure)
			for range 2 { // a redelivery, a second run: nothing more
				if tt.byReconciliation {
					_, err := f.svc.Reconcile(context.Background(), time.Now().Add(time.Hour), time.Minute, 10)
					require.NoError(t, err)
				} else {
					f.deliver(t, "evt_verdict", tt.status, "pi_"+order.String())
				}
			}

			if tt.status == payments.IntentSucceeded {
				f.assertRefundedOnce(t, order)
				return
			}
			assert.Equal(t, payments.IntentCancelled, f.provider.IntentStatus(order), "the declined intent cannot be retried")
			assert.Equal(t, 1, f.provider.Cancelled())
			assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM payments
				WHERE order_id = $1 AND status = 'failed' AND failure_message = $2`, order, tt.failure), "the verdict stands")
			assert.Empty(t, f.provider.Refunds())
			assert.Zero(t, f.events(t, "payment.failed"), "the order is over: nothing to tell")
		})
	}
}

func TestChargeRacingTheCancellationLeavesNoIntentOpen(t *testing.T) {
	// The worst interleaving: the charge has found no cancellation and is
	// about to commit its payment when the cancellation looks for that
	// payment. The outbox, locked, holds the charge there.
	f := newFixture(t)
	ctx := context.Background()
	order := uuid.New()
	tx, err := f.pool.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `LOCK TABLE outbox IN EXCLUSIVE MODE`)
	require.NoError(t, err)
	// Only this test's database: other tests share the server.
	waiting := func() int {
		return f.count(t, `SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
			WHERE NOT l.granted AND d.datname = current_database()`)
	}

	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		assert.NoError(t, f.svc.Charge(ctx, "evt-order", paymentstest.Order(order, uuid.New())))
	}()
	require.Eventually(t, func() bool { return waiting() == 1 }, 10*time.Second, 10*time.Millisecond, "the charge waits to publish")
	cancelled := make(chan struct{})
	go func() {
		defer wg.Done()
		defer close(cancelled)
		assert.NoError(t, f.svc.CancelOrder(ctx, order, "customer_cancelled"))
	}()
	require.Eventually(t, func() bool {
		select {
		case <-cancelled:
			return true
		default:
			return waiting() == 2 // the cancellation waits for the charge
		}
	}, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, tx.Rollback(ctx))
	wg.Wait()

	assert.Equal(t, payments.IntentCancelled, f.provider.IntentStatus(order))
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM payments WHERE order_id = $1 AND status = 'cancelled'`, order))
	assert.Equal(t, 1, f.provider.Cancelled())
}
