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
	// refuse makes the provider turn refunds down, as Stripe does a bad one.
	refuse bool
	// async makes confirmations leave intents processing, as asynchronous
	// payment methods do, until settle gives the verdict.
	async bool
}

func newFakeProvider() *fakeProvider {
	return &fakeProvider{intents: map[uuid.UUID]payments.Intent{}}
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
	i.Status, i.FailureMessage = status, failure
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

func (f *fakeProvider) Refund(context.Context, string, string, int64) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refuse {
		return "", apperr.New(apperr.BadGateway, "refused")
	}
	return "re_" + uuid.NewString(), nil
}
