package orders

import (
	"time"

	"github.com/google/uuid"
)

// OrderCreated is the order.created payload: what payments needs to charge
// the order and notifications to confirm it.
type OrderCreated struct {
	OrderID    uuid.UUID   `json:"order_id"`
	UserID     uuid.UUID   `json:"user_id"`
	Email      string      `json:"email,omitempty"`
	TotalCents int64       `json:"total_cents"`
	Currency   string      `json:"currency"`
	Items      []EventItem `json:"items"`
}

// EventItem is one line of an order.created event.
type EventItem struct {
	ProductID      uuid.UUID `json:"product_id"`
	Name           string    `json:"name"`
	Quantity       int       `json:"quantity"`
	UnitPriceCents int64     `json:"unit_price_cents"`
}

// OrderPaid is the order.paid payload: products commits the reservation,
// notifications sends the receipt, workers count the sale on PaidAt's day.
type OrderPaid struct {
	OrderID    uuid.UUID   `json:"order_id"`
	UserID     uuid.UUID   `json:"user_id"`
	PaymentID  *uuid.UUID  `json:"payment_id,omitempty"`
	TotalCents int64       `json:"total_cents"`
	Currency   string      `json:"currency"`
	Items      []EventItem `json:"items"`
	PaidAt     time.Time   `json:"paid_at"`
	// InvoiceNumber is the invoice payments issued, for the receipt.
	InvoiceNumber string `json:"invoice_number,omitempty"`
}

// Reasons an order is cancelled.
const (
	ReasonCustomer       = "customer_cancelled"
	ReasonAdmin          = "admin_cancelled"
	ReasonPaymentFailed  = "payment_failed"
	ReasonPaymentTimeout = "payment_timeout"
)

// OrderCancelled is the order.cancelled payload. Products releases the
// reservation (a committed one stays committed); when Refund is set the
// order was paid and payments refunds TotalCents of PaymentID, answering
// with payment.refunded.
type OrderCancelled struct {
	OrderID    uuid.UUID  `json:"order_id"`
	UserID     uuid.UUID  `json:"user_id"`
	Reason     string     `json:"reason"`
	Refund     bool       `json:"refund"`
	PaymentID  *uuid.UUID `json:"payment_id,omitempty"`
	TotalCents int64      `json:"total_cents"`
	Currency   string     `json:"currency"`
}

// OrderStatusChanged is the order.shipped and order.delivered payload.
type OrderStatusChanged struct {
	OrderID    uuid.UUID `json:"order_id"`
	UserID     uuid.UUID `json:"user_id"`
	Status     Status    `json:"status"`
	TotalCents int64     `json:"total_cents"`
	Currency   string    `json:"currency"`
}

// PaymentEvent is the payload orders reads from payments' events:
//
//	payment.created   {order_id, payment_id, payment_intent_id, client_secret, status}
//	                  — the PaymentIntent exists; GET /orders/{id} shows it.
//	payment.succeeded {order_id, payment_id, payment_intent_id, amount_cents, currency, invoice_number}
//	                  — pending_payment → paid.
//	payment.failed    {order_id, payment_id, payment_intent_id, reason}
//	                  — pending_payment → cancelled.
//	payment.refunded  {order_id, payment_id, amount_cents, currency}
//	                  — cancelled → refunded.
//
// Fields other than order_id are optional.
type PaymentEvent struct {
	OrderID         uuid.UUID  `json:"order_id"`
	PaymentID       *uuid.UUID `json:"payment_id,omitempty"`
	PaymentIntentID string     `json:"payment_intent_id,omitempty"`
	ClientSecret    string     `json:"client_secret,omitempty"`
	Status          string     `json:"status,omitempty"`
	AmountCents     int64      `json:"amount_cents,omitempty"`
	Currency        string     `json:"currency,omitempty"`
	Reason          string     `json:"reason,omitempty"`
	InvoiceNumber   string     `json:"invoice_number,omitempty"`
}
