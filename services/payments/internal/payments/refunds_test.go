package payments_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/payments/internal/payments"
	"github.com/daprshop/daprshop/services/payments/internal/payments/paymentstest"
	"github.com/daprshop/daprshop/services/platform/apperr"
	"github.com/daprshop/daprshop/services/platform/contracts"
)

// refund asks to refund amountCents (0: all that is left) of payment with
// key, as an admin's request identified by its amount.
func (f fixture) refund(t *testing.T, payment uuid.UUID, key string, amountCents int64) (payments.Refund, error) {
	t.Helper()
	return f.svc.Refund(context.Background(), payments.RefundRequest{
		PaymentID: payment, AmountCents: amountCents, Key: key, RequestHash: fmt.Sprint("amount:", amountCents),
	})
}

// answered is the answer r gives its request, whether it is the first or
// a replay.
func answered(r payments.Refund) payments.Refund {
	r.Replayed = false
	return r
}

func TestRefundOf(t *testing.T) {
	paid := payments.Payment{Status: payments.StatusSucceeded, AmountCents: 1500, RefundedCents: 400}
	forints := payments.Payment{Status: payments.StatusSucceeded, Provider: "paypal", AmountCents: 150000, RefundedCents: 50000, Currency: "HUF"}
	for _, tt := range []struct {
		name    string
		payment payments.Payment
		asked   int64
		want    int64
		err     error
	}{
		{"part of what is left", paid, 300, 300, nil},
		{"all that is left, named", paid, 1100, 1100, nil},
		{"all that is left, unnamed", paid, 0, 1100, nil},
		{"above what is left", paid, 1101, 0, payments.ErrOverRefund},
		{"far above what is left", paid, math.MaxInt64, 0, payments.ErrOverRefund},
		{"a negative amount", paid, -1, 0, payments.ErrOverRefund},
		{"nothing left", payments.Payment{Status: payments.StatusSucceeded, AmountCents: 1500, RefundedCents: 1500}, 0, 0, payments.ErrOverRefund},
		{"a pending payment", payments.Payment{Status: payments.StatusPending, AmountCents: 1500}, 100, 0, payments.ErrNotRefundable},
		{"a failed payment", payments.Payment{Status: payments.StatusFailed, AmountCents: 1500}, 0, 0, payments.ErrNotRefundable},
		{"whole forints by PayPal", forints, 50000, 50000, nil},
		{"the forints left by PayPal", forints, 0, 100000, nil},
		{"fillér by PayPal", forints, 50050, 0, payments.ErrRefundUnpayable},
		{"fillér by Stripe", payments.Payment{Status: payments.StatusSucceeded, Provider: "stripe", AmountCents: 150000, Currency: "HUF"}, 50050, 50050, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := payments.RefundOf(tt.asked)(tt.payment)
			assert.ErrorIs(t, err, tt.err)
			assert.Equal(t, tt.want, got)
		})
	}
	t.Run("an amount the provider cannot refund says so by its code", func(t *testing.T) {
		_, err := payments.RefundOf(50050)(forints)
		var ae *apperr.Error
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, apperr.Invalid, ae.Kind)
		assert.Equal(t, "not_payable", ae.Code)
	})
}

func TestOnRefunded(t *testing.T) {
	p := payments.Payment{ID: uuid.New(), OrderID: uuid.New(), UserID: uuid.New(), IntentID: "pi_1", AmountCents: 1500, Currency: "USD"}
	at := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	assert.Equal(t, []payments.Event{{Topic: payments.TopicPaymentRefunded, Payload: contracts.PaymentRefundedV1{
		OrderID: p.OrderID, PaymentID: p.ID, UserID: p.UserID, PaymentIntentID: "pi_1",
		Status: payments.RefundSucceeded, AmountCents: 400, Currency: "USD", RefundedAt: at,
	}}}, payments.OnRefunded(p, payments.Refund{AmountCents: 400, Currency: "USD"}, at))
}

func TestRefundGivesBackAtMostWhatIsLeft(t *testing.T) {
	f := newFixture(t)
	_, payment := f.paidOrder(t)

	tests := []struct {
		name     string
		amount   int64
		err      error
		refunded int
	}{
		{"partial", 400, nil, 400},
		{"above what is left", 1101, payments.ErrOverRefund, 400},
		{"far above what is left", math.MaxInt64, payments.ErrOverRefund, 400},
		{"the rest", 0, nil, 1500},
		{"nothing left", 0, payments.ErrOverRefund, 1500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.refund(t, payment, uuid.NewString(), tt.amount)
			assert.ErrorIs(t, err, tt.err)
			assert.Equal(t, tt.refunded, f.refunded(t, payment))
		})
	}
	assert.Equal(t, 2, f.count(t, `SELECT count(*) FROM outbox WHERE topic = 'payment.refunded'`))
	assert.Equal(t, 1500, f.count(t, `SELECT sum(amount_cents) FROM refunds WHERE status = 'succeeded'`))
	assert.Equal(t, 2, f.count(t, `SELECT count(*) FROM outbox o JOIN refunds r ON r.amount_cents = (o.payload->>'amount_cents')::bigint
		WHERE o.topic = 'payment.refunded' AND (o.payload->>'refunded_at')::timestamptz = r.updated_at`), "each event dated by its refund")

	t.Run("an unpaid payment cannot be refunded", func(t *testing.T) {
		order := uuid.New()
		f.charge(t, "evt-unpaid", order, uuid.New())
		var id uuid.UUID
		require.NoError(t, f.pool.QueryRow(context.Background(), `SELECT id FROM payments WHERE order_id = $1`, order).Scan(&id))
		_, err := f.refund(t, id, uuid.NewString(), 0)
		assert.ErrorIs(t, err, payments.ErrNotRefundable)
	})
}

