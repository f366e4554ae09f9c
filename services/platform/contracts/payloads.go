package contracts

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// UserRegisteredV1 is user.registered, published by auth once per new
// account.
type UserRegisteredV1 struct {
	UserID uuid.UUID `json:"user_id"`
	Email  string    `json:"email"`
	Name   string    `json:"name"`
}

// InventoryReservationV1 is inventory.released and inventory.restocked,
// published by products when it gives an order's held stock back, and
// when the units of a paid order return to stock after its refund.
type InventoryReservationV1 struct {
	OrderID uuid.UUID         `json:"order_id"`
	Lines   []InventoryLineV1 `json:"lines"`
}

// InventoryLineV1 is one product of a reservation.
type InventoryLineV1 struct {
	ProductID uuid.UUID `json:"product_id"`
	Quantity  int       `json:"quantity"`
}

// LowStockV1 is inventory.low_stock, published by products when a
// product's available stock falls below its threshold.
type LowStockV1 struct {
	ProductID uuid.UUID `json:"product_id"`
	SKU       string    `json:"sku"`
	Name      string    `json:"name"`
	Available int       `json:"available"`
	Threshold int       `json:"threshold"`
}

// OrderItemV1 is one line of an order, priced when it was placed.
type OrderItemV1 struct {
	ProductID      uuid.UUID `json:"product_id"`
	Name           string    `json:"name"`
	Quantity       int       `json:"quantity"`
	UnitPriceCents int64     `json:"unit_price_cents"`
}

// OrderCreatedV1 is order.created, published by orders when checkout
// places an order: payments charges it, notifications confirms it.
type OrderCreatedV1 struct {
	OrderID uuid.UUID `json:"order_id"`
	UserID  uuid.UUID `json:"user_id"`
	// Email is the customer's, when their token named one.
	Email      string        `json:"email,omitempty"`
	TotalCents int64         `json:"total_cents"`
	Currency   string        `json:"currency"`
	Items      []OrderItemV1 `json:"items"`
	// PaymentProvider is the provider the customer chose at checkout
	// (PaymentProviderStripe or PaymentProviderPayPal); empty is Stripe,
	// as for events published before there was a choice.
	PaymentProvider string `json:"payment_provider,omitempty"`
}

// Payment providers a customer can choose at checkout.
const (
	PaymentProviderStripe = "stripe"
	PaymentProviderPayPal = "paypal"
)

// OrderPaidV1 is order.paid, published by orders once payment succeeded:
// products commits the reservation, notifications sends the receipt,
// workers count the sale on PaidAt's day.
type OrderPaidV1 struct {
	OrderID uuid.UUID `json:"order_id"`
	UserID  uuid.UUID `json:"user_id"`
	// PaymentID is absent while payments has not named the payment.
	PaymentID  *uuid.UUID    `json:"payment_id,omitempty"`
	TotalCents int64         `json:"total_cents"`
	Currency   string        `json:"currency"`
	Items      []OrderItemV1 `json:"items"`
	PaidAt     time.Time     `json:"paid_at"`
	// InvoiceNumber is the invoice payments issued, for the receipt.
	InvoiceNumber string `json:"invoice_number,omitempty"`
}

// Reasons an order is cancelled (OrderCancelledV1.Reason).
const (
	CancelReasonCustomer       = "customer_cancelled"
	CancelReasonAdmin          = "admin_cancelled"
	CancelReasonPaymentFailed  = "payment_failed"
	CancelReasonPaymentTimeout = "payment_timeout"
)

// OrderCancelledV1 is order.cancelled, published by orders. When Refund
// is set the order was paid and payments refunds TotalCents of PaymentID,
// answering with payment.refunded; products then commits the reservation
// (if its order.paid is not applied yet), which order.refunded restocks.
// Otherwise products releases the reservation.
type OrderCancelledV1 struct {
	OrderID uuid.UUID `json:"order_id"`
	UserID  uuid.UUID `json:"user_id"`
	Reason  string    `json:"reason"`
	Refund  bool      `json:"refund"`
	// PaymentID is absent when the order was cancelled before payments
	// named its payment.
	PaymentID  *uuid.UUID `json:"payment_id,omitempty"`
	TotalCents int64      `json:"total_cents"`
	Currency   string     `json:"currency"`
}

// OrderStatusChangedV1 is order.shipped and order.delivered, published by
// orders; Status is the order's new status.
type OrderStatusChangedV1 struct {
	OrderID    uuid.UUID `json:"order_id"`
	UserID     uuid.UUID `json:"user_id"`
	Status     string    `json:"status"`
	TotalCents int64     `json:"total_cents"`
	Currency   string    `json:"currency"`
}

