package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/apiclient"
	"github.com/daprshop/daprshop/services/platform/authn"
)

const stripeWebhookPath = "/api/v1/payments/webhooks/stripe"

type paymentJSON struct {
	ID              string `json:"id"`
	Status          string `json:"status"`
	PaymentIntentID string `json:"payment_intent_id"`
	ClientSecret    string `json:"client_secret"`
	AmountCents     int64  `json:"amount_cents"`
	Currency        string `json:"currency"`
	FailureMessage  string `json:"failure_message"`
	Provider        string `json:"provider"`
	ApprovalURL     string `json:"approval_url"`
}

// payment waits for the order's payment to exist and reach status.
func (s shop) payment(t *testing.T, auth, orderID, status string) paymentJSON {
	t.Helper()
	return s.paymentWithin(t, auth, orderID, status, 30*time.Second)
}

// paymentWithin is payment, waiting up to wait.
func (s shop) paymentWithin(t *testing.T, auth, orderID, status string, wait time.Duration) paymentJSON {
	t.Helper()
	var got []paymentJSON
	require.Eventually(t, func() bool {
		resp := s.payments(t, auth, orderID)
		require.Equal(t, http.StatusOK, resp.Status, "payments: %s", resp.Body)
		resp.JSON(t, &got)
		return len(got) == 1 && got[0].Status == status
	}, wait, 100*time.Millisecond, "payment of order %s to become %s", orderID, status)
	return got[0]
}

// payments lists the order's payments as auth sees them.
func (s shop) payments(t *testing.T, auth, orderID string) response {
	t.Helper()
	resp, err := api.ListPayments(ctx(t), &apiclient.ListPaymentsParams{OrderID: uuid.MustParse(orderID)}, as(auth))
	return answer(t, resp, err)
}

// saveCard saves a Stripe test PaymentMethod for the customer.
func (s shop) saveCard(t *testing.T, auth, pm string) map[string]any {
	t.Helper()
	sent, err := api.AddPaymentMethod(ctx(t), apiclient.NewPaymentMethod{PaymentMethod: pm}, as(auth))
	resp := answer(t, sent, err)
	require.Equal(t, http.StatusCreated, resp.Status, "save card: %s", resp.Body)
	var card map[string]any
	resp.JSON(t, &card)
	return card
}

// stripeSignature signs payload like Stripe, with the dev webhook secret
// unless secret is given.
func stripeSignature(payload []byte, secret string, at time.Time) string {
	ts := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + string(payload)))
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

func succeededEvent(t testing.TB, eventID, intentID string, amount int64) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"id": eventID, "object": "event", "api_version": "2023-10-16", "type": "payment_intent.succeeded",
		"created": time.Now().Unix(), "livemode": false,
		"data": map[string]any{"object": map[string]any{
			"id": intentID, "object": "payment_intent", "status": "succeeded", "amount": amount, "amount_received": amount, "currency": "usd",
		}},
	})
	require.NoError(t, err)
	return b
}

func postWebhook(t *testing.T, payload []byte, signature string) response {
	t.Helper()
	return call(t, http.MethodPost, gatewayURL+stripeWebhookPath, strings.NewReader(string(payload)),
		"Content-Type", "application/json", "Stripe-Signature", signature)
}

func statuses(o orderJSON) []string {
	out := make([]string, len(o.History))
	for i, h := range o.History {
		out[i] = h.Status
	}
	return out
}

