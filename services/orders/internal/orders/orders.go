// Package orders holds the order types and the rules of who sees which
// orders.
package orders

import (
	"strings"
	"time"

	"github.com/google/uuid"
)

// Status is a state of the order state machine.
type Status string

// The order states (see the checkout saga in the architecture).
const (
	StatusPendingPayment Status = "pending_payment"
	StatusPaid           Status = "paid"
	StatusShipped        Status = "shipped"
	StatusDelivered      Status = "delivered"
	StatusCancelled      Status = "cancelled"
	StatusRefunded       Status = "refunded"
)

// statuses lists every state, the happy path first.
var statuses = [...]Status{
	StatusPendingPayment, StatusPaid, StatusShipped, StatusDelivered, StatusCancelled, StatusRefunded,
}

// ParseStatus returns the state named s; ok is false for any other string.
func ParseStatus(s string) (status Status, ok bool) {
	for _, st := range statuses {
		if string(st) == s {
			return st, true
		}
	}
	return "", false
}

// StatusNames is the list of states for messages, comma separated.
func StatusNames() string {
	names := make([]string, len(statuses))
	for i, s := range statuses {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// Order is a placed order, as listed.
type Order struct {
	ID         uuid.UUID
	UserID     uuid.UUID
	Status     Status
	TotalCents int64
	Currency   string
	CreatedAt  time.Time
}

// Viewer is who asks for orders.
type Viewer struct {
	UserID uuid.UUID
	Admin  bool // ADMIN or SUPER_ADMIN: sees every customer's orders
}

// ListQuery selects a page of orders, newest first. Zero-valued filters
// match every order.
type ListQuery struct {
	UserID *uuid.UUID
	Status Status
	Offset int
	Limit  int
}

// For narrows q to what v may see: a customer only ever lists their own
// orders, whatever user filter they asked for.
func (q ListQuery) For(v Viewer) ListQuery {
	if !v.Admin {
		id := v.UserID
		q.UserID = &id
	}
	return q
}
