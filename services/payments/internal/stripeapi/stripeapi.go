// Package stripeapi is the Stripe implementation of payments.Provider. Its
// calls go through the payments sidecar's invocation of the `stripe`
// HTTPEndpoint, so Dapr's resiliency policy (timeout, circuit breaker)
// wraps every one of them; no retry loop lives here: whoever made a failed
// call makes it again (see resiliency/resiliency.yaml), and each mutating
// call carries an Idempotency-Key derived from our ids, so that never
// charges twice.
package stripeapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/daprshop/daprshop/services/payments/internal/payments"
	"github.com/daprshop/daprshop/services/platform/apperr"
)

// Options configure a Client.
type Options struct {
	BaseURL   string // sidecar.EndpointURL (stripe-go appends /v1/…), or Stripe itself
	SecretKey string
	// DaprAPIToken is sent to the sidecar on every call.
	DaprAPIToken string
	// Timeout bounds one call from here, above Dapr's own timeout for
	// the endpoint.
	Timeout time.Duration
}

// Client talks to Stripe.
type Client struct{ api *client.API }

// New returns a Client.
func New(opts Options) *Client {
	// Each call is a client span, "stripe POST /v1/payment_intents": the
	// one call of a checkout that leaves the system.
	traced := otelhttp.NewTransport(http.DefaultTransport, otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
		return "stripe " + r.Method + " " + stripePath(r.URL.Path)
	}))
	httpClient := &http.Client{Timeout: opts.Timeout, Transport: tokenTransport{token: opts.DaprAPIToken, next: traced}}
	backend := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
		HTTPClient:        httpClient,
		URL:               stripe.String(opts.BaseURL),
		MaxNetworkRetries: stripe.Int64(0), // the caller retries
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
	})
	api := &client.API{}
	api.Init(opts.SecretKey, &stripe.Backends{API: backend, Connect: backend, Uploads: backend})
	return &Client{api: api}
}

// stripePath is path from its Stripe API version on (/v1/…), the
// sidecar's invocation prefix left out and what follows the resource (ids)
// cut off, so that span names stay few.
func stripePath(path string) string {
	if i := strings.Index(path, "/v1/"); i >= 0 {
		path = path[i:]
	}
	parts := strings.SplitN(path, "/", 4) // "", "v1", resource, rest
	if len(parts) == 4 {
		return strings.Join(parts[:3], "/") + "/{id}"
	}
	return path
}

// tokenTransport adds the sidecar's API token.
type tokenTransport struct {
	token string
	next  http.RoundTripper
}

func (t tokenTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.token == "" {
		return t.next.RoundTrip(r)
	}
	r = r.Clone(r.Context())
	r.Header.Set("dapr-api-token", t.token)
	return t.next.RoundTrip(r)
}

func params(ctx context.Context, key string) stripe.Params {
	p := stripe.Params{Context: ctx}
	if key != "" {
		p.SetIdempotencyKey(key)
	}
	return p
}

// CreateCustomer creates userID's Customer, once per user.
func (c *Client) CreateCustomer(ctx context.Context, userID uuid.UUID, email string) (string, error) {
	p := &stripe.CustomerParams{Params: params(ctx, "cus-create-"+userID.String())}
	if email != "" {
		p.Email = stripe.String(email)
	}
	p.AddMetadata("user_id", userID.String())
	cus, err := c.api.Customers.New(p)
	if err != nil {
		return "", classify("create customer", err)
	}
	return cus.ID, nil
}

// AttachCard attaches the PaymentMethod token to customerID; a test id such
// as pm_card_visa yields a new PaymentMethod.
func (c *Client) AttachCard(ctx context.Context, key, customerID, token string) (payments.Card, error) {
	pm, err := c.api.PaymentMethods.Attach(token, &stripe.PaymentMethodAttachParams{
		Params: params(ctx, key), Customer: stripe.String(customerID),
	})
	var se *stripe.Error
	if errors.As(err, &se) && se.Code == stripe.ErrorCodeResourceMissing {
		return payments.Card{}, apperr.Validation(apperr.FieldError{Field: "payment_method", Message: "no such payment method"})
	}
	if err != nil {
		return payments.Card{}, classify("attach payment method", err)
	}
	if pm.Card == nil {
		return payments.Card{}, apperr.Validation(apperr.FieldError{Field: "payment_method", Message: "not a card"})
	}
	return payments.Card{
		ProviderID: pm.ID, Brand: string(pm.Card.Brand), Last4: pm.Card.Last4,
		ExpMonth: int(pm.Card.ExpMonth), ExpYear: int(pm.Card.ExpYear),
	}, nil
}

