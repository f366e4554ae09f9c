package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v76/webhook"
)

const testKey = "sk_test_emulator"

type hookReceiver struct {
	events chan []byte
	fail   chan struct{} // each value received makes one delivery fail
}

func newHookReceiver(t *testing.T, secret string) (*hookReceiver, string) {
	t.Helper()
	h := &hookReceiver{events: make(chan []byte, 16), fail: make(chan struct{}, 16)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		select {
		case <-h.fail:
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		default:
		}
		if _, err := webhook.ConstructEvent(body, r.Header.Get("Stripe-Signature"), secret); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		h.events <- body
	}))
	t.Cleanup(srv.Close)
	return h, srv.URL
}

type client struct {
	t    *testing.T
	base string
}

func newClient(t *testing.T, webhookURL string) *client {
	t.Helper()
	em := newEmulator(options{APIKey: testKey, WebhookSecret: "whsec_test", WebhookURL: webhookURL, RetryDelay: 10 * time.Millisecond})
	srv := httptest.NewServer(em)
	t.Cleanup(func() { srv.Close(); em.Close() })
	return &client{t: t, base: srv.URL}
}

// do sends form to path and returns the status and decoded body.
func (c *client) do(method, path, idemKey string, form url.Values) (int, map[string]any) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(form.Encode()))
	require.NoError(c.t, err)
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	var body map[string]any
	require.NoError(c.t, json.NewDecoder(resp.Body).Decode(&body))
	return resp.StatusCode, body
}

func errorOf(body map[string]any) map[string]any {
	e, _ := body["error"].(map[string]any)
	return e
}

func TestAuthentication(t *testing.T) {
	c := newClient(t, "")
	for _, tt := range []struct {
		name   string
		header string
		want   int
	}{
		{"bearer", "Bearer " + testKey, http.StatusOK},
		{"bare key from an HTTPEndpoint secret", testKey, http.StatusOK},
		{"wrong key", "Bearer sk_test_other", http.StatusUnauthorized},
		{"none", "", http.StatusUnauthorized},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, c.base+"/v1/customers", nil)
			require.NoError(t, err)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, tt.want, resp.StatusCode)
		})
	}
}

func TestTestCardsDecideTheCharge(t *testing.T) {
	for _, tt := range []struct {
		card, status, declineCode string
		httpStatus                int
	}{
		{"pm_card_visa", "succeeded", "", http.StatusOK},
		{"pm_card_chargeDeclined", "requires_payment_method", "generic_decline", http.StatusPaymentRequired},
		{"pm_card_visa_chargeDeclinedInsufficientFunds", "requires_payment_method", "insufficient_funds", http.StatusPaymentRequired},
	} {
		t.Run(tt.card, func(t *testing.T) {
			c := newClient(t, "")
			status, pi := c.do(http.MethodPost, "/v1/payment_intents", "", url.Values{"amount": {"1999"}, "currency": {"usd"}})
			require.Equal(t, http.StatusOK, status)
			assert.Equal(t, "requires_payment_method", pi["status"])
			id := pi["id"].(string)
			assert.True(t, strings.HasPrefix(pi["client_secret"].(string), id+"_secret_"))

			status, body := c.do(http.MethodPost, "/v1/payment_intents/"+id+"/confirm", "", url.Values{"payment_method": {tt.card}})
			assert.Equal(t, tt.httpStatus, status)
			if tt.declineCode != "" {
				assert.Equal(t, "card_error", errorOf(body)["type"])
				assert.Equal(t, "card_declined", errorOf(body)["code"])
				assert.Equal(t, tt.declineCode, errorOf(body)["decline_code"])
			}
			_, got := c.do(http.MethodGet, "/v1/payment_intents/"+id, "", nil)
			assert.Equal(t, tt.status, got["status"])
			if tt.declineCode != "" {
				assert.Equal(t, tt.declineCode, got["last_payment_error"].(map[string]any)["decline_code"])
				assert.EqualValues(t, 0, got["amount_received"])
			} else {
				assert.EqualValues(t, 1999, got["amount_received"])
			}
		})
	}
}

func TestIdempotency(t *testing.T) {
	c := newClient(t, "")
	form := url.Values{"amount": {"500"}, "currency": {"usd"}, "metadata[order_id]": {"o-1"}}
	status, first := c.do(http.MethodPost, "/v1/payment_intents", "pi-create-o-1", form)
	require.Equal(t, http.StatusOK, status)

	t.Run("same key and parameters replay the first answer", func(t *testing.T) {
		status, again := c.do(http.MethodPost, "/v1/payment_intents", "pi-create-o-1", form)
		assert.Equal(t, http.StatusOK, status)
		assert.Equal(t, first["id"], again["id"])
	})
	t.Run("same key and other parameters are refused", func(t *testing.T) {
		status, body := c.do(http.MethodPost, "/v1/payment_intents", "pi-create-o-1", url.Values{"amount": {"501"}, "currency": {"usd"}})
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "idempotency_error", errorOf(body)["type"])
	})
	t.Run("another key creates another intent", func(t *testing.T) {
		_, other := c.do(http.MethodPost, "/v1/payment_intents", "pi-create-o-2", form)
		assert.NotEqual(t, first["id"], other["id"])
	})
}

