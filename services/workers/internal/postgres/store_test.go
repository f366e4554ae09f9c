package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/postgres/pgtest"
	"github.com/daprshop/daprshop/services/workers/internal/analytics"
	"github.com/daprshop/daprshop/services/workers/internal/postgres"
	"github.com/daprshop/daprshop/services/workers/internal/postgres/migrations"
)

func date(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	require.NoError(t, err)
	return d
}

func insertDay(t *testing.T, pool *pgxpool.Pool, day string, orders int) {
	t.Helper()
	_, err := pool.Exec(context.Background(), `INSERT INTO daily_sales (day, orders, revenue_cents, refunds_cents, items_sold)
		VALUES ($1, $2, $2 * 1000, $2 * 10, $2 * 3)`, day, orders)
	require.NoError(t, err)
}

func TestSalesReturnsDaysInRangeInOrder(t *testing.T) {
	pool := pgtest.NewDatabase(t, migrations.FS)
	store := postgres.NewStore(pool)
	insertDay(t, pool, "2025-03-03", 3)
	insertDay(t, pool, "2025-02-28", 1)
	insertDay(t, pool, "2025-03-01", 2)
	insertDay(t, pool, "2025-03-05", 5)

	tests := []struct {
		from, to string
		want     []string
	}{
		{"2025-03-01", "2025-03-03", []string{"2025-03-01", "2025-03-03"}},
		{"2025-02-01", "2025-03-31", []string{"2025-02-28", "2025-03-01", "2025-03-03", "2025-03-05"}},
		{"2025-03-05", "2025-03-05", []string{"2025-03-05"}},
		{"2025-03-06", "2025-04-01", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.from+".."+tt.to, func(t *testing.T) {
			r, err := analytics.NewRange(date(t, tt.from), date(t, tt.to))
			require.NoError(t, err)
			got, err := store.Sales(context.Background(), r)
			require.NoError(t, err)
			days := make([]string, len(got))
			for i, d := range got {
				days[i] = d.Day.Format(time.DateOnly)
			}
			assert.Equal(t, tt.want, days)
		})
	}

	r, err := analytics.NewRange(date(t, "2025-03-03"), date(t, "2025-03-03"))
	require.NoError(t, err)
	got, err := store.Sales(context.Background(), r)
	require.NoError(t, err)
	require.Len(t, got, 1)
	got[0].Day = got[0].Day.UTC()
	assert.Equal(t, analytics.DaySales{
		Day: date(t, "2025-03-03"), Orders: 3, RevenueCents: 3000, RefundsCents: 30, ItemsSold: 9,
	}, got[0])
}

// The schema itself refuses states the code must never write.
func TestSchemaGuardsInvariants(t *testing.T) {
	pool := pgtest.NewDatabase(t, migrations.FS)
	insertDay(t, pool, "2025-03-01", 1)
	tests := map[string]string{
		"negative orders":  `UPDATE daily_sales SET orders = -1`,
		"negative revenue": `UPDATE daily_sales SET revenue_cents = -1`,
		"negative refunds": `UPDATE daily_sales SET refunds_cents = -1`,
		"negative items":   `UPDATE daily_sales SET items_sold = -1`,
	}
	for name, sql := range tests {
		t.Run(name, func(t *testing.T) {
			pgtest.RequireRefused(t, pool, "23514", sql)
		})
	}
	t.Run("one row per day", func(t *testing.T) {
		pgtest.RequireRefused(t, pool, "23505", `INSERT INTO daily_sales (day) VALUES ('2025-03-01')`)
	})
}

// Down must undo Up completely, or a rollback in production fails half way.
func TestMigrationsRollBackAndReapply(t *testing.T) {
	pgtest.RequireReversible(t, migrations.FS)
}
