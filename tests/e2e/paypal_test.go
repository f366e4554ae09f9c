package e2e

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/apiclient"
	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/contracts"
)

const paypalWebhookPath = "/api/v1/payments/webhooks/paypal"

// paypal talks to the PayPal emulator directly, as PayPal's dashboard or
// its buyer would, bypassing the payments service.
type paypal struct{ t *testing.T }

// checkoutPayPal fills a fresh customer's cart with qty of productID and
// checks out with PayPal; it returns the order and its payment awaiting
// the buyer's approval.
func (s shop) checkoutPayPal(t *testing.T, productID string, qty int) (auth string, o orderJSON, p paymentJSON) {
	t.Helper()
	auth = "Bearer " + token(t, uuid.New(), authn.RoleCustomer)
	require.Equal(t, http.StatusOK, s.addToCart(t, auth, productID, qty).Status)
	in := shipTo
	provider := apiclient.Paypal
	in.PaymentProvider = &provider
	resp := s.checkout(t, auth, uuid.NewString(), in)
	require.Equal(t, http.StatusCreated, resp.Status, "checkout: %s", resp.Body)
	var placed struct {
		orderJSON
		PaymentProvider string `json:"payment_provider"`
	}
	resp.JSON(t, &placed)
	assert.Equal(t, contracts.PaymentProviderPayPal, placed.PaymentProvider)
	p = s.payment(t, auth, placed.ID, "pending")
	assert.Equal(t, contracts.PaymentProviderPayPal, p.Provider)
	require.True(t, strings.HasPrefix(p.ApprovalURL, "http://"+paypalAddr+"/checkoutnow?token="+p.PaymentIntentID), p.ApprovalURL)
	// The order shows the approval link too, once payment.created is in.
	require.Eventually(t, func() bool {
		var d struct {
			Payment *struct {
				ApprovalURL string `json:"approval_url"`
			} `json:"payment"`
		}
		r := s.send(t, http.MethodGet, "/api/v1/orders/"+placed.ID, auth, "")
		r.JSON(t, &d)
		return d.Payment != nil && d.Payment.ApprovalURL == p.ApprovalURL
	}, 30*time.Second, 100*time.Millisecond, "the order shows the approval link")
	return auth, placed.orderJSON, p
}

