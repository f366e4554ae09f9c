// Package payments holds the payment types: charges, refunds, invoices and
// the cards customers save.
package payments

import (
	"time"

	"github.com/google/uuid"
)

// Method is a saved card. The card itself stays at Stripe; only what a
// customer needs to recognise it is kept.
type Method struct {
	ID        uuid.UUID
	Brand     string
	Last4     string
	ExpMonth  int
	ExpYear   int
	Default   bool // charged automatically at checkout; at most one per user
	CreatedAt time.Time
}