func TestPayments(t *testing.T) {
	s := shop{admin: "Bearer " + token(t, uuid.New(), authn.RoleAdmin)}
	secret := sys.secrets["stripe-webhook-secret"]
	require.NotEmpty(t, secret, "make prepare adds stripe-webhook-secret to .run/secrets.json")

	t.Run("a saved card is charged at checkout and the webhook pays the order", func(t *testing.T) {
		productID := s.newProduct(t, 1250, 10)
		customer := "Bearer " + token(t, uuid.New(), authn.RoleCustomer)
		card := s.saveCard(t, customer, "pm_card_visa")
		assert.Equal(t, true, card["default"], "the first card is the default")
		assert.Equal(t, "4242", card["last4"])

		require.Equal(t, http.StatusOK, s.addToCart(t, customer, productID, 2).Status)
		resp := s.checkout(t, customer, uuid.NewString(), shipTo)
		require.Equal(t, http.StatusCreated, resp.Status, "checkout: %s", resp.Body)
		var o orderJSON
		resp.JSON(t, &o)
		start := time.Now()
		paid := s.waitStatus(t, customer, o.ID, "paid")
		t.Logf("checkout → order paid (intent, confirm, webhook, events): %s", time.Since(start))
		assert.Equal(t, []string{"pending_payment", "paid"}, statuses(paid))

		p := s.payment(t, customer, o.ID, "succeeded")
		assert.EqualValues(t, 2500, p.AmountCents)
		assert.Equal(t, "USD", p.Currency)
		assert.True(t, strings.HasPrefix(p.PaymentIntentID, "pi_"), p.PaymentIntentID)
		s.waitInventory(t, productID, inventory{OnHand: 8, Reserved: 0, Available: 8})

		resp = s.send(t, http.MethodGet, "/api/v1/invoices?order_id="+o.ID, customer, "")
		require.Equal(t, http.StatusOK, resp.Status, "invoices: %s", resp.Body)
		var invoices []struct {
			ID       string
			Number   string
			Total    int64 `json:"total_cents"`
			Subtotal int64 `json:"subtotal_cents"`
			Tax      int64 `json:"tax_cents"`
			Lines    []map[string]any
		}
		resp.JSON(t, &invoices)
		require.Len(t, invoices, 1, "one invoice per paid order")
		inv := invoices[0]
		assert.Regexp(t, `^\d{4}-\d{6}$`, inv.Number)
		assert.EqualValues(t, 2500, inv.Total)
		assert.Equal(t, inv.Total, inv.Subtotal+inv.Tax)
		assert.Len(t, inv.Lines, 1)
		pdf := call(t, http.MethodGet, gatewayURL+"/api/v1/invoices/"+inv.ID, nil, "Authorization", customer, "Accept", "application/pdf")
		require.Equal(t, http.StatusOK, pdf.Status)
		assert.Equal(t, "application/pdf", pdf.Header.Get("Content-Type"))
		assert.True(t, strings.HasPrefix(string(pdf.Body), "%PDF-"))
	})

	t.Run("cancelling a paid order refunds it in full", func(t *testing.T) {
		productID := s.newProduct(t, 3000, 5)
		customer := "Bearer " + token(t, uuid.New(), authn.RoleCustomer)
		s.saveCard(t, customer, "pm_card_visa")
		require.Equal(t, http.StatusOK, s.addToCart(t, customer, productID, 1).Status)
		resp := s.checkout(t, customer, uuid.NewString(), shipTo)
		require.Equal(t, http.StatusCreated, resp.Status, "checkout: %s", resp.Body)
		var o orderJSON
		resp.JSON(t, &o)
		s.waitStatus(t, customer, o.ID, "paid")
		p := s.payment(t, customer, o.ID, "succeeded")

		t.Run("an admin refund above the amount is 409", func(t *testing.T) {
			resp := s.refund(t, p.ID, uuid.NewString(), 3001)
			assert.Equal(t, http.StatusConflict, resp.Status, "%s", resp.Body)
		})
		resp = s.send(t, http.MethodPost, "/api/v1/orders/"+o.ID+"/cancel", customer, "")
		require.Equal(t, http.StatusOK, resp.Status, "cancel: %s", resp.Body)
		refunded := s.waitStatus(t, customer, o.ID, "refunded")
		assert.Equal(t, []string{"pending_payment", "paid", "cancelled", "refunded"}, statuses(refunded))
		var got []struct {
			RefundedCents int64 `json:"refunded_cents"`
			Refunds       []struct {
				AmountCents int64 `json:"amount_cents"`
				Status      string
			}
		}
		resp = s.send(t, http.MethodGet, "/api/v1/payments?order_id="+o.ID, customer, "")
		require.Equal(t, http.StatusOK, resp.Status)
		resp.JSON(t, &got)
		require.Len(t, got, 1)
		assert.EqualValues(t, 3000, got[0].RefundedCents)
		require.Len(t, got[0].Refunds, 1, "refunded once")
		assert.Equal(t, "succeeded", got[0].Refunds[0].Status)
	})

	t.Run("a declined card cancels the order and gives the stock back", func(t *testing.T) {
		productID := s.newProduct(t, 990, 5)
		customer := "Bearer " + token(t, uuid.New(), authn.RoleCustomer)
		s.saveCard(t, customer, "pm_card_chargeDeclined")
		require.Equal(t, http.StatusOK, s.addToCart(t, customer, productID, 1).Status)
		resp := s.checkout(t, customer, uuid.NewString(), shipTo)
		require.Equal(t, http.StatusCreated, resp.Status, "checkout: %s", resp.Body)
		var o orderJSON
		resp.JSON(t, &o)
		s.waitStatus(t, customer, o.ID, "cancelled")
		p := s.payment(t, customer, o.ID, "failed")
		assert.Contains(t, p.FailureMessage, "declined")
		s.waitInventory(t, productID, inventory{OnHand: 5, Reserved: 0, Available: 5})
	})

	t.Run("webhooks: forged is 400 and changes nothing, three deliveries pay once", func(t *testing.T) {
		productID := s.newProduct(t, 700, 5)
		// No saved card: the intent waits for the client.
		customer, o := s.placeOrder(t, productID, 1)
		p := s.payment(t, customer, o.ID, "pending")
		require.NotEmpty(t, p.ClientSecret, "the client confirms with the client secret")
		payload := succeededEvent(t, "evt_"+strings.ReplaceAll(uuid.NewString(), "-", ""), p.PaymentIntentID, 700)

		for name, sig := range map[string]string{
			"other secret": stripeSignature(payload, "whsec_forged", time.Now()),
			"stale":        stripeSignature(payload, secret, time.Now().Add(-time.Hour)),
			"missing":      "",
		} {
			t.Run(name, func(t *testing.T) {
				resp := postWebhook(t, payload, sig)
				assert.Equal(t, http.StatusBadRequest, resp.Status, "%s", resp.Body)
			})
		}
		assert.Equal(t, "pending", s.payment(t, customer, o.ID, "pending").Status)
		assert.Equal(t, "pending_payment", s.order(t, customer, o.ID).Status)

		for range 3 {
			resp := postWebhook(t, payload, stripeSignature(payload, secret, time.Now()))
			require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		}
		paid := s.waitStatus(t, customer, o.ID, "paid")
		s.payment(t, customer, o.ID, "succeeded")
		assert.Equal(t, []string{"pending_payment", "paid"}, statuses(paid), "paid once")
	})

	// Last: it leaves the stripe circuit breaker half-open for a while.
	t.Run("Stripe down at checkout: the breaker opens, the order still ends paid once", func(t *testing.T) {
		productID := s.newProduct(t, 1500, 5)
		customer := "Bearer " + token(t, uuid.New(), authn.RoleCustomer)
		s.saveCard(t, customer, "pm_card_visa")
		require.Equal(t, http.StatusOK, s.addToCart(t, customer, productID, 1).Status)

		lift := outage(t, stripeAddr)
		resp := s.checkout(t, customer, uuid.NewString(), shipTo)
		require.Equal(t, http.StatusCreated, resp.Status, "checkout: %s", resp.Body)
		var o orderJSON
		resp.JSON(t, &o)

		waitBreakerOpen(t, "stripe", "/v1/payment_intents/pi_probe")
		assert.Equal(t, "pending_payment", s.order(t, customer, o.ID).Status)

		lift()
		start := time.Now()
		var paid orderJSON
		assert.Eventually(t, func() bool {
			paid = s.order(t, customer, o.ID)
			return paid.Status == "paid"
		}, 120*time.Second, 200*time.Millisecond, "order %s paid once Stripe is back", o.ID)
		require.Equal(t, "paid", paid.Status, "history %v", statuses(paid))
		t.Logf("Stripe back → order paid: %s", time.Since(start))
		assert.Equal(t, []string{"pending_payment", "paid"}, statuses(paid), "paid once")
		p := s.payment(t, customer, o.ID, "succeeded")
		assert.EqualValues(t, 1500, p.AmountCents)
	})
}

