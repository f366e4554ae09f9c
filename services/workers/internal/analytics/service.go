package analytics

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/platform/contracts"
)

// Store keeps the daily aggregates.
type Store interface {
	// Sales returns the days of r that had sales, in date order.
	Sales(ctx context.Context, r Range) ([]DaySales, error)
	// AddSales adds d to its day once per event: unless eventID is
	// recorded already, it records it and adds d, in one transaction.
	AddSales(ctx context.Context, eventID string, d DaySales) error
}

// Service folds order and payment events into the daily sales aggregates,
// each event once, and reports them.
type Service struct {
	store Store
	now   func() time.Time
}

// NewService returns a Service over store; now dates events that carry no
// time of their own, neither in their data nor in their id.
func NewService(store Store, now func() time.Time) *Service {
	return &Service{store: store, now: now}
}

// when is the time that decides an event's day: the one in its data, else
// the one in its id when that is a version 7 UUID (outbox event ids are,
// minted in the transaction that made the change), else now. Only the
// last moves when the event is replayed on another day, as an operator
// does to rebuild the aggregates.
func (s *Service) when(t time.Time, eventID string) time.Time {
	if !t.IsZero() {
		return t
	}
	if id, err := uuid.Parse(eventID); err == nil && id.Version() == 7 {
		return time.Unix(id.Time().UnixTime())
	}
	return s.now()
}

// OrderPaid adds paid order o to its day, once per event id. PaidAt
// decides the day; without it, the event's id does (see when). It returns
// ErrNegative for a negative total or quantity.
func (s *Service) OrderPaid(ctx context.Context, eventID string, o contracts.OrderPaidV1) error {
	quantities := make([]int, len(o.Items))
	for i, it := range o.Items {
		quantities[i] = it.Quantity
	}
	sale, err := Paid(s.when(o.PaidAt, eventID), o.TotalCents, quantities)
	if err != nil {
		return fmt.Errorf("order %s: %w", o.OrderID, err)
	}
	return s.store.AddSales(ctx, eventID, sale)
}

// PaymentRefunded adds refund r to its day, once per event id. RefundedAt
// decides the day; without it, the event's id does (see when). It returns
// ErrNegative for a negative amount.
func (s *Service) PaymentRefunded(ctx context.Context, eventID string, r contracts.PaymentRefundedV1) error {
	refund, err := Refunded(s.when(r.RefundedAt, eventID), r.AmountCents)
	if err != nil {
		return fmt.Errorf("refund of order %s: %w", r.OrderID, err)
	}
	return s.store.AddSales(ctx, eventID, refund)
}

// Sales is the sales report: the days of r that had sales, in date order.
func (s *Service) Sales(ctx context.Context, r Range) ([]DaySales, error) {
	return s.store.Sales(ctx, r)
}
