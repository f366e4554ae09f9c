// Package postgres stores the sales aggregates in the workers database.
package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daprshop/daprshop/services/platform/events"
	"github.com/daprshop/daprshop/services/workers/internal/analytics"
)

// Store reads and writes the aggregates.
type Store struct{ pool *pgxpool.Pool }

// NewStore returns a Store on pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

type daySalesRow struct {
	Day          time.Time `db:"day"`
	Orders       int       `db:"orders"`
	RevenueCents int64     `db:"revenue_cents"`
	RefundsCents int64     `db:"refunds_cents"`
	ItemsSold    int       `db:"items_sold"`
}

// Sales returns the days of r that had sales, in date order; days without
// a row are left out.
func (s *Store) Sales(ctx context.Context, r analytics.Range) ([]analytics.DaySales, error) {
	rows, err := s.pool.Query(ctx, `SELECT day, orders, revenue_cents, refunds_cents, items_sold
		FROM daily_sales
		WHERE day BETWEEN $1 AND $2
		ORDER BY day`, r.From, r.To)
	if err != nil {
		return nil, fmt.Errorf("read sales %s..%s: %w", r.From.Format(time.DateOnly), r.To.Format(time.DateOnly), err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowToStructByName[daySalesRow])
	if err != nil {
		return nil, fmt.Errorf("read sales %s..%s: %w", r.From.Format(time.DateOnly), r.To.Format(time.DateOnly), err)
	}
	days := make([]analytics.DaySales, len(found))
	for i, d := range found {
		days[i] = analytics.DaySales{
			Day: d.Day, Orders: d.Orders, RevenueCents: d.RevenueCents, RefundsCents: d.RefundsCents, ItemsSold: d.ItemsSold,
		}
	}
	return days, nil
}

// ConsumerName identifies the analytics in processed_events.
const ConsumerName = "analytics"

// AddSales adds d to its day's row, creating the row on the day's first
// sale, unless eventID is recorded already; it records eventID in the
// same transaction.
func (s *Store) AddSales(ctx context.Context, eventID string, d analytics.DaySales) error {
	return events.Once(ctx, s.pool, ConsumerName, events.Event{ID: eventID}, func(ctx context.Context, tx pgx.Tx) error {
		return addSales(ctx, tx, d)
	})
}

func addSales(ctx context.Context, tx pgx.Tx, d analytics.DaySales) error {
	_, err := tx.Exec(ctx, `INSERT INTO daily_sales (day, orders, revenue_cents, refunds_cents, items_sold)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (day) DO UPDATE SET
			orders = daily_sales.orders + EXCLUDED.orders,
			revenue_cents = daily_sales.revenue_cents + EXCLUDED.revenue_cents,
			refunds_cents = daily_sales.refunds_cents + EXCLUDED.refunds_cents,
			items_sold = daily_sales.items_sold + EXCLUDED.items_sold,
			updated_at = now()`, d.Day, d.Orders, d.RevenueCents, d.RefundsCents, d.ItemsSold)
	if err != nil {
		return fmt.Errorf("add sales of %s: %w", d.Day.Format(time.DateOnly), err)
	}
	return nil
}