// outage makes the emulator at addr (Stripe's or PayPal's) answer every
// API call 503, its state kept as the provider's would be, until the
// returned lift is called, at the latest when the test ends.
func outage(t *testing.T, addr string) (lift func()) {
	t.Helper()
	set := func(method string) {
		resp := call(t, method, "http://"+addr+"/_emulator/outage", nil)
		require.Equal(t, http.StatusNoContent, resp.Status)
	}
	set(http.MethodPut)
	lifted := false
	lift = func() {
		if !lifted {
			lifted = true
			set(http.MethodDelete)
		}
	}
	t.Cleanup(lift)
	return lift
}

// waitBreakerOpen calls path of the HTTPEndpoint endpoint through the
// payments sidecar until the endpoint's circuit breaker opens: calls fail
// until then, and then at once, without reaching the provider.
func waitBreakerOpen(t *testing.T, endpoint, path string) {
	t.Helper()
	var fast time.Duration
	require.Eventually(t, func() bool {
		start := time.Now()
		r := call(t, http.MethodGet, "http://127.0.0.1:3504/v1.0/invoke/"+endpoint+"/method"+path, nil,
			"dapr-api-token", sys.env["DAPR_API_TOKEN"])
		fast = time.Since(start)
		return r.Status >= 500 && strings.Contains(string(r.Body), "circuit breaker is open")
	}, 60*time.Second, 50*time.Millisecond, "the %s circuit breaker opens", endpoint)
	t.Logf("a call with the %s breaker open failed in %s", endpoint, fast)
}

