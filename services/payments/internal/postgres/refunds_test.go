package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/payments/internal/payments"
	"github.com/daprshop/daprshop/services/payments/internal/postgres"
	"github.com/daprshop/daprshop/services/payments/internal/postgres/migrations"
	"github.com/daprshop/daprshop/services/platform/postgres/pgtest"
)

// insertPaidPayment inserts a succeeded payment of 1000 USD through intent
// pi_1.
func insertPaidPayment(t *testing.T, pool *pgxpool.Pool) uuid.UUID {
	t.Helper()
	id := uuid.New()
	_, err := pool.Exec(context.Background(), `INSERT INTO payments
		(id, order_id, user_id, payment_intent_id, client_secret, status, amount_cents, currency)
		VALUES ($1, $2, $3, 'pi_1', 's', 'succeeded', 1000, 'USD')`, id, uuid.New(), uuid.New())
	require.NoError(t, err)
	return id
}

func TestClaimPendingRefundsTakesEachInTurn(t *testing.T) {
	pool := pgtest.NewDatabase(t, migrations.FS)
	store := postgres.NewStore(pool)
	ctx := context.Background()
	paymentID := insertPaidPayment(t, pool)
	reserve := func(amount int64) uuid.UUID {
		t.Helper()
		r, reserved, err := store.ReserveRefund(ctx, payments.RefundClaim{ID: uuid.New(), PaymentID: paymentID, Key: "k", RequestHash: "h"}, payments.RefundOf(amount))
		require.NoError(t, err)
		require.True(t, reserved)
		return r.ID
	}
	first, second, third := reserve(100), reserve(200), reserve(300)
	done := reserve(50)
	_, err := store.CompleteRefund(ctx, done, "re_done", payments.OnRefunded)
	require.NoError(t, err)

	claim := func(at time.Time, limit int) []uuid.UUID {
		t.Helper()
		found, err := store.ClaimPendingRefunds(ctx, at.Add(-time.Minute), at, limit)
		require.NoError(t, err)
		ids := make([]uuid.UUID, len(found))
		for i, r := range found {
			assert.Equal(t, "pi_1", r.IntentID)
			assert.Equal(t, payments.RefundPending, r.Status)
			ids[i] = r.ID
		}
		return ids
	}
	assert.Empty(t, claim(time.Now(), 10), "recent refunds are left to their request")
	later := time.Now().Add(time.Hour)
	assert.ElementsMatch(t, []uuid.UUID{first, second}, claim(later, 2), "the oldest first")
	assert.Equal(t, []uuid.UUID{third}, claim(later.Add(time.Minute), 1), "then those not looked at yet")
	assert.ElementsMatch(t, []uuid.UUID{first, second, third}, claim(later.Add(2*time.Minute), 10), "never a decided one")
}

func TestReserveRefundReplaysAnIDAndGuardsTheAmount(t *testing.T) {
	pool := pgtest.NewDatabase(t, migrations.FS)
	store := postgres.NewStore(pool)
	ctx := context.Background()
	paymentID := insertPaidPayment(t, pool)
	id := uuid.New()
	r, reserved, err := store.ReserveRefund(ctx, payments.RefundClaim{ID: id, PaymentID: paymentID, Key: "k", RequestHash: "h1"}, payments.RefundOf(400))
	require.NoError(t, err)
	assert.True(t, reserved)
	assert.Equal(t, "h1", r.RequestHash)

	again, reserved, err := store.ReserveRefund(ctx, payments.RefundClaim{ID: id, PaymentID: paymentID, Key: "k", RequestHash: "h2"}, payments.RefundOf(900))
	require.NoError(t, err)
	assert.False(t, reserved, "the id is reserved already")
	assert.Equal(t, r, again, "as recorded, whatever is asked now")

	for name, amount := range map[string]int64{"above what is left": 601, "the largest amount": 1<<63 - 1} {
		t.Run(name, func(t *testing.T) {
			_, _, err := store.ReserveRefund(ctx, payments.RefundClaim{ID: uuid.New(), PaymentID: paymentID}, payments.RefundOf(amount))
			assert.ErrorIs(t, err, payments.ErrOverRefund)
		})
	}
	var refunded int64
	require.NoError(t, pool.QueryRow(ctx, `SELECT refunded_cents FROM payments WHERE id = $1`, paymentID).Scan(&refunded))
	assert.EqualValues(t, 400, refunded)

	require.NoError(t, store.FailRefund(ctx, id))
	require.NoError(t, store.FailRefund(ctx, id), "twice gives back once")
	require.NoError(t, pool.QueryRow(ctx, `SELECT refunded_cents FROM payments WHERE id = $1`, paymentID).Scan(&refunded))
	assert.Zero(t, refunded)
}
