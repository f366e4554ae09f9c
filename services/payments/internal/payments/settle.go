package payments

import (
	"context"

	"github.com/daprshop/daprshop/services/platform/contracts"
)

// Change is what a decision does to a payment: move it To a status (none
// when empty) with its Failure message, issue its order's Invoice (none
// when nil) and publish Events, all in one transaction.
type Change struct {
	To      Status
	Failure string
	Invoice *InvoiceTotals
	Events  []Event
}

// InvoiceTotals is how the invoice a change issues splits the payment's
// tax-inclusive amount; the store numbers it.
type InvoiceTotals struct {
	SubtotalCents int64
	TaxCents      int64
}

// Invoiced names the invoice the store numbered for the change in its
// payment.succeeded, so the receipt can show it.
func (c Change) Invoiced(number string) Change {
	events := make([]Event, len(c.Events))
	for i, e := range c.Events {
		if paid, ok := e.Payload.(contracts.PaymentSucceededV1); ok {
			paid.InvoiceNumber = number
			e.Payload = paid
		}
		events[i] = e
	}
	c.Events = events
	return c
}

// Event is an event a change publishes: Payload is the contracts type
// of Topic.
type Event struct {
	Topic   string
	Payload any
}

// Decide looks at the current (locked) payment and returns the change to
// apply, or an error that leaves the payment untouched.
type Decide func(p Payment) (Change, error)

// OnVerdict decides what the provider's verdict (status, with the decline
// failure) does to a payment: a pending or processing payment becomes
// succeeded, invoiced with its total split at taxBPS, with
// payment.succeeded, or failed with payment.failed. A verdict on a settled
// payment changes nothing. The payment of a cancelled order takes the
// verdict silently, the order being over: no event, no invoice, and a
// success even over a failure, since the money was taken and must be
// refundable.
func OnVerdict(status Status, failure string, taxBPS int) Decide {
	return func(p Payment) (Change, error) {
		if p.OrderCancelled {
			if p.Status == StatusSucceeded || (status != StatusSucceeded && p.Status.Final()) {
				return Change{}, nil
			}
			return Change{To: status, Failure: failure}, nil
		}
		if p.Status.Final() {
			return Change{}, nil
		}
		ch := Change{To: status, Failure: failure}
		if status != StatusSucceeded {
			ch.Events = []Event{{Topic: TopicPaymentFailed, Payload: contracts.PaymentFailedV1{
				OrderID: p.OrderID, PaymentID: p.ID, UserID: p.UserID, PaymentIntentID: p.IntentID, Status: string(status), Reason: failure,
			}}}
			return ch, nil
		}
		subtotal, tax := SplitTax(p.AmountCents, taxBPS)
		ch.Invoice = &InvoiceTotals{SubtotalCents: subtotal, TaxCents: tax}
		ch.Events = []Event{{Topic: TopicPaymentSucceeded, Payload: contracts.PaymentSucceededV1{
			OrderID: p.OrderID, PaymentID: p.ID, UserID: p.UserID, PaymentIntentID: p.IntentID, Status: string(status),
			AmountCents: p.AmountCents, Currency: p.Currency,
		}}}
		return ch, nil
	}
}

// applyVerdict applies the provider's verdict on intentID (status, with the
// decline failure) once per eventID, see OnVerdict and Store.Transition.
func (s *Service) applyVerdict(ctx context.Context, intentID, eventID, eventType string, status Status, failure string) (Payment, error) {
	return s.store.Transition(ctx, intentID, eventID, eventType, OnVerdict(status, failure, s.taxBPS))
}
