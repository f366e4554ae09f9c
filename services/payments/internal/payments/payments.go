// Package payments holds the payment types and rules: charges through a
// card provider, the webhooks that settle them, refunds, invoices and the
// cards customers save.
package payments

import (
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/platform/apperr"
)

// Method is a saved card. The card itself stays at Stripe; only what a
// customer needs to recognise it is kept.
type Method struct {
	ID        uuid.UUID
	Brand     string
	Last4     string
	ExpMonth  int
	ExpYear   int
	Default   bool // charged automatically at checkout; at most one per user
	CreatedAt time.Time
	// ProviderID is the provider's id of the card (a Stripe PaymentMethod).
	ProviderID string
}

// Status is where a payment stands.
type Status string

// Payment statuses. A payment is pending until it is confirmed, processing
// while the provider's verdict (its webhook) is awaited, then succeeded or
// failed.
const (
	StatusPending    Status = "pending"
	StatusProcessing Status = "processing"
	StatusSucceeded  Status = "succeeded"
	StatusFailed     Status = "failed"
	StatusCancelled  Status = "cancelled"
)

// Final tells whether no verdict can change the payment any more.
func (s Status) Final() bool {
	return s == StatusSucceeded || s == StatusFailed || s == StatusCancelled
}

// Payment is the charge of one order.
type Payment struct {
	ID      uuid.UUID
	OrderID uuid.UUID
	UserID  uuid.UUID
	// Provider is contracts.PaymentProviderStripe or PaymentProviderPayPal.
	Provider       string
	IntentID       string // the provider's PaymentIntent (PayPal: its order)
	ClientSecret   string // lets the client confirm the intent itself
	ApprovalURL    string // where a PayPal buyer approves the payment
	Status         Status
	AmountCents    int64
	RefundedCents  int64
	Currency       string
	FailureMessage string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	Refunds        []Refund
	Lines          []Line // the order's, for its invoice
	// OrderCancelled: the order was cancelled unpaid, so this payment must
	// never pay it (see Service.CancelOrder); CancelReason is orders' word
	// for why.
	OrderCancelled bool
	CancelReason   string
}

// Refund gives back part of a payment.
type Refund struct {
	ID          uuid.UUID
	PaymentID   uuid.UUID
	AmountCents int64
	Currency    string
	Status      string
	CreatedAt   time.Time
	// IntentID is the payment's provider intent, which the refund is of,
	// at Provider.
	IntentID string
	Provider string
	// RequestHash identifies the admin's request that asked for the refund
	// (empty for refunds of cancelled orders); AnsweredStatus is the
	// status its first 201 carried, empty until then.
	RequestHash    string
	AnsweredStatus string
	// Replayed marks the answer given to an earlier request.
	Replayed bool
}

// Errors the service returns.
var (
	ErrNotFound        = apperr.New(apperr.NotFound, "not found")
	ErrMethodNotFound  = apperr.New(apperr.NotFound, "payment method not found")
	ErrMethodSaved     = apperr.New(apperr.Conflict, "this card is saved already")
	ErrInvoiceNotFound = apperr.New(apperr.NotFound, "invoice not found")
	ErrPaymentNotFound = apperr.New(apperr.NotFound, "payment not found")
	ErrOverRefund      = &apperr.Error{Kind: apperr.Conflict, Code: "over_refund", Message: "the refund exceeds what is left of the payment"}
	ErrNotRefundable   = &apperr.Error{Kind: apperr.Conflict, Code: "not_refundable", Message: "only a succeeded payment can be refunded"}
	// ErrRefundUnpayable: the provider takes no such amount in the
	// payment's currency (PayPal: whole forints and Taiwan dollars only).
	ErrRefundUnpayable = &apperr.Error{Kind: apperr.Invalid, Code: "not_payable", Message: "the payment provider cannot refund this amount in the payment's currency",
		Fields: []apperr.FieldError{{Field: "amount_cents", Message: "the payment provider refunds whole units only in this currency"}}}
	ErrKeyReused = &apperr.Error{Kind: apperr.Invalid, Code: "idempotency_key_reused", Message: "the Idempotency-Key was used with a different request"}
	// ErrRefundFailed: the provider refused the refund or failed it; its
	// amount is refundable again, under a new key.
	ErrRefundFailed = &apperr.Error{Kind: apperr.BadGateway, Code: "refund_failed", Message: "the payment provider refused the refund"}
	// ErrProviderRefused: the provider turned a request down, as opposed
	// to failing to answer it.
	ErrProviderRefused = apperr.New(apperr.BadGateway, "the payment provider refused the request")
	// ErrUnknownIntent: a webhook names an intent with no payment yet (its
	// order.created is still being applied); the provider retries it.
	ErrUnknownIntent = apperr.New(apperr.Unavailable, "payment not recorded yet")
	// ErrUnknownProvider: an order names a provider this service has not.
	ErrUnknownProvider = errors.New("unknown payment provider")
)
