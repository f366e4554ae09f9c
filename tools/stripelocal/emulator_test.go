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
	return newClientWith(t, options{WebhookURL: webhookURL})
}

// newClientWith serves an emulator with opts, its key, secret and retry
// delay set for tests.
func newClientWith(t *testing.T, opts options) *client {
	t.Helper()
	opts.APIKey, opts.WebhookSecret, opts.RetryDelay = testKey, "whsec_test", 10*time.Millisecond
	em := newEmulator(opts)
	srv := httptest.NewServer(em)
	t.Cleanup(func() { srv.Close(); em.Close() })
	return &client{t: t, base: srv.URL}
}

// control calls a test control endpoint and returns its status.
func (c *client) control(method, path string) int {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, nil)
	require.NoError(c.t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// hookEvent is the part of a delivered event the tests read.
type hookEvent struct {
	ID     string `json:"id"`
	Type   string `json:"type"`
	Object struct {
		ID               string         `json:"id"`
		Status           string         `json:"status"`
		LastPaymentError map[string]any `json:"last_payment_error"`
	} `json:"-"`
	Data struct {
		Object json.RawMessage `json:"object"`
	} `json:"data"`
}

// next waits for the receiver's next event.
func (h *hookReceiver) next(t *testing.T) hookEvent {
	t.Helper()
	select {
	case body := <-h.events:
		var evt hookEvent
		require.NoError(t, json.Unmarshal(body, &evt))
		require.NoError(t, json.Unmarshal(evt.Data.Object, &evt.Object))
		return evt
	case <-time.After(10 * time.Second):
		t.Fatal("no webhook verified by stripe-go arrived")
		return hookEvent{}
	}
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

	_, other := c.do(http.MethodPost, "/v1/payment_intents", "", url.Values{
		"amount": {"50"}, "currency": {"usd"}, "payment_method": {"pm_card_visa"}, "confirm": {"true"},
	})
	_, _ = c.do(http.MethodPost, "/v1/refunds", "", url.Values{"payment_intent": {other["id"].(string)}})
	status, list := c.do(http.MethodGet, "/v1/refunds?payment_intent="+id, "", nil)
	require.Equal(t, http.StatusOK, status)
	var amounts []float64
	for _, r := range list["data"].([]any) {
		assert.Equal(t, id, r.(map[string]any)["payment_intent"])
		amounts = append(amounts, r.(map[string]any)["amount"].(float64))
	}
	assert.ElementsMatch(t, []float64{300, 700}, amounts, "the intent's refunds only")
	_, list = c.do(http.MethodGet, "/v1/refunds", "", nil)
	assert.Len(t, list["data"], 3)
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

func TestProcessingCardsSettleLater(t *testing.T) {
	for _, tt := range []struct {
		card, status, event, declineCode string
	}{
		{"pm_card_processing", "succeeded", "payment_intent.succeeded", ""},
		{"pm_card_processing_chargeDeclined", "requires_payment_method", "payment_intent.payment_failed", "generic_decline"},
		{"pm_card_processing_chargeDeclinedInsufficientFunds", "requires_payment_method", "payment_intent.payment_failed", "insufficient_funds"},
	} {
		t.Run(tt.card, func(t *testing.T) {
			hooks, hookURL := newHookReceiver(t, "whsec_test")
			// Settled by the control endpoint only: the delay never ends
			// within the test.
			c := newClientWith(t, options{WebhookURL: hookURL, ProcessingDelay: time.Hour})
			_, cus := c.do(http.MethodPost, "/v1/customers", "", nil)
			_, pm := c.do(http.MethodPost, "/v1/payment_methods/"+tt.card+"/attach", "", url.Values{"customer": {cus["id"].(string)}})
			status, pi := c.do(http.MethodPost, "/v1/payment_intents", "", url.Values{
				"amount": {"1200"}, "currency": {"usd"}, "customer": {cus["id"].(string)},
				"payment_method": {pm["id"].(string)}, "confirm": {"true"}, "off_session": {"true"},
			})
			require.Equal(t, http.StatusOK, status, "a processing confirmation is no error, whatever comes later")
			assert.Equal(t, "processing", pi["status"])
			assert.Nil(t, pi["last_payment_error"])
			assert.EqualValues(t, 0, pi["amount_received"])
			id := pi["id"].(string)
			evt := hooks.next(t)
			assert.Equal(t, "payment_intent.processing", evt.Type)
			assert.Equal(t, "processing", evt.Object.Status)

			_, got := c.do(http.MethodGet, "/v1/payment_intents/"+id, "", nil)
			assert.Equal(t, "processing", got["status"])
			status, body := c.do(http.MethodPost, "/v1/refunds", "", url.Values{"payment_intent": {id}})
			assert.Equal(t, http.StatusBadRequest, status, "nothing to refund yet")
			assert.Equal(t, "payment_intent_unexpected_state", errorOf(body)["code"])
			status, body = c.do(http.MethodPost, "/v1/payment_intents/"+id+"/confirm", "", nil)
			assert.Equal(t, http.StatusBadRequest, status, "a processing intent cannot be confirmed again")
			assert.Equal(t, "payment_intent_unexpected_state", errorOf(body)["code"])

			require.Equal(t, http.StatusOK, c.control(http.MethodPost, "/_emulator/payment_intents/"+id+"/settle"))
			_, got = c.do(http.MethodGet, "/v1/payment_intents/"+id, "", nil)
			assert.Equal(t, tt.status, got["status"])
			evt = hooks.next(t)
			assert.Equal(t, tt.event, evt.Type)
			assert.Equal(t, id, evt.Object.ID)
			assert.Equal(t, tt.status, evt.Object.Status)
			if tt.declineCode != "" {
				assert.Equal(t, tt.declineCode, got["last_payment_error"].(map[string]any)["decline_code"])
				assert.Equal(t, tt.declineCode, evt.Object.LastPaymentError["decline_code"])
				assert.EqualValues(t, 0, got["amount_received"])
			} else {
				assert.Nil(t, got["last_payment_error"])
				assert.EqualValues(t, 1200, got["amount_received"])
			}
			assert.Equal(t, http.StatusConflict, c.control(http.MethodPost, "/_emulator/payment_intents/"+id+"/settle"), "settled once")
		})
	}
	t.Run("an unknown intent cannot be settled", func(t *testing.T) {
		c := newClient(t, "")
		assert.Equal(t, http.StatusNotFound, c.control(http.MethodPost, "/_emulator/payment_intents/pi_none/settle"))
	})
}

func TestProcessingSettlesAfterTheDelay(t *testing.T) {
	hooks, hookURL := newHookReceiver(t, "whsec_test")
	c := newClientWith(t, options{WebhookURL: hookURL, ProcessingDelay: 20 * time.Millisecond})
	_, pi := c.do(http.MethodPost, "/v1/payment_intents", "", url.Values{
		"amount": {"800"}, "currency": {"eur"}, "payment_method": {"pm_card_processing"}, "confirm": {"true"},
	})
	require.Equal(t, "processing", pi["status"])
	assert.Equal(t, "payment_intent.processing", hooks.next(t).Type)
	evt := hooks.next(t)
	assert.Equal(t, "payment_intent.succeeded", evt.Type)
	assert.Equal(t, pi["id"], evt.Object.ID)
	_, got := c.do(http.MethodGet, "/v1/payment_intents/"+pi["id"].(string), "", nil)
	assert.Equal(t, "succeeded", got["status"])
	assert.Equal(t, http.StatusConflict, c.control(http.MethodPost, "/_emulator/payment_intents/"+pi["id"].(string)+"/settle"))
}

func TestWithheldWebhooksAreDeliveredOnRelease(t *testing.T) {
	hooks, hookURL := newHookReceiver(t, "whsec_test")
	c := newClient(t, hookURL)
	require.Equal(t, http.StatusNoContent, c.control(http.MethodPut, "/_emulator/webhooks/hold"))
	_, pi := c.do(http.MethodPost, "/v1/payment_intents", "", url.Values{
		"amount": {"1000"}, "currency": {"usd"}, "payment_method": {"pm_card_visa"}, "confirm": {"true"},
	})
	require.Equal(t, "succeeded", pi["status"])

	status, list := c.do(http.MethodGet, "/v1/events?type=payment_intent.succeeded", "", nil)
	require.Equal(t, http.StatusOK, status)
	require.Len(t, list["data"], 1)
	held := list["data"].([]any)[0].(map[string]any)
	assert.EqualValues(t, 1, held["pending_webhooks"], "not delivered yet")
	assert.Equal(t, pi["id"], held["data"].(map[string]any)["object"].(map[string]any)["id"])
	assert.Never(t, func() bool { return len(hooks.events) > 0 }, 200*time.Millisecond, 10*time.Millisecond, "held back")

	require.Equal(t, http.StatusNoContent, c.control(http.MethodDelete, "/_emulator/webhooks/hold"))
	evt := hooks.next(t)
	assert.Equal(t, held["id"], evt.ID, "the held event itself is delivered")
	require.Eventually(t, func() bool {
		_, got := c.do(http.MethodGet, "/v1/events/"+evt.ID, "", nil)
		return got["pending_webhooks"] == 0.0
	}, 10*time.Second, 10*time.Millisecond, "the event is marked delivered")

	_, pi = c.do(http.MethodPost, "/v1/payment_intents", "", url.Values{
		"amount": {"1000"}, "currency": {"usd"}, "payment_method": {"pm_card_visa"}, "confirm": {"true"},
	})
	assert.Equal(t, pi["id"], hooks.next(t).Object.ID, "released: new events go out at once")
}

func TestEventsList(t *testing.T) {
	c := newClient(t, "")
	var ids []string
	for _, card := range []string{"pm_card_visa", "pm_card_chargeDeclined", "pm_card_mastercard"} {
		_, pi := c.do(http.MethodPost, "/v1/payment_intents", "", url.Values{
			"amount": {"100"}, "currency": {"usd"}, "payment_method": {card}, "confirm": {"true"},
		})
		if pi["id"] == nil {
			pi = errorOf(pi)["payment_intent"].(map[string]any)
		}
		ids = append(ids, pi["id"].(string))
	}
	objectIDs := func(list map[string]any) []string {
		var out []string
		for _, e := range list["data"].([]any) {
			out = append(out, e.(map[string]any)["data"].(map[string]any)["object"].(map[string]any)["id"].(string))
		}
		return out
	}
	_, list := c.do(http.MethodGet, "/v1/events", "", nil)
	assert.Equal(t, []string{ids[2], ids[1], ids[0]}, objectIDs(list), "newest first")
	assert.Equal(t, false, list["has_more"])
	_, list = c.do(http.MethodGet, "/v1/events?type=payment_intent.succeeded&limit=1", "", nil)
	assert.Equal(t, []string{ids[2]}, objectIDs(list))
	assert.Equal(t, true, list["has_more"])
	first := list["data"].([]any)[0].(map[string]any)
	assert.EqualValues(t, 0, first["pending_webhooks"], "no webhook endpoint: nothing to deliver")

	status, got := c.do(http.MethodGet, "/v1/events/"+first["id"].(string), "", nil)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, first, got)
	status, body := c.do(http.MethodGet, "/v1/events/evt_none", "", nil)
	assert.Equal(t, http.StatusNotFound, status)
	assert.Equal(t, "resource_missing", errorOf(body)["code"])
	status, _ = c.do(http.MethodGet, "/v1/events?limit=101", "", nil)
	assert.Equal(t, http.StatusBadRequest, status)
}

func TestCancelIntent(t *testing.T) {
	for _, tt := range []struct {
		name string
		form url.Values
	}{
		{"awaiting a payment method", url.Values{}},
		{"awaiting its confirmation", url.Values{"payment_method": {"pm_card_visa"}}},
		{"declined, awaiting another card", url.Values{"payment_method": {"pm_card_chargeDeclined"}, "confirm": {"true"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hooks, hookURL := newHookReceiver(t, "whsec_test")
			c := newClient(t, hookURL)
			tt.form.Set("amount", "1500")
			tt.form.Set("currency", "usd")
			_, pi := c.do(http.MethodPost, "/v1/payment_intents", "", tt.form)
			if errorOf(pi) != nil {
				pi = errorOf(pi)["payment_intent"].(map[string]any)
				assert.Equal(t, "payment_intent.payment_failed", hooks.next(t).Type)
			}
			id := pi["id"].(string)
			assert.Nil(t, pi["canceled_at"])
			assert.Nil(t, pi["cancellation_reason"])

			path := "/v1/payment_intents/" + id + "/cancel"
			form := url.Values{"cancellation_reason": {"requested_by_customer"}}
			status, got := c.do(http.MethodPost, path, "pi-cancel-1", form)
			require.Equal(t, http.StatusOK, status, got)
			assert.Equal(t, "canceled", got["status"])
			assert.Equal(t, "requested_by_customer", got["cancellation_reason"])
			assert.NotNil(t, got["canceled_at"])
			evt := hooks.next(t)
			assert.Equal(t, "payment_intent.canceled", evt.Type)
			assert.Equal(t, id, evt.Object.ID)
			assert.Equal(t, "canceled", evt.Object.Status)

			status, again := c.do(http.MethodPost, path, "pi-cancel-1", form)
			assert.Equal(t, http.StatusOK, status, "the same key replays the cancel")
			assert.Equal(t, got, again)
			status, body := c.do(http.MethodPost, path, "", nil)
			assert.Equal(t, http.StatusBadRequest, status, "cancelled once")
			assert.Equal(t, "You cannot cancel this PaymentIntent because it has a status of canceled.", errorOf(body)["message"])

			status, body = c.do(http.MethodPost, "/v1/payment_intents/"+id+"/confirm", "", url.Values{"payment_method": {"pm_card_visa"}})
			assert.Equal(t, http.StatusBadRequest, status, "a canceled intent cannot charge")
			assert.Equal(t, "invalid_request_error", errorOf(body)["type"])
			assert.Equal(t, "payment_intent_unexpected_state", errorOf(body)["code"])
			assert.Equal(t, "You cannot confirm this PaymentIntent because it has a status of canceled.", errorOf(body)["message"])
			_, got = c.do(http.MethodGet, "/v1/payment_intents/"+id, "", nil)
			assert.Equal(t, "canceled", got["status"])
			assert.EqualValues(t, 0, got["amount_received"])
		})
	}
}

func TestCancelIntentRefusals(t *testing.T) {
	c := newClientWith(t, options{ProcessingDelay: time.Hour})
	intent := func(card string) string {
		_, pi := c.do(http.MethodPost, "/v1/payment_intents", "", url.Values{
			"amount": {"1500"}, "currency": {"usd"}, "payment_method": {card}, "confirm": {"true"},
		})
		if pi["id"] == nil { // declined
			pi = errorOf(pi)["payment_intent"].(map[string]any)
		}
		return pi["id"].(string)
	}
	for _, tt := range []struct {
		name, id, reason string
		status           int
		code, message    string
	}{
		{"succeeded", intent("pm_card_visa"), "", http.StatusBadRequest, "payment_intent_unexpected_state",
			"You cannot cancel this PaymentIntent because it has a status of succeeded."},
		{"processing", intent("pm_card_processing"), "", http.StatusBadRequest, "payment_intent_unexpected_state",
			"You cannot cancel this PaymentIntent because it has a status of processing."},
		{"an unknown reason", intent("pm_card_chargeDeclined"), "bored", http.StatusBadRequest, "parameter_invalid", ""},
		{"no such intent", "pi_none", "", http.StatusNotFound, "resource_missing", "No such payment_intent: 'pi_none'"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{}
			if tt.reason != "" {
				form.Set("cancellation_reason", tt.reason)
			}
			status, body := c.do(http.MethodPost, "/v1/payment_intents/"+tt.id+"/cancel", "", form)
			assert.Equal(t, tt.status, status)
			assert.Equal(t, "invalid_request_error", errorOf(body)["type"])
			assert.Equal(t, tt.code, errorOf(body)["code"])
			if tt.message != "" {
				assert.Equal(t, tt.message, errorOf(body)["message"])
			}
			if tt.status == http.StatusBadRequest && tt.code == "payment_intent_unexpected_state" {
				assert.Equal(t, tt.id, errorOf(body)["payment_intent"].(map[string]any)["id"])
				_, got := c.do(http.MethodGet, "/v1/payment_intents/"+tt.id, "", nil)
				assert.Equal(t, tt.name, got["status"], "unchanged")
			}
		})
	}
}

func TestPendingRefunds(t *testing.T) {
	c := newClient(t, "")
	_, pi := c.do(http.MethodPost, "/v1/payment_intents", "", url.Values{
		"amount": {"1000"}, "currency": {"usd"}, "payment_method": {"pm_card_pendingRefund"}, "confirm": {"true"},
	})
	id := pi["id"].(string)
	require.Equal(t, "succeeded", pi["status"])
	refund := func(key, amount, ours string) (int, map[string]any) {
		return c.do(http.MethodPost, "/v1/refunds", key, url.Values{"payment_intent": {id}, "amount": {amount}, "metadata[refund_id]": {ours}})
	}

	status, rf := refund("refund-a", "600", "a")
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, "pending", rf["status"], "a refund of this card starts pending")
	refundID := rf["id"].(string)
	status, got := c.do(http.MethodGet, "/v1/refunds/"+refundID, "", nil)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, "pending", got["status"])
	assert.Equal(t, map[string]any{"refund_id": "a"}, got["metadata"])
	status, _ = refund("refund-b", "401", "b")
	assert.Equal(t, http.StatusBadRequest, status, "the pending amount is held")

	assert.Equal(t, http.StatusBadRequest, c.control(http.MethodPost, "/_emulator/refunds/"+refundID+"/settle?status=lost"))
	assert.Equal(t, http.StatusNotFound, c.control(http.MethodPost, "/_emulator/refunds/re_none/settle"))
	require.Equal(t, http.StatusOK, c.control(http.MethodPost, "/_emulator/refunds/"+refundID+"/settle?status=failed"))
	assert.Equal(t, http.StatusConflict, c.control(http.MethodPost, "/_emulator/refunds/"+refundID+"/settle"), "decided once")
	_, got = c.do(http.MethodGet, "/v1/refunds/"+refundID, "", nil)
	assert.Equal(t, "failed", got["status"])
	assert.Equal(t, "declined", got["failure_reason"])

	status, rf = refund("refund-c", "1000", "c")
	require.Equal(t, http.StatusOK, status, "a failed refund gives its amount back")
	require.Equal(t, http.StatusOK, c.control(http.MethodPost, "/_emulator/refunds/"+rf["id"].(string)+"/settle"))
	_, got = c.do(http.MethodGet, "/v1/refunds/"+rf["id"].(string), "", nil)
	assert.Equal(t, "succeeded", got["status"])
	status, _ = c.do(http.MethodGet, "/v1/refunds/re_none", "", nil)
	assert.Equal(t, http.StatusNotFound, status)
}

