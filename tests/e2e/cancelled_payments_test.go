package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/authn"
)

type stripeIntent struct {
	ID                 string `json:"id"`
	Status             string `json:"status"`
	Amount             int64  `json:"amount"`
	AmountReceived     int64  `json:"amount_received"`
	CancellationReason string `json:"cancellation_reason"`
}

type stripeRefund struct {
	ID     string `json:"id"`
	Amount int64  `json:"amount"`
	Status string `json:"status"`
}

// confirm confirms the intent with a test card as the customer's browser
// would, and returns the emulator's answer.
func (e emulator) confirm(intentID, card string) response {
	e.t.Helper()
	return call(e.t, http.MethodPost, "http://"+stripeAddr+"/v1/payment_intents/"+intentID+"/confirm",
		strings.NewReader(url.Values{"payment_method": {card}}.Encode()),
		"Authorization", "Bearer "+sys.secrets["stripe-secret-key"], "Content-Type", "application/x-www-form-urlencoded")
}

// refunds lists the intent's refunds at Stripe.
func (e emulator) refunds(intentID string) []stripeRefund {
	e.t.Helper()
	var list struct{ Data []stripeRefund }
	e.get("/v1/refunds?payment_intent="+intentID, &list)
	return list.Data
}

// TestCancelledPayments proves that an order cancelled before it was paid
// can never keep the customer's money: its intent is cancelled at Stripe,
// and a payment that succeeds all the same is refunded in full, once.
func TestCancelledPayments(t *testing.T) {
	s := shop{admin: "Bearer " + token(t, uuid.New(), authn.RoleAdmin)}
	stripe := emulator{t}
	// order places an order of a new product for a customer without a
	// saved card, whose intent awaits the client.
	order := func(t *testing.T, priceCents int) (customer string, o orderJSON, p paymentJSON) {
		t.Helper()
		productID := s.newProduct(t, priceCents, 3)
		customer, o = s.placeOrder(t, productID, 1)
		p = s.payment(t, customer, o.ID, "pending")
		require.NotEmpty(t, p.ClientSecret)
		return customer, o, p
	}

	t.Run("an unpaid order cancelled: its intent is cancelled and cannot be confirmed", func(t *testing.T) {
		customer, o, p := order(t, 1100)
		s.cancel(t, customer, o.ID)
		s.waitStatus(t, customer, o.ID, "cancelled")

		stripe.waitIntent(p.PaymentIntentID, "canceled")
		var pi stripeIntent
		stripe.get("/v1/payment_intents/"+p.PaymentIntentID, &pi)
		assert.Equal(t, "requested_by_customer", pi.CancellationReason)
		s.payment(t, customer, o.ID, "cancelled")

		resp := stripe.confirm(p.PaymentIntentID, "pm_card_visa")
		assert.Equal(t, http.StatusBadRequest, resp.Status, "a late confirmation: %s", resp.Body)
		assert.Contains(t, string(resp.Body), "payment_intent_unexpected_state")
		stripe.get("/v1/payment_intents/"+p.PaymentIntentID, &pi)
		assert.Equal(t, "canceled", pi.Status)
		assert.Empty(t, stripe.refunds(p.PaymentIntentID))
		assert.Equal(t, []string{"pending_payment", "cancelled"}, statuses(s.order(t, customer, o.ID)))
	})

	t.Run("paid while the cancellation was on its way: refunded in full, once", func(t *testing.T) {
		customer, o, p := order(t, 2300)
		// The customer pays in one tab and cancels in another; Stripe's
		// verdict is still on its way when the cancellation reaches payments.
		release := stripe.holdWebhooks()
		resp := stripe.confirm(p.PaymentIntentID, "pm_card_visa")
		require.Equal(t, http.StatusOK, resp.Status, "confirm: %s", resp.Body)
		s.cancel(t, customer, o.ID)

		refunded := s.waitStatus(t, customer, o.ID, "refunded")
		assert.Equal(t, []string{"pending_payment", "cancelled", "refunded"}, statuses(refunded), "never paid")
		// Its held stock came back when it was cancelled; its refund gives
		// nothing more back.
		productID := o.Items[0].ProductID
		s.waitInventory(t, productID, inventory{OnHand: 3, Available: 3})
		waitConsumedBy(t, "products", "order.refunded")
		assert.Equal(t, inventory{OnHand: 3, Available: 3}, s.inventory(t, productID))
		refunds := stripe.refunds(p.PaymentIntentID)
		require.Len(t, refunds, 1)
		assert.EqualValues(t, 2300, refunds[0].Amount)
		assert.Equal(t, "succeeded", refunds[0].Status)

		release()
		stripe.waitDelivered(p.PaymentIntentID, "payment_intent.succeeded")
		// The late success webhook was applied (delivered 2xx): it changes
		// nothing more.
		assert.Len(t, stripe.refunds(p.PaymentIntentID), 1, "refunded once")
		assert.Equal(t, 1, outboxCount(t, "payment.refunded", o.ID))
		assert.Zero(t, outboxCount(t, "payment.succeeded", o.ID), "the cancelled order is never paid")
		assert.Zero(t, s.invoiceCount(t, customer, o.ID))
		assert.Equal(t, []string{"pending_payment", "cancelled", "refunded"}, statuses(s.order(t, customer, o.ID)))
	})
}
