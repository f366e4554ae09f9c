package stripeapi

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/daprshop/daprshop/services/payments/internal/payments"
	"github.com/daprshop/daprshop/services/platform/apperr"
)

// Webhooks verifies and reads Stripe's webhook deliveries.
type Webhooks struct {
	secret    string
	tolerance time.Duration
}

// NewWebhooks returns a verifier for the endpoint signing secret; a
// delivery signed more than tolerance ago is refused (replay protection).
func NewWebhooks(secret string, tolerance time.Duration) *Webhooks {
	return &Webhooks{secret: secret, tolerance: tolerance}
}

var errBadSignature = apperr.New(apperr.Malformed, "invalid Stripe-Signature")

// Parse verifies payload against its Stripe-Signature header and returns
// the event; an intent is filled in for payment_intent.* events. A bad or
// stale signature is an apperr.Malformed error.
func (w *Webhooks) Parse(payload []byte, signature string) (payments.WebhookEvent, error) {
	evt, err := webhook.ConstructEventWithOptions(payload, signature, w.secret, webhook.ConstructEventOptions{Tolerance: w.tolerance})
	if err != nil {
		return payments.WebhookEvent{}, fmt.Errorf("%w: %w", errBadSignature, err)
	}
	out := payments.WebhookEvent{ID: evt.ID, Type: string(evt.Type)}
	if strings.HasPrefix(out.Type, "payment_intent.") && evt.Data != nil {
		var pi stripe.PaymentIntent
		if err := json.Unmarshal(evt.Data.Raw, &pi); err != nil {
			return payments.WebhookEvent{}, apperr.Newf(apperr.Malformed, "unreadable payment intent in event %s", evt.ID)
		}
		i := intent(&pi)
		out.Intent = &i
	}
	return out, nil
}