func TestRefundIsOncePerKeyOfAPayment(t *testing.T) {
	f := newFixture(t)
	_, payment := f.paidOrder(t)
	first, err := f.refund(t, payment, "k", 400)
	require.NoError(t, err)
	assert.False(t, first.Replayed)

	again, err := f.refund(t, payment, "k", 400)
	require.NoError(t, err)
	assert.True(t, again.Replayed)
	assert.Equal(t, answered(first), answered(again), "the same answer")

	_, err = f.refund(t, payment, "k", 500)
	assert.ErrorIs(t, err, payments.ErrKeyReused, "the key with another request")

	_, other := f.paidOrder(t)
	elsewhere, err := f.refund(t, other, "k", 400)
	require.NoError(t, err)
	assert.NotEqual(t, first.ID, elsewhere.ID, "the same key on another payment is another refund")
	assert.Equal(t, 400, f.refunded(t, other))
	assert.Equal(t, 400, f.refunded(t, payment), "refunded once")
	assert.Len(t, f.provider.Refunds(), 2, "one refund per payment at the provider")
}

// refundConcurrently asks n identical refunds of payment at once and
// returns their answers.
func (f fixture) refundConcurrently(t *testing.T, n int, payment uuid.UUID, key string, amountCents int64) []payments.Refund {
	t.Helper()
	answers := make([]payments.Refund, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := f.refund(t, payment, key, amountCents)
			assert.NoError(t, err)
			answers[i] = answered(r)
		}()
	}
	wg.Wait()
	return answers
}

func TestConcurrentIdenticalRefundsRefundOnce(t *testing.T) {
	f := newFixture(t)
	_, payment := f.paidOrder(t)
	answers := f.refundConcurrently(t, 10, payment, "same-key", 400)
	for _, a := range answers[1:] {
		assert.Equal(t, answers[0], a, "every request answers the same refund")
	}
	assert.Equal(t, 400, f.refunded(t, payment))
	assert.Len(t, f.provider.Refunds(), 1, "one refund at the provider")
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM refunds`))
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM outbox WHERE topic = 'payment.refunded'`))
}

func TestConcurrentRefundsNeverExceedThePayment(t *testing.T) {
	f := newFixture(t)
	_, payment := f.paidOrder(t)
	var wg sync.WaitGroup
	var created atomic.Int32
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.refund(t, payment, uuid.NewString(), 400)
			assert.True(t, err == nil || errors.Is(err, payments.ErrOverRefund), "%v", err)
			if err == nil {
				created.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.EqualValues(t, 3, created.Load(), "3 × 400 fit in 1500, a fourth does not")
	assert.Equal(t, 1200, f.refunded(t, payment))
}

// The client gave up on a slow refund (a gateway timeout) and retried it
// while the first request was still waiting for the provider.
func TestRefundRetriedWhileTheFirstIsRunningRefundsOnce(t *testing.T) {
	f := newFixture(t)
	_, payment := f.paidOrder(t)
	entered, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	f.provider.BeforeRefund = func() {
		if calls.Add(1) == 1 { // the first call hangs until the retry is answered
			close(entered)
			<-release
		}
	}
	firstDone := make(chan payments.Refund)
	go func() {
		r, err := f.refund(t, payment, "slow", 700)
		assert.NoError(t, err)
		firstDone <- answered(r)
	}()
	<-entered
	retried, err := f.refund(t, payment, "slow", 700)
	require.NoError(t, err)
	close(release)
	assert.Equal(t, answered(retried), <-firstDone, "both answer the same refund")
	assert.Equal(t, 700, f.refunded(t, payment))
	assert.Len(t, f.provider.Refunds(), 1, "one refund at the provider")
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM outbox WHERE topic = 'payment.refunded'`))
}

func TestCancelledPaidOrderIsRefundedOnce(t *testing.T) {
	f := newFixture(t)
	order, payment := f.paidOrder(t)
	for range 2 { // redelivered
		require.NoError(t, f.svc.RefundOrder(context.Background(), "evt-cancel-1", order))
	}
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM refunds WHERE payment_id = $1 AND status = 'succeeded' AND amount_cents = 1500`, payment))
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM outbox WHERE topic = 'payment.refunded'`))
}

func TestRefusedRefundGivesTheAmountBack(t *testing.T) {
	f := newFixture(t)
	_, payment := f.paidOrder(t)
	f.provider.SetRefuse(true)
	_, err := f.refund(t, payment, "refused", 500)
	assert.ErrorIs(t, err, payments.ErrRefundFailed)
	assert.Equal(t, apperr.BadGateway, apperr.KindOf(err))
	assert.Zero(t, f.refunded(t, payment))
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM refunds WHERE payment_id = $1 AND status = 'failed'`, payment))
	assert.Zero(t, f.count(t, `SELECT count(*) FROM outbox WHERE topic = 'payment.refunded'`))

	f.provider.SetRefuse(false)
	_, err = f.refund(t, payment, "refused", 500)
	assert.ErrorIs(t, err, payments.ErrRefundFailed, "the key answers as it did")
	_, err = f.refund(t, payment, "another", 1500)
	assert.NoError(t, err, "the amount is refundable again")
}

