package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/contracts/contractstest"
	"github.com/daprshop/daprshop/services/products/internal/catalog"
	"github.com/daprshop/daprshop/services/products/internal/postgres"
)

// restock settles order's reservation to Restocked for event eventID,
// accepting no settling error.
func restock(store *postgres.Store, eventID string, order uuid.UUID) error {
	_, err := store.SettleOnce(context.Background(), eventID, order, catalog.Restocked, func(err error) error { return err })
	return err
}

func TestRestockReturnsCommittedUnitsOnce(t *testing.T) {
	ctx := context.Background()
	f := newInventoryFixture(t)
	chair := createProduct(t, f.store, catalog.NewProduct{Name: "Chair", InitialStock: 10})
	table := createProduct(t, f.store, catalog.NewProduct{Name: "Table", InitialStock: 4})
	reserve := func(t *testing.T, lines ...catalog.Line) uuid.UUID {
		t.Helper()
		order := uuid.New()
		_, err := f.store.Reserve(ctx, order, lines)
		require.NoError(t, err)
		return order
	}
	paid := func(t *testing.T, lines ...catalog.Line) uuid.UUID {
		t.Helper()
		order := reserve(t, lines...)
		_, err := f.commit(order)
		require.NoError(t, err)
		return order
	}
	type adjustment struct {
		ProductID   uuid.UUID
		Delta       int
		Reason      string
		ActorID     string
		OnHandAfter int
	}
	adjustments := func(t *testing.T, order uuid.UUID) []adjustment {
		t.Helper()
		rows, err := f.pool.Query(ctx, `SELECT product_id, delta, reason, actor_id, on_hand_after FROM inventory_adjustments
			WHERE reason = $1 ORDER BY product_id`, catalog.RestockReason(order))
		require.NoError(t, err)
		got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[adjustment])
		require.NoError(t, err)
		return got
	}

	t.Run("redelivered and concurrent: the units come back once, audited", func(t *testing.T) {
		order := paid(t, catalog.Line{ProductID: chair.ID, Quantity: 3}, catalog.Line{ProductID: table.ID, Quantity: 1})
		require.Equal(t, 7, f.stock(t, chair.ID).OnHand)
		var wg sync.WaitGroup
		for i := range 10 {
			// The same event redelivered, and another event for the same
			// refund (a replay from the dead letters under a new id).
			eventID := "evt-refund"
			if i%2 == 1 {
				eventID = "evt-refund-" + uuid.NewString()
			}
			wg.Go(func() { assert.NoError(t, restock(f.store, eventID, order)) })
		}
		wg.Wait()
		assert.Equal(t, catalog.Stock{ProductID: chair.ID, OnHand: 10}, f.stock(t, chair.ID))
		assert.Equal(t, catalog.Stock{ProductID: table.ID, OnHand: 4}, f.stock(t, table.ID))
		assert.ElementsMatch(t, []adjustment{
			{chair.ID, 3, catalog.RestockReason(order), catalog.RestockActor, 10},
			{table.ID, 1, catalog.RestockReason(order), catalog.RestockActor, 4},
		}, adjustments(t, order))
		assert.Equal(t, 1, f.events(t, contracts.TopicInventoryRestocked))
		contractstest.Sent(t, contracts.TopicInventoryRestocked, f.payload(t, contracts.TopicInventoryRestocked, order))
		assert.Equal(t, catalog.Restocked, f.status(t, order))

		again, err := f.commit(order)
		require.NoError(t, err, "committing a restocked reservation again is a no-op")
		assert.Equal(t, catalog.Restocked, again.Status)
		_, err = f.store.Release(ctx, order)
		assert.ErrorIs(t, err, catalog.ErrCommitted)
		assert.Equal(t, 10, f.stock(t, chair.ID).OnHand, "neither moved stock")
	})
	t.Run("a reservation still held waits for its payment", func(t *testing.T) {
		order := reserve(t, catalog.Line{ProductID: chair.ID, Quantity: 2})
		err := restock(f.store, "evt-early", order)
		assert.ErrorIs(t, err, catalog.ErrNotCommitted)
		assert.Equal(t, catalog.Stock{ProductID: chair.ID, OnHand: 10, Reserved: 2}, f.stock(t, chair.ID))

		_, err = f.commit(order)
		require.NoError(t, err)
		require.NoError(t, restock(f.store, "evt-early", order), "the redelivery after the payment restocks: the refusal recorded nothing")
		assert.Equal(t, catalog.Stock{ProductID: chair.ID, OnHand: 10}, f.stock(t, chair.ID))
	})
	t.Run("a released reservation gave its stock back already", func(t *testing.T) {
		order := reserve(t, catalog.Line{ProductID: chair.ID, Quantity: 2})
		_, err := f.store.Release(ctx, order)
		require.NoError(t, err)
		assert.ErrorIs(t, restock(f.store, "evt-released", order), catalog.ErrReleased)
		assert.Equal(t, catalog.Stock{ProductID: chair.ID, OnHand: 10}, f.stock(t, chair.ID))
		assert.Empty(t, adjustments(t, order))
	})
	t.Run("an unknown order", func(t *testing.T) {
		assert.ErrorIs(t, restock(f.store, "evt-unknown", uuid.New()), catalog.ErrNoReservation)
	})
}

