package payments

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Store is what the service needs from storage. Methods that record an
// event add it to the outbox in the same transaction.
type Store interface {
	// Saved cards and the provider's customers.

	Methods(ctx context.Context, userID uuid.UUID) ([]Method, error)
	// Method returns userID's card id, or ErrMethodNotFound.
	Method(ctx context.Context, userID, id uuid.UUID) (Method, error)
	// Customer returns the provider's id of userID, or ErrNotFound.
	Customer(ctx context.Context, userID uuid.UUID) (string, error)
	// SaveCustomer records userID's provider id unless one is recorded
	// already, and returns the recorded one.
	SaveCustomer(ctx context.Context, userID uuid.UUID, providerID string) (string, error)
	// AddMethod saves a card; the user's first card becomes the default.
	AddMethod(ctx context.Context, userID, id uuid.UUID, c Card) (Method, error)
	// DeleteMethod forgets a card; when it was the default, the newest
	// remaining card becomes the default.
	DeleteMethod(ctx context.Context, userID, id uuid.UUID) error
	SetDefault(ctx context.Context, userID, id uuid.UUID) (Method, error)
	// Payer reads, at once, what charging order orderID of userID
	// depends on (see Payer).
	Payer(ctx context.Context, orderID, userID uuid.UUID) (Payer, error)

	// Payments and invoices.

	// RecordPayment locks orderID's payment and cancellation and, once per
	// eventID, records what decide makes of them: the new payment and its
	// events, in one transaction. A replayed eventID changes nothing. It
	// returns the order's payment as it stands, OrderCancelled set when
	// the order was cancelled, or ErrPaymentNotFound when it has none.
	RecordPayment(ctx context.Context, orderID uuid.UUID, eventID string, decide DecideCharge) (Payment, error)
	// Transition locks the payment of intentID and, once per eventID (of
	// type eventType), applies the change decide returns: its status, its
	// invoice, numbered without gaps, and its events, in one transaction.
	// A replayed eventID changes nothing. It returns the payment as it
	// stands, ErrUnknownIntent when no payment has that intent, or
	// decide's error as is.
	Transition(ctx context.Context, intentID, eventID, eventType string, decide Decide) (Payment, error)
	Invoices(ctx context.Context, orderID uuid.UUID) ([]Invoice, error)
	// Invoice returns an invoice, or ErrInvoiceNotFound.
	Invoice(ctx context.Context, id uuid.UUID) (Invoice, error)
	PaymentsOfOrder(ctx context.Context, orderID uuid.UUID) ([]Payment, error)
	// PaymentOfIntent returns the payment of intentID, OrderCancelled set,
	// or ErrUnknownIntent.
	PaymentOfIntent(ctx context.Context, intentID string) (Payment, error)
	// PaymentOfOrder returns the order's payment, or ErrPaymentNotFound.
	PaymentOfOrder(ctx context.Context, orderID uuid.UUID) (Payment, error)

	// Refunds.

	// ReserveRefund locks the payment of c and records refund c.ID of it
	// as pending, holding the amount decide returns (the payment's
	// refunded amount raised, guarded in SQL), in one transaction, and
	// reports whether it did. Reserving an id again returns the refund as
	// recorded, without asking decide. It returns ErrPaymentNotFound, or
	// decide's error as is.
	ReserveRefund(ctx context.Context, c RefundClaim, decide DecideRefund) (Refund, bool, error)
	// CompleteRefund marks a pending refund succeeded, with the events
	// publish returns for it and the time it succeeded, in one
	// transaction; a refund already decided is returned as it is.
	CompleteRefund(ctx context.Context, id uuid.UUID, providerID string, publish func(p Payment, r Refund, at time.Time) []Event) (Refund, error)
	// FailRefund marks a pending refund failed and gives its amount back
	// to the payment.
	FailRefund(ctx context.Context, id uuid.UUID) error
	// SubmitRefund records the provider's id of a refund it holds pending,
	// and returns the refund.
	SubmitRefund(ctx context.Context, id uuid.UUID, providerID string) (Refund, error)
	// AnswerRefund records status as the answer to the request that asked
	// for refund id, unless an answer is recorded already, and returns the
	// refund carrying the recorded answer (Replayed when it was not this
	// one).
	AnswerRefund(ctx context.Context, id uuid.UUID, status string) (Refund, error)

	// Reconciliation.

	// ClaimUnsettled returns up to limit payments still pending or
	// processing that have not changed since before, those looked at least
	// recently first, and records at as their last look. OrderCancelled
	// and CancelReason are set.
	ClaimUnsettled(ctx context.Context, before, at time.Time, limit int) ([]Payment, error)
	// ClaimPendingRefunds returns up to limit refunds pending and
	// unchanged since before, those looked at least recently first, with
	// their IntentID, and records at as their last look.
	ClaimPendingRefunds(ctx context.Context, before, at time.Time, limit int) ([]Refund, error)

	// Orders cancelled unpaid.

	// CancelOrder records that orderID was cancelled unpaid (reason in
	// orders' words), once, and returns the order's payment, or
	// ErrPaymentNotFound when the order has none yet.
	CancelOrder(ctx context.Context, orderID uuid.UUID, reason string) (Payment, error)
}

// Payer is what charging an order depends on: whether the order was
// cancelled unpaid, and the customer's default card (nil without one)
// with their provider customer id.
type Payer struct {
	OrderCancelled bool
	Card           *Method
	CustomerID     string
}
