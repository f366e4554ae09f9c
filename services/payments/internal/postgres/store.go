// Package postgres stores payments in the payments database.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daprshop/daprshop/services/payments/internal/payments"
	"github.com/daprshop/daprshop/services/platform/postgres"
)

// ConsumerName identifies payments in processed_events.
const ConsumerName = "payments"

// Store reads and writes payments.
type Store struct{ pool *pgxpool.Pool }

// NewStore returns a Store on pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

type methodRow struct {
	ID         uuid.UUID `db:"id"`
	ProviderID string    `db:"stripe_payment_method_id"`
	Brand      string    `db:"brand"`
	Last4      string    `db:"last4"`
	ExpMonth   int       `db:"exp_month"`
	ExpYear    int       `db:"exp_year"`
	IsDefault  bool      `db:"is_default"`
	CreatedAt  time.Time `db:"created_at"`
}

func (r methodRow) method() payments.Method {
	return payments.Method{
		ID: r.ID, Brand: r.Brand, Last4: r.Last4, ExpMonth: r.ExpMonth, ExpYear: r.ExpYear,
		Default: r.IsDefault, CreatedAt: r.CreatedAt, ProviderID: r.ProviderID,
	}
}

const methodColumns = `id, stripe_payment_method_id, brand, last4, exp_month, exp_year, is_default, created_at`

// listOf runs query and returns its rows, each read by column name into
// a Row and turned into a T by convert.
func listOf[Row, T any](ctx context.Context, pool *pgxpool.Pool, convert func(Row) T, query string, args ...any) ([]T, error) {
	rows, _ := pool.Query(ctx, query, args...) // CollectRows returns the query's error
	found, err := pgx.CollectRows(rows, pgx.RowToStructByName[Row])
	if err != nil {
		return nil, err
	}
	out := make([]T, len(found))
	for i, r := range found {
		out[i] = convert(r)
	}
	return out, nil
}

// Methods returns the cards userID saved, the default first, then newest
// first.
func (s *Store) Methods(ctx context.Context, userID uuid.UUID) ([]payments.Method, error) {
	methods, err := listOf(ctx, s.pool, methodRow.method, `SELECT `+methodColumns+`
		FROM payment_methods
		WHERE user_id = $1
		ORDER BY is_default DESC, created_at DESC, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list payment methods of %s: %w", userID, err)
	}
	return methods, nil
}

// oneMethod reads the card query yields, or returns
// payments.ErrMethodNotFound; other errors are wrapped with what.
func oneMethod(ctx context.Context, q postgres.Querier, what, query string, args ...any) (payments.Method, error) {
	r, err := postgres.One[methodRow](ctx, q, payments.ErrMethodNotFound, what, query, args...)
	if err != nil {
		return payments.Method{}, err
	}
	return r.method(), nil
}

// Method returns userID's card id, or payments.ErrMethodNotFound.
func (s *Store) Method(ctx context.Context, userID, id uuid.UUID) (payments.Method, error) {
	return oneMethod(ctx, s.pool, "read payment method "+id.String(),
		`SELECT `+methodColumns+` FROM payment_methods WHERE user_id = $1 AND id = $2`, userID, id)
}

// Payer implements payments.Store in one round trip. A card saved
// before its customer cannot be, as AddMethod saves the customer first;
// a missing customer reads as no card.
func (s *Store) Payer(ctx context.Context, orderID, userID uuid.UUID) (payments.Payer, error) {
	var p payments.Payer
	var r struct {
		ID         *uuid.UUID
		ProviderID *string
		Brand      *string
		Last4      *string
		ExpMonth   *int
		ExpYear    *int
		IsDefault  *bool
		CreatedAt  *time.Time
		CustomerID *string
	}
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM cancelled_orders WHERE order_id = $1),
			m.id, m.stripe_payment_method_id, m.brand, m.last4, m.exp_month, m.exp_year, m.is_default, m.created_at, c.stripe_customer_id
		FROM (SELECT $2::uuid AS user_id) u
		LEFT JOIN customers c ON c.user_id = u.user_id
		LEFT JOIN payment_methods m ON m.user_id = c.user_id AND m.is_default`, orderID, userID).
		Scan(&p.OrderCancelled, &r.ID, &r.ProviderID, &r.Brand, &r.Last4, &r.ExpMonth, &r.ExpYear, &r.IsDefault, &r.CreatedAt, &r.CustomerID)
	if err != nil {
		return payments.Payer{}, fmt.Errorf("read payer of order %s: %w", orderID, err)
	}
	if r.ID != nil {
		m := methodRow{ID: *r.ID, ProviderID: *r.ProviderID, Brand: *r.Brand, Last4: *r.Last4,
			ExpMonth: *r.ExpMonth, ExpYear: *r.ExpYear, IsDefault: *r.IsDefault, CreatedAt: *r.CreatedAt}.method()
		p.Card, p.CustomerID = &m, *r.CustomerID
	}
	return p, nil
}