func TestStockHeldByAbandonedCheckouts(t *testing.T) {
	ctx := context.Background()
	f := newInventoryFixture(t)
	lamp := createProduct(t, f.store, catalog.NewProduct{Name: "Lamp", InitialStock: 20})
	bulb := createProduct(t, f.store, catalog.NewProduct{Name: "Bulb", InitialStock: 20})
	// reserve holds lines for a new order whose reservation is age old.
	reserve := func(t *testing.T, age time.Duration, lines ...catalog.Line) uuid.UUID {
		t.Helper()
		order := uuid.New()
		_, err := f.store.Reserve(ctx, order, lines)
		require.NoError(t, err)
		_, err = f.pool.Exec(ctx, `UPDATE reservations SET created_at = created_at - $2::interval WHERE order_id = $1`, order, age)
		require.NoError(t, err)
		return order
	}
	old := 2 * catalog.AbandonedAfter
	reserve(t, old, catalog.Line{ProductID: lamp.ID, Quantity: 3}, catalog.Line{ProductID: bulb.ID, Quantity: 2})
	reserve(t, old, catalog.Line{ProductID: lamp.ID, Quantity: 1})
	reserve(t, 0, catalog.Line{ProductID: lamp.ID, Quantity: 4}) // a checkout still running
	placed := reserve(t, old, catalog.Line{ProductID: lamp.ID, Quantity: 5})
	require.NoError(t, f.store.MarkPlaced(ctx, placed))
	require.NoError(t, f.store.MarkPlaced(ctx, placed), "again is a no-op")
	released := reserve(t, old, catalog.Line{ProductID: lamp.ID, Quantity: 6})
	_, err := f.store.Release(ctx, released)
	require.NoError(t, err)

	assert.Equal(t, catalog.Stock{ProductID: lamp.ID, OnHand: 20, Reserved: 13, HeldByAbandonedCheckouts: 4}, f.stock(t, lamp.ID))
	assert.Equal(t, catalog.Stock{ProductID: bulb.ID, OnHand: 20, Reserved: 2, HeldByAbandonedCheckouts: 2}, f.stock(t, bulb.ID))
	holds, err := f.store.AbandonedHolds(ctx)
	require.NoError(t, err)
	assert.Equal(t, catalog.AbandonedHolds{Checkouts: 2, Units: 6}, holds)
	held, err := f.store.HeldReservations(ctx)
	require.NoError(t, err)
	assert.Equal(t, catalog.Holds{Reservations: 4, Units: 15}, held, "every reservation not released, placed or not")

	adjusted, err := f.store.Adjust(ctx, catalog.Adjustment{ProductID: lamp.ID, Delta: 1, Reason: "found one", ActorID: "admin-1"})
	require.NoError(t, err)
	assert.Equal(t, catalog.Stock{ProductID: lamp.ID, OnHand: 21, Reserved: 13, HeldByAbandonedCheckouts: 4}, adjusted, "an adjustment answers them too")

	assert.ErrorIs(t, f.store.MarkPlaced(ctx, uuid.New()), catalog.ErrNoReservation)
}
