// Package paymentstest holds an in-memory card provider for the tests of
// the payments domain and of its ports, which run without Stripe.
package paymentstest

import (
	"context"
	"fmt"
	"sync"

	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/payments/internal/payments"
	"github.com/daprshop/daprshop/services/platform/apperr"
)

// Provider is an in-memory payments.Provider, idempotent per key like
// Stripe: the same order gets the same intent however often it is asked
// for. The fields configure it; set them before the service uses it.
type Provider struct {
	// Async makes confirmations leave intents processing, as asynchronous
	// payment methods do, until Settle gives the verdict.
	Async bool
	// RefundsPending makes new refunds start pending, until SettleRefunds
	// decides them.
	RefundsPending bool
	// BeforeCreate, when set, runs as an intent is about to be created,
	// outside the lock: what happens meanwhile elsewhere.
	BeforeCreate func()
	// BeforeRefund, when set, runs as a refund is asked for, outside the
	// lock: what happens meanwhile elsewhere.
	BeforeRefund func()

	mu      sync.Mutex
	intents map[uuid.UUID]payments.Intent // by order
	created int                           // intents actually created
	charged []string                      // cards confirmed
	cards   int
	// refuse makes the provider turn refunds down, as Stripe does a bad one;
	// down makes refund calls fail as in an outage; loseAnswers makes
	// refunds happen but their answers fail, as when a call times out
	// after the provider acted.
	refuse, down, loseAnswers bool
	// refunded holds the refunds made, by our refund id (their
	// idempotency key and metadata); cancels the intents each cancel key
	// cancelled, both like Stripe: once per key.
	refunded map[uuid.UUID]*refund
	cancels  map[string]payments.Intent
}

// NewProvider returns a provider with no intents, refunds or cards.
func NewProvider() *Provider {
	return &Provider{intents: map[uuid.UUID]payments.Intent{}, refunded: map[uuid.UUID]*refund{}, cancels: map[string]payments.Intent{}}
}

// CreateCustomer implements payments.Provider.
func (f *Provider) CreateCustomer(_ context.Context, userID uuid.UUID, _ string) (string, error) {
	return "cus_" + userID.String(), nil
}

// AttachCard implements payments.Provider: every card is a visa 4242.
func (f *Provider) AttachCard(_ context.Context, _, _, token string) (payments.Card, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cards++
	return payments.Card{ProviderID: fmt.Sprintf("%s_%d", token, f.cards), Brand: "visa", Last4: "4242", ExpMonth: 12, ExpYear: 2030}, nil
}

// DetachCard implements payments.Provider.
func (f *Provider) DetachCard(context.Context, string, string) error { return nil }

// CreateIntent implements payments.Provider: an intent confirmed with a
// card succeeds at once (or, Async, is processing).
func (f *Provider) CreateIntent(_ context.Context, req payments.IntentRequest) (payments.Intent, error) {
	if f.BeforeCreate != nil {
		f.BeforeCreate()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if i, ok := f.intents[req.OrderID]; ok {
		return i, nil
	}
	f.created++
	i := payments.Intent{ID: "pi_" + req.OrderID.String(), ClientSecret: "pi_" + req.OrderID.String() + "_secret", Status: payments.IntentAwaitingMethod}
	if req.CardID != "" {
		f.charged = append(f.charged, req.CardID)
		i.Status = payments.IntentSucceeded
		if f.Async {
			i.Status = payments.IntentProcessing
		}
	}
	f.intents[req.OrderID] = i
	return i, nil
}

// Created counts the intents actually created.
func (f *Provider) Created() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.created
}

// Charged lists the cards intents were confirmed with.
func (f *Provider) Charged() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.charged...)
}

// Settle gives the intent of order the provider's verdict: its status and
// last failure.
func (f *Provider) Settle(order uuid.UUID, status payments.IntentStatus, failure string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.intents[order]
	i.Status, i.FailureMessage = status, failure
	f.intents[order] = i
}