// approve approves the payment at PayPal's page as its buyer; funding
// "declined" approves with a funding source whose capture is denied.
func (pp paypal) approve(p paymentJSON, funding string) {
	pp.t.Helper()
	target := p.ApprovalURL
	if funding != "" {
		target += "&funding=" + url.QueryEscape(funding)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Post(target, "application/x-www-form-urlencoded", nil)
	require.NoError(pp.t, err)
	resp.Body.Close()
	require.Equal(pp.t, http.StatusSeeOther, resp.StatusCode, "approval at %s", target)
	assert.True(pp.t, strings.HasPrefix(resp.Header.Get("Location"), gatewayURL+"/"), "back to the shop: %s", resp.Header.Get("Location"))
}

type paypalEvent struct {
	ID           string `json:"id"`
	EventType    string `json:"event_type"`
	Acknowledged int    `json:"acknowledged"`
}

// waitAcknowledged waits until the events about PayPal order id are of
// the want types, in order, each acknowledged (answered 2xx) times times.
func (pp paypal) waitAcknowledged(id string, times int, want ...string) []paypalEvent {
	pp.t.Helper()
	var got []paypalEvent
	require.Eventually(pp.t, func() bool {
		got = pp.eventsOf(id)
		if len(got) != len(want) {
			return false
		}
		for i, evt := range got {
			if evt.EventType != want[i] || evt.Acknowledged < times {
				return false
			}
		}
		return true
	}, 30*time.Second, 100*time.Millisecond, "events %v of %s acknowledged %d times", want, id, times)
	return got
}

// eventsOf lists the emulator's events about PayPal order id, oldest first.
func (pp paypal) eventsOf(id string) []paypalEvent {
	pp.t.Helper()
	var out []paypalEvent
	resp := call(pp.t, http.MethodGet, "http://"+paypalAddr+"/_emulator/orders/"+id+"/events", nil)
	require.Equal(pp.t, http.StatusOK, resp.Status)
	resp.JSON(pp.t, &out)
	return out
}

func (pp paypal) control(method, path string) {
	pp.t.Helper()
	resp := call(pp.t, method, "http://"+paypalAddr+path, nil)
	require.Less(pp.t, resp.Status, 300, "%s %s: %s", method, path, resp.Body)
}

// holdWebhooks withholds PayPal's webhooks until the returned release is
// called, at the latest when the test ends.
func (pp paypal) holdWebhooks() (release func()) {
	pp.t.Helper()
	pp.control(http.MethodPut, "/_emulator/webhooks/hold")
	released := false
	release = func() {
		if !released {
			released = true
			pp.control(http.MethodDelete, "/_emulator/webhooks/hold")
		}
	}
	pp.t.Cleanup(release)
	return release
}

// read reads PayPal order id as PayPal has it into v, with an access
// token of the shop's credentials.
func (pp paypal) read(id string, v any) {
	pp.t.Helper()
	basic := base64.StdEncoding.EncodeToString([]byte(sys.secrets["paypal-client-id"] + ":" + sys.secrets["paypal-client-secret"]))
	tok := call(pp.t, http.MethodPost, "http://"+paypalAddr+"/v1/oauth2/token", strings.NewReader("grant_type=client_credentials"),
		"Authorization", "Basic "+basic, "Content-Type", "application/x-www-form-urlencoded")
	require.Equal(pp.t, http.StatusOK, tok.Status, "%s", tok.Body)
	var token struct {
		AccessToken string `json:"access_token"`
	}
	tok.JSON(pp.t, &token)
	resp := call(pp.t, http.MethodGet, "http://"+paypalAddr+"/v2/checkout/orders/"+id, nil, "Authorization", "Bearer "+token.AccessToken)
	require.Equal(pp.t, http.StatusOK, resp.Status, "%s", resp.Body)
	resp.JSON(pp.t, v)
}

// order reads a PayPal order: its status, its captures' statuses and its
// refunds' amounts.
func (pp paypal) order(id string) (status string, captures []string, refunded []string) {
	pp.t.Helper()
	var o struct {
		Status        string `json:"status"`
		PurchaseUnits []struct {
			Payments struct {
				Captures []struct{ Status string } `json:"captures"`
				Refunds  []struct {
					Amount struct{ Value string } `json:"amount"`
				} `json:"refunds"`
			} `json:"payments"`
		} `json:"purchase_units"`
	}
	pp.read(id, &o)
	for _, pu := range o.PurchaseUnits {
		for _, c := range pu.Payments.Captures {
			captures = append(captures, c.Status)
		}
		for _, r := range pu.Payments.Refunds {
			refunded = append(refunded, r.Amount.Value)
		}
	}
	return o.Status, captures, refunded
}

// TestPayPal proves for PayPal what the Stripe tests prove: paid once
// whatever the webhook's retries, a decline cancels the order and gives
// the stock back, refunds (partial, full, never over), the refund of a
// cancelled paid order, reconciliation of a lost webhook, and forged
// webhooks turned away.
func TestPayPal(t *testing.T) {
	s := shop{admin: "Bearer " + token(t, uuid.New(), authn.RoleAdmin)}
	pp := paypal{t}
	require.NotEmpty(t, sys.secrets["paypal-webhook-id"], "make prepare adds the PayPal credentials to .run/secrets.json")

	t.Run("approved at PayPal, captured, paid once whatever the webhook's retries", func(t *testing.T) {
		productID := s.newProduct(t, 1250, 10)
		customer, o, p := s.checkoutPayPal(t, productID, 2)
		assert.EqualValues(t, 2500, p.AmountCents)
		pp.approve(p, "")
		paid := s.waitStatus(t, customer, o.ID, "paid")
		assert.Equal(t, []string{"pending_payment", "paid"}, statuses(paid))
		got := s.payment(t, customer, o.ID, "succeeded")
		assert.Empty(t, got.ApprovalURL, "nothing left to approve")
		status, captures, _ := pp.order(p.PaymentIntentID)
		assert.Equal(t, "COMPLETED", status)
		assert.Equal(t, []string{"COMPLETED"}, captures, "captured once")
		s.waitInventory(t, productID, inventory{OnHand: 8, Reserved: 0, Available: 8})

		// Every event about the order, delivered twice more.
		events := pp.waitAcknowledged(p.PaymentIntentID, 1, approved, captureCompleted)
		for range 2 {
			for _, evt := range events {
				pp.control(http.MethodPost, "/_emulator/webhooks/"+evt.ID+"/redeliver")
			}
		}
		pp.waitAcknowledged(p.PaymentIntentID, 3, approved, captureCompleted)
		_, captures, _ = pp.order(p.PaymentIntentID)
		assert.Equal(t, []string{"COMPLETED"}, captures, "a redelivered approval captures nothing more")
		assert.Equal(t, 1, outboxCount(t, contracts.TopicPaymentSucceeded, o.ID), "paid once")
		assert.Equal(t, 1, s.invoiceCount(t, customer, o.ID), "one invoice")
		assert.Equal(t, []string{"pending_payment", "paid"}, statuses(s.order(t, customer, o.ID)))
	})

	t.Run("a declined funding source cancels the order and gives the stock back", func(t *testing.T) {
		productID := s.newProduct(t, 990, 5)
		customer, o, p := s.checkoutPayPal(t, productID, 1)
		pp.approve(p, "declined")
		s.waitStatus(t, customer, o.ID, "cancelled")
		failed := s.payment(t, customer, o.ID, "failed")
		assert.Contains(t, failed.FailureMessage, "declined")
		s.waitInventory(t, productID, inventory{OnHand: 5, Reserved: 0, Available: 5})
		assert.Equal(t, 0, outboxCount(t, contracts.TopicPaymentSucceeded, o.ID))
	})

	t.Run("refunds: partial, the rest, never more than was paid", func(t *testing.T) {
		productID := s.newProduct(t, 3000, 5)
		customer, o, p := s.checkoutPayPal(t, productID, 1)
		pp.approve(p, "")
		s.waitStatus(t, customer, o.ID, "paid")
		paid := s.payment(t, customer, o.ID, "succeeded")

		resp := s.refund(t, paid.ID, uuid.NewString(), 1000)
		require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)
		over := s.refund(t, paid.ID, uuid.NewString(), 2001)
		assert.Equal(t, http.StatusConflict, over.Status, "%s", over.Body)
		key := uuid.NewString()
		rest := s.refund(t, paid.ID, key)
		require.Equal(t, http.StatusCreated, rest.Status, "%s", rest.Body)
		again := s.refund(t, paid.ID, key)
		assert.Equal(t, http.StatusCreated, again.Status, "the same key answers the same refund")
		refunds := s.refundsOf(t, customer, o.ID)
		require.Len(t, refunds, 2)
		assert.EqualValues(t, 1000, refunds[0].AmountCents)
		assert.EqualValues(t, 2000, refunds[1].AmountCents)
		_, captures, refunded := pp.order(p.PaymentIntentID)
		assert.Equal(t, []string{"REFUNDED"}, captures)
		assert.ElementsMatch(t, []string{"10.00", "20.00"}, refunded, "PayPal refunded what we did, once each")
		assert.Equal(t, http.StatusConflict, s.refund(t, paid.ID, uuid.NewString(), 1).Status, "nothing is left")
	})

	t.Run("cancelling a paid order refunds it in full", func(t *testing.T) {
		productID := s.newProduct(t, 4200, 5)
		customer, o, p := s.checkoutPayPal(t, productID, 1)
		pp.approve(p, "")
		s.waitStatus(t, customer, o.ID, "paid")
		resp := s.send(t, http.MethodPost, "/api/v1/orders/"+o.ID+"/cancel", customer, "")
		require.Equal(t, http.StatusOK, resp.Status, "cancel: %s", resp.Body)
		refunded := s.waitStatus(t, customer, o.ID, "refunded")
		assert.Equal(t, []string{"pending_payment", "paid", "cancelled", "refunded"}, statuses(refunded))
		refunds := s.refundsOf(t, customer, o.ID)
		require.Len(t, refunds, 1, "refunded once")
		assert.EqualValues(t, 4200, refunds[0].AmountCents)
		_, captures, _ := pp.order(p.PaymentIntentID)
		assert.Equal(t, []string{"REFUNDED"}, captures)
	})

	t.Run("an order cancelled before its approval is never captured", func(t *testing.T) {
		productID := s.newProduct(t, 800, 5)
		customer, o, p := s.checkoutPayPal(t, productID, 1)
		resp := s.send(t, http.MethodPost, "/api/v1/orders/"+o.ID+"/cancel", customer, "")
		require.Equal(t, http.StatusOK, resp.Status, "cancel: %s", resp.Body)
		s.waitStatus(t, customer, o.ID, "cancelled")
		s.payment(t, customer, o.ID, "cancelled")
		pp.approve(p, "") // too late: the buyer still finds the page
		pp.waitAcknowledged(p.PaymentIntentID, 1, approved)
		status, captures, _ := pp.order(p.PaymentIntentID)
		assert.Equal(t, "APPROVED", status, "never captured")
		assert.Empty(t, captures)
		assert.Equal(t, "cancelled", s.order(t, customer, o.ID).Status)
		s.waitInventory(t, productID, inventory{OnHand: 5, Reserved: 0, Available: 5})
	})

	t.Run("reconciliation captures an approval whose webhook was lost, once", func(t *testing.T) {
		productID := s.newProduct(t, 1500, 5)
		customer, o, p := s.checkoutPayPal(t, productID, 1)
		release := pp.holdWebhooks()
		pp.approve(p, "")
		var got []paymentJSON
		require.Eventually(t, func() bool {
			require.Equal(t, http.StatusOK, runReconcile(t).Status)
			s.payments(t, customer, o.ID).JSON(t, &got)
			return len(got) == 1 && got[0].Status == "succeeded"
		}, 60*time.Second, 200*time.Millisecond, "reconciliation settles the payment")
		s.waitStatus(t, customer, o.ID, "paid")
		release()
		pp.waitAcknowledged(p.PaymentIntentID, 1, approved, captureCompleted)
		_, captures, _ := pp.order(p.PaymentIntentID)
		assert.Equal(t, []string{"COMPLETED"}, captures, "captured once")
		assert.Equal(t, 1, outboxCount(t, contracts.TopicPaymentSucceeded, o.ID), "paid once")
		assert.Equal(t, []string{"pending_payment", "paid"}, statuses(s.order(t, customer, o.ID)))
	})

	t.Run("an amount PayPal cannot take is refused at checkout, nothing reserved", func(t *testing.T) {
		// PayPal takes forints in whole units only; the shop prices them
		// in fillér, as ISO 4217 has it.
		productID := s.newProductIn(t, 150050, "HUF", 5)
		customer := "Bearer " + token(t, uuid.New(), authn.RoleCustomer)
		require.Equal(t, http.StatusOK, s.addToCart(t, customer, productID, 1).Status)
		in := shipTo
		provider := apiclient.Paypal
		in.PaymentProvider = &provider
		key := uuid.NewString()
		for _, attempt := range []string{"first", "retried"} {
			resp := s.checkout(t, customer, key, in)
			require.Equal(t, http.StatusUnprocessableEntity, resp.Status, "%s checkout: %s", attempt, resp.Body)
			assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
			var p struct {
				Status     int    `json:"status"`
				Code       string `json:"code"`
				Currency   string `json:"currency"`
				TotalCents int64  `json:"total_cents"`
				Errors     []struct {
					Field   string `json:"field"`
					Message string `json:"message"`
				} `json:"errors"`
			}
			resp.JSON(t, &p)
			assert.Equal(t, http.StatusUnprocessableEntity, p.Status)
			assert.Equal(t, "not_payable", p.Code)
			assert.Equal(t, "HUF", p.Currency)
			assert.EqualValues(t, 150050, p.TotalCents)
			require.Len(t, p.Errors, 1)
			assert.Equal(t, "payment_provider", p.Errors[0].Field)
			assert.Contains(t, p.Errors[0].Message, "whole units")
		}
		assert.Equal(t, inventory{OnHand: 5, Reserved: 0, Available: 5}, s.inventory(t, productID), "nothing reserved")
		var mine struct {
			Total int `json:"total"`
		}
		s.send(t, http.MethodGet, "/api/v1/orders", customer, "").JSON(t, &mine)
		assert.Zero(t, mine.Total, "no order")
		var cart struct {
			Items []struct {
				ProductID string `json:"product_id"`
			} `json:"items"`
		}
		s.send(t, http.MethodGet, "/api/v1/cart", customer, "").JSON(t, &cart)
		require.Len(t, cart.Items, 1, "the cart is kept")

		// Two of them make whole forints: PayPal is asked for 3001 HUF,
		// not 300100, and the order is paid.
		require.Equal(t, http.StatusOK, s.addToCart(t, customer, productID, 1).Status)
		resp := s.checkout(t, customer, uuid.NewString(), in)
		require.Equal(t, http.StatusCreated, resp.Status, "checkout: %s", resp.Body)
		var o orderJSON
		resp.JSON(t, &o)
		p := s.payment(t, customer, o.ID, "pending")
		pp.approve(p, "")
		s.waitStatus(t, customer, o.ID, "paid")
		assert.Equal(t, []string{"3001 HUF"}, pp.captured(p.PaymentIntentID))
		s.waitInventory(t, productID, inventory{OnHand: 3, Reserved: 0, Available: 3})

		// Stripe takes fillér: the same price checks out by card.
		_, byCard := s.placeOrder(t, productID, 1)
		assert.EqualValues(t, 150050, byCard.TotalCents)
		assert.Equal(t, "HUF", byCard.Currency)
	})

	t.Run("a forged webhook is 400 and changes nothing", func(t *testing.T) {
		productID := s.newProduct(t, 700, 5)
		customer, o, p := s.checkoutPayPal(t, productID, 1)
		// A genuine delivery to forge from: another order's approval.
		_, _, other := s.checkoutPayPal(t, productID, 1)
		pp.approve(other, "")
		var last struct {
			Headers map[string]string `json:"headers"`
			Body    string            `json:"body"`
		}
		require.Eventually(t, func() bool {
			resp := call(t, http.MethodGet, "http://"+paypalAddr+"/_emulator/webhooks/last", nil)
			resp.JSON(t, &last)
			return strings.Contains(last.Body, other.PaymentIntentID)
		}, 30*time.Second, 100*time.Millisecond)
		// The same event, made to name this order.
		forgedBody := strings.ReplaceAll(last.Body, other.PaymentIntentID, p.PaymentIntentID)
		send := func(t *testing.T, body string, edit func(h map[string]string)) response {
			h := map[string]string{}
			for k, v := range last.Headers {
				h[k] = v
			}
			if edit != nil {
				edit(h)
			}
			var headers []string
			for k, v := range h {
				headers = append(headers, k, v)
			}
			return call(t, http.MethodPost, gatewayURL+paypalWebhookPath, strings.NewReader(body), headers...)
		}
		for name, tc := range map[string]struct {
			body string
			edit func(h map[string]string)
		}{
			"another order in a signed body": {forgedBody, nil},
			"a made-up signature": {forgedBody, func(h map[string]string) {
				h["PAYPAL-TRANSMISSION-SIG"] = base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", 256)))
			}},
			"a certificate off PayPal's host": {forgedBody, func(h map[string]string) {
				h["PAYPAL-CERT-URL"] = "https://certs.example.com/v1/notifications/certs/CERT-1"
			}},
			"a transmission of an hour ago": {last.Body, func(h map[string]string) {
				h["PAYPAL-TRANSMISSION-TIME"] = time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
			}},
			"another webhook's transmission": {forgedBody, func(h map[string]string) {
				h["PAYPAL-TRANSMISSION-ID"] = uuid.NewString()
			}},
		} {
			t.Run(name, func(t *testing.T) {
				resp := send(t, tc.body, tc.edit)
				assert.Equal(t, http.StatusBadRequest, resp.Status, "%s", resp.Body)
			})
		}
		assert.Equal(t, "pending", s.payment(t, customer, o.ID, "pending").Status)
		assert.Equal(t, "pending_payment", s.order(t, customer, o.ID).Status)
		status, _, _ := pp.order(p.PaymentIntentID)
		assert.Equal(t, "PAYER_ACTION_REQUIRED", status, "nothing was captured")
	})

	// The paypal breaker this opens is closed again before it ends: the
	// PayPal orders are paid through it.
	t.Run("PayPal down: its breaker opens, nothing is captured, card orders pay, PayPal orders are paid once after", func(t *testing.T) {
		productID := s.newProduct(t, 2100, 10)
		// Approved at PayPal during the outage: its capture meets it.
		approvedCustomer, approvedOrder, approvedPayment := s.checkoutPayPal(t, productID, 1)
		cardCustomer := "Bearer " + token(t, uuid.New(), authn.RoleCustomer)
		s.saveCard(t, cardCustomer, "pm_card_visa")

		lift := outage(t, paypalAddr)
		pp.approve(approvedPayment, "") // PayPal's page still takes the approval
		// Placed during the outage: its PayPal order cannot be created.
		lateCustomer := "Bearer " + token(t, uuid.New(), authn.RoleCustomer)
		require.Equal(t, http.StatusOK, s.addToCart(t, lateCustomer, productID, 1).Status)
		in := shipTo
		provider := apiclient.Paypal
		in.PaymentProvider = &provider
		resp := s.checkout(t, lateCustomer, uuid.NewString(), in)
		require.Equal(t, http.StatusCreated, resp.Status, "checkout: %s", resp.Body)
		var late orderJSON
		resp.JSON(t, &late)

		waitBreakerOpen(t, "paypal", "/v2/checkout/orders/probe")
		byCard := s.placeOrderAs(t, cardCustomer, productID, 1)
		if parallelDelivery() {
			// The open paypal breaker is not Stripe's, and the broker
			// hands payments the card order's order.created beside the
			// PayPal one it delivers again.
			s.waitStatus(t, cardCustomer, byCard.ID, "paid")
		}
		// PayPal's state, which no API call could reach meanwhile: the
		// approval, no capture.
		var types []string
		for _, evt := range pp.eventsOf(approvedPayment.PaymentIntentID) {
			types = append(types, evt.EventType)
		}
		assert.Equal(t, []string{approved}, types, "nothing captured during the outage")

		lift()
		start := time.Now()
		// The approval's webhook is delivered again, or reconciliation
		// captures it: once either way.
		var last response
		require.Eventually(t, func() bool {
			last = runReconcile(t)
			return s.order(t, approvedCustomer, approvedOrder.ID).Status == "paid"
		}, 120*time.Second, 500*time.Millisecond, "the approved order is paid once PayPal is back (last reconcile: %d %s)", last.Status, last.Body)
		t.Logf("PayPal back → approved order paid: %s", time.Since(start))
		// order.created is delivered again until its PayPal order exists.
		p := s.paymentWithin(t, lateCustomer, late.ID, "pending", 120*time.Second)
		t.Logf("PayPal back → late order's PayPal order created: %s", time.Since(start))
		pp.approve(p, "")
		s.waitStatus(t, lateCustomer, late.ID, "paid")

		for _, o := range []struct {
			customer, id, intent string
		}{{approvedCustomer, approvedOrder.ID, approvedPayment.PaymentIntentID}, {lateCustomer, late.ID, p.PaymentIntentID}} {
			assert.Equal(t, []string{"pending_payment", "paid"}, statuses(s.order(t, o.customer, o.id)))
			_, captures, _ := pp.order(o.intent)
			assert.Equal(t, []string{"COMPLETED"}, captures, "captured once")
			assert.Equal(t, 1, outboxCount(t, contracts.TopicPaymentSucceeded, o.id), "paid once")
		}
		// On a broker delivering one event at a time the card order's
		// waited behind the PayPal one: it is paid now.
		require.Eventually(t, func() bool {
			return s.order(t, cardCustomer, byCard.ID).Status == "paid"
		}, 120*time.Second, 200*time.Millisecond, "the card order is paid")
		assert.Equal(t, []string{"pending_payment", "paid"}, statuses(s.order(t, cardCustomer, byCard.ID)))
		s.waitInventory(t, productID, inventory{OnHand: 7, Reserved: 0, Available: 7})
	})
}

