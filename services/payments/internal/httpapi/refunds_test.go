package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/payments/internal/payments"
	"github.com/daprshop/daprshop/services/platform/server"
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

// send makes a request with a raw body; contentType is set when not empty.
func (f fixture) send(t *testing.T, method, path, token string, header http.Header, contentType, body string) (*http.Response, []byte) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for name, values := range header {
		req.Header[name] = values
	}
	if contentType != "" {
		req.Header.Set(fiber.HeaderContentType, contentType)
	}
	if token != "" {
		req.Header.Set(fiber.HeaderAuthorization, "Bearer "+token)
	}
	resp, err := f.app.Test(req, -1)
	require.NoError(t, err)
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, out
}

// refund asks to refund payment with key; body is JSON, or nothing when empty.
func (f fixture) refund(t *testing.T, payment uuid.UUID, token, key, body string) (*http.Response, []byte) {
	t.Helper()
	contentType := ""
	if body != "" {
		contentType = fiber.MIMEApplicationJSON
	}
	return f.send(t, http.MethodPost, fmt.Sprintf("/api/v1/payments/%s/refunds", payment), token,
		http.Header{server.HeaderIdempotencyKey: {key}}, contentType, body)
}

// refunded is what the payment has given back or holds for a refund.
func (f fixture) refunded(t *testing.T, payment uuid.UUID) int {
	t.Helper()
	return f.count(t, `SELECT refunded_cents FROM payments WHERE id = $1`, payment)
}

func (f fixture) reconcile(t *testing.T) int {
	t.Helper()
	n, err := f.svc.Reconcile(context.Background(), time.Now().Add(time.Hour), time.Minute, 10)
	require.NoError(t, err)
	return n
}

func TestRefunds(t *testing.T) {
	f := newFixture(t)
	admin := f.issuer.Token(t, uuid.NewString(), "ADMIN")
	_, payment := f.paidOrder(t)

	tests := []struct {
		name     string
		token    string
		body     string
		want     int
		refunded int
	}{
		{"customers may not refund", f.issuer.Token(t, uuid.NewString()), `{"amount_cents": 100}`, http.StatusForbidden, 0},
		{"a negative amount is invalid", admin, `{"amount_cents": -5}`, http.StatusUnprocessableEntity, 0},
		{"a zero amount is invalid", admin, `{"amount_cents": 0}`, http.StatusUnprocessableEntity, 0},
		{"partial", admin, `{"amount_cents": 400}`, http.StatusCreated, 400},
		{"above what is left", admin, `{"amount_cents": 1101}`, http.StatusConflict, 400},
		{"far above what is left", admin, `{"amount_cents": 9223372036854775807}`, http.StatusConflict, 400},
		{"the rest", admin, "", http.StatusCreated, 1500},
		{"nothing left", admin, "", http.StatusConflict, 1500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := f.refund(t, payment, tt.token, uuid.NewString(), tt.body)
			assert.Equal(t, tt.want, resp.StatusCode, string(body))
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
		resp, _ := f.refund(t, id, admin, uuid.NewString(), "")
		assert.Equal(t, http.StatusConflict, resp.StatusCode)
	})
}

func TestRefundIdempotencyKeyIsRequired(t *testing.T) {
	f := newFixture(t)
	admin := f.issuer.Token(t, uuid.NewString(), "ADMIN")
	_, payment := f.paidOrder(t)
	path := fmt.Sprintf("/api/v1/payments/%s/refunds", payment)
	for name, header := range map[string]http.Header{
		"missing":      {},
		"empty":        {server.HeaderIdempotencyKey: {""}},
		"too long":     {server.HeaderIdempotencyKey: {strings.Repeat("k", 256)}},
		"not ASCII":    {server.HeaderIdempotencyKey: {"clé"}},
		"a tab inside": {server.HeaderIdempotencyKey: {"a\tb"}},
	} {
		t.Run(name, func(t *testing.T) {
			resp, body := f.send(t, http.MethodPost, path, admin, header, fiber.MIMEApplicationJSON, `{"amount_cents": 100}`)
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode, string(body))
			assert.Equal(t, server.ProblemContentType, resp.Header.Get(fiber.HeaderContentType))
			assert.Contains(t, string(body), "Idempotency-Key")
		})
	}
	assert.Zero(t, f.refunded(t, payment))
	assert.Zero(t, f.count(t, `SELECT count(*) FROM refunds`))
	assert.Empty(t, f.provider.refunds())
}

