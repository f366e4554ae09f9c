package notifications

import (
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/platform/contracts"
)

// The data each kind of message renders: the fields its templates may
// name, made from the event the message is for. A notification.requested
// carries it as JSON, in the shape of these tags.

// UserData is what the welcome message shows of a new user.
type UserData struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
	Name   string `json:"name"`
}

// OrderData is what the messages on an order being placed, shipped,
// delivered or cancelled show.
type OrderData struct {
	OrderID    string `json:"order_id"`
	UserID     string `json:"user_id"`
	Email      string `json:"email,omitempty"` // when the event names the address
	TotalCents int64  `json:"total_cents"`
	Currency   string `json:"currency"`
	Reason     string `json:"reason,omitempty"` // order.cancelled
}

// OrderPaidData is what the receipt shows.
type OrderPaidData struct {
	OrderID       string    `json:"order_id"`
	UserID        string    `json:"user_id"`
	Email         string    `json:"email,omitempty"`
	TotalCents    int64     `json:"total_cents"`
	Currency      string    `json:"currency"`
	InvoiceNumber string    `json:"invoice_number,omitempty"` // absent from events paid before orders forwarded it
	PaidAt        time.Time `json:"paid_at,omitzero"`
}

// PaymentData is what the messages on a failed or refunded payment show.
type PaymentData struct {
	PaymentID   string `json:"payment_id"`
	OrderID     string `json:"order_id"`
	UserID      string `json:"user_id"`
	Email       string `json:"email,omitempty"`
	AmountCents int64  `json:"amount_cents"`
	Currency    string `json:"currency"`
	Reason      string `json:"reason,omitempty"` // payment.failed
}

// LowStockData is what the admins' low-stock message shows of a product.
type LowStockData struct {
	ProductID   string `json:"product_id"`
	SKU         string `json:"sku"`
	ProductName string `json:"name"`
	Available   int    `json:"available"`
	Threshold   int    `json:"threshold"`
}

// LowStockDigestData is what the daily low-stock digest shows.
type LowStockDigestData struct {
	Items []LowStockData `json:"items"`
}

// Kind is a kind of message: its template name, whether it is
// transactional (sent by email whatever the user's preferences, as
// receipts and money matters are) and sample data, the shape its
// template is rendered with.
type Kind struct {
	Transactional bool
	Sample        any
}

var sampleOrder = OrderData{OrderID: uuid.Nil.String(), TotalCents: 1999, Currency: "USD", Reason: "r"}
var samplePayment = PaymentData{OrderID: uuid.Nil.String(), AmountCents: 1999, Currency: "USD", Reason: "r"}
var sampleLowStock = LowStockData{SKU: "SKU-1", ProductName: "Widget", Available: 1, Threshold: 5}

// Kinds are the templates by name. Adding a kind means a template row
// (migration) and a consumer.
var Kinds = map[string]Kind{
	"welcome":          {Sample: UserData{Name: "Ada"}},
	"order_created":    {Sample: sampleOrder},
	"order_paid":       {Transactional: true, Sample: OrderPaidData{OrderID: uuid.Nil.String(), TotalCents: 1999, Currency: "USD", InvoiceNumber: "INV-1"}},
	"payment_failed":   {Transactional: true, Sample: samplePayment},
	"order_shipped":    {Sample: sampleOrder},
	"order_delivered":  {Sample: sampleOrder},
	"order_cancelled":  {Transactional: true, Sample: sampleOrder},
	"payment_refunded": {Transactional: true, Sample: samplePayment},
	"low_stock":        {Transactional: true, Sample: sampleLowStock},
	// Requested by the workers' daily job.
	contracts.TemplateLowStockDigest: {Transactional: true, Sample: LowStockDigestData{Items: []LowStockData{sampleLowStock}}},
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
