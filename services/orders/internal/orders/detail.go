package orders

import (
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/platform/contracts"
)

// Address is where an order ships.
type Address struct {
	Name       string `json:"name"`
	Line1      string `json:"line1"`
	City       string `json:"city"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"`
}

// Item is an order line, priced when the order was placed.
type Item struct {
	ProductID      uuid.UUID `json:"product_id"`
	Name           string    `json:"name"`
	Quantity       int       `json:"quantity"`
	UnitPriceCents int64     `json:"unit_price_cents"`
}

// Payment is what payments told orders about the order's payment; empty
// until its first event arrives.
type Payment struct {
	Status          string     `json:"status"`
	PaymentID       *uuid.UUID `json:"payment_id,omitempty"`
	PaymentIntentID string     `json:"payment_intent_id"`
	ClientSecret    string     `json:"client_secret"`
	// ApprovalURL is where a PayPal buyer approves the payment.
	ApprovalURL string `json:"approval_url,omitempty"`
}

// HistoryEntry records when the order entered a state.
type HistoryEntry struct {
	Status Status    `json:"status"`
	At     time.Time `json:"at"`
}

// Detail is an order with everything GET /orders/{id} shows.
type Detail struct {
	Order
	Items           []Item         `json:"items"`
	ShippingAddress Address        `json:"shipping_address"`
	Payment         Payment        `json:"payment"`
	History         []HistoryEntry `json:"history"`
}

// Event is an event to publish with a change, through the outbox.
type Event struct {
	Topic   string
	Payload any
}

// Change is what a decision does to an order: move it to To (none when
// empty), record payment news, and publish Events, all in one transaction.
type Change struct {
	To      Status
	Payment *Payment
	Events  []Event
}

// Decide looks at the current (locked) order and returns the change to
// apply, or an error that leaves the order untouched.
type Decide func(d Detail) (Change, error)

// reached reports whether the order has ever been in status s.
func (d Detail) reached(s Status) bool {
	return slices.ContainsFunc(d.History, func(h HistoryEntry) bool { return h.Status == s })
}

// restocks reports whether the units of the order, once it is refunded,
// go back to stock: it was paid, so products committed its stock, and it
// never shipped, so the units are still in the warehouse. An order
// cancelled before it was paid had its held stock released then.
func (d Detail) restocks() bool { return d.reached(StatusPaid) && !d.reached(StatusShipped) }

// moveTo returns the change d → to, made at now, with its event, or
// ErrInvalidTransition.
func moveTo(d Detail, to Status, reason string, now time.Time) (Change, error) {
	if !d.Status.CanBecome(to) {
		return Change{}, ErrInvalidTransition
	}
	var e Event
	switch to {
	case StatusPaid:
		e = Event{contracts.TopicOrderPaid, contracts.OrderPaidV1{
			OrderID: d.ID, UserID: d.UserID, PaymentID: d.Payment.PaymentID, TotalCents: d.TotalCents, Currency: d.Currency,
			Items: eventItems(d.Items), PaidAt: now.UTC(),
		}}
	case StatusCancelled:
		e = Event{contracts.TopicOrderCancelled, contracts.OrderCancelledV1{
			OrderID: d.ID, UserID: d.UserID, Reason: reason, Refund: d.Status == StatusPaid,
			PaymentID: d.Payment.PaymentID, TotalCents: d.TotalCents, Currency: d.Currency,
		}}
	case StatusShipped, StatusDelivered:
		topic := contracts.TopicOrderShipped
		if to == StatusDelivered {
			topic = contracts.TopicOrderDelivered
		}
		e = Event{topic, contracts.OrderStatusChangedV1{OrderID: d.ID, UserID: d.UserID, Status: string(to), TotalCents: d.TotalCents, Currency: d.Currency}}
	case StatusRefunded:
		e = Event{contracts.TopicOrderRefunded, contracts.OrderRefundedV1{
			OrderID: d.ID, UserID: d.UserID, Restock: d.restocks(), TotalCents: d.TotalCents, Currency: d.Currency,
			Items: eventItems(d.Items),
		}}
	}
	return Change{To: to, Events: []Event{e}}, nil
}

// eventItems are the lines of an order as its events carry them.
func eventItems(items []Item) []contracts.OrderItemV1 {
	out := make([]contracts.OrderItemV1, len(items))
	for i, it := range items {
		out[i] = contracts.OrderItemV1(it)
	}
	return out
}
