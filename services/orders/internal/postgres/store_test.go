package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/orders/internal/orders"
	"github.com/daprshop/daprshop/services/orders/internal/postgres"
	"github.com/daprshop/daprshop/services/orders/internal/postgres/migrations"
	"github.com/daprshop/daprshop/services/platform/postgres/pgtest"
)

var day0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// insertOrder adds an order placed n hours after day0.
func insertOrder(t *testing.T, pool *pgxpool.Pool, user uuid.UUID, status orders.Status, n int) uuid.UUID {
	t.Helper()
	id := uuid.New()
	at := day0.Add(time.Duration(n) * time.Hour)
	_, err := pool.Exec(context.Background(), `INSERT INTO orders
		(id, user_id, status, total_cents, currency, shipping_address, idempotency_key, created_at, updated_at)
		VALUES ($1, $2, $3, 1250, 'USD', '{"city": "Lyon"}', $4, $5, $5)`,
		id, user, string(status), uuid.NewString(), at)
	require.NoError(t, err)
	return id
}

func ids(list []orders.Order) []uuid.UUID {
	out := make([]uuid.UUID, len(list))
	for i, o := range list {
		out[i] = o.ID
	}
	return out
}

func TestListFiltersAndOrdersNewestFirst(t *testing.T) {
	pool := pgtest.NewDatabase(t, migrations.FS)
	store := postgres.NewStore(pool)
	alice, bob := uuid.New(), uuid.New()
	a1 := insertOrder(t, pool, alice, orders.StatusPaid, 1)
	b1 := insertOrder(t, pool, bob, orders.StatusPendingPayment, 2)
	a2 := insertOrder(t, pool, alice, orders.StatusPendingPayment, 3)
	a3 := insertOrder(t, pool, alice, orders.StatusPaid, 4)

	tests := []struct {
		name  string
		q     orders.ListQuery
		want  []uuid.UUID
		total int
	}{
		{"all", orders.ListQuery{Limit: 10}, []uuid.UUID{a3, a2, b1, a1}, 4},
		{"one user", orders.ListQuery{UserID: &alice, Limit: 10}, []uuid.UUID{a3, a2, a1}, 3},
		{"one status", orders.ListQuery{Status: orders.StatusPendingPayment, Limit: 10}, []uuid.UUID{a2, b1}, 2},
		{"user and status", orders.ListQuery{UserID: &alice, Status: orders.StatusPaid, Limit: 10}, []uuid.UUID{a3, a1}, 2},
		{"nothing matches", orders.ListQuery{UserID: &bob, Status: orders.StatusPaid, Limit: 10}, []uuid.UUID{}, 0},
		{"second page", orders.ListQuery{UserID: &alice, Limit: 2, Offset: 2}, []uuid.UUID{a1}, 3},
		{"past the last page", orders.ListQuery{UserID: &alice, Limit: 2, Offset: 4}, []uuid.UUID{}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, total, err := store.List(context.Background(), tt.q)
			require.NoError(t, err)
			assert.Equal(t, tt.want, ids(got))
			assert.Equal(t, tt.total, total)
		})
	}
}

func TestListReturnsOrderFields(t *testing.T) {
	pool := pgtest.NewDatabase(t, migrations.FS)
	user := uuid.New()
	id := insertOrder(t, pool, user, orders.StatusShipped, 0)
	got, _, err := postgres.NewStore(pool).List(context.Background(), orders.ListQuery{Limit: 1})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, orders.Order{
		ID: id, UserID: user, Status: orders.StatusShipped, TotalCents: 1250, Currency: "USD", CreatedAt: day0,
	}, orders.Order{
		ID: got[0].ID, UserID: got[0].UserID, Status: got[0].Status, TotalCents: got[0].TotalCents,
		Currency: got[0].Currency, CreatedAt: got[0].CreatedAt.UTC(),
	})
}

// The schema itself refuses states the code must never write.
func TestSchemaGuardsInvariants(t *testing.T) {
	pool := pgtest.NewDatabase(t, migrations.FS)
	ctx := context.Background()
	user := uuid.New()
	order := insertOrder(t, pool, user, orders.StatusPaid, 0)
	_, err := pool.Exec(ctx, `INSERT INTO orders (id, user_id, total_cents, shipping_address, idempotency_key)
		VALUES ($1, $2, 1, '{}', 'key-1')`, uuid.New(), user)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO order_status_history (order_id, status) VALUES ($1, 'paid')`, order)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO order_items (order_id, product_id, name, quantity, unit_price_cents)
		VALUES ($1, $2, 'Mug', 1, 900)`, order, uuid.New())
	require.NoError(t, err)

	tests := []struct {
		name string
		sql  string
		args []any
		code string
	}{
		{"unknown status", `INSERT INTO orders (id, user_id, status, total_cents, shipping_address, idempotency_key)
			VALUES ($1, $2, 'lost', 1, '{}', 'k')`, []any{uuid.New(), user}, "23514"},
		{"negative total", `INSERT INTO orders (id, user_id, total_cents, shipping_address, idempotency_key)
			VALUES ($1, $2, -1, '{}', 'k')`, []any{uuid.New(), user}, "23514"},
		{"lowercase currency", `INSERT INTO orders (id, user_id, total_cents, currency, shipping_address, idempotency_key)
			VALUES ($1, $2, 1, 'usd', '{}', 'k')`, []any{uuid.New(), user}, "23514"},
		{"address not an object", `INSERT INTO orders (id, user_id, total_cents, shipping_address, idempotency_key)
			VALUES ($1, $2, 1, '[]', 'k')`, []any{uuid.New(), user}, "23514"},
		{"empty idempotency key", `INSERT INTO orders (id, user_id, total_cents, shipping_address, idempotency_key)
			VALUES ($1, $2, 1, '{}', '')`, []any{uuid.New(), user}, "23514"},
		{"idempotency key reused by the same user", `INSERT INTO orders (id, user_id, total_cents, shipping_address, idempotency_key)
			VALUES ($1, $2, 1, '{}', 'key-1')`, []any{uuid.New(), user}, "23505"},
		{"zero quantity", `INSERT INTO order_items (order_id, product_id, name, quantity, unit_price_cents)
			VALUES ($1, $2, 'Mug', 0, 900)`, []any{order, uuid.New()}, "23514"},
		{"negative price", `INSERT INTO order_items (order_id, product_id, name, quantity, unit_price_cents)
			VALUES ($1, $2, 'Mug', 1, -1)`, []any{order, uuid.New()}, "23514"},
		{"item of no order", `INSERT INTO order_items (order_id, product_id, name, quantity, unit_price_cents)
			VALUES ($1, $2, 'Mug', 1, 1)`, []any{uuid.New(), uuid.New()}, "23503"},
		{"status entered twice", `INSERT INTO order_status_history (order_id, status) VALUES ($1, 'paid')`, []any{order}, "23505"},
		{"outbox event twice", `INSERT INTO outbox (id, topic, event_id, payload) VALUES
			($1, 'order.created', $2, '{}'), ($3, 'order.created', $2, '{}')`, []any{uuid.New(), uuid.New(), uuid.New()}, "23505"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pgtest.RequireRefused(t, pool, tt.code, tt.sql, tt.args...)
		})
	}
}

// Down must undo Up completely, or a rollback in production fails half way.
func TestMigrationsRollBackAndReapply(t *testing.T) {
	pgtest.RequireReversible(t, migrations.FS)
}