func TestRefundRetriedWithTheSameKeyIsReplayed(t *testing.T) {
	f := newFixture(t)
	admin := f.issuer.Token(t, uuid.NewString(), "ADMIN")
	_, payment := f.paidOrder(t)
	key := uuid.NewString()

	first, firstBody := f.refund(t, payment, admin, key, `{"amount_cents": 400}`)
	require.Equal(t, http.StatusCreated, first.StatusCode, string(firstBody))
	assert.Empty(t, first.Header.Get("Idempotent-Replayed"))

	for name, body := range map[string]string{
		"the same body":                  `{"amount_cents": 400}`,
		"the same body, spaced unevenly": "{ \"amount_cents\":400 }\n",
	} {
		t.Run(name, func(t *testing.T) {
			resp, got := f.refund(t, payment, f.issuer.Token(t, uuid.NewString(), "ADMIN"), key, body)
			assert.Equal(t, http.StatusCreated, resp.StatusCode, string(got))
			assert.Equal(t, "true", resp.Header.Get("Idempotent-Replayed"))
			assert.JSONEq(t, string(firstBody), string(got), "the same answer")
		})
	}
	for name, body := range map[string]string{
		"another amount": `{"amount_cents": 500}`,
		"no amount":      "",
	} {
		t.Run("the key with "+name+" is refused", func(t *testing.T) {
			resp, got := f.refund(t, payment, admin, key, body)
			assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, string(got))
			assert.Equal(t, server.ProblemContentType, resp.Header.Get(fiber.HeaderContentType))
			assert.Contains(t, string(got), "idempotency_key_reused")
		})
	}
	t.Run("the same key on another payment is another refund", func(t *testing.T) {
		_, other := f.paidOrder(t)
		resp, got := f.refund(t, other, admin, key, `{"amount_cents": 400}`)
		require.Equal(t, http.StatusCreated, resp.StatusCode, string(got))
		assert.NotEqual(t, string(firstBody), string(got))
		assert.Equal(t, 400, f.refunded(t, other))
	})
	assert.Equal(t, 400, f.refunded(t, payment), "refunded once")
	assert.Len(t, f.provider.refunds(), 2, "one refund per payment at the provider")
	assert.Equal(t, 2, f.count(t, `SELECT count(*) FROM outbox WHERE topic = 'payment.refunded'`))
}

// refundConcurrently sends n identical refunds of payment at once and
// returns their answers.
func (f fixture) refundConcurrently(t *testing.T, n int, payment uuid.UUID, token, key, body string) []string {
	t.Helper()
	answers := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, got := f.refund(t, payment, token, key, body)
			assert.Equal(t, http.StatusCreated, resp.StatusCode, string(got))
			answers[i] = string(got)
		}()
	}
	wg.Wait()
	return answers
}

func TestConcurrentIdenticalRefundsRefundOnce(t *testing.T) {
	f := newFixture(t)
	admin := f.issuer.Token(t, uuid.NewString(), "ADMIN")
	_, payment := f.paidOrder(t)
	answers := f.refundConcurrently(t, 10, payment, admin, "same-key", `{"amount_cents": 400}`)
	for _, a := range answers[1:] {
		assert.JSONEq(t, answers[0], a, "every request answers the same refund")
	}
	assert.Equal(t, 400, f.refunded(t, payment))
	assert.Len(t, f.provider.refunds(), 1, "one refund at the provider")
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM refunds`))
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM outbox WHERE topic = 'payment.refunded'`))
}

