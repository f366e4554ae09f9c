package notifications

import (
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/google/uuid"
)

// The payloads of the events notifications consumes. Producers own their
// topics; these types are the fields notifications reads, and the contract
// producers are asked to keep. Optional fields are marked so.

// UserRegistered is user.registered, published by auth.
type UserRegistered struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
	Name   string `json:"name"`
}

// OrderEvent is order.created, order.shipped, order.delivered and
// order.cancelled, published by orders.
type OrderEvent struct {
	OrderID    string `json:"order_id"`
	UserID     string `json:"user_id"`
	Email      string `json:"email,omitempty"` // optional: else the address from user.registered
	TotalCents int64  `json:"total_cents"`
	Currency   string `json:"currency"`
	Reason     string `json:"reason,omitempty"` // order.cancelled
}

// Recipient is the user the event concerns and, when the event gives it,
// their address.
func (e OrderEvent) Recipient() (userID, email string) { return e.UserID, e.Email }

// OrderPaid is order.paid, published by orders once payment succeeded.
type OrderPaid struct {
	OrderID       string    `json:"order_id"`
	UserID        string    `json:"user_id"`
	Email         string    `json:"email,omitempty"` // optional
	TotalCents    int64     `json:"total_cents"`
	Currency      string    `json:"currency"`
	InvoiceNumber string    `json:"invoice_number,omitempty"` // absent from events paid before orders forwarded it
	PaidAt        time.Time `json:"paid_at,omitzero"`
}

// Recipient is the user the event concerns and, when the event gives it,
// their address.
func (e OrderPaid) Recipient() (userID, email string) { return e.UserID, e.Email }

// PaymentEvent is payment.failed and payment.refunded, published by
// payments.
type PaymentEvent struct {
	PaymentID   string `json:"payment_id"`
	OrderID     string `json:"order_id"`
	UserID      string `json:"user_id"`
	Email       string `json:"email,omitempty"` // optional
	AmountCents int64  `json:"amount_cents"`
	Currency    string `json:"currency"`
	Reason      string `json:"reason,omitempty"` // payment.failed
}

// Recipient is the user the event concerns and, when the event gives it,
// their address.
func (e PaymentEvent) Recipient() (userID, email string) { return e.UserID, e.Email }

// LowStock is inventory.low_stock, published by products; it goes to the
// shop's admins.
type LowStock struct {
	ProductID   string `json:"product_id"`
	SKU         string `json:"sku"`
	ProductName string `json:"name"`
	Available   int    `json:"available"`
	Threshold   int    `json:"threshold"`
}

// Requested is notification.requested: another service asks for a named
// message to a user or, without user_id, to the admins.
type Requested struct {
	Template string          `json:"template"`
	UserID   string          `json:"user_id,omitempty"`
	Email    string          `json:"email,omitempty"`
	Data     json.RawMessage `json:"data"`
}

// LowStockDigest is the data of the daily low-stock digest the workers
// request (notification.requested, template low_stock_digest).
type LowStockDigest struct {
	Items []LowStock `json:"items"`
}

// Kind is a kind of message: its template name, whether it is
// transactional (sent by email whatever the user's preferences, as
// receipts and money matters are) and sample data, the shape its
// template is rendered with.
type Kind struct {
	Transactional bool
	Sample        any
}

var sampleOrder = OrderEvent{OrderID: uuid.Nil.String(), TotalCents: 1999, Currency: "USD", Reason: "r"}
var samplePayment = PaymentEvent{OrderID: uuid.Nil.String(), AmountCents: 1999, Currency: "USD", Reason: "r"}
var sampleLowStock = LowStock{SKU: "SKU-1", ProductName: "Widget", Available: 1, Threshold: 5}

// Kinds are the templates by name. Adding a kind means a template row
// (migration) and a consumer.
var Kinds = map[string]Kind{
	"welcome":          {Sample: UserRegistered{Name: "Ada"}},
	"order_created":    {Sample: sampleOrder},
	"order_paid":       {Transactional: true, Sample: OrderPaid{OrderID: uuid.Nil.String(), TotalCents: 1999, Currency: "USD", InvoiceNumber: "INV-1"}},
	"payment_failed":   {Transactional: true, Sample: samplePayment},
	"order_shipped":    {Sample: sampleOrder},
	"order_delivered":  {Sample: sampleOrder},
	"order_cancelled":  {Transactional: true, Sample: sampleOrder},
	"payment_refunded": {Transactional: true, Sample: samplePayment},
	"low_stock":        {Transactional: true, Sample: sampleLowStock},
	"low_stock_digest": {Transactional: true, Sample: LowStockDigest{Items: []LowStock{sampleLowStock}}},
}

// Request asks for one event's message to one user (or, with UserID
// uuid.Nil, to the shop's admins at Email).
type Request struct {
	EventID  string
	UserID   uuid.UUID
	Email    string // "" when no address is known
	Template Template
	Data     any
}

// Plan decides the deliveries of r on every channel: queued with the
// rendered message where the user accepts the channel (email always, for a
// transactional kind), skipped otherwise. A template that cannot render r's
// data makes failed deliveries, since retrying cannot help. Admin messages
// go by email only.
func Plan(r Request, prefs Preferences, newID func() uuid.UUID) []Delivery {
	kind := Kinds[r.Template.Name]
	msg, renderErr := r.Template.Render(r.Data)
	channels := Channels
	if r.UserID == uuid.Nil {
		channels = []Channel{ChannelEmail}
	}
	out := make([]Delivery, 0, len(channels))
	for _, ch := range channels {
		d := Delivery{
			ID: newID(), UserID: r.UserID, EventID: r.EventID, Channel: ch, Template: r.Template.Name,
			Recipient: r.UserID.String(), Status: StatusQueued,
		}
		if ch == ChannelEmail {
			d.Recipient = r.Email
		}
		wanted := prefs.Accepts(ch) || (ch == ChannelEmail && (kind.Transactional || r.UserID == uuid.Nil))
		switch {
		case !wanted:
			d.Status = StatusSkipped
		case d.Recipient == "":
			d.Status, d.LastError = StatusSkipped, "no address known for the user"
		case renderErr != nil:
			d.Status, d.LastError = StatusFailed, renderError(renderErr)
		default:
			d.Message = msg
		}
		out = append(out, d)
	}
	return out
}

// DecodeData unmarshals raw into a value of the shape k's template
// renders, for messages requested by name (notification.requested).
func (k Kind) DecodeData(raw json.RawMessage) (any, error) {
	v := reflect.New(reflect.TypeOf(k.Sample))
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, v.Interface()); err != nil {
			return nil, fmt.Errorf("decode message data: %w", err)
		}
	}
	return v.Elem().Interface(), nil
}
