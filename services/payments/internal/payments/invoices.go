package payments

import (
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Line is one line of an order, as invoiced.
type Line struct {
	ProductID      uuid.UUID `json:"product_id"`
	Name           string    `json:"name"`
	Quantity       int       `json:"quantity"`
	UnitPriceCents int64     `json:"unit_price_cents"`
	TotalCents     int64     `json:"total_cents"`
}

// Invoice is the immutable document issued once per paid order.
type Invoice struct {
	ID            uuid.UUID
	Number        int64 // year * 1000000 + the year's sequence
	PaymentID     uuid.UUID
	OrderID       uuid.UUID
	UserID        uuid.UUID
	Lines         []Line
	SubtotalCents int64
	TaxCents      int64
	TotalCents    int64
	Currency      string
	IssuedAt      time.Time
}

// InvoiceNumberBase separates a year from its sequence in an invoice number.
const InvoiceNumberBase = 1000000

// DisplayNumber is the number as printed: 2026-000042.
func (i Invoice) DisplayNumber() string {
	return fmt.Sprintf("%d-%06d", i.Number/InvoiceNumberBase, i.Number%InvoiceNumberBase)
}

// SplitTax splits a tax-inclusive total charged at rateBPS basis points
// into subtotal and tax, rounding the tax half up; they always add up to
// the total.
func SplitTax(totalCents int64, rateBPS int) (subtotal, tax int64) {
	tax = (totalCents*int64(rateBPS)*2 + int64(10000+rateBPS)) / (2 * int64(10000+rateBPS))
	return totalCents - tax, tax
}