// BenchmarkStripeCall measures what the sidecar adds to a Stripe call:
// the same read of a PaymentIntent from the emulator, directly and through
// the payments sidecar's invocation of the stripe HTTPEndpoint (resiliency
// policies included), interleaved, sequential, in the same run. It
// reports p50 and p99 of each:
//
//	go test -run '^$' -bench StripeCall -benchtime 1x ./e2e
func BenchmarkStripeCall(b *testing.B) {
	const samples = 1000
	key := sys.secrets["stripe-secret-key"]
	hc := &http.Client{Timeout: 10 * time.Second}
	do := func(method, url, body string, headers ...string) (int, []byte) {
		req, err := http.NewRequest(method, url, strings.NewReader(body))
		require.NoError(b, err)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := hc.Do(req)
		require.NoError(b, err)
		defer resp.Body.Close()
		out, err := io.ReadAll(resp.Body)
		require.NoError(b, err)
		return resp.StatusCode, out
	}
	direct := "http://" + stripeAddr
	sidecar := "http://127.0.0.1:3504/v1.0/invoke/stripe/method"
	status, body := do(http.MethodPost, direct+"/v1/payment_intents", "amount=100&currency=usd",
		"Authorization", "Bearer "+key, "Content-Type", "application/x-www-form-urlencoded")
	require.Equal(b, http.StatusOK, status, "%s", body)
	var pi struct{ ID string }
	require.NoError(b, json.Unmarshal(body, &pi))

	b.ResetTimer()
	for range b.N {
		var viaDirect, viaSidecar []time.Duration
		for range samples {
			start := time.Now()
			status, body := do(http.MethodGet, direct+"/v1/payment_intents/"+pi.ID, "", "Authorization", "Bearer "+key)
			viaDirect = append(viaDirect, time.Since(start))
			require.Equal(b, http.StatusOK, status, "%s", body)

			start = time.Now()
			status, body = do(http.MethodGet, sidecar+"/v1/payment_intents/"+pi.ID, "", "dapr-api-token", sys.env["DAPR_API_TOKEN"])
			viaSidecar = append(viaSidecar, time.Since(start))
			require.Equal(b, http.StatusOK, status, "%s", body)
		}
		for _, r := range []struct {
			name string
			d    []time.Duration
		}{{"direct", viaDirect}, {"sidecar", viaSidecar}} {
			sort.Slice(r.d, func(i, j int) bool { return r.d[i] < r.d[j] })
			p50, p99 := r.d[len(r.d)/2], r.d[len(r.d)*99/100]
			b.ReportMetric(float64(p50.Microseconds()), r.name+"-p50-µs")
			b.ReportMetric(float64(p99.Microseconds()), r.name+"-p99-µs")
			b.Logf("%s: %d calls, p50 %s, p99 %s", r.name, samples, p50, p99)
		}
	}
}

