package httpapi_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/payments/internal/payments/paymentstest"
	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/server"
)

// do makes a request with body, as JSON when it is not nil.
func (f fixture) do(t *testing.T, method, path, token string, body any) (*http.Response, []byte) {
	t.Helper()
	header := http.Header{}
	if strings.HasPrefix(path, contracts.ReconcilePaymentsPath) {
		header.Set(server.HeaderCallerAppID, contracts.ReconcilePaymentsCaller) // as the workers' sidecar does
	}
	if body == nil {
		return f.send(t, method, path, token, header, "", "")
	}
	raw, err := json.Marshal(body)
	require.NoError(t, err)
	return f.send(t, method, path, token, header, fiber.MIMEApplicationJSON, string(raw))
}

const webhookSecret = "whsec_test_secret"

// sign makes a Stripe-Signature header for payload at t with secret.
func sign(payload []byte, secret string, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + string(payload)))
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

func (f fixture) webhook(t *testing.T, payload []byte, signature string) int {
	t.Helper()
	resp, _ := f.send(t, http.MethodPost, "/api/v1/payments/webhooks/stripe", "",
		http.Header{"Stripe-Signature": {signature}}, fiber.MIMEApplicationJSON, string(payload))
	return resp.StatusCode
}

// intentEvent is a Stripe event about a PaymentIntent.
func intentEvent(t *testing.T, eventID, typ, intentID string) []byte {
	t.Helper()
	pi := map[string]any{"id": intentID, "object": "payment_intent", "status": "succeeded", "amount": 1500, "currency": "usd"}
	if typ == "payment_intent.processing" {
		pi["status"] = "processing"
	}
	if typ == "payment_intent.payment_failed" {
		pi["status"] = "requires_payment_method"
		pi["last_payment_error"] = map[string]any{"type": "card_error", "code": "card_declined", "decline_code": "generic_decline", "message": "Your card was declined."}
	}
	raw, err := json.Marshal(map[string]any{
		"id": eventID, "object": "event", "api_version": "2023-10-16", "type": typ, "created": time.Now().Unix(),
		"data": map[string]any{"object": pi},
	})
	require.NoError(t, err)
	return raw
}

func (f fixture) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, f.pool.QueryRow(context.Background(), query, args...).Scan(&n))
	return n
}

func (f fixture) charge(t *testing.T, eventID string, order, user uuid.UUID) {
	t.Helper()
	require.NoError(t, f.svc.Charge(context.Background(), eventID, paymentstest.Order(order, user)))
}

func TestSavedCards(t *testing.T) {
	f := newFixture(t)
	user := uuid.New()
	token := f.issuer.Token(t, user.String())

	resp, body := f.do(t, http.MethodPost, "/api/v1/payment-methods", token, map[string]string{"payment_method": "pm_card_visa"})
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
	var first map[string]any
	require.NoError(t, json.Unmarshal(body, &first))
	assert.Equal(t, true, first["default"], "the first card becomes the default")
	assert.Equal(t, "4242", first["last4"])

	resp, body = f.do(t, http.MethodPost, "/api/v1/payment-methods", token, map[string]string{"payment_method": "pm_card_mastercard"})
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
	var second map[string]any
	require.NoError(t, json.Unmarshal(body, &second))
	assert.Equal(t, false, second["default"])

	t.Run("invalid token is 422 and saves nothing", func(t *testing.T) {
		resp, _ := f.do(t, http.MethodPost, "/api/v1/payment-methods", token, map[string]string{"payment_method": "4242424242424242"})
		assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
		assert.Equal(t, 2, f.count(t, `SELECT count(*) FROM payment_methods WHERE user_id = $1`, user))
	})
	t.Run("another user's card is not found", func(t *testing.T) {
		other := f.issuer.Token(t, uuid.NewString())
		resp, _ := f.do(t, http.MethodPost, "/api/v1/payment-methods/"+second["id"].(string)+"/default", other, nil)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode)
		resp, _ = f.do(t, http.MethodDelete, "/api/v1/payment-methods/"+second["id"].(string), other, nil)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	})
	t.Run("make the second card the default", func(t *testing.T) {
		resp, body := f.do(t, http.MethodPost, "/api/v1/payment-methods/"+second["id"].(string)+"/default", token, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
		assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM payment_methods WHERE user_id = $1 AND is_default`, user))
		assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM payment_methods WHERE id = $1 AND is_default`, second["id"]))
	})
	t.Run("deleting the default promotes the other card", func(t *testing.T) {
		resp, _ := f.do(t, http.MethodDelete, "/api/v1/payment-methods/"+second["id"].(string), token, nil)
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
		assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM payment_methods WHERE id = $1 AND is_default`, first["id"]))
	})
}

func TestWebhookSettlesOnce(t *testing.T) {
	f := newFixture(t)
	user, order := uuid.New(), uuid.New()
	f.insertCard(t, user, "visa", "4242", true, 0)
	f.charge(t, "evt-order", order, user)
	intent := "pi_" + order.String()
	payload := intentEvent(t, "evt_succeeded_1", "payment_intent.succeeded", intent)

	t.Run("forged signatures are 400 and change nothing", func(t *testing.T) {
		for name, sig := range map[string]string{
			"other secret": sign(payload, "whsec_forged", time.Now()),
			"stale":        sign(payload, webhookSecret, time.Now().Add(-time.Hour)),
			"none":         "",
			"garbage":      "t=1,v1=abc",
		} {
			t.Run(name, func(t *testing.T) {
				assert.Equal(t, http.StatusBadRequest, f.webhook(t, payload, sig))
			})
		}
		tampered := bytes.Replace(payload, []byte(intent), []byte("pi_other"), 1)
		assert.Equal(t, http.StatusBadRequest, f.webhook(t, tampered, sign(payload, webhookSecret, time.Now())))
		assert.Equal(t, 0, f.count(t, `SELECT count(*) FROM webhook_events`))
		assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM payments WHERE status = 'processing'`))
	})
	t.Run("signed, it is applied, and acknowledged again when replayed", func(t *testing.T) {
		for range 2 {
			assert.Equal(t, http.StatusOK, f.webhook(t, payload, sign(payload, webhookSecret, time.Now())))
		}
		assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM payments WHERE order_id = $1 AND status = 'succeeded'`, order))
		assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM webhook_events`))
	})
}