// OrderRefundedV1 is order.refunded, published by orders when the
// payment of a cancelled order was refunded, which ends the order. Restock
// is set when the order had been paid and was cancelled before it
// shipped: its units never left, so products returns them to stock. An
// order cancelled before it was paid (and refunded because the money came
// in anyway) has no Restock: its held stock was released on cancellation.
type OrderRefundedV1 struct {
	OrderID    uuid.UUID     `json:"order_id"`
	UserID     uuid.UUID     `json:"user_id"`
	Restock    bool          `json:"restock"`
	TotalCents int64         `json:"total_cents"`
	Currency   string        `json:"currency"`
	Items      []OrderItemV1 `json:"items"`
}

// PaymentCreatedV1 is payment.created, published by payments once an
// order's payment intent exists and awaits the customer; ClientSecret lets
// the customer's client confirm it. A payment confirmed at once with a
// saved card has none: its payment.succeeded or payment.failed is first.
type PaymentCreatedV1 struct {
	OrderID         uuid.UUID `json:"order_id"`
	PaymentID       uuid.UUID `json:"payment_id"`
	UserID          uuid.UUID `json:"user_id"`
	PaymentIntentID string    `json:"payment_intent_id,omitempty"`
	ClientSecret    string    `json:"client_secret,omitempty"`
	Status          string    `json:"status,omitempty"`
	AmountCents     int64     `json:"amount_cents,omitempty"`
	Currency        string    `json:"currency,omitempty"`
	// Provider is the payment's (PaymentProviderStripe when empty);
	// ApprovalURL is where a PayPal buyer approves it.
	Provider    string `json:"provider"`
	ApprovalURL string `json:"approval_url"`
}

// PaymentSucceededV1 is payment.succeeded, published by payments when the
// provider took the money; InvoiceNumber names the invoice it issued.
type PaymentSucceededV1 struct {
	OrderID         uuid.UUID `json:"order_id"`
	PaymentID       uuid.UUID `json:"payment_id"`
	UserID          uuid.UUID `json:"user_id"`
	PaymentIntentID string    `json:"payment_intent_id,omitempty"`
	Status          string    `json:"status,omitempty"`
	AmountCents     int64     `json:"amount_cents,omitempty"`
	Currency        string    `json:"currency,omitempty"`
	InvoiceNumber   string    `json:"invoice_number,omitempty"`
}

// PaymentFailedV1 is payment.failed, published by payments when the
// provider declined the payment, for Reason.
type PaymentFailedV1 struct {
	OrderID         uuid.UUID `json:"order_id"`
	PaymentID       uuid.UUID `json:"payment_id"`
	UserID          uuid.UUID `json:"user_id"`
	PaymentIntentID string    `json:"payment_intent_id,omitempty"`
	Status          string    `json:"status,omitempty"`
	Reason          string    `json:"reason,omitempty"`
}

// PaymentRefundedV1 is payment.refunded, published by payments once a
// refund of AmountCents went through.
type PaymentRefundedV1 struct {
	OrderID         uuid.UUID `json:"order_id"`
	PaymentID       uuid.UUID `json:"payment_id"`
	UserID          uuid.UUID `json:"user_id"`
	PaymentIntentID string    `json:"payment_intent_id,omitempty"`
	Status          string    `json:"status,omitempty"`
	AmountCents     int64     `json:"amount_cents,omitempty"`
	Currency        string    `json:"currency,omitempty"`
	// RefundedAt dates the refund, so analytics rebuilt later still count
	// it on its day.
	RefundedAt time.Time `json:"refunded_at,omitzero"`
}

// NotificationRequestedV1 is notification.requested: a service asks
// notifications for the message of Template to user UserID (at Email
// when given, else at the address user.registered gave) or, without
// UserID, to the shop's admins. Data is what the template renders, in
// the shape notifications gives that template's data.
type NotificationRequestedV1 struct {
	Template string          `json:"template"`
	UserID   *uuid.UUID      `json:"user_id,omitempty"`
	Email    string          `json:"email,omitempty"`
	Data     json.RawMessage `json:"data"`
}

// TemplateLowStockDigest is the daily digest of the products low on
// stock, which the workers request; its data is a LowStockDigestV1.
const TemplateLowStockDigest = "low_stock_digest"

// LowStockDigestV1 is the data of a TemplateLowStockDigest request.
type LowStockDigestV1 struct {
	Items []LowStockV1 `json:"items"`
}
