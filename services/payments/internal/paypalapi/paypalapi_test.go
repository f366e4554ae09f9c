package paypalapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/payments/internal/payments"
	"github.com/daprshop/daprshop/services/payments/internal/paypalapi"
	"github.com/daprshop/daprshop/services/platform/apperr"
)

func TestOrderApprovedCapturedRefunded(t *testing.T) {
	em := startEmulator(t)
	c := em.client(t)
	ctx := context.Background()
	orderID := uuid.New()
	req := payments.IntentRequest{OrderID: orderID, UserID: uuid.New(), AmountCents: 12345, Currency: "EUR", CustomerID: "cus_1", CardID: "pm_1"}

	created, err := c.CreateIntent(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, payments.IntentAwaitingClient, created.Status)
	assert.Contains(t, created.ApprovalURL, "/checkoutnow?token="+created.ID)
	again, err := c.CreateIntent(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, created.ID, again.ID, "a retried create is the same order")

	captured, err := c.Capture(ctx, "capture-"+created.ID, created.ID)
	require.NoError(t, err)
	assert.Equal(t, payments.IntentAwaitingClient, captured.Status, "an order not approved is not captured")

	em.control(t, http.MethodPost, "/_emulator/orders/"+created.ID+"/approve")
	approved, err := c.Intent(ctx, created.ID)
	require.NoError(t, err)
	assert.Equal(t, payments.IntentAwaitingCapture, approved.Status)

	for range 2 { // a retried capture, under the same key, captures once
		captured, err = c.Capture(ctx, "capture-"+created.ID, created.ID)
		require.NoError(t, err)
		status, settled := captured.Settled()
		assert.True(t, settled)
		assert.Equal(t, payments.StatusSucceeded, status)
	}
	other, err := c.Capture(ctx, "capture-other", created.ID)
	require.NoError(t, err, "a capture under another key finds the order captured")
	assert.Equal(t, payments.IntentSucceeded, other.Status)

	refundID := uuid.New()
	for range 2 {
		rf, err := c.Refund(ctx, refundID, created.ID, 2345)
		require.NoError(t, err)
		assert.Equal(t, payments.RefundSucceeded, rf.Status)
	}
	found, err := c.FindRefund(ctx, refundID, created.ID)
	require.NoError(t, err)
	assert.Equal(t, payments.RefundSucceeded, found.Status)
	_, err = c.FindRefund(ctx, uuid.New(), created.ID)
	assert.ErrorIs(t, err, payments.ErrNotFound)

	_, err = c.Refund(ctx, uuid.New(), created.ID, 10001)
	assert.ErrorIs(t, err, payments.ErrProviderRefused, "10000 were left")
	rest, err := c.Refund(ctx, uuid.New(), created.ID, 10000)
	require.NoError(t, err)
	assert.Equal(t, payments.RefundSucceeded, rest.Status)

	cancelled, err := c.CancelIntent(ctx, "cancel", created.ID, payments.CancelAbandoned)
	require.NoError(t, err)
	assert.Equal(t, payments.IntentSucceeded, cancelled.Status, "a captured order cannot be cancelled")

	for _, r := range em.seen() {
		assert.Equal(t, "dapr-token", r.Header.Get("dapr-api-token"), r.URL.Path)
		if r.Method == http.MethodPost && !strings.HasSuffix(r.URL.Path, "/v1/oauth2/token") {
			assert.NotEmpty(t, r.Header.Get("PayPal-Request-Id"), "every mutating call is idempotent: %s", r.URL.Path)
		}
	}
	checkCreateOrderBody(t, em.seen(), orderID)
}

// checkCreateOrderBody checks the order create call against the shape
// PayPal documents for POST /v2/checkout/orders.
func checkCreateOrderBody(t *testing.T, seen []*http.Request, orderID uuid.UUID) {
	t.Helper()
	for _, r := range seen {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/v2/checkout/orders") {
			continue
		}
		assert.Equal(t, "order-create-"+orderID.String(), r.Header.Get("PayPal-Request-Id"))
		assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
		assert.True(t, strings.HasPrefix(r.Header.Get("Authorization"), "Bearer "))
		return
	}
	t.Fatal("no order was created")
}