// Customer returns userID's Stripe customer id, or payments.ErrNotFound.
func (s *Store) Customer(ctx context.Context, userID uuid.UUID) (string, error) {
	var id string
	err := s.pool.QueryRow(ctx, `SELECT stripe_customer_id FROM customers WHERE user_id = $1`, userID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", payments.ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("read customer %s: %w", userID, err)
	}
	return id, nil
}

// SaveCustomer records userID's Stripe customer unless one is recorded, and
// returns the recorded one.
func (s *Store) SaveCustomer(ctx context.Context, userID uuid.UUID, providerID string) (string, error) {
	var id string
	err := s.pool.QueryRow(ctx, `INSERT INTO customers (user_id, stripe_customer_id) VALUES ($1, $2)
		ON CONFLICT (user_id) DO NOTHING RETURNING stripe_customer_id`, userID, providerID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		// Saved meanwhile by a concurrent request, committed after this
		// statement's snapshot: a new statement sees it.
		return s.Customer(ctx, userID)
	}
	if err != nil {
		return "", fmt.Errorf("save customer %s: %w", userID, err)
	}
	return id, nil
}

// lockCustomer serialises the card changes of one user, so "the first card
// becomes the default" holds when two cards are saved at once.
func lockCustomer(ctx context.Context, tx pgx.Tx, userID uuid.UUID) error {
	tag, err := tx.Exec(ctx, `SELECT 1 FROM customers WHERE user_id = $1 FOR UPDATE`, userID)
	if err != nil {
		return fmt.Errorf("lock customer %s: %w", userID, err)
	}
	if tag.RowsAffected() == 0 {
		return payments.ErrMethodNotFound
	}
	return nil
}

// AddMethod saves a card; the user's first card becomes the default.
func (s *Store) AddMethod(ctx context.Context, userID, id uuid.UUID, c payments.Card) (payments.Method, error) {
	var m payments.Method
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockCustomer(ctx, tx, userID); err != nil {
			return err
		}
		var err error
		m, err = oneMethod(ctx, tx, "insert payment method", `INSERT INTO payment_methods
			(id, user_id, stripe_payment_method_id, brand, last4, exp_month, exp_year, is_default)
			VALUES ($1, $2, $3, $4, $5, $6, $7,
			        NOT EXISTS (SELECT 1 FROM payment_methods WHERE user_id = $2 AND is_default))
			RETURNING `+methodColumns, id, userID, c.ProviderID, c.Brand, c.Last4, c.ExpMonth, c.ExpYear)
		return err
	})
	if postgres.IsCode(err, postgres.CodeUniqueViolation) {
		return payments.Method{}, payments.ErrMethodSaved
	}
	if err != nil {
		return payments.Method{}, fmt.Errorf("save payment method of %s: %w", userID, err)
	}
	return m, nil
}

// DeleteMethod forgets a card, promoting the newest remaining card when it
// was the default.
func (s *Store) DeleteMethod(ctx context.Context, userID, id uuid.UUID) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockCustomer(ctx, tx, userID); err != nil {
			return err
		}
		var wasDefault bool
		err := tx.QueryRow(ctx, `DELETE FROM payment_methods WHERE user_id = $1 AND id = $2 RETURNING is_default`, userID, id).Scan(&wasDefault)
		if errors.Is(err, pgx.ErrNoRows) {
			return payments.ErrMethodNotFound
		}
		if err != nil || !wasDefault {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE payment_methods SET is_default = true
			WHERE id = (SELECT id FROM payment_methods WHERE user_id = $1 ORDER BY created_at DESC, id LIMIT 1)`, userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete payment method %s: %w", id, err)
	}
	return nil
}

// SetDefault makes userID's card id the default.
func (s *Store) SetDefault(ctx context.Context, userID, id uuid.UUID) (payments.Method, error) {
	var m payments.Method
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockCustomer(ctx, tx, userID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE payment_methods SET is_default = false WHERE user_id = $1 AND is_default AND id <> $2`, userID, id); err != nil {
			return err
		}
		var err error
		m, err = oneMethod(ctx, tx, "mark default", `UPDATE payment_methods SET is_default = true WHERE user_id = $1 AND id = $2
			RETURNING `+methodColumns, userID, id)
		return err
	})
	if err != nil {
		return payments.Method{}, fmt.Errorf("set default payment method %s: %w", id, err)
	}
	return m, nil
}
