package e2e

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/apiclient"
	"github.com/daprshop/daprshop/services/platform/authn"
)

type refundJSON struct {
	ID          string `json:"id"`
	AmountCents int64  `json:"amount_cents"`
	Status      string `json:"status"`
}

// refund asks, as an admin, to refund cents of payment with key; no cents
// refunds the rest.
func (s shop) refund(t *testing.T, paymentID, key string, cents ...int64) response {
	t.Helper()
	var in apiclient.RefundRequest
	if len(cents) > 0 {
		in.AmountCents = &cents[0]
	}
	resp, err := api.RefundPayment(ctx(t), uuid.MustParse(paymentID), &apiclient.RefundPaymentParams{IdempotencyKey: key}, in, as(s.admin))
	return answer(t, resp, err)
}

// refundsOf lists the refunds payments shows for the order.
func (s shop) refundsOf(t *testing.T, auth, orderID string) []refundJSON {
	t.Helper()
	var got []struct{ Refunds []refundJSON }
	resp := s.payments(t, auth, orderID)
	require.Equal(t, http.StatusOK, resp.Status, "payments: %s", resp.Body)
	resp.JSON(t, &got)
	require.Len(t, got, 1)
	return got[0].Refunds
}

// stripeRefundsOf lists the intent's refunds at Stripe with our refund id.
func (e emulator) stripeRefundsOf(intentID string) map[string]int64 {
	e.t.Helper()
	var list struct {
		Data []struct {
			Amount   int64
			Status   string
			Metadata map[string]string
		}
	}
	e.get("/v1/refunds?payment_intent="+intentID, &list)
	out := map[string]int64{}
	for _, rf := range list.Data {
		if rf.Status != "failed" {
			out[rf.Metadata["refund_id"]] += rf.Amount
		}
	}
	return out
}

// stripeRefundIDs lists the ids of the intent's refunds at Stripe.
func (e emulator) stripeRefundIDs(intentID string) []string {
	e.t.Helper()
	var ids []string
	for _, rf := range e.refunds(intentID) {
		ids = append(ids, rf.ID)
	}
	return ids
}