func TestConcurrentRefundsNeverExceedThePayment(t *testing.T) {
	f := newFixture(t)
	admin := f.issuer.Token(t, uuid.NewString(), "ADMIN")
	_, payment := f.paidOrder(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := 0
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, body := f.refund(t, payment, admin, uuid.NewString(), `{"amount_cents": 400}`)
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
	assert.Equal(t, 1200, f.refunded(t, payment))
}

// The client gave up on a slow refund (a gateway timeout) and retried it
// while the first request was still waiting for the provider.
func TestRefundRetriedWhileTheFirstIsRunningRefundsOnce(t *testing.T) {
	f := newFixture(t)
	admin := f.issuer.Token(t, uuid.NewString(), "ADMIN")
	_, payment := f.paidOrder(t)
	entered, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	f.provider.beforeRefund = func() {
		if calls.Add(1) == 1 { // the first call hangs until the retry is answered
			close(entered)
			<-release
		}
	}
	firstDone := make(chan string)
	go func() {
		resp, body := f.refund(t, payment, admin, "slow", `{"amount_cents": 700}`)
		assert.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
		firstDone <- string(body)
	}()
	<-entered
	resp, retried := f.refund(t, payment, admin, "slow", `{"amount_cents": 700}`)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(retried))
	close(release)
	assert.JSONEq(t, string(retried), <-firstDone, "both answer the same refund")
	assert.Equal(t, 700, f.refunded(t, payment))
	assert.Len(t, f.provider.refunds(), 1, "one refund at the provider")
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
	admin := f.issuer.Token(t, uuid.NewString(), "ADMIN")
	_, payment := f.paidOrder(t)
	f.provider.mu.Lock()
	f.provider.refuse = true
	f.provider.mu.Unlock()
	resp, body := f.refund(t, payment, admin, "refused", `{"amount_cents": 500}`)
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode, string(body))
	assert.Contains(t, string(body), "refund_failed")
	assert.Zero(t, f.refunded(t, payment))
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM refunds WHERE payment_id = $1 AND status = 'failed'`, payment))
	assert.Zero(t, f.count(t, `SELECT count(*) FROM outbox WHERE topic = 'payment.refunded'`))

	f.provider.mu.Lock()
	f.provider.refuse = false
	f.provider.mu.Unlock()
	resp, body = f.refund(t, payment, admin, "refused", `{"amount_cents": 500}`)
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode, "the key answers as it did: %s", body)
	resp, body = f.refund(t, payment, admin, "another", `{"amount_cents": 1500}`)
	assert.Equal(t, http.StatusCreated, resp.StatusCode, "the amount is refundable again: %s", body)
}

func TestRefundLeftPendingByAnOutageIsSettledByReconciliation(t *testing.T) {
	f := newFixture(t)
	admin := f.issuer.Token(t, uuid.NewString(), "ADMIN")
	_, payment := f.paidOrder(t)
	f.provider.setDown(true)

	resp, body := f.refund(t, payment, admin, "during-outage", `{"amount_cents": 600}`)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, string(body))
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM refunds WHERE status = 'pending'`))
	assert.Equal(t, 600, f.refunded(t, payment), "held while pending")
	resp, _ = f.refund(t, payment, admin, uuid.NewString(), `{"amount_cents": 901}`)
	assert.Equal(t, http.StatusConflict, resp.StatusCode, "the held amount cannot be refunded twice")

	_, err := f.svc.Reconcile(context.Background(), time.Now().Add(time.Hour), time.Minute, 10)
	require.Error(t, err, "the provider is still down")
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM refunds WHERE status = 'pending'`), "left for a later run")

	f.provider.setDown(false)
	n, err := f.svc.Reconcile(context.Background(), time.Now(), time.Minute, 10)
	require.NoError(t, err)
	assert.Zero(t, n, "recent refunds are left to their request")
	assert.Equal(t, 1, f.reconcile(t), "settled")
	assert.Zero(t, f.reconcile(t), "a second run changes nothing")
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM refunds WHERE status = 'succeeded' AND amount_cents = 600`))
	assert.Equal(t, 600, f.refunded(t, payment))
	assert.Len(t, f.provider.refunds(), 1)
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM outbox WHERE topic = 'payment.refunded'`))

	resp, body = f.refund(t, payment, admin, "during-outage", `{"amount_cents": 600}`)
	assert.Equal(t, http.StatusCreated, resp.StatusCode, "the retry finds the refund settled: %s", body)
	assert.Contains(t, string(body), `"status":"succeeded"`)
	assert.Len(t, f.provider.refunds(), 1)
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
			admin := f.issuer.Token(t, uuid.NewString(), "ADMIN")
			_, payment := f.paidOrder(t)
			f.provider.refundsPending = true
			resp, first := f.refund(t, payment, admin, "held", `{"amount_cents": 600}`)
			require.Equal(t, http.StatusCreated, resp.StatusCode, string(first))
			assert.Contains(t, string(first), `"status":"pending"`)
			assert.Zero(t, f.reconcile(t), "still pending at the provider")
			assert.Equal(t, 600, f.refunded(t, payment), "held")

			f.provider.settleRefunds(tt.verdict)
			assert.Equal(t, 1, f.reconcile(t))
			assert.Zero(t, f.reconcile(t), "once")
			assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM refunds WHERE status = $1`, tt.status))
			assert.Equal(t, tt.refunded, f.refunded(t, payment))
			assert.Equal(t, tt.events, f.count(t, `SELECT count(*) FROM outbox WHERE topic = 'payment.refunded'`))

			resp, replayed := f.refund(t, payment, admin, "held", `{"amount_cents": 600}`)
			assert.Equal(t, http.StatusCreated, resp.StatusCode)
			assert.JSONEq(t, string(first), string(replayed), "the key answers as it first did")
			resp, body := f.refund(t, payment, admin, "next", "")
			assert.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
			assert.Equal(t, 1500, f.refunded(t, payment), "the rest, a released amount included")
		})
	}
}