func TestRefundAfterAnOutageIsMadeOnce(t *testing.T) {
	c := newClient(t, "")
	_, pi := c.do(http.MethodPost, "/v1/payment_intents", "", url.Values{
		"amount": {"1000"}, "currency": {"usd"}, "payment_method": {"pm_card_visa"}, "confirm": {"true"},
	})
	form := url.Values{"payment_intent": {pi["id"].(string)}, "amount": {"300"}, "metadata[refund_id]": {"ours"}}
	require.Equal(t, http.StatusNoContent, c.control(http.MethodPut, "/_emulator/outage"))
	status, _ := c.do(http.MethodPost, "/v1/refunds", "refund-ours", form)
	assert.Equal(t, http.StatusServiceUnavailable, status)
	require.Equal(t, http.StatusNoContent, c.control(http.MethodDelete, "/_emulator/outage"))

	_, first := c.do(http.MethodPost, "/v1/refunds", "refund-ours", form)
	_, again := c.do(http.MethodPost, "/v1/refunds", "refund-ours", form)
	assert.Equal(t, first["id"], again["id"], "the key replays the refund")
	_, list := c.do(http.MethodGet, "/v1/refunds?payment_intent="+pi["id"].(string), "", nil)
	require.Len(t, list["data"], 1)
	assert.Equal(t, map[string]any{"refund_id": "ours"}, list["data"].([]any)[0].(map[string]any)["metadata"])
}