// parallelDelivery tells whether the broker under test hands a subscriber
// several events at once: Redis Streams and RabbitMQ do. Dapr's JetStream
// component takes one at a time (see settleLimit), and Kafka one at a
// time per partition, of which each topic has one.
func parallelDelivery() bool {
	switch os.Getenv("PUBSUB") {
	case "jetstream", "kafka":
		return false
	}
	return true
}

// captured lists the amounts captured of PayPal order id, as PayPal
// writes them ("3001 HUF").
func (pp paypal) captured(id string) []string {
	pp.t.Helper()
	var o struct {
		PurchaseUnits []struct {
			Payments struct {
				Captures []struct {
					Amount struct {
						CurrencyCode string `json:"currency_code"`
						Value        string `json:"value"`
					} `json:"amount"`
				} `json:"captures"`
			} `json:"payments"`
		} `json:"purchase_units"`
	}
	pp.read(id, &o)
	var out []string
	for _, pu := range o.PurchaseUnits {
		for _, c := range pu.Payments.Captures {
			out = append(out, c.Amount.Value+" "+c.Amount.CurrencyCode)
		}
	}
	return out
}

// PayPal's event types the tests wait for.
const (
	approved         = "CHECKOUT.ORDER.APPROVED"
	captureCompleted = "PAYMENT.CAPTURE.COMPLETED"
)
