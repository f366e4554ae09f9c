// Package analytics holds the sales figures the workers aggregate from
// business events, and the rules for querying them.
package analytics

import (
	"errors"
	"time"

	"github.com/daprshop/daprshop/services/platform/apperr"
)

// MaxRangeDays bounds a report: a year, leap years included.
const MaxRangeDays = 366

// DaySales are one UTC day's sales.
type DaySales struct {
	Day          time.Time // midnight UTC
	Orders       int
	RevenueCents int64
	RefundsCents int64
	ItemsSold    int
}

// Range is an inclusive span of UTC days.
type Range struct {
	From, To time.Time // midnight UTC
}

// NewRange returns the days from..to, both included, truncated to UTC
// days. It returns an apperr.Invalid error naming "to" when to is before
// from or the span is longer than MaxRangeDays days.
func NewRange(from, to time.Time) (Range, error) {
	r := Range{From: day(from), To: day(to)}
	switch {
	case r.To.Before(r.From):
		return Range{}, apperr.Validation(apperr.FieldError{Field: "to", Message: "must not be before from"})
	case r.Days() > MaxRangeDays:
		return Range{}, apperr.Validation(apperr.FieldError{Field: "to", Message: "must make a range of at most 366 days, both ends included"})
	}
	return r, nil
}

// Days is the number of days in r, both ends included.
func (r Range) Days() int { return int(r.To.Sub(r.From)/(24*time.Hour)) + 1 }

func day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// ErrNegative is returned for an amount or count below zero.
var ErrNegative = errors.New("amounts and counts must not be negative")

// Paid is what one paid order adds to its day: one order, its total, its
// items. It returns ErrNegative for a negative total or quantity.
func Paid(at time.Time, totalCents int64, quantities []int) (DaySales, error) {
	items := 0
	for _, q := range quantities {
		if q < 0 {
			return DaySales{}, ErrNegative
		}
		items += q
	}
	if totalCents < 0 {
		return DaySales{}, ErrNegative
	}
	return DaySales{Day: day(at), Orders: 1, RevenueCents: totalCents, ItemsSold: items}, nil
}

// Refunded is what one refund adds to its day. It returns ErrNegative for a
// negative amount.
func Refunded(at time.Time, amountCents int64) (DaySales, error) {
	if amountCents < 0 {
		return DaySales{}, ErrNegative
	}
	return DaySales{Day: day(at), RefundsCents: amountCents}, nil
}