// DetachCard detaches a PaymentMethod; one already detached is fine.
func (c *Client) DetachCard(ctx context.Context, key, cardID string) error {
	_, err := c.api.PaymentMethods.Detach(cardID, &stripe.PaymentMethodDetachParams{Params: params(ctx, key)})
	var se *stripe.Error
	if errors.As(err, &se) && (se.Code == stripe.ErrorCodeResourceMissing || se.Code == stripe.ErrorCodePaymentMethodUnexpectedState) {
		return nil
	}
	if err != nil {
		return classify("detach payment method", err)
	}
	return nil
}

// CreateIntent creates the PaymentIntent of an order, idempotent per order
// id, confirmed at once when req.CardID is set. A decline answers 402 with
// the intent inside the error: it is returned as an Intent.
func (c *Client) CreateIntent(ctx context.Context, req payments.IntentRequest) (payments.Intent, error) {
	p := &stripe.PaymentIntentParams{
		Params:   params(ctx, "pi-create-"+req.OrderID.String()),
		Amount:   stripe.Int64(req.AmountCents),
		Currency: stripe.String(strings.ToLower(req.Currency)),
	}
	p.AddMetadata("order_id", req.OrderID.String())
	p.AddMetadata("user_id", req.UserID.String())
	if req.CustomerID != "" {
		p.Customer = stripe.String(req.CustomerID)
	}
	if req.CardID != "" {
		p.PaymentMethod = stripe.String(req.CardID)
		p.Confirm = stripe.Bool(true)
		p.OffSession = stripe.Bool(true)
	}
	pi, err := c.api.PaymentIntents.New(p)
	var se *stripe.Error
	if errors.As(err, &se) && se.Type == stripe.ErrorTypeCard && se.PaymentIntent != nil {
		return intent(se.PaymentIntent), nil
	}
	if err != nil {
		return payments.Intent{}, classify("create payment intent for order "+req.OrderID.String(), err)
	}
	return intent(pi), nil
}

// Intent reads a PaymentIntent.
func (c *Client) Intent(ctx context.Context, id string) (payments.Intent, error) {
	pi, err := c.api.PaymentIntents.Get(id, &stripe.PaymentIntentParams{Params: params(ctx, "")})
	if err != nil {
		return payments.Intent{}, classify("read payment intent "+id, err)
	}
	return intent(pi), nil
}

// refundMetadata names our refund id in a Stripe refund's metadata.
const refundMetadata = "refund_id"

// Refund refunds amountCents of intentID as our refund refundID: the
// idempotency key derives from it, and it is kept in the refund's
// metadata for FindRefund.
func (c *Client) Refund(ctx context.Context, refundID uuid.UUID, intentID string, amountCents int64) (payments.ProviderRefund, error) {
	p := &stripe.RefundParams{
		Params: params(ctx, "refund-"+refundID.String()), PaymentIntent: stripe.String(intentID), Amount: stripe.Int64(amountCents),
	}
	p.AddMetadata(refundMetadata, refundID.String())
	rf, err := c.api.Refunds.New(p)
	var se *stripe.Error
	if errors.As(err, &se) && se.Type == stripe.ErrorTypeIdempotency {
		// The key was used before, so a refund may exist: never a refusal
		// that would release its amount.
		return payments.ProviderRefund{}, fmt.Errorf("refund payment intent %s: %w", intentID, errInProgress)
	}
	if err != nil {
		return payments.ProviderRefund{}, classify("refund payment intent "+intentID, err)
	}
	return payments.ProviderRefund{ID: rf.ID, Status: refundStatus(rf.Status)}, nil
}

// FindRefund finds among the refunds of intentID the one made as
// refundID. Stripe cannot filter refunds by metadata, and an intent has
// few refunds: they are listed and matched here.
func (c *Client) FindRefund(ctx context.Context, refundID uuid.UUID, intentID string) (payments.ProviderRefund, error) {
	it := c.api.Refunds.List(&stripe.RefundListParams{ListParams: stripe.ListParams{Context: ctx}, PaymentIntent: stripe.String(intentID)})
	for it.Next() {
		if rf := it.Refund(); rf.Metadata[refundMetadata] == refundID.String() {
			return payments.ProviderRefund{ID: rf.ID, Status: refundStatus(rf.Status)}, nil
		}
	}
	if err := it.Err(); err != nil {
		return payments.ProviderRefund{}, classify("list refunds of payment intent "+intentID, err)
	}
	return payments.ProviderRefund{}, payments.ErrNotFound
}