// TestRefunds proves that an admin's refund moves money once whatever the
// client's retries and Stripe's outages.
func TestRefunds(t *testing.T) {
	s := shop{admin: "Bearer " + token(t, uuid.New(), authn.RoleAdmin)}
	stripe := emulator{t}
	paidOrder := func(t *testing.T, card string) (customer string, o orderJSON, p paymentJSON) {
		t.Helper()
		productID := s.newProduct(t, 2000, 3)
		customer = "Bearer " + token(t, uuid.New(), authn.RoleCustomer)
		s.saveCard(t, customer, card)
		require.Equal(t, http.StatusOK, s.addToCart(t, customer, productID, 1).Status)
		resp := s.checkout(t, customer, uuid.NewString(), shipTo)
		require.Equal(t, http.StatusCreated, resp.Status, "checkout: %s", resp.Body)
		resp.JSON(t, &o)
		s.waitStatus(t, customer, o.ID, "paid")
		return customer, o, s.payment(t, customer, o.ID, "succeeded")
	}

	t.Run("retried with the same key: one refund at Stripe, the same answer", func(t *testing.T) {
		customer, o, p := paidOrder(t, "pm_card_visa")
		key := uuid.NewString()
		var wg sync.WaitGroup
		answers := make([]response, 3)
		for i := range answers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				answers[i] = s.refund(t, p.ID, key, 700)
			}()
		}
		wg.Wait()
		retried := s.refund(t, p.ID, key, 700)
		for _, a := range append(answers, retried) {
			require.Equal(t, http.StatusCreated, a.Status, "refund: %s", a.Body)
			assert.JSONEq(t, string(answers[0].Body), string(a.Body), "the same answer")
		}
		assert.Equal(t, "true", retried.Header.Get("Idempotent-Replayed"))
		resp := s.refund(t, p.ID, key, 800)
		assert.Equal(t, http.StatusUnprocessableEntity, resp.Status, "the key with another body: %s", resp.Body)
		done := invalidRequests(t) // no Idempotency-Key
		resp = s.send(t, http.MethodPost, "/api/v1/payments/"+p.ID+"/refunds", s.admin, `{"amount_cents": 800}`)
		done()
		assert.Equal(t, http.StatusBadRequest, resp.Status, "no key: %s", resp.Body)

		var r refundJSON
		answers[0].JSON(t, &r)
		assert.Equal(t, map[string]int64{r.ID: 700}, stripe.stripeRefundsOf(p.PaymentIntentID), "one refund at Stripe")
		assert.Equal(t, []refundJSON{{ID: r.ID, AmountCents: 700, Status: "succeeded"}}, s.refundsOf(t, customer, o.ID))
		assert.Equal(t, 1, outboxCount(t, "payment.refunded", o.ID))
	})

	t.Run("during a Stripe outage: pending, then settled once by reconciliation", func(t *testing.T) {
		customer, o, p := paidOrder(t, "pm_card_visa")
		lift := outage(t, stripeAddr)
		key := uuid.NewString()
		resp := s.refund(t, p.ID, key, 500)
		require.Contains(t, []int{http.StatusServiceUnavailable, http.StatusGatewayTimeout}, resp.Status, "refund: %s", resp.Body)
		pending := s.refundsOf(t, customer, o.ID)
		require.Len(t, pending, 1)
		assert.Equal(t, "pending", pending[0].Status, "held while Stripe is down")
		lift()

		var last response
		require.Eventually(t, func() bool {
			last = runReconcile(t)
			return last.Status == http.StatusOK && s.refundsOf(t, customer, o.ID)[0].Status == "succeeded"
		}, 60*time.Second, 250*time.Millisecond, "reconciliation settles the refund (last run: %d %s)", last.Status, last.Body)
		assert.Equal(t, map[string]int64{pending[0].ID: 500}, stripe.stripeRefundsOf(p.PaymentIntentID), "one refund at Stripe")
		assert.Equal(t, 1, outboxCount(t, "payment.refunded", o.ID))

		resp = s.refund(t, p.ID, key, 500)
		require.Equal(t, http.StatusCreated, resp.Status, "the retry finds it settled: %s", resp.Body)
		var r refundJSON
		resp.JSON(t, &r)
		assert.Equal(t, refundJSON{ID: pending[0].ID, AmountCents: 500, Status: "succeeded"}, r)
		assert.Len(t, stripe.stripeRefundsOf(p.PaymentIntentID), 1)
		assert.Equal(t, 1, outboxCount(t, "payment.refunded", o.ID))
	})
	t.Run("held pending by Stripe, then failed: reconciliation releases the amount", func(t *testing.T) {
		customer, o, p := paidOrder(t, "pm_card_pendingRefund")
		resp := s.refund(t, p.ID, uuid.NewString())
		require.Equal(t, http.StatusCreated, resp.Status, "refund: %s", resp.Body)
		var r refundJSON
		resp.JSON(t, &r)
		assert.Equal(t, refundJSON{ID: r.ID, AmountCents: 2000, Status: "pending"}, r)
		resp = s.refund(t, p.ID, uuid.NewString(), 1)
		assert.Equal(t, http.StatusConflict, resp.Status, "the pending amount is held: %s", resp.Body)

		ids := stripe.stripeRefundIDs(p.PaymentIntentID)
		require.Len(t, ids, 1)
		settle := call(t, http.MethodPost, "http://"+stripeAddr+"/_emulator/refunds/"+ids[0]+"/settle?status=failed", nil)
		require.Equal(t, http.StatusOK, settle.Status, "%s", settle.Body)
		var last response
		require.Eventually(t, func() bool {
			last = runReconcile(t)
			return last.Status == http.StatusOK && s.refundsOf(t, customer, o.ID)[0].Status == "failed"
		}, 60*time.Second, 250*time.Millisecond, "reconciliation fails the refund (last run: %d %s)", last.Status, last.Body)
		assert.Zero(t, outboxCount(t, "payment.refunded", o.ID))

		resp = s.refund(t, p.ID, uuid.NewString(), 2000)
		assert.Equal(t, http.StatusCreated, resp.Status, "the released amount is refundable again: %s", resp.Body)
	})
}
