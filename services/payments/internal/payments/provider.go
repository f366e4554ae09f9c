package payments

import (
	"context"

	"github.com/google/uuid"
)

// CardVault keeps customers' saved cards: Stripe's.
type CardVault interface {
	// CreateCustomer registers userID with the provider and returns its id.
	CreateCustomer(ctx context.Context, userID uuid.UUID, email string) (string, error)
	// AttachCard saves the card token to the customer; key makes it idempotent.
	AttachCard(ctx context.Context, key, customerID, token string) (Card, error)
	// DetachCard forgets a saved card.
	DetachCard(ctx context.Context, key, cardID string) error
}

// CardProvider is the default provider, which also keeps saved cards.
type CardProvider interface {
	Provider
	CardVault
}

// Capturer is a provider whose intents the customer approves at the
// provider and the shop then captures (PayPal): an intent at
// IntentAwaitingCapture is captured, as soon as the provider says so.
type Capturer interface {
	// Capture takes the money of an approved intent; key makes it
	// idempotent. A decline is not an error: the returned Intent says so.
	Capture(ctx context.Context, key, intentID string) (Intent, error)
}

// Provider is the payment provider boundary: Stripe and PayPal implement
// it; the saga and the webhooks speak only in these terms. Every mutating
// call carries an idempotency key derived from our own ids, so a retried
// call never charges or refunds twice.
type Provider interface {
	// CreateIntent creates the intent to charge an order, confirmed at once
	// with req.CardID when it is set. A declined card is not an error: the
	// returned Intent says Declined.
	CreateIntent(ctx context.Context, req IntentRequest) (Intent, error)
	// Intent reads an intent's current state.
	Intent(ctx context.Context, id string) (Intent, error)
	// Refund refunds amountCents of an intent as our refund refundID,
	// which makes the call idempotent and is kept with the provider's
	// refund so that FindRefund finds it. A refusal is
	// ErrProviderRefused; after any other error the outcome is unknown.
	Refund(ctx context.Context, refundID uuid.UUID, intentID string, amountCents int64) (ProviderRefund, error)
	// FindRefund returns the provider's refund made as refundID of
	// intentID, or ErrNotFound when the provider never made it.
	FindRefund(ctx context.Context, refundID uuid.UUID, intentID string) (ProviderRefund, error)
	// CancelIntent cancels an intent, so it can never charge; key makes it
	// idempotent. An intent that can no longer be cancelled (succeeded,
	// processing, cancelled already) is not an error: the returned Intent,
	// read afresh, says where it stands.
	CancelIntent(ctx context.Context, key, intentID string, reason CancelReason) (Intent, error)
}

// CancelReason tells the provider why an intent is cancelled.
type CancelReason string

// Cancellation reasons, in Stripe's words.
const (
	CancelRequestedByCustomer CancelReason = "requested_by_customer"
	CancelAbandoned           CancelReason = "abandoned"
)

// Card is what the provider tells about a saved card.
type Card struct {
	ProviderID string
	Brand      string
	Last4      string
	ExpMonth   int
	ExpYear    int
}

// IntentRequest asks to charge an order.
type IntentRequest struct {
	OrderID     uuid.UUID
	UserID      uuid.UUID
	AmountCents int64
	Currency    string
	CustomerID  string // empty when the user saved no card
	CardID      string // confirm at once with this card; empty: the client confirms
}

// Intent is the provider's view of a charge.
type Intent struct {
	ID           string
	ClientSecret string
	// ApprovalURL is where the customer approves the payment at the
	// provider (PayPal), while it awaits them.
	ApprovalURL string
	// Status is where the intent stands, mapped from the provider's words
	// by its adapter.
	Status IntentStatus
	// FailureMessage is the last decline, if any.
	FailureMessage string
}

// Settled tells whether the provider reached a verdict: succeeded, or
// declined after a confirmation attempt.
func (i Intent) Settled() (Status, bool) {
	switch {
	case i.Status == IntentSucceeded:
		return StatusSucceeded, true
	case i.Status == IntentAwaitingMethod && i.FailureMessage != "":
		return StatusFailed, true
	}
	return "", false
}

// Cancelled tells whether the intent was cancelled: it can never charge.
func (i Intent) Cancelled() bool { return i.Status == IntentCancelled }

// IntentStatus is where a provider's intent stands. The values are the
// words of Stripe, the first provider; another provider's adapter maps
// its own words to them.
type IntentStatus string

// Intent statuses.
const (
	// IntentAwaitingMethod: no card confirmed the intent yet, or the last
	// one was declined (FailureMessage says why).
	IntentAwaitingMethod IntentStatus = "requires_payment_method"
	// IntentAwaitingClient: the client has yet to confirm or authenticate.
	IntentAwaitingClient IntentStatus = "requires_action"
	// IntentAwaitingCapture: the customer approved the payment at the
	// provider; the shop captures it (see Capturer).
	IntentAwaitingCapture IntentStatus = "approved"
	// IntentProcessing: confirmed, the verdict is awaited.
	IntentProcessing IntentStatus = "processing"
	IntentSucceeded  IntentStatus = "succeeded"
	// IntentCancelled: the intent can never charge.
	IntentCancelled IntentStatus = "canceled"
)

// ProviderRefund is the provider's view of a refund.
type ProviderRefund struct {
	ID string
	// Status is RefundPending, RefundSucceeded or RefundFailed, mapped
	// from the provider's words by its adapter.
	Status string
}

// Verdict tells whether the provider decided the refund, and how.
func (r ProviderRefund) Verdict() (string, bool) {
	if r.Status == RefundSucceeded || r.Status == RefundFailed {
		return r.Status, true
	}
	return "", false
}

// WebhookEvent is a verified provider notification.
type WebhookEvent struct {
	ID     string
	Type   string
	Intent *Intent // set for events about an intent
}