func TestDeclinedFundingFailsTheCapture(t *testing.T) {
	em := startEmulator(t)
	c := em.client(t)
	ctx := context.Background()
	created := newOrder(t, c, 500, "USD")
	em.control(t, http.MethodPost, "/_emulator/orders/"+created.ID+"/approve?funding=declined")
	captured, err := c.Capture(ctx, "capture-"+created.ID, created.ID)
	require.NoError(t, err)
	status, settled := captured.Settled()
	assert.True(t, settled)
	assert.Equal(t, payments.StatusFailed, status)
	assert.Equal(t, "capture declined: DECLINED_BY_RISK_FRAUD_FILTERS", captured.FailureMessage)
	_, err = c.Refund(ctx, uuid.New(), created.ID, 100)
	assert.ErrorIs(t, err, payments.ErrProviderRefused, "nothing was taken")

	// The webhook may settle the order before the capture's answer does:
	// the customer reads the same reason either way.
	denied := em.next(t, "PAYMENT.CAPTURE.DENIED")
	webhooks := paypalapi.NewWebhooks(paypalapi.WebhookOptions{
		WebhookID: em.secrets["paypal-webhook-id"], Tolerance: 5 * time.Minute, Roots: paypalapi.RootsFrom(em.caFile),
		FetchCert: paypalapi.FetchCertVia(http.DefaultClient, em.url, ""),
	})
	evt, err := webhooks.Parse(ctx, denied.body, transmission(denied))
	require.NoError(t, err)
	assert.Equal(t, &payments.Intent{ID: created.ID, Status: payments.IntentAwaitingMethod, FailureMessage: captured.FailureMessage}, evt.Intent)
}

func TestAnOrderNotCapturedIsCancelled(t *testing.T) {
	em := startEmulator(t)
	c := em.client(t)
	ctx := context.Background()
	created := newOrder(t, c, 500, "JPY")
	i, err := c.CancelIntent(ctx, "cancel", created.ID, payments.CancelRequestedByCustomer)
	require.NoError(t, err)
	assert.True(t, i.Cancelled())
	assert.Empty(t, i.ApprovalURL)
}

func TestTheAccessTokenIsCachedAndRenewed(t *testing.T) {
	em := startEmulator(t)
	c := em.client(t)
	ctx := context.Background()
	tokens := func() int {
		n := 0
		for _, r := range em.seen() {
			if strings.HasSuffix(r.URL.Path, "/v1/oauth2/token") {
				n++
				id, secret, ok := r.BasicAuth()
				assert.True(t, ok)
				assert.Equal(t, em.secrets["paypal-client-id"], id)
				assert.Equal(t, em.secrets["paypal-client-secret"], secret)
			}
		}
		return n
	}
	created := newOrder(t, c, 500, "EUR")
	_, err := c.Intent(ctx, created.ID)
	require.NoError(t, err)
	assert.Equal(t, 1, tokens(), "one token serves both calls")

	em.control(t, http.MethodPost, "/_emulator/tokens/expire")
	_, err = c.Intent(ctx, created.ID)
	require.NoError(t, err, "a revoked token is replaced and the call made again")
	assert.Equal(t, 2, tokens())
}

func TestOutagesAreNoRefusal(t *testing.T) {
	em := startEmulator(t)
	c := em.client(t)
	ctx := context.Background()
	created := newOrder(t, c, 500, "EUR")
	em.control(t, http.MethodPut, "/_emulator/outage")
	_, err := c.Refund(ctx, uuid.New(), created.ID, 100)
	require.Error(t, err)
	assert.NotErrorIs(t, err, payments.ErrProviderRefused, "the outcome of a call PayPal did not answer is unknown")
	assert.Equal(t, apperr.Unavailable, apperr.KindOf(err))
	em.control(t, http.MethodDelete, "/_emulator/outage")
	_, err = c.Intent(ctx, created.ID)
	assert.NoError(t, err)
}

