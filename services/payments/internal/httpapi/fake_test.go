package httpapi_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/payments/internal/payments"
	"github.com/daprshop/daprshop/services/platform/apperr"
)

const webhookSecret = "whsec_test_secret"

// sign makes a Stripe-Signature header for payload at t with secret.
func sign(payload []byte, secret string, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + string(payload)))
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// fakeProvider is an in-memory provider, idempotent per key like Stripe:
// the same order gets the same intent however often it is asked for.
type fakeProvider struct {
	mu      sync.Mutex
	intents map[uuid.UUID]payments.Intent // by order
	created int                           // intents actually created
	charged []string                      // cards confirmed
	cards   int
	// refuse makes the provider turn refunds down, as Stripe does a bad one;
	// down makes refund calls fail as in an outage; refundsPending makes
	// new refunds start pending, until settleRefund decides them.
	refuse, down, refundsPending bool
	// loseAnswers makes refunds happen but their answers fail, as when a
	// call times out after the provider acted.
	loseAnswers bool
	// beforeRefund, when set, runs as a refund is asked for, outside the
	// lock: what happens meanwhile elsewhere.
	beforeRefund func()
	// async makes confirmations leave intents processing, as asynchronous
	// payment methods do, until settle gives the verdict.
	async bool
	// refunded holds the refunds made, by our refund id (their
	// idempotency key and metadata); cancels the intents each cancel key
	// cancelled, both like Stripe: once per key.
	refunded map[uuid.UUID]*fakeRefund
	cancels  map[string]payments.Intent
	// beforeCreate, when set, runs as an intent is about to be created,
	// outside the lock: what happens meanwhile elsewhere.
	beforeCreate func()
}

func newFakeProvider() *fakeProvider {
	return &fakeProvider{intents: map[uuid.UUID]payments.Intent{}, refunded: map[uuid.UUID]*fakeRefund{}, cancels: map[string]payments.Intent{}}
}

func (f *fakeProvider) CreateCustomer(_ context.Context, userID uuid.UUID, _ string) (string, error) {
	return "cus_" + userID.String(), nil
}

func (f *fakeProvider) AttachCard(_ context.Context, _, _, token string) (payments.Card, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cards++
	return payments.Card{ProviderID: fmt.Sprintf("%s_%d", token, f.cards), Brand: "visa", Last4: "4242", ExpMonth: 12, ExpYear: 2030}, nil
}

func (f *fakeProvider) DetachCard(context.Context, string, string) error { return nil }

func (f *fakeProvider) CreateIntent(_ context.Context, req payments.IntentRequest) (payments.Intent, error) {
	if f.beforeCreate != nil {
		f.beforeCreate()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if i, ok := f.intents[req.OrderID]; ok {
		return i, nil
	}
	f.created++
	i := payments.Intent{ID: "pi_" + req.OrderID.String(), ClientSecret: "pi_" + req.OrderID.String() + "_secret", Status: "requires_payment_method"}
	if req.CardID != "" {
		f.charged = append(f.charged, req.CardID)
		i.Status = "succeeded"
		if f.async {
			i.Status = "processing"
		}
	}
	f.intents[req.OrderID] = i
	return i, nil
}

// settle gives the intent of order the provider's verdict: its status and
// last failure.
func (f *fakeProvider) settle(order uuid.UUID, status, failure string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.intents[order]
	i.Status, i.FailureMessage = payments.IntentStatus(status), failure
	f.intents[order] = i
}

func (f *fakeProvider) Intent(_ context.Context, id string) (payments.Intent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, i := range f.intents {
		if i.ID == id {
			return i, nil
		}
	}
	return payments.Intent{}, payments.ErrNotFound
}

type fakeRefund struct {
	payments.ProviderRefund
	amountCents int64
}

var errFakeOutage = apperr.New(apperr.Unavailable, "the payment provider is unavailable")

func (f *fakeProvider) Refund(_ context.Context, refundID uuid.UUID, _ string, amountCents int64) (payments.ProviderRefund, error) {
	if f.beforeRefund != nil {
		f.beforeRefund()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.down:
		return payments.ProviderRefund{}, errFakeOutage
	case f.refunded[refundID] != nil:
		return f.refunded[refundID].ProviderRefund, nil
	case f.refuse:
		return payments.ProviderRefund{}, payments.ErrProviderRefused
	}
	r := &fakeRefund{ProviderRefund: payments.ProviderRefund{ID: "re_" + refundID.String(), Status: "succeeded"}, amountCents: amountCents}
	if f.refundsPending {
		r.Status = "pending"
	}
	f.refunded[refundID] = r
	if f.loseAnswers {
		return payments.ProviderRefund{}, errFakeOutage
	}
	return r.ProviderRefund, nil
}

func (f *fakeProvider) FindRefund(_ context.Context, refundID uuid.UUID, _ string) (payments.ProviderRefund, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.down:
		return payments.ProviderRefund{}, errFakeOutage
	case f.refunded[refundID] == nil:
		return payments.ProviderRefund{}, payments.ErrNotFound
	}
	return f.refunded[refundID].ProviderRefund, nil
}

// settleRefunds decides every pending refund with status, in Stripe's
// words, which an adapter maps to the domain's: a canceled refund failed.
func (f *fakeProvider) settleRefunds(status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if status == "canceled" {
		status = payments.RefundFailed
	}
	for _, r := range f.refunded {
		if r.Status == "pending" {
			r.Status = status
		}
	}
}

// setDown starts or ends an outage of refund calls.
func (f *fakeProvider) setDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

// CancelIntent cancels the intent unless it is past that, as Stripe does,
// and answers a key already used with the intent as it stands.
func (f *fakeProvider) CancelIntent(_ context.Context, key, id string, _ payments.CancelReason) (payments.Intent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for order, i := range f.intents {
		if i.ID != id {
			continue
		}
		if _, used := f.cancels[key]; !used && (i.Status == "requires_payment_method" || i.Status == "requires_confirmation") {
			i.Status = "canceled"
			f.intents[order] = i
			f.cancels[key] = i
		}
		return i, nil
	}
	return payments.Intent{}, apperr.New(apperr.BadGateway, "no such payment intent")
}

// cancelled counts the intents cancelled.
func (f *fakeProvider) cancelled() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.cancels)
}

// refunds returns the amounts refunded, or held pending, per refund id.
func (f *fakeProvider) refunds() map[uuid.UUID]int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[uuid.UUID]int64{}
	for id, r := range f.refunded {
		if r.Status != "failed" {
			out[id] = r.amountCents
		}
	}
	return out
}
