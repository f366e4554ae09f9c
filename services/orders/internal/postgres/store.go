// Package postgres stores orders in the orders database.
package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daprshop/daprshop/services/orders/internal/orders"
)

// ConsumerName identifies orders in processed_events.
const ConsumerName = "orders"

// Store reads and writes orders.
type Store struct{ pool *pgxpool.Pool }

// NewStore returns a Store on pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

type orderRow struct {
	ID         uuid.UUID `db:"id"`
	UserID     uuid.UUID `db:"user_id"`
	Status     string    `db:"status"`
	TotalCents int64     `db:"total_cents"`
	Currency   string    `db:"currency"`
	CreatedAt  time.Time `db:"created_at"`
	Total      int       `db:"total"`
}

func (r orderRow) order() orders.Order {
	return orders.Order{
		ID: r.ID, UserID: r.UserID, Status: orders.Status(r.Status), TotalCents: r.TotalCents,
		Currency: r.Currency, CreatedAt: r.CreatedAt,
	}
}

// A NULL user or an empty status matches every order, so one constant
// query serves every combination of filters.
const orderFilter = `($1::uuid IS NULL OR user_id = $1) AND ($2::text = '' OR status = $2)`

// List returns a page of the orders q selects, newest first, and how many
// orders it selects in all.
func (s *Store) List(ctx context.Context, q orders.ListQuery) ([]orders.Order, int, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, user_id, status, total_cents, currency, created_at,
			count(*) OVER () AS total
		FROM orders
		WHERE `+orderFilter+`
		ORDER BY created_at DESC, id DESC
		LIMIT $3 OFFSET $4`, q.UserID, string(q.Status), q.Limit, q.Offset)
	if err != nil {
		return nil, 0, fmt.Errorf("list orders: %w", err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowToStructByName[orderRow])
	if err != nil {
		return nil, 0, fmt.Errorf("list orders: %w", err)
	}
	list := make([]orders.Order, len(found))
	total := 0
	for i, r := range found {
		list[i], total = r.order(), r.Total
	}
	if len(found) == 0 && q.Offset > 0 {
		// Past the last page the window function has no row to report on.
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM orders WHERE `+orderFilter,
			q.UserID, string(q.Status)).Scan(&total); err != nil {
			return nil, 0, fmt.Errorf("count orders: %w", err)
		}
	}
	return list, total, nil
}
