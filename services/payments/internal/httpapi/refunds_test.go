package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
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
	assert.Empty(t, f.provider.Refunds())
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
	assert.Len(t, f.provider.Refunds(), 2, "one refund per payment at the provider")
	assert.Equal(t, 2, f.count(t, `SELECT count(*) FROM outbox WHERE topic = 'payment.refunded'`))
}

// The provider's refusal is a 502 naming the failed refund; its outage a
// 503, which the client may retry with the same key.
func TestRefundProviderFailuresAreProblems(t *testing.T) {
	f := newFixture(t)
	admin := f.issuer.Token(t, uuid.NewString(), "ADMIN")
	_, payment := f.paidOrder(t)

	f.provider.SetRefuse(true)
	resp, body := f.refund(t, payment, admin, "refused", `{"amount_cents": 500}`)
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode, string(body))
	assert.Equal(t, server.ProblemContentType, resp.Header.Get(fiber.HeaderContentType))
	assert.Contains(t, string(body), "refund_failed")
	f.provider.SetRefuse(false)

	f.provider.SetDown(true)
	resp, body = f.refund(t, payment, admin, "during-outage", `{"amount_cents": 600}`)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, string(body))
	assert.Equal(t, server.ProblemContentType, resp.Header.Get(fiber.HeaderContentType))
	f.provider.SetDown(false)
	resp, body = f.refund(t, payment, admin, "during-outage", `{"amount_cents": 600}`)
	assert.Equal(t, http.StatusCreated, resp.StatusCode, "the retry completes the refund: %s", body)
	assert.Contains(t, string(body), `"status":"succeeded"`)
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
