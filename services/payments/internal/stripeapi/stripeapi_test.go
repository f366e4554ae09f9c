package stripeapi_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/payments/internal/payments"
	"github.com/daprshop/daprshop/services/payments/internal/stripeapi"
	"github.com/daprshop/daprshop/services/platform/apperr"
)

type seen struct {
	path, idemKey, daprToken, auth string
	form                           url.Values
}

// sidecar stands in for the sidecar's invocation of the endpoint: it
// records each request and answers status and body.
func sidecar(t *testing.T, status int, body string) (*stripeapi.Client, func() []seen) {
	t.Helper()
	var mu sync.Mutex
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(raw))
		mu.Lock()
		got = append(got, seen{r.URL.Path, r.Header.Get("Idempotency-Key"), r.Header.Get("dapr-api-token"), r.Header.Get("Authorization"), form})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	c := stripeapi.New(stripeapi.Options{BaseURL: srv.URL + "/v1.0/invoke/stripe/method", SecretKey: "sk_test_x", DaprAPIToken: "tok", Timeout: 5 * time.Second})
	return c, func() []seen { mu.Lock(); defer mu.Unlock(); return append([]seen(nil), got...) }
}

func TestCreateIntentSendsOurIdempotencyKeyThroughTheSidecar(t *testing.T) {
	c, requests := sidecar(t, http.StatusOK, `{"id": "pi_1", "object": "payment_intent", "status": "succeeded", "client_secret": "pi_1_secret"}`)
	order := uuid.New()
	intent, err := c.CreateIntent(context.Background(), payments.IntentRequest{
		OrderID: order, UserID: uuid.New(), AmountCents: 2500, Currency: "USD", CustomerID: "cus_1", CardID: "pm_1",
	})
	require.NoError(t, err)
	assert.Equal(t, payments.Intent{ID: "pi_1", ClientSecret: "pi_1_secret", Status: "succeeded"}, intent)
	got := requests()
	require.Len(t, got, 1)
	assert.Equal(t, "/v1.0/invoke/stripe/method/v1/payment_intents", got[0].path)
	assert.Equal(t, "pi-create-"+order.String(), got[0].idemKey)
	assert.Equal(t, "tok", got[0].daprToken)
	assert.Equal(t, "Bearer sk_test_x", got[0].auth)
	assert.Equal(t, "2500", got[0].form.Get("amount"))
	assert.Equal(t, "usd", got[0].form.Get("currency"))
	assert.Equal(t, "true", got[0].form.Get("confirm"))
	assert.Equal(t, order.String(), got[0].form.Get("metadata[order_id]"))
}

func TestAnswers(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		kind   apperr.Kind
		intent payments.Intent
	}{
		{"a decline is an intent, not an error", http.StatusPaymentRequired,
			`{"error": {"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds", "message": "Your card has insufficient funds.",
			  "payment_intent": {"id": "pi_2", "object": "payment_intent", "status": "requires_payment_method", "client_secret": "s",
			  "last_payment_error": {"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds", "message": "Your card has insufficient funds."}}}}`,
			"", payments.Intent{ID: "pi_2", ClientSecret: "s", Status: "requires_payment_method", FailureMessage: "insufficient_funds: Your card has insufficient funds."}},
		{"the circuit breaker open is unavailable", http.StatusInternalServerError,
			`{"errorCode": "ERR_DIRECT_INVOKE", "message": "circuit breaker is open"}`, apperr.Unavailable, payments.Intent{}},
		{"a refused request is a bad gateway", http.StatusBadRequest,
			`{"error": {"type": "idempotency_error", "message": "Keys for idempotent requests can only be used with the same parameters"}}`, apperr.BadGateway, payments.Intent{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := sidecar(t, tt.status, tt.body)
			intent, err := c.CreateIntent(context.Background(), payments.IntentRequest{OrderID: uuid.New(), AmountCents: 1, Currency: "USD", CardID: "pm_x"})
			assert.Equal(t, tt.kind, apperr.KindOf(err), "%v", err)
			assert.Equal(t, tt.intent, intent)
			if tt.kind == "" {
				status, settled := intent.Settled()
				assert.True(t, settled)
				assert.Equal(t, payments.StatusFailed, status)
			}
		})
	}
}