func TestIntentsList(t *testing.T) {
	c := newClient(t, "")
	customer := func() string {
		status, cus := c.do(http.MethodPost, "/v1/customers", "", url.Values{})
		require.Equal(t, http.StatusOK, status)
		return cus["id"].(string)
	}
	ada, bob := customer(), customer()
	intent := func(cus, amount string) string {
		status, pi := c.do(http.MethodPost, "/v1/payment_intents", "", url.Values{
			"amount": {amount}, "currency": {"usd"}, "customer": {cus},
		})
		require.Equal(t, http.StatusOK, status)
		return pi["id"].(string)
	}
	a1, b1, a2 := intent(ada, "100"), intent(bob, "200"), intent(ada, "300")
	ids := func(query string) []string {
		status, list := c.do(http.MethodGet, "/v1/payment_intents"+query, "", nil)
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, false, list["has_more"])
		var out []string
		for _, pi := range list["data"].([]any) {
			out = append(out, pi.(map[string]any)["id"].(string))
		}
		return out
	}
	assert.ElementsMatch(t, []string{a1, b1, a2}, ids(""))
	assert.ElementsMatch(t, []string{a1, a2}, ids("?customer="+ada))
	assert.Equal(t, []string{b1}, ids("?customer="+bob))
	assert.Empty(t, ids("?customer=cus_none"))
}