// A refund the provider made but whose answer was lost (a timeout) is
// found by reconciliation, never made a second time.
func TestRefundWhoseAnswerWasLostIsFoundNotRepeated(t *testing.T) {
	f := newFixture(t)
	admin := f.issuer.Token(t, uuid.NewString(), "ADMIN")
	_, payment := f.paidOrder(t)
	f.provider.mu.Lock()
	f.provider.loseAnswers = true
	f.provider.mu.Unlock()
	resp, body := f.refund(t, payment, admin, "lost", `{"amount_cents": 300}`)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, string(body))
	require.Len(t, f.provider.refunds(), 1, "made at the provider")

	f.provider.mu.Lock()
	f.provider.loseAnswers = false
	f.provider.refuse = true // asking again would be refused: only finding it settles it
	f.provider.mu.Unlock()
	assert.Equal(t, 1, f.reconcile(t))
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM refunds WHERE status = 'succeeded'`))
	assert.Equal(t, 300, f.refunded(t, payment))
	assert.Len(t, f.provider.refunds(), 1)
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM outbox WHERE topic = 'payment.refunded'`))
}

func TestRefundAnswersUnknownPaymentsAsNotFound(t *testing.T) {
	f := newFixture(t)
	admin := f.issuer.Token(t, uuid.NewString(), "ADMIN")
	resp, _ := f.refund(t, uuid.New(), admin, "k", "")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	var problem map[string]any
	resp, body := f.send(t, http.MethodPost, "/api/v1/payments/not-a-uuid/refunds", admin,
		http.Header{server.HeaderIdempotencyKey: {"k"}}, "", "")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.NoError(t, json.Unmarshal(body, &problem))
	assert.Equal(t, payments.ErrPaymentNotFound.Message, problem["detail"])
}
