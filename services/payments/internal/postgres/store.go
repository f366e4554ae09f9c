// Package postgres stores payments in the payments database.
package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daprshop/daprshop/services/payments/internal/payments"
)

// Store reads and writes payments.
type Store struct{ pool *pgxpool.Pool }

// NewStore returns a Store on pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

type methodRow struct {
	ID        uuid.UUID `db:"id"`
	Brand     string    `db:"brand"`
	Last4     string    `db:"last4"`
	ExpMonth  int       `db:"exp_month"`
	ExpYear   int       `db:"exp_year"`
	IsDefault bool      `db:"is_default"`
	CreatedAt time.Time `db:"created_at"`
}

func (r methodRow) method() payments.Method {
	return payments.Method{
		ID: r.ID, Brand: r.Brand, Last4: r.Last4, ExpMonth: r.ExpMonth, ExpYear: r.ExpYear,
		Default: r.IsDefault, CreatedAt: r.CreatedAt,
	}
}

// Methods returns the cards userID saved, the default first, then newest
// first.
func (s *Store) Methods(ctx context.Context, userID uuid.UUID) ([]payments.Method, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, brand, last4, exp_month, exp_year, is_default, created_at
		FROM payment_methods
		WHERE user_id = $1
		ORDER BY is_default DESC, created_at DESC, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list payment methods of %s: %w", userID, err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowToStructByName[methodRow])
	if err != nil {
		return nil, fmt.Errorf("list payment methods of %s: %w", userID, err)
	}
	methods := make([]payments.Method, len(found))
	for i, r := range found {
		methods[i] = r.method()
	}
	return methods, nil
}