// BenchmarkCheckoutToPaid measures the payment half of the saga with a
// saved card: from the checkout answer to GET /orders/{id} showing paid
// (order.created → PaymentIntent created and confirmed through the stripe
// HTTPEndpoint → signed webhook via the gateway → payment.succeeded →
// orders), sequentially, polling every 2ms. It reports p50 and p99. Start
// the system without rate limits:
//
//	RATE_LIMITS=off go test -run '^$' -bench CheckoutToPaid -benchtime 1x ./e2e
func BenchmarkCheckoutToPaid(b *testing.B) {
	const orders = 50
	s := shop{admin: "Bearer " + token(b, uuid.New(), authn.RoleAdmin)}
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	b.ResetTimer()
	for range b.N {
		productID := newBenchProduct(b, s, orders)
		var took []time.Duration
		for range orders {
			customer := "Bearer " + token(b, uuid.New(), authn.RoleCustomer)
			benchSend(b, http.MethodPost, "/api/v1/payment-methods", customer, "", `{"payment_method": "pm_card_visa"}`, http.StatusCreated)
			benchSend(b, http.MethodPost, "/api/v1/cart/items", customer, "", fmt.Sprintf(`{"product_id": %q, "quantity": 1}`, productID), http.StatusOK)
			body := benchSend(b, http.MethodPost, "/api/v1/checkout", customer, uuid.NewString(), address, http.StatusCreated)
			start := time.Now()
			var o orderJSON
			require.NoError(b, json.Unmarshal(body, &o))
			benchWaitPaid(b, customer, o.ID, tick)
			took = append(took, time.Since(start))
		}
		reportLatencies(b, "checkout → paid", took)
	}
}

// benchWaitPaid polls the order on every tick until it reads paid, for at
// most 30 seconds.
func benchWaitPaid(b *testing.B, auth, orderID string, tick *time.Ticker) {
	b.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var o orderJSON
		require.NoError(b, json.Unmarshal(benchSend(b, http.MethodGet, "/api/v1/orders/"+orderID, auth, "", "", http.StatusOK), &o))
		if o.Status == "paid" {
			return
		}
		require.True(b, time.Now().Before(deadline), "order %s not paid after 30s: %s", orderID, o.Status)
		<-tick.C
	}
}

// reportLatencies reports the p50 and p99 of took (with 100 samples, p99
// is the slowest but one).
func reportLatencies(b *testing.B, what string, took []time.Duration) {
	b.Helper()
	slices.Sort(took)
	p50, p99 := took[len(took)/2], took[len(took)*99/100]
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.Logf("%s: %d samples, p50 %s, p99 %s", what, len(took), p50, p99)
}

