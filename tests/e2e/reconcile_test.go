package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/apiclient"
	"github.com/daprshop/daprshop/services/platform/authn"
)

// emulator talks to the Stripe emulator directly, as Stripe's dashboard
// would show things, bypassing the payments service.
type emulator struct{ t *testing.T }

// get reads a Stripe API object from the emulator.
func (e emulator) get(path string, v any) {
	e.t.Helper()
	resp := call(e.t, http.MethodGet, "http://"+stripeAddr+path, nil, "Authorization", "Bearer "+sys.secrets["stripe-secret-key"])
	require.Equal(e.t, http.StatusOK, resp.Status, "GET %s: %s", path, resp.Body)
	resp.JSON(e.t, v)
}

// waitIntent waits for the PaymentIntent to reach status at Stripe.
func (e emulator) waitIntent(id, status string) {
	e.t.Helper()
	require.Eventually(e.t, func() bool {
		var pi struct{ Status string }
		e.get("/v1/payment_intents/"+id, &pi)
		return pi.Status == status
	}, 30*time.Second, 100*time.Millisecond, "intent %s to become %s at Stripe", id, status)
}

// holdWebhooks withholds every webhook until the returned release is
// called (at the latest when the test ends): nothing but a reconciliation
// can settle a payment meanwhile.
func (e emulator) holdWebhooks() (release func()) {
	e.t.Helper()
	hold := func(method string) {
		resp := call(e.t, method, "http://"+stripeAddr+"/_emulator/webhooks/hold", nil)
		require.Equal(e.t, http.StatusNoContent, resp.Status, "%s webhooks hold: %s", method, resp.Body)
	}
	hold(http.MethodPut)
	released := false
	release = func() {
		if !released {
			released = true
			hold(http.MethodDelete)
		}
	}
	e.t.Cleanup(release)
	return release
}

type stripeEvent struct {
	ID              string `json:"id"`
	Type            string `json:"type"`
	PendingWebhooks int    `json:"pending_webhooks"`
	Data            struct {
		Object struct {
			ID string `json:"id"`
		} `json:"object"`
	} `json:"data"`
}

// eventsOf lists the emulator's recent events about intentID, newest first.
func (e emulator) eventsOf(intentID string) []stripeEvent {
	e.t.Helper()
	var list struct{ Data []stripeEvent }
	e.get("/v1/events?limit=100", &list)
	var out []stripeEvent
	for _, evt := range list.Data {
		if evt.Data.Object.ID == intentID {
			out = append(out, evt)
		}
	}
	return out
}

// waitDelivered waits until the intent's events are the want types (in
// the order they happened) and each was answered 2xx by the webhook.
func (e emulator) waitDelivered(intentID string, want ...string) {
	e.t.Helper()
	var got []stripeEvent
	require.Eventually(e.t, func() bool {
		got = e.eventsOf(intentID)
		if len(got) != len(want) {
			return false
		}
		for i, evt := range got {
			if evt.Type != want[len(want)-1-i] || evt.PendingWebhooks != 0 {
				return false
			}
		}
		return true
	}, 30*time.Second, 100*time.Millisecond, "events %v of %s delivered", want, intentID)
}

// runReconcile asks payments, through Dapr invocation from the workers'
// sidecar as their schedule does, for one reconciliation run over
// everything unsettled (older_than=0s rather than RECONCILE_AFTER).
func runReconcile(t *testing.T) response {
	t.Helper()
	return invokeAs(t, "workers", http.MethodPost, "payments", "internal/payments/reconcile?older_than=0s", "")
}

// reconcile asks payments, through Dapr invocation from the workers'
// sidecar as their schedule does, to reconcile every unsettled
// payment (older_than=0s rather than RECONCILE_AFTER) until the order's
// payment leaves processing. A run takes a bounded batch, so it may take
// more than one.
func (s shop) reconcile(t *testing.T, auth, orderID string) paymentJSON {
	t.Helper()
	var p paymentJSON
	var last response
	require.Eventually(t, func() bool {
		last = runReconcile(t)
		if last.Status != http.StatusOK {
			return false
		}
		var got []paymentJSON
		s.payments(t, auth, orderID).JSON(t, &got)
		if len(got) != 1 {
			return false
		}
		p = got[0]
		return p.Status != "processing"
	}, 60*time.Second, 200*time.Millisecond, "reconciliation settles the payment of order %s (last run: %d %s)", orderID, last.Status, last.Body)
	return p
}

// outboxCount counts the order's events of topic that payments committed.
func outboxCount(t *testing.T, topic, orderID string) int {
	t.Helper()
	var n int
	require.NoError(t, connect(t, "payments").QueryRow(ctx(t),
		`SELECT count(*) FROM outbox WHERE topic = $1 AND payload->>'order_id' = $2`, topic, orderID).Scan(&n))
	return n
}

func (s shop) invoiceCount(t *testing.T, auth, orderID string) int {
	t.Helper()
	resp, err := api.ListInvoicesWithResponse(ctx(t), &apiclient.ListInvoicesParams{OrderID: uuid.MustParse(orderID)}, as(auth))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "invoices: %s", resp.Body)
	return len(*resp.JSON200)
}

