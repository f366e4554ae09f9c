// Package orders holds the order types and the rules of who sees which
// orders.
package orders

import (
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/platform/apperr"
)

// Errors of the order operations.
var (
	ErrNotFound          = apperr.New(apperr.NotFound, "order not found")
	ErrInvalidTransition = &apperr.Error{Kind: apperr.Conflict, Code: "invalid_transition", Message: "the order cannot move to that state from its current one"}
	ErrUnknownProduct    = apperr.Validation(apperr.FieldError{Field: "product_id", Message: "names no product for sale"})
	ErrEmptyCart         = &apperr.Error{Kind: apperr.Invalid, Code: "empty_cart", Message: "the cart is empty"}
	ErrKeyReused         = &apperr.Error{Kind: apperr.Invalid, Code: "idempotency_key_reused", Message: "the Idempotency-Key was used with a different request"}
	ErrMixedCurrencies   = &apperr.Error{Kind: apperr.Conflict, Code: "mixed_currencies", Message: "an order holds products of one currency only"}
	// ErrNotPayable: the chosen payment provider cannot charge the order's
	// total in its currency (see contracts.Payable).
	ErrNotPayable = &apperr.Error{Kind: apperr.Invalid, Code: "not_payable", Message: "the chosen payment provider cannot take this order's total in its currency"}
	// ErrCheckoutAbandoned answers a retry of a checkout abandoned half-way
	// long enough for its stock to have been given back.
	ErrCheckoutAbandoned = &apperr.Error{Kind: apperr.Conflict, Code: "checkout_abandoned", Message: "this checkout was abandoned and its stock released; retry with a new Idempotency-Key"}
	// ErrCartChanged is a cart store's answer to a write based on a stale
	// read (an ETag mismatch).
	ErrCartChanged = errors.New("cart changed since it was read")
	ErrCartBusy    = &apperr.Error{Kind: apperr.Conflict, Code: "cart_busy", Message: "the cart is being changed by another request, try again"}
)

// Status is a state of the order state machine.
type Status string

// The order states (see the checkout saga in the architecture).
const (
	StatusPendingPayment Status = "pending_payment"
	StatusPaid           Status = "paid"
	StatusShipped        Status = "shipped"
	StatusDelivered      Status = "delivered"
	StatusCancelled      Status = "cancelled"
	StatusRefunded       Status = "refunded"
)

// statuses lists every state, the happy path first.
var statuses = [...]Status{
	StatusPendingPayment, StatusPaid, StatusShipped, StatusDelivered, StatusCancelled, StatusRefunded,
}

// ParseStatus returns the state named s; ok is false for any other string.
func ParseStatus(s string) (status Status, ok bool) {
	for _, st := range statuses {
		if string(st) == s {
			return st, true
		}
	}
	return "", false
}

// StatusNames is the list of states for messages, comma separated.
func StatusNames() string {
	names := make([]string, len(statuses))
	for i, s := range statuses {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// transitions is the order state machine: the states each state may move
// to.
var transitions = map[Status][]Status{
	StatusPendingPayment: {StatusPaid, StatusCancelled},
	StatusPaid:           {StatusShipped, StatusCancelled},
	StatusShipped:        {StatusDelivered},
	StatusCancelled:      {StatusRefunded},
}

// CanBecome reports whether the state machine allows s → to.
func (s Status) CanBecome(to Status) bool {
	for _, next := range transitions[s] {
		if next == to {
			return true
		}
	}
	return false
}

// Order is a placed order, as listed.
type Order struct {
	ID         uuid.UUID
	UserID     uuid.UUID
	Status     Status
	TotalCents int64
	Currency   string
	CreatedAt  time.Time
	// PaymentProvider is the one the customer chose at checkout
	// (contracts.PaymentProviderStripe or PaymentProviderPayPal).
	PaymentProvider string
}

// Viewer is who asks for orders.
type Viewer struct {
	UserID uuid.UUID
	Admin  bool // ADMIN or SUPER_ADMIN: sees every customer's orders
}

// ListQuery selects a page of orders, newest first. Zero-valued filters
// match every order.
type ListQuery struct {
	UserID *uuid.UUID
	Status Status
	Offset int
	Limit  int
}

// CanSee reports whether v may read or act on o: its owner or an admin.
func (v Viewer) CanSee(o Order) bool { return v.Admin || o.UserID == v.UserID }

// For narrows q to what v may see: a customer only ever lists their own
// orders, whatever user filter they asked for.
func (q ListQuery) For(v Viewer) ListQuery {
	if !v.Admin {
		id := v.UserID
		q.UserID = &id
	}
	return q
}