func TestWebhookFailureAndUnknownIntent(t *testing.T) {
	f := newFixture(t)
	user, order := uuid.New(), uuid.New()
	f.insertCard(t, user, "visa", "0002", true, 0)
	intent := "pi_" + order.String()
	failed := intentEvent(t, "evt_failed", "payment_intent.payment_failed", intent)

	// The webhook can outrun the order.created consumer that records the
	// payment: it is refused, unrecorded, so Stripe delivers it again.
	assert.Equal(t, http.StatusServiceUnavailable, f.webhook(t, failed, sign(failed, webhookSecret, time.Now())))
	assert.Equal(t, 0, f.count(t, `SELECT count(*) FROM webhook_events`))

	f.charge(t, "evt-order", order, user)
	assert.Equal(t, http.StatusOK, f.webhook(t, failed, sign(failed, webhookSecret, time.Now())))
	var reason string
	require.NoError(t, f.pool.QueryRow(context.Background(),
		`SELECT payload->>'reason' FROM outbox WHERE topic = 'payment.failed'`).Scan(&reason))
	assert.Equal(t, "generic_decline: Your card was declined.", reason)
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM payments WHERE status = 'failed' AND failure_message <> ''`))
}

func TestListPaymentsOfAnOrder(t *testing.T) {
	f := newFixture(t)
	user, order := uuid.New(), uuid.New()
	f.charge(t, "evt-order", order, user)
	path := fmt.Sprintf("/api/v1/payments?order_id=%s", order)

	resp, body := f.do(t, http.MethodGet, path, f.issuer.Token(t, user.String()), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	var got []map[string]any
	require.NoError(t, json.Unmarshal(body, &got))
	require.Len(t, got, 1)
	assert.Equal(t, "pending", got[0]["status"])
	assert.Equal(t, "pi_"+order.String()+"_secret", got[0]["client_secret"])

	resp, body = f.do(t, http.MethodGet, path, f.issuer.Token(t, uuid.NewString()), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, `[]`, string(body), "another user sees nothing")

	resp, body = f.do(t, http.MethodGet, path, f.issuer.Token(t, uuid.NewString(), "ADMIN"), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var asAdmin []map[string]any
	require.NoError(t, json.Unmarshal(body, &asAdmin))
	require.Len(t, asAdmin, 1)
	assert.Nil(t, asAdmin[0]["client_secret"], "the client secret is the owner's")

	resp, _ = f.do(t, http.MethodGet, "/api/v1/payments?order_id=x", f.issuer.Token(t, user.String()), nil)
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
}
