package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/payments/internal/payments"
	"github.com/daprshop/daprshop/services/payments/internal/postgres"
	"github.com/daprshop/daprshop/services/payments/internal/postgres/migrations"
	"github.com/daprshop/daprshop/services/platform/postgres/pgtest"
)

var day0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func insertCustomer(t *testing.T, pool *pgxpool.Pool, user uuid.UUID) {
	t.Helper()
	_, err := pool.Exec(context.Background(),
		`INSERT INTO customers (user_id, stripe_customer_id) VALUES ($1, $2)`, user, "cus_"+user.String())
	require.NoError(t, err)
}

// insertCard saves a card n hours after day0.
func insertCard(t *testing.T, pool *pgxpool.Pool, user uuid.UUID, last4 string, isDefault bool, n int) uuid.UUID {
	t.Helper()
	id := uuid.New()
	_, err := pool.Exec(context.Background(), `INSERT INTO payment_methods
		(id, user_id, stripe_payment_method_id, brand, last4, exp_month, exp_year, is_default, created_at)
		VALUES ($1, $2, $3, 'visa', $4, 12, 2030, $5, $6)`,
		id, user, "pm_"+id.String(), last4, isDefault, day0.Add(time.Duration(n)*time.Hour))
	require.NoError(t, err)
	return id
}

func TestMethodsListsOwnCardsDefaultFirstThenNewest(t *testing.T) {
	pool := pgtest.NewDatabase(t, migrations.FS)
	store := postgres.NewStore(pool)
	alice, bob := uuid.New(), uuid.New()
	insertCustomer(t, pool, alice)
	insertCustomer(t, pool, bob)
	old := insertCard(t, pool, alice, "1111", false, 1)
	def := insertCard(t, pool, alice, "4242", true, 2)
	newest := insertCard(t, pool, alice, "0005", false, 3)
	insertCard(t, pool, bob, "9999", true, 4)

	got, err := store.Methods(context.Background(), alice)
	require.NoError(t, err)
	require.Len(t, got, 3)
	assert.Equal(t, []uuid.UUID{def, newest, old}, []uuid.UUID{got[0].ID, got[1].ID, got[2].ID})
	got[0].CreatedAt = got[0].CreatedAt.UTC()
	assert.Equal(t, payments.Method{
		ID: def, Brand: "visa", Last4: "4242", ExpMonth: 12, ExpYear: 2030, Default: true, CreatedAt: day0.Add(2 * time.Hour),
		ProviderID: "pm_" + def.String(),
	}, got[0])

	none, err := store.Methods(context.Background(), uuid.New())
	require.NoError(t, err)
	assert.Empty(t, none)
}