func TestSavedCards(t *testing.T) {
	c := newClient(t, "")
	_, cus := c.do(http.MethodPost, "/v1/customers", "", url.Values{"email": {"a@b.c"}})
	cusID := cus["id"].(string)
	status, pm := c.do(http.MethodPost, "/v1/payment_methods/pm_card_visa/attach", "", url.Values{"customer": {cusID}})
	require.Equal(t, http.StatusOK, status)
	pmID := pm["id"].(string)
	assert.NotEqual(t, "pm_card_visa", pmID, "attaching a test id makes a new PaymentMethod")
	assert.Equal(t, "4242", pm["card"].(map[string]any)["last4"])
	assert.Equal(t, cusID, pm["customer"])

	_, list := c.do(http.MethodGet, "/v1/payment_methods?customer="+cusID+"&type=card", "", nil)
	require.Len(t, list["data"], 1)

	status, pi := c.do(http.MethodPost, "/v1/payment_intents", "", url.Values{
		"amount": {"700"}, "currency": {"eur"}, "customer": {cusID}, "payment_method": {pmID}, "confirm": {"true"},
	})
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, "succeeded", pi["status"])

	status, _ = c.do(http.MethodPost, "/v1/payment_methods/"+pmID+"/detach", "", nil)
	require.Equal(t, http.StatusOK, status)
	_, list = c.do(http.MethodGet, "/v1/payment_methods?customer="+cusID, "", nil)
	assert.Empty(t, list["data"])
}

func TestRefundsNeverExceedTheAmount(t *testing.T) {
	c := newClient(t, "")
	_, pi := c.do(http.MethodPost, "/v1/payment_intents", "", url.Values{
		"amount": {"1000"}, "currency": {"usd"}, "payment_method": {"pm_card_visa"}, "confirm": {"true"},
	})
	id := pi["id"].(string)
	status, rf := c.do(http.MethodPost, "/v1/refunds", "", url.Values{"payment_intent": {id}, "amount": {"300"}})
	require.Equal(t, http.StatusOK, status)
	assert.EqualValues(t, 300, rf["amount"])
	status, body := c.do(http.MethodPost, "/v1/refunds", "", url.Values{"payment_intent": {id}, "amount": {"701"}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "amount", errorOf(body)["param"])
	status, rf = c.do(http.MethodPost, "/v1/refunds", "", url.Values{"payment_intent": {id}})
	require.Equal(t, http.StatusOK, status)
	assert.EqualValues(t, 700, rf["amount"], "no amount refunds the rest")
	status, body = c.do(http.MethodPost, "/v1/refunds", "", url.Values{"payment_intent": {id}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "charge_already_refunded", errorOf(body)["code"])
}

func TestWebhooksAreSignedLikeStripeAndRetried(t *testing.T) {
	hooks, hookURL := newHookReceiver(t, "whsec_test")
	hooks.fail <- struct{}{} // the first delivery fails: it must come again
	c := newClient(t, hookURL)
	_, pi := c.do(http.MethodPost, "/v1/payment_intents", "", url.Values{
		"amount": {"1000"}, "currency": {"usd"}, "payment_method": {"pm_card_visa"}, "confirm": {"true"}, "metadata[order_id]": {"o-9"},
	})
	require.Equal(t, "succeeded", pi["status"])
	select {
	case body := <-hooks.events:
		var evt struct {
			Type string `json:"type"`
			Data struct {
				Object struct {
					ID       string            `json:"id"`
					Metadata map[string]string `json:"metadata"`
				} `json:"object"`
			} `json:"data"`
		}
		require.NoError(t, json.Unmarshal(body, &evt))
		assert.Equal(t, "payment_intent.succeeded", evt.Type)
		assert.Equal(t, pi["id"], evt.Data.Object.ID)
		assert.Equal(t, "o-9", evt.Data.Object.Metadata["order_id"])
	case <-time.After(10 * time.Second):
		t.Fatal("no webhook verified by stripe-go arrived")
	}
	assert.Empty(t, hooks.fail, "the failed delivery was consumed")

	_, declined := c.do(http.MethodPost, "/v1/payment_intents", "", url.Values{
		"amount": {"1000"}, "currency": {"usd"}, "payment_method": {"pm_card_chargeDeclined"}, "confirm": {"true"},
	})
	require.NotNil(t, errorOf(declined))
	select {
	case body := <-hooks.events:
		assert.Contains(t, string(body), `"type":"payment_intent.payment_failed"`)
	case <-time.After(10 * time.Second):
		t.Fatal("no payment_failed webhook")
	}
}

func TestStagedOutageKeepsState(t *testing.T) {
	c := newClient(t, "")
	_, cus := c.do(http.MethodPost, "/v1/customers", "", nil)
	outage := func(method string) {
		req, err := http.NewRequest(method, c.base+"/_emulator/outage", nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
	}
	outage(http.MethodPut)
	status, body := c.do(http.MethodGet, "/v1/customers/"+cus["id"].(string), "", nil)
	assert.Equal(t, http.StatusServiceUnavailable, status)
	assert.Equal(t, "api_error", errorOf(body)["type"])
	outage(http.MethodDelete)
	status, _ = c.do(http.MethodGet, "/v1/customers/"+cus["id"].(string), "", nil)
	assert.Equal(t, http.StatusOK, status)
}