// TestReconcile proves, with the emulator's asynchronous test cards, that
// payments left processing are finished by reconciliation when their
// webhook never comes, once, whatever arrives later.
func TestReconcile(t *testing.T) {
	s := shop{admin: "Bearer " + token(t, uuid.New(), authn.RoleAdmin)}
	stripe := emulator{t}

	// checkout places an order of qty units of a new product paid with the
	// customer's saved card pm, and returns its payment once recorded
	// processing.
	checkout := func(t *testing.T, pm string, stock, qty int) (customer, productID string, o orderJSON, p paymentJSON) {
		t.Helper()
		productID = s.newProduct(t, 1800, stock)
		customer = "Bearer " + token(t, uuid.New(), authn.RoleCustomer)
		s.saveCard(t, customer, pm)
		require.Equal(t, http.StatusOK, s.addToCart(t, customer, productID, qty).Status)
		resp := s.checkout(t, customer, uuid.NewString(), shipTo)
		require.Equal(t, http.StatusCreated, resp.Status, "checkout: %s", resp.Body)
		resp.JSON(t, &o)
		p = s.payment(t, customer, o.ID, "processing")
		return customer, productID, o, p
	}

	t.Run("processing, then succeeded with the webhooks: paid", func(t *testing.T) {
		customer, productID, o, p := checkout(t, "pm_card_processing", 4, 1)
		paid := s.waitStatus(t, customer, o.ID, "paid")
		assert.Equal(t, []string{"pending_payment", "paid"}, statuses(paid))
		s.payment(t, customer, o.ID, "succeeded")
		s.waitInventory(t, productID, inventory{OnHand: 3, Reserved: 0, Available: 3})
		// payment_intent.processing was acknowledged too: it changes nothing.
		stripe.waitDelivered(p.PaymentIntentID, "payment_intent.processing", "payment_intent.succeeded")
	})

	t.Run("succeeded while the webhooks are withheld: reconciliation pays the order once", func(t *testing.T) {
		release := stripe.holdWebhooks()
		customer, productID, o, p := checkout(t, "pm_card_processing", 5, 2)
		s.waitInventory(t, productID, inventory{OnHand: 5, Reserved: 2, Available: 3})
		stripe.waitIntent(p.PaymentIntentID, "succeeded")
		// Stripe has decided, but nothing told payments: the schedule
		// reconciles only payments older than RECONCILE_AFTER (minutes).
		assert.Equal(t, "pending_payment", s.order(t, customer, o.ID).Status)
		assert.Equal(t, "processing", s.payment(t, customer, o.ID, "processing").Status)

		assert.Equal(t, "succeeded", s.reconcile(t, customer, o.ID).Status)
		paid := s.waitStatus(t, customer, o.ID, "paid")
		assert.Equal(t, []string{"pending_payment", "paid"}, statuses(paid))
		s.waitInventory(t, productID, inventory{OnHand: 3, Reserved: 0, Available: 3})
		assert.Equal(t, 1, s.invoiceCount(t, customer, o.ID))
		assert.Equal(t, 1, outboxCount(t, "payment.succeeded", o.ID))

		release()
		stripe.waitDelivered(p.PaymentIntentID, "payment_intent.processing", "payment_intent.succeeded")
		assert.Equal(t, 1, outboxCount(t, "payment.succeeded", o.ID), "the late webhook settles nothing more")
		assert.Equal(t, []string{"pending_payment", "paid"}, statuses(s.order(t, customer, o.ID)))
		assert.Equal(t, 1, s.invoiceCount(t, customer, o.ID))
		assert.Equal(t, inventory{OnHand: 3, Reserved: 0, Available: 3}, s.inventory(t, productID))
	})

	t.Run("declined while the webhooks are withheld: reconciliation cancels the order and gives the stock back", func(t *testing.T) {
		release := stripe.holdWebhooks()
		customer, productID, o, p := checkout(t, "pm_card_processing_chargeDeclined", 4, 3)
		s.waitInventory(t, productID, inventory{OnHand: 4, Reserved: 3, Available: 1})
		stripe.waitIntent(p.PaymentIntentID, "requires_payment_method")
		assert.Equal(t, "pending_payment", s.order(t, customer, o.ID).Status)

		failed := s.reconcile(t, customer, o.ID)
		assert.Equal(t, "failed", failed.Status)
		assert.Contains(t, failed.FailureMessage, "declined")
		cancelled := s.waitStatus(t, customer, o.ID, "cancelled")
		assert.Equal(t, []string{"pending_payment", "cancelled"}, statuses(cancelled))
		s.waitInventory(t, productID, inventory{OnHand: 4, Reserved: 0, Available: 4})
		assert.Zero(t, s.invoiceCount(t, customer, o.ID))

		release()
		// The cancelled order's intent is cancelled too: no retry can charge.
		stripe.waitDelivered(p.PaymentIntentID, "payment_intent.processing", "payment_intent.payment_failed", "payment_intent.canceled")
		assert.Equal(t, 1, outboxCount(t, "payment.failed", o.ID), "the late webhook settles nothing more")
		assert.Zero(t, outboxCount(t, "payment.succeeded", o.ID))
		assert.Equal(t, []string{"pending_payment", "cancelled"}, statuses(s.order(t, customer, o.ID)))
	})
}