// CancelIntent cancels a PaymentIntent. Stripe refuses to cancel one that
// succeeded, is processing or was cancelled already
// (payment_intent_unexpected_state): the intent is then read and returned
// as it stands. It is read afresh because Stripe replays the refusal for
// the idempotency key even after the intent moved on.
func (c *Client) CancelIntent(ctx context.Context, key, id string, reason payments.CancelReason) (payments.Intent, error) {
	p := &stripe.PaymentIntentCancelParams{Params: params(ctx, key)}
	if reason != "" {
		p.CancellationReason = stripe.String(string(reason))
	}
	pi, err := c.api.PaymentIntents.Cancel(id, p)
	var se *stripe.Error
	if errors.As(err, &se) && se.Code == stripe.ErrorCodePaymentIntentUnexpectedState {
		return c.Intent(ctx, id)
	}
	if err != nil {
		return payments.Intent{}, classify("cancel payment intent "+id, err)
	}
	return intent(pi), nil
}

// intent turns a Stripe PaymentIntent into the provider's view.
func intent(pi *stripe.PaymentIntent) payments.Intent {
	i := payments.Intent{ID: pi.ID, ClientSecret: pi.ClientSecret, Status: intentStatus(pi.Status)}
	if pi.LastPaymentError != nil {
		i.FailureMessage = pi.LastPaymentError.Msg
		if code := string(pi.LastPaymentError.DeclineCode); code != "" {
			i.FailureMessage = code + ": " + i.FailureMessage
		}
	}
	return i
}

// intentStatus maps a PaymentIntent's status to the domain's.
func intentStatus(s stripe.PaymentIntentStatus) payments.IntentStatus {
	switch s {
	case stripe.PaymentIntentStatusRequiresPaymentMethod:
		return payments.IntentAwaitingMethod
	case stripe.PaymentIntentStatusProcessing:
		return payments.IntentProcessing
	case stripe.PaymentIntentStatusSucceeded:
		return payments.IntentSucceeded
	case stripe.PaymentIntentStatusCanceled:
		return payments.IntentCancelled
	}
	// requires_confirmation, requires_action, requires_capture
	return payments.IntentAwaitingClient
}

// refundStatus maps a Refund's status to the domain's: Stripe's refund
// is decided once it succeeded, failed or was canceled.
func refundStatus(s stripe.RefundStatus) string {
	switch s {
	case stripe.RefundStatusSucceeded:
		return payments.RefundSucceeded
	case stripe.RefundStatusFailed, stripe.RefundStatusCanceled:
		return payments.RefundFailed
	}
	// pending, requires_action
	return payments.RefundPending
}

// FromEvent is intent for the PaymentIntent a webhook event carries.
func FromEvent(pi *stripe.PaymentIntent) payments.Intent { return intent(pi) }

// errUnavailable is Stripe, or the way to it, failing: the sidecar's
// circuit breaker open, a timeout, a 5xx.
var errUnavailable = apperr.New(apperr.Unavailable, "the payment provider is unavailable")

// errInProgress is Stripe refusing a key another request holds: the first
// request's outcome is not known yet, so this is no refusal.
var errInProgress = &apperr.Error{Kind: apperr.Conflict, Code: "request_in_progress", Message: "the same request to the payment provider is still in progress; retry it later"}

// classify keeps Stripe's own refusals (4xx) apart from outages, which a
// caller may retry, and from a key in use by a request still running
// (409), whose outcome is not known yet.
func classify(what string, err error) error {
	var se *stripe.Error
	if errors.As(err, &se) && se.HTTPStatusCode == http.StatusConflict {
		return fmt.Errorf("%s: %w", what, errInProgress)
	}
	if errors.As(err, &se) && se.HTTPStatusCode >= 400 && se.HTTPStatusCode < 500 {
		return fmt.Errorf("%s: %w: %s %s", what, payments.ErrProviderRefused, se.Type, se.Code)
	}
	return fmt.Errorf("%s: %w: %w", what, errUnavailable, err)
}