func TestCancelIntent(t *testing.T) {
	var mu sync.Mutex
	var got []seen
	// Stripe refuses the cancel of an intent past it and may replay that
	// refusal for the key: the intent is read afresh.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(raw))
		mu.Lock()
		got = append(got, seen{path: r.Method + " " + r.URL.Path, idemKey: r.Header.Get("Idempotency-Key"), form: form})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error": {"type": "invalid_request_error", "code": "payment_intent_unexpected_state",
				"message": "You cannot cancel this PaymentIntent because it has a status of processing."}}`)
			return
		}
		_, _ = io.WriteString(w, `{"id": "pi_1", "object": "payment_intent", "status": "succeeded"}`)
	}))
	t.Cleanup(srv.Close)
	c := stripeapi.New(stripeapi.Options{BaseURL: srv.URL, SecretKey: "sk_test_x", Timeout: 5 * time.Second})

	intent, err := c.CancelIntent(context.Background(), "pi-cancel-o-pending", "pi_1", payments.CancelAbandoned)
	require.NoError(t, err)
	assert.Equal(t, payments.Intent{ID: "pi_1", Status: "succeeded"}, intent)
	require.Len(t, got, 2)
	assert.Equal(t, "POST /v1/payment_intents/pi_1/cancel", got[0].path)
	assert.Equal(t, "pi-cancel-o-pending", got[0].idemKey)
	assert.Equal(t, "abandoned", got[0].form.Get("cancellation_reason"))
	assert.Equal(t, "GET /v1/payment_intents/pi_1", got[1].path)

	t.Run("another refusal is a bad gateway", func(t *testing.T) {
		c, _ := sidecar(t, http.StatusNotFound, `{"error": {"type": "invalid_request_error", "code": "resource_missing", "message": "No such payment_intent: 'pi_x'"}}`)
		_, err := c.CancelIntent(context.Background(), "k", "pi_x", payments.CancelAbandoned)
		assert.Equal(t, apperr.BadGateway, apperr.KindOf(err), "%v", err)
	})
}

func TestRefund(t *testing.T) {
	id := uuid.New()
	t.Run("carries our refund id as key and metadata", func(t *testing.T) {
		c, requests := sidecar(t, http.StatusOK, `{"id": "re_1", "object": "refund", "status": "pending", "amount": 300}`)
		rf, err := c.Refund(context.Background(), id, "pi_1", 300)
		require.NoError(t, err)
		assert.Equal(t, payments.ProviderRefund{ID: "re_1", Status: "pending"}, rf)
		got := requests()
		require.Len(t, got, 1)
		assert.Equal(t, "/v1.0/invoke/stripe/method/v1/refunds", got[0].path)
		assert.Equal(t, "refund-"+id.String(), got[0].idemKey)
		assert.Equal(t, id.String(), got[0].form.Get("metadata[refund_id]"))
		assert.Equal(t, "300", got[0].form.Get("amount"))
		assert.Equal(t, "pi_1", got[0].form.Get("payment_intent"))
	})
	for _, tt := range []struct {
		name   string
		status int
		body   string
		kind   apperr.Kind
	}{
		{"a refusal is a bad gateway", http.StatusBadRequest,
			`{"error": {"type": "invalid_request_error", "code": "charge_already_refunded", "message": "refunded"}}`, apperr.BadGateway},
		{"the key in use by a running request is no refusal", http.StatusConflict,
			`{"error": {"type": "idempotency_error", "message": "There is currently another in-progress request using this Idempotent Key"}}`, apperr.Conflict},
		{"the key used with other parameters is no refusal", http.StatusBadRequest,
			`{"error": {"type": "idempotency_error", "message": "Keys for idempotent requests can only be used with the same parameters"}}`, apperr.Conflict},
		{"an outage is unavailable", http.StatusServiceUnavailable,
			`{"error": {"type": "api_error", "message": "down"}}`, apperr.Unavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := sidecar(t, tt.status, tt.body)
			_, err := c.Refund(context.Background(), id, "pi_1", 300)
			assert.Equal(t, tt.kind, apperr.KindOf(err), "%v", err)
		})
	}
}

func TestFindRefund(t *testing.T) {
	id := uuid.New()
	list := `{"object": "list", "has_more": false, "url": "/v1/refunds", "data": [
		{"id": "re_other", "object": "refund", "status": "succeeded", "metadata": {"refund_id": "` + uuid.NewString() + `"}},
		{"id": "re_ours", "object": "refund", "status": "failed", "metadata": {"refund_id": "` + id.String() + `"}}]}`
	c, requests := sidecar(t, http.StatusOK, list)
	rf, err := c.FindRefund(context.Background(), id, "pi_1")
	require.NoError(t, err)
	assert.Equal(t, payments.ProviderRefund{ID: "re_ours", Status: "failed"}, rf)
	require.Len(t, requests(), 1)
	assert.Equal(t, "/v1.0/invoke/stripe/method/v1/refunds", requests()[0].path)

	_, err = c.FindRefund(context.Background(), uuid.New(), "pi_1")
	assert.ErrorIs(t, err, payments.ErrNotFound, "none of the intent's refunds is ours")

	down, _ := sidecar(t, http.StatusServiceUnavailable, `{"error": {"type": "api_error", "message": "down"}}`)
	_, err = down.FindRefund(context.Background(), id, "pi_1")
	assert.Equal(t, apperr.Unavailable, apperr.KindOf(err), "%v", err)
}

func TestStripeStatusesMapToTheDomains(t *testing.T) {
	intent := func(c *stripeapi.Client) (string, error) {
		i, err := c.Intent(context.Background(), "pi_1")
		return string(i.Status), err
	}
	refund := func(c *stripeapi.Client) (string, error) {
		rf, err := c.Refund(context.Background(), uuid.New(), "pi_1", 300)
		return rf.Status, err
	}
	for _, tt := range []struct {
		object, stripe, want string
		read                 func(*stripeapi.Client) (string, error)
	}{
		{"payment_intent", "requires_payment_method", string(payments.IntentAwaitingMethod), intent},
		{"payment_intent", "requires_confirmation", string(payments.IntentAwaitingClient), intent},
		{"payment_intent", "requires_action", string(payments.IntentAwaitingClient), intent},
		{"payment_intent", "processing", string(payments.IntentProcessing), intent},
		{"payment_intent", "succeeded", string(payments.IntentSucceeded), intent},
		{"payment_intent", "canceled", string(payments.IntentCancelled), intent},
		{"refund", "pending", payments.RefundPending, refund},
		{"refund", "requires_action", payments.RefundPending, refund},
		{"refund", "succeeded", payments.RefundSucceeded, refund},
		{"refund", "failed", payments.RefundFailed, refund},
		{"refund", "canceled", payments.RefundFailed, refund},
	} {
		t.Run(tt.object+" "+tt.stripe, func(t *testing.T) {
			c, _ := sidecar(t, http.StatusOK, `{"id": "x_1", "object": "`+tt.object+`", "status": "`+tt.stripe+`"}`)
			got, err := tt.read(c)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