func TestUnknownOrderIsRefused(t *testing.T) {
	em := startEmulator(t)
	_, err := em.client(t).Intent(context.Background(), "NOSUCHORDER")
	assert.ErrorIs(t, err, payments.ErrProviderRefused)
}

// TestTheApprovalPageApproves drives the page a buyer sees: it shows the
// order, approving sends the buyer back to the shop.
func TestTheApprovalPageApproves(t *testing.T) {
	em := startEmulator(t)
	c := em.client(t)
	created := newOrder(t, c, 1999, "EUR")
	resp, err := http.Get(created.ApprovalURL)
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, string(page), "19.99 EUR")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noRedirect.Post(created.ApprovalURL, "application/x-www-form-urlencoded", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.True(t, strings.HasPrefix(resp.Header.Get("Location"), "http://shop.test/orders?"), resp.Header.Get("Location"))
	d := em.next(t, "CHECKOUT.ORDER.APPROVED")
	var evt struct {
		Resource struct {
			ID string `json:"id"`
		} `json:"resource"`
	}
	require.NoError(t, json.Unmarshal(d.body, &evt))
	assert.Equal(t, created.ID, evt.Resource.ID)
}

// TestWholeUnitCurrencies: PayPal takes HUF and TWD without decimals
// (the emulator refuses them as PayPal does), while the shop keeps their
// ISO 4217 hundredths. A whole amount is charged and refunded exactly; a
// fraction never reaches PayPal.
func TestWholeUnitCurrencies(t *testing.T) {
	em := startEmulator(t)
	c := em.client(t)
	ctx := context.Background()
	for _, currency := range []string{"HUF", "TWD"} {
		t.Run(currency, func(t *testing.T) {
			created := newOrder(t, c, 150000, currency)
			em.control(t, http.MethodPost, "/_emulator/orders/"+created.ID+"/approve")
			captured, err := c.Capture(ctx, "capture-"+created.ID, created.ID)
			require.NoError(t, err)
			assert.Equal(t, payments.IntentSucceeded, captured.Status)
			var completed struct {
				Resource struct {
					Amount paypalapi.Money `json:"amount"`
				} `json:"resource"`
			}
			require.NoError(t, json.Unmarshal(em.next(t, "PAYMENT.CAPTURE.COMPLETED").body, &completed))
			assert.Equal(t, paypalapi.Money{CurrencyCode: currency, Value: "1500"}, completed.Resource.Amount, "1500 units, not 150000")
			rf, err := c.Refund(ctx, uuid.New(), created.ID, 50000)
			require.NoError(t, err, "500 units")
			assert.Equal(t, payments.RefundSucceeded, rf.Status)

			before := len(em.seen())
			_, err = c.CreateIntent(ctx, payments.IntentRequest{OrderID: uuid.New(), UserID: uuid.New(), AmountCents: 150050, Currency: currency})
			assert.ErrorIs(t, err, payments.ErrProviderRefused, "1500.50 is no amount PayPal takes")
			_, err = c.Refund(ctx, uuid.New(), created.ID, 150)
			assert.ErrorIs(t, err, payments.ErrProviderRefused)
			sent := em.seen()[before:]
			require.Len(t, sent, 1, "nothing sent to PayPal but the read of the captured order")
			assert.Equal(t, http.MethodGet, sent[0].Method, sent[0].URL.Path)
		})
	}
	t.Run("a currency PayPal does not take", func(t *testing.T) {
		_, err := c.CreateIntent(ctx, payments.IntentRequest{OrderID: uuid.New(), UserID: uuid.New(), AmountCents: 1000, Currency: "KRW"})
		assert.ErrorIs(t, err, payments.ErrProviderRefused)
	})
}
