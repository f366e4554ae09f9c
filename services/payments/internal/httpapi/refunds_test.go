package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// paidOrder charges an order of 1500 with a saved card and applies its
// success webhook; it returns the order and payment ids.
func (f fixture) paidOrder(t *testing.T) (order, payment uuid.UUID) {
	t.Helper()
	user := uuid.New()
	order = uuid.New()
	f.insertCard(t, user, "visa", "4242", true, 0)
	f.charge(t, "evt-order-"+order.String(), order, user)
	payload := intentEvent(t, "evt_paid_"+order.String(), "payment_intent.succeeded", "pi_"+order.String())
	require.Equal(t, http.StatusOK, f.webhook(t, payload, sign(payload, webhookSecret, time.Now())))
	require.NoError(t, f.pool.QueryRow(context.Background(), `SELECT id FROM payments WHERE order_id = $1`, order).Scan(&payment))
	return order, payment
}

func TestRefunds(t *testing.T) {
	f := newFixture(t)
	admin := f.issuer.Token(t, uuid.NewString(), "ADMIN")
	_, payment := f.paidOrder(t)
	path := fmt.Sprintf("/api/v1/payments/%s/refunds", payment)

	tests := []struct {
		name     string
		token    string
		body     any
		want     int
		refunded int
	}{
		{"customers may not refund", f.issuer.Token(t, uuid.NewString()), map[string]int{"amount_cents": 100}, http.StatusForbidden, 0},
		{"a negative amount is invalid", admin, map[string]int{"amount_cents": -5}, http.StatusUnprocessableEntity, 0},
		{"partial", admin, map[string]int{"amount_cents": 400}, http.StatusCreated, 400},
		{"above what is left", admin, map[string]int{"amount_cents": 1101}, http.StatusConflict, 400},
		{"the rest", admin, nil, http.StatusCreated, 1500},
		{"nothing left", admin, nil, http.StatusConflict, 1500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := f.do(t, http.MethodPost, path, tt.token, tt.body)
			assert.Equal(t, tt.want, resp.StatusCode, string(body))
			assert.Equal(t, tt.refunded, f.count(t, `SELECT refunded_cents FROM payments WHERE id = $1`, payment))
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
		resp, _ := f.do(t, http.MethodPost, fmt.Sprintf("/api/v1/payments/%s/refunds", id), admin, nil)
		assert.Equal(t, http.StatusConflict, resp.StatusCode)
	})
}

func TestConcurrentRefundsNeverExceedThePayment(t *testing.T) {
	f := newFixture(t)
	admin := f.issuer.Token(t, uuid.NewString(), "ADMIN")
	_, payment := f.paidOrder(t)
	path := fmt.Sprintf("/api/v1/payments/%s/refunds", payment)
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := 0
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, body := f.do(t, http.MethodPost, path, admin, map[string]int{"amount_cents": 400})
			assert.Contains(t, []int{http.StatusCreated, http.StatusConflict}, resp.StatusCode, string(body))
			if resp.StatusCode == http.StatusCreated {
				mu.Lock()
				created++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 3, created, "3 × 400 fit in 1500, a fourth does not")
	assert.Equal(t, 1200, f.count(t, `SELECT refunded_cents FROM payments WHERE id = $1`, payment))
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
	admin := f.issuer.Token(t, uuid.NewString(), "ADMIN")
	_, payment := f.paidOrder(t)
	f.provider.mu.Lock()
	f.provider.refuse = true
	f.provider.mu.Unlock()
	resp, body := f.do(t, http.MethodPost, fmt.Sprintf("/api/v1/payments/%s/refunds", payment), admin, map[string]int{"amount_cents": 500})
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode, string(body))
	assert.Equal(t, 0, f.count(t, `SELECT refunded_cents FROM payments WHERE id = $1`, payment))
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM refunds WHERE payment_id = $1 AND status = 'failed'`, payment))
	assert.Equal(t, 0, f.count(t, `SELECT count(*) FROM outbox WHERE topic = 'payment.refunded'`))
}