func TestRefundLeftPendingByAnOutageIsSettledByReconciliation(t *testing.T) {
	f := newFixture(t)
	_, payment := f.paidOrder(t)
	f.provider.SetDown(true)

	_, err := f.refund(t, payment, "during-outage", 600)
	require.ErrorIs(t, err, paymentstest.ErrOutage)
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM refunds WHERE status = 'pending'`))
	assert.Equal(t, 600, f.refunded(t, payment), "held while pending")
	_, err = f.refund(t, payment, uuid.NewString(), 901)
	assert.ErrorIs(t, err, payments.ErrOverRefund, "the held amount cannot be refunded twice")

	_, err = f.svc.Reconcile(context.Background(), time.Now().Add(time.Hour), time.Minute, 10)
	require.Error(t, err, "the provider is still down")
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM refunds WHERE status = 'pending'`), "left for a later run")

	f.provider.SetDown(false)
	n, err := f.svc.Reconcile(context.Background(), time.Now(), time.Minute, 10)
	require.NoError(t, err)
	assert.Zero(t, n, "recent refunds are left to their request")
	assert.Equal(t, 1, f.reconcile(t), "settled")
	assert.Zero(t, f.reconcile(t), "a second run changes nothing")
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM refunds WHERE status = 'succeeded' AND amount_cents = 600`))
	assert.Equal(t, 600, f.refunded(t, payment))
	assert.Len(t, f.provider.Refunds(), 1)
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM outbox WHERE topic = 'payment.refunded'`))

	r, err := f.refund(t, payment, "during-outage", 600)
	assert.NoError(t, err, "the retry finds the refund settled")
	assert.Equal(t, payments.RefundSucceeded, r.Status)
	assert.Len(t, f.provider.Refunds(), 1)
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM outbox WHERE topic = 'payment.refunded'`))
}

func TestRefundsThePaymentProviderHoldsPending(t *testing.T) {
	for _, tt := range []struct {
		verdict, status string
		refunded        int
		events          int
	}{
		{"succeeded", "succeeded", 600, 1},
		{"failed", "failed", 0, 0},
		{"canceled", "failed", 0, 0},
	} {
		t.Run(tt.verdict, func(t *testing.T) {
			f := newFixture(t)
			_, payment := f.paidOrder(t)
			f.provider.RefundsPending = true
			first, err := f.refund(t, payment, "held", 600)
			require.NoError(t, err)
			assert.Equal(t, payments.RefundPending, first.Status)
			assert.Zero(t, f.reconcile(t), "still pending at the provider")
			assert.Equal(t, 600, f.refunded(t, payment), "held")

			f.provider.SettleRefunds(tt.verdict)
			assert.Equal(t, 1, f.reconcile(t))
			assert.Zero(t, f.reconcile(t), "once")
			assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM refunds WHERE status = $1`, tt.status))
			assert.Equal(t, tt.refunded, f.refunded(t, payment))
			assert.Equal(t, tt.events, f.count(t, `SELECT count(*) FROM outbox WHERE topic = 'payment.refunded'`))

			replayed, err := f.refund(t, payment, "held", 600)
			assert.NoError(t, err)
			assert.Equal(t, answered(first), answered(replayed), "the key answers as it first did")
			_, err = f.refund(t, payment, "next", 0)
			assert.NoError(t, err)
			assert.Equal(t, 1500, f.refunded(t, payment), "the rest, a released amount included")
		})
	}
}

// A refund the provider made but whose answer was lost (a timeout) is
// found by reconciliation, never made a second time.
func TestRefundWhoseAnswerWasLostIsFoundNotRepeated(t *testing.T) {
	f := newFixture(t)
	_, payment := f.paidOrder(t)
	f.provider.SetLoseAnswers(true)
	_, err := f.refund(t, payment, "lost", 300)
	require.ErrorIs(t, err, paymentstest.ErrOutage)
	require.Len(t, f.provider.Refunds(), 1, "made at the provider")

	f.provider.SetLoseAnswers(false)
	f.provider.SetRefuse(true) // asking again would be refused: only finding it settles it
	assert.Equal(t, 1, f.reconcile(t))
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM refunds WHERE status = 'succeeded'`))
	assert.Equal(t, 300, f.refunded(t, payment))
	assert.Len(t, f.provider.Refunds(), 1)
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM outbox WHERE topic = 'payment.refunded'`))
}