// The schema itself refuses states the code must never write.
func TestSchemaGuardsInvariants(t *testing.T) {
	pool := pgtest.NewDatabase(t, migrations.FS)
	ctx := context.Background()
	user := uuid.New()
	insertCustomer(t, pool, user)
	insertCard(t, pool, user, "4242", true, 0)
	paid, pending := uuid.New(), uuid.New()
	_, err := pool.Exec(ctx, `INSERT INTO payments
		(id, order_id, user_id, payment_intent_id, client_secret, status, amount_cents, currency) VALUES
		($1, $2, $3, 'pi_1', 'secret_1', 'succeeded', 1000, 'USD'),
		($4, $5, $3, 'pi_2', 'secret_2', 'pending', 1000, 'USD')`, paid, uuid.New(), user, pending, uuid.New())
	require.NoError(t, err)

	tests := []struct {
		name string
		sql  string
		args []any
		code string
	}{
		{"second default card", `INSERT INTO payment_methods
			(id, user_id, stripe_payment_method_id, brand, last4, exp_month, exp_year, is_default)
			VALUES ($1, $2, 'pm_x', 'visa', '0005', 1, 2030, true)`, []any{uuid.New(), user}, "23505"},
		{"card of no customer", `INSERT INTO payment_methods
			(id, user_id, stripe_payment_method_id, brand, last4, exp_month, exp_year)
			VALUES ($1, $2, 'pm_y', 'visa', '0005', 1, 2030)`, []any{uuid.New(), uuid.New()}, "23503"},
		{"last4 not digits", `INSERT INTO payment_methods
			(id, user_id, stripe_payment_method_id, brand, last4, exp_month, exp_year)
			VALUES ($1, $2, 'pm_z', 'visa', '42a2', 1, 2030)`, []any{uuid.New(), user}, "23514"},
		{"month 13", `INSERT INTO payment_methods
			(id, user_id, stripe_payment_method_id, brand, last4, exp_month, exp_year)
			VALUES ($1, $2, 'pm_w', 'visa', '0005', 13, 2030)`, []any{uuid.New(), user}, "23514"},
		{"over-refund", `UPDATE payments SET refunded_cents = 1001 WHERE id = $1`, []any{paid}, "23514"},
		{"refund of an unpaid payment", `UPDATE payments SET refunded_cents = 1 WHERE id = $1`, []any{pending}, "23514"},
		{"second payment for an order", `INSERT INTO payments
			(id, order_id, user_id, payment_intent_id, client_secret, amount_cents)
			SELECT $1, order_id, user_id, 'pi_3', 's', 1 FROM payments WHERE id = $2`, []any{uuid.New(), paid}, "23505"},
		{"zero amount", `INSERT INTO payments (id, order_id, user_id, payment_intent_id, client_secret, amount_cents)
			VALUES ($1, $2, $3, 'pi_4', 's', 0)`, []any{uuid.New(), uuid.New(), user}, "23514"},
		{"unknown payment status", `UPDATE payments SET status = 'lost' WHERE id = $1`, []any{pending}, "23514"},
		{"succeeded refund without stripe id", `INSERT INTO refunds (id, payment_id, amount_cents, currency, status)
			VALUES ($1, $2, 10, 'USD', 'succeeded')`, []any{uuid.New(), paid}, "23514"},
		{"refund key without its request", `INSERT INTO refunds (id, payment_id, amount_cents, currency, idempotency_key)
			VALUES ($1, $2, 10, 'USD', 'k')`, []any{uuid.New(), paid}, "23514"},
		{"refund key too long", `INSERT INTO refunds (id, payment_id, amount_cents, currency, idempotency_key, request_hash)
			VALUES ($1, $2, 10, 'USD', repeat('k', 256), 'h')`, []any{uuid.New(), paid}, "23514"},
		{"refund answered as failed", `INSERT INTO refunds (id, payment_id, amount_cents, currency, answered_status)
			VALUES ($1, $2, 10, 'USD', 'failed')`, []any{uuid.New(), paid}, "23514"},
		{"invoice total is not subtotal plus tax", `INSERT INTO invoices
			(id, number, payment_id, order_id, user_id, lines, subtotal_cents, tax_cents, total_cents, currency)
			VALUES ($1, 1, $2, $3, $4, '[]', 1000, 200, 1000, 'USD')`, []any{uuid.New(), paid, uuid.New(), user}, "23514"},
		{"second invoice counter", `INSERT INTO invoice_counter (id, last_number) VALUES (false, 0)`, nil, "23514"},
		{"webhook event replayed", `INSERT INTO webhook_events (id, type) VALUES ('evt_1', 'x'), ('evt_1', 'x')`, nil, "23505"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pgtest.RequireRefused(t, pool, tt.code, tt.sql, tt.args...)
		})
	}
}

// A rolled-back invoice gives its number back, so numbers have no gaps.
func TestInvoiceCounterIsGapless(t *testing.T) {
	pool := pgtest.NewDatabase(t, migrations.FS)
	ctx := context.Background()
	const next = `UPDATE invoice_counter SET last_number = last_number + 1 RETURNING last_number`
	errAbort := errors.New("abort")
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var n int64
		require.NoError(t, tx.QueryRow(ctx, next).Scan(&n))
		assert.Equal(t, int64(1), n)
		return errAbort
	})
	require.ErrorIs(t, err, errAbort)
	var n int64
	require.NoError(t, pool.QueryRow(ctx, next).Scan(&n))
	assert.Equal(t, int64(1), n)
}

// Down must undo Up completely, or a rollback in production fails half way.
func TestMigrationsRollBackAndReapply(t *testing.T) {
	pgtest.RequireReversible(t, migrations.FS)
}
