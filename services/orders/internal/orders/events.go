package orders

import "github.com/google/uuid"

// PaymentNews is what one of payments' events tells an order about its
// payment; an empty field tells nothing.
type PaymentNews struct {
	PaymentID       uuid.UUID
	PaymentIntentID string
	ClientSecret    string
	ApprovalURL     string
	// Status is the payment's status as payment.created gives it.
	Status string
	// InvoiceNumber names payment.succeeded's invoice, for order.paid.
	InvoiceNumber string
}