// IntentStatus is where the intent of order stands.
func (f *Provider) IntentStatus(order uuid.UUID) payments.IntentStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.intents[order].Status
}

// Intent implements payments.Provider.
func (f *Provider) Intent(_ context.Context, id string) (payments.Intent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, i := range f.intents {
		if i.ID == id {
			return i, nil
		}
	}
	return payments.Intent{}, payments.ErrNotFound
}

type refund struct {
	payments.ProviderRefund
	amountCents int64
}

// ErrOutage is what refund calls fail with while the provider is down or
// loses its answers.
var ErrOutage = apperr.New(apperr.Unavailable, "the payment provider is unavailable")

// Refund implements payments.Provider.
func (f *Provider) Refund(_ context.Context, refundID uuid.UUID, _ string, amountCents int64) (payments.ProviderRefund, error) {
	if f.BeforeRefund != nil {
		f.BeforeRefund()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.down:
		return payments.ProviderRefund{}, ErrOutage
	case f.refunded[refundID] != nil:
		return f.refunded[refundID].ProviderRefund, nil
	case f.refuse:
		return payments.ProviderRefund{}, payments.ErrProviderRefused
	}
	r := &refund{ProviderRefund: payments.ProviderRefund{ID: "re_" + refundID.String(), Status: payments.RefundSucceeded}, amountCents: amountCents}
	if f.RefundsPending {
		r.Status = payments.RefundPending
	}
	f.refunded[refundID] = r
	if f.loseAnswers {
		return payments.ProviderRefund{}, ErrOutage
	}
	return r.ProviderRefund, nil
}

// FindRefund implements payments.Provider.
func (f *Provider) FindRefund(_ context.Context, refundID uuid.UUID, _ string) (payments.ProviderRefund, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.down:
		return payments.ProviderRefund{}, ErrOutage
	case f.refunded[refundID] == nil:
		return payments.ProviderRefund{}, payments.ErrNotFound
	}
	return f.refunded[refundID].ProviderRefund, nil
}

// SettleRefunds decides every pending refund with status, in Stripe's
// words, which an adapter maps to the domain's: a canceled refund failed.
func (f *Provider) SettleRefunds(status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if status == "canceled" {
		status = payments.RefundFailed
	}
	for _, r := range f.refunded {
		if r.Status == payments.RefundPending {
			r.Status = status
		}
	}
}

// SetDown starts or ends an outage of refund calls.
func (f *Provider) SetDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

// SetRefuse makes the provider turn refunds down, or stop doing so.
func (f *Provider) SetRefuse(refuse bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refuse = refuse
}

// SetLoseAnswers makes refunds happen but their answers fail, or stop
// doing so.
func (f *Provider) SetLoseAnswers(lose bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.loseAnswers = lose
}

// CancelIntent implements payments.Provider: it cancels the intent unless
// it is past that, as Stripe does, and answers a key already used with the
// intent as it stands.
func (f *Provider) CancelIntent(_ context.Context, key, id string, _ payments.CancelReason) (payments.Intent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for order, i := range f.intents {
		if i.ID != id {
			continue
		}
		if _, used := f.cancels[key]; !used && (i.Status == payments.IntentAwaitingMethod || i.Status == payments.IntentAwaitingClient) {
			i.Status = payments.IntentCancelled
			f.intents[order] = i
			f.cancels[key] = i
		}
		return i, nil
	}
	return payments.Intent{}, apperr.New(apperr.BadGateway, "no such payment intent")
}

// Cancelled counts the intents cancelled.
func (f *Provider) Cancelled() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.cancels)
}

// Refunds returns the amounts refunded, or held pending, per refund id.
func (f *Provider) Refunds() map[uuid.UUID]int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[uuid.UUID]int64{}
	for id, r := range f.refunded {
		if r.Status != payments.RefundFailed {
			out[id] = r.amountCents
		}
	}
	return out
}