// BenchmarkWebhookToPaid measures the webhook half of the saga: from a
// signed payment_intent.succeeded posted to the gateway, as Stripe would
// send it, to GET /orders/{id} showing paid (signature verified → payment
// settled with its invoice and payment.succeeded in one transaction →
// outbox relay → orders), sequentially, polling every 2ms. The orders have
// no saved card, so only the posted webhook can pay them. It reports p50
// and p99 (with 100 orders, p99 is the slowest but one). Start the system
// without rate limits:
//
//	RATE_LIMITS=off go test -run '^$' -bench WebhookToPaid -benchtime 1x ./e2e
func BenchmarkWebhookToPaid(b *testing.B) {
	const orders = 100
	s := shop{admin: "Bearer " + token(b, uuid.New(), authn.RoleAdmin)}
	secret := sys.secrets["stripe-webhook-secret"]
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	b.ResetTimer()
	for range b.N {
		productID := newBenchProduct(b, s, orders)
		var took []time.Duration
		for range orders {
			customer := "Bearer " + token(b, uuid.New(), authn.RoleCustomer)
			benchSend(b, http.MethodPost, "/api/v1/cart/items", customer, "", fmt.Sprintf(`{"product_id": %q, "quantity": 1}`, productID), http.StatusOK)
			var o orderJSON
			require.NoError(b, json.Unmarshal(benchSend(b, http.MethodPost, "/api/v1/checkout", customer, uuid.NewString(), address, http.StatusCreated), &o))
			var p []paymentJSON
			deadline := time.Now().Add(30 * time.Second)
			for len(p) == 0 {
				require.NoError(b, json.Unmarshal(benchSend(b, http.MethodGet, "/api/v1/payments?order_id="+o.ID, customer, "", "", http.StatusOK), &p))
				require.True(b, time.Now().Before(deadline), "no payment for order %s after 30s", o.ID)
				<-tick.C
			}
			payload := succeededEvent(b, "evt_"+strings.ReplaceAll(uuid.NewString(), "-", ""), p[0].PaymentIntentID, o.TotalCents)

			start := time.Now()
			req, err := http.NewRequest(http.MethodPost, gatewayURL+stripeWebhookPath, strings.NewReader(string(payload)))
			require.NoError(b, err)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Stripe-Signature", stripeSignature(payload, secret, start))
			resp, err := benchClient.Do(req)
			require.NoError(b, err)
			resp.Body.Close()
			require.Equal(b, http.StatusOK, resp.StatusCode, "webhook of order %s", o.ID)
			benchWaitPaid(b, customer, o.ID, tick)
			took = append(took, time.Since(start))
		}
		reportLatencies(b, "webhook → paid", took)
	}
}

var benchClient = &http.Client{Timeout: 30 * time.Second, Transport: gatewayTransport}

// benchSend sends a JSON request through the gateway and requires want.
func benchSend(b *testing.B, method, path, auth, idemKey, body string, want int) []byte {
	b.Helper()
	req, err := http.NewRequest(method, gatewayURL+path, strings.NewReader(body))
	require.NoError(b, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", auth)
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	resp, err := benchClient.Do(req)
	require.NoError(b, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(b, err)
	require.Equal(b, want, resp.StatusCode, "%s %s: %s", method, path, out)
	return out
}

func newBenchProduct(b *testing.B, s shop, stock int) string {
	b.Helper()
	suffix := strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
	body := benchSend(b, http.MethodPost, "/api/v1/products", s.admin, "", fmt.Sprintf(
		`{"sku": "PAY-%s", "name": "Payment bench %s", "description": "e2e", "price_cents": 1000, "currency": "USD", "initial_stock": %d}`,
		suffix, suffix, stock), http.StatusCreated)
	var p struct{ ID string }
	require.NoError(b, json.Unmarshal(body, &p))
	return p.ID
}
