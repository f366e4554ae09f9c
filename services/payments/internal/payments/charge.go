package payments

import (
	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/platform/contracts"
)

// ChargeRecord is what charging an order records, in one transaction: its
// new Payment (none when nil) and the Events it publishes.
type ChargeRecord struct {
	Payment *Payment
	Events  []Event
}

// DecideCharge looks at the order's payment as stored (nil when it has
// none) and whether the order was cancelled unpaid, and returns what to
// record.
type DecideCharge func(stored *Payment, orderCancelled bool) ChargeRecord

// OnIntent decides what the intent created for an order records: the
// order's payment p, with payment.created when the customer has yet to
// confirm it (the order needs its client secret). A payment confirmed
// with a saved card announces nothing now: its verdict's event
// (payment.succeeded or payment.failed, from the webhook or a
// reconciliation) carries the payment's ids to the order, and one event
// fewer per order is one publish, one delivery and one order transaction
// fewer on the checkout's busiest path. An order that has a payment
// already (a second order.created of it, under another event id) keeps
// it and records nothing. An order cancelled meanwhile gets p recorded
// all the same, so that its intent can be cancelled, but no
// payment.created: the order is over.
func OnIntent(p Payment) DecideCharge {
	return func(stored *Payment, orderCancelled bool) ChargeRecord {
		if stored != nil {
			return ChargeRecord{}
		}
		rec := ChargeRecord{Payment: &p}
		if !orderCancelled && p.Status == StatusPending {
			rec.Events = []Event{{Topic: TopicPaymentCreated, Payload: contracts.PaymentCreatedV1{
				OrderID: p.OrderID, PaymentID: p.ID, UserID: p.UserID, PaymentIntentID: p.IntentID,
				ClientSecret: p.ClientSecret, Status: string(p.Status), AmountCents: p.AmountCents, Currency: p.Currency,
				Provider: p.Provider, ApprovalURL: p.ApprovalURL,
			}}}
		}
		return rec
	}
}

// PaymentStatus is the status of a payment new with intent i: processing
// once the provider has its confirmation, pending while the client has
// yet to confirm it. A verdict already in is applied from its webhook,
// which carries the event the rest of the saga waits for.
func (i Intent) PaymentStatus() Status {
	if _, settled := i.Settled(); settled || i.Status == IntentProcessing {
		return StatusProcessing
	}
	return StatusPending
}

// newPayment is payment id of order o, charged through intent.
func newPayment(id uuid.UUID, o contracts.OrderCreatedV1, intent Intent) Payment {
	p := Payment{
		ID: id, OrderID: o.OrderID, UserID: o.UserID, IntentID: intent.ID, ClientSecret: intent.ClientSecret,
		Provider: providerName(o.PaymentProvider), ApprovalURL: intent.ApprovalURL,
		Status: intent.PaymentStatus(), AmountCents: o.TotalCents, Currency: o.Currency, Lines: make([]Line, len(o.Items)),
	}
	for i, it := range o.Items {
		p.Lines[i] = Line{
			ProductID: it.ProductID, Name: it.Name, Quantity: it.Quantity,
			UnitPriceCents: it.UnitPriceCents, TotalCents: int64(it.Quantity) * it.UnitPriceCents,
		}
	}
	return p
}
