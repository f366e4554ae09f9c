package postgres_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/apperr"
	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/contracts/contractstest"
	"github.com/daprshop/daprshop/services/platform/postgres/pgtest"
	"github.com/daprshop/daprshop/services/products/internal/catalog"
	"github.com/daprshop/daprshop/services/products/internal/postgres"
	"github.com/daprshop/daprshop/services/products/internal/postgres/migrations"
)

type inventoryFixture struct {
	pool  *pgxpool.Pool
	store *postgres.Store
}

func newInventoryFixture(t *testing.T) inventoryFixture {
	t.Helper()
	pool := pgtest.NewDatabase(t, migrations.FS)
	return inventoryFixture{pool: pool, store: postgres.NewStore(pool)}
}

func (f inventoryFixture) stock(t *testing.T, id uuid.UUID) catalog.Stock {
	t.Helper()
	st, err := f.store.Stock(context.Background(), id)
	require.NoError(t, err)
	return st
}

// commit settles order's reservation as paid, as each order.paid does,
// under a fresh event id so that every call settles.
func (f inventoryFixture) commit(order uuid.UUID) (catalog.Reservation, error) {
	return f.store.SettleOnce(context.Background(), uuid.NewString(), order, catalog.Committed, func(err error) error { return err })
}

// status reads the status of order's reservation, or fails the test when
// it has none.
func (f inventoryFixture) status(t *testing.T, order uuid.UUID) catalog.ReservationStatus {
	t.Helper()
	var status catalog.ReservationStatus
	require.NoError(t, f.pool.QueryRow(context.Background(), `SELECT status FROM reservations WHERE order_id = $1`, order).Scan(&status))
	return status
}

// events counts the outbox rows of topic.
func (f inventoryFixture) events(t *testing.T, topic string) int {
	t.Helper()
	var n int
	require.NoError(t, f.pool.QueryRow(context.Background(), `SELECT count(*) FROM outbox WHERE topic = $1`, topic).Scan(&n))
	return n
}

// payload returns the payload of the event of topic about order.
func (f inventoryFixture) payload(t *testing.T, topic string, order uuid.UUID) []byte {
	t.Helper()
	var payload []byte
	require.NoError(t, f.pool.QueryRow(context.Background(), `SELECT payload FROM outbox WHERE topic = $1 AND payload->>'order_id' = $2`,
		topic, order.String()).Scan(&payload))
	return payload
}

func TestConcurrentReservationsNeverOversell(t *testing.T) {
	f := newInventoryFixture(t)
	p := createProduct(t, f.store, catalog.NewProduct{Name: "Last units", PriceCents: 500, InitialStock: 10})

	const buyers = 100
	var wg sync.WaitGroup
	results := make(chan error, buyers)
	for range buyers {
		wg.Go(func() {
			_, err := f.store.Reserve(context.Background(), uuid.New(), []catalog.Line{{ProductID: p.ID, Quantity: 1}})
			results <- err
		})
	}
	wg.Wait()
	close(results)
	succeeded, refused := 0, 0
	for err := range results {
		var ae *apperr.Error
		switch {
		case err == nil:
			succeeded++
		case errors.As(err, &ae) && ae.Code == catalog.CodeInsufficientStock:
			refused++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	assert.Equal(t, 10, succeeded)
	assert.Equal(t, 90, refused)
	st := f.stock(t, p.ID)
	assert.Equal(t, catalog.Stock{ProductID: p.ID, OnHand: 10, Reserved: 10}, st)
	assert.Equal(t, 0, st.Available())
}

func TestReservationIsIdempotentPerOrder(t *testing.T) {
	ctx := context.Background()
	f := newInventoryFixture(t)
	p := createProduct(t, f.store, catalog.NewProduct{Name: "Mug", PriceCents: 1200, InitialStock: 20})
	order := uuid.New()
	lines := []catalog.Line{{ProductID: p.ID, Quantity: 2}, {ProductID: p.ID, Quantity: 1}}

	first, err := f.store.Reserve(ctx, order, lines)
	require.NoError(t, err)
	assert.Equal(t, []catalog.ReservedLine{{ProductID: p.ID, Name: "Mug", Quantity: 3, UnitPriceCents: 1200, Currency: "USD"}}, first.Lines,
		"repeated products are merged and priced")

	t.Run("a retry returns the same reservation and reserves once", func(t *testing.T) {
		again, err := f.store.Reserve(ctx, order, lines)
		require.NoError(t, err)
		assert.Equal(t, first, again)
		assert.Equal(t, 3, f.stock(t, p.ID).Reserved)
	})
	t.Run("concurrent retries reserve once", func(t *testing.T) {
		concurrent := uuid.New()
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				_, err := f.store.Reserve(ctx, concurrent, []catalog.Line{{ProductID: p.ID, Quantity: 4}})
				assert.NoError(t, err)
			})
		}
		wg.Wait()
		assert.Equal(t, 7, f.stock(t, p.ID).Reserved)
	})
}

func TestReservationIsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	f := newInventoryFixture(t)
	plenty := createProduct(t, f.store, catalog.NewProduct{Name: "Plenty", InitialStock: 100})
	scarce := createProduct(t, f.store, catalog.NewProduct{Name: "Scarce", InitialStock: 1})
	gone := createProduct(t, f.store, catalog.NewProduct{Name: "Gone", InitialStock: 50})
	require.NoError(t, f.store.Delete(ctx, gone.ID))
	order := uuid.New()

	_, err := f.store.Reserve(ctx, order, []catalog.Line{
		{ProductID: plenty.ID, Quantity: 5}, {ProductID: scarce.ID, Quantity: 2}, {ProductID: gone.ID, Quantity: 1}, {ProductID: uuid.Nil, Quantity: 1},
	})
	var ae *apperr.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, catalog.CodeInsufficientStock, ae.Code)
	assert.ElementsMatch(t, []uuid.UUID{scarce.ID, gone.ID, uuid.Nil}, ae.Extra["product_ids"])
	assert.Equal(t, 0, f.stock(t, plenty.ID).Reserved, "the line that fit was not held")
	var held int
	require.NoError(t, f.pool.QueryRow(ctx, `SELECT count(*) FROM reservations WHERE order_id = $1`, order).Scan(&held))
	assert.Zero(t, held, "a refused reservation leaves nothing, so a retry tries afresh")

	_, err = f.store.Reserve(ctx, order, []catalog.Line{{ProductID: plenty.ID, Quantity: 5}})
	require.NoError(t, err)
	assert.Equal(t, 5, f.stock(t, plenty.ID).Reserved)
}

func TestCommitAndReleaseAreIdempotent(t *testing.T) {
	ctx := context.Background()
	f := newInventoryFixture(t)
	p := createProduct(t, f.store, catalog.NewProduct{Name: "Chair", InitialStock: 10})
	reserve := func(q int) uuid.UUID {
		order := uuid.New()
		_, err := f.store.Reserve(ctx, order, []catalog.Line{{ProductID: p.ID, Quantity: q}})
		require.NoError(t, err)
		return order
	}
	paid, cancelled := reserve(3), reserve(2)
	require.Equal(t, catalog.Stock{ProductID: p.ID, OnHand: 10, Reserved: 5}, f.stock(t, p.ID))

	t.Run("commit twice takes the units once", func(t *testing.T) {
		for range 2 {
			res, err := f.commit(paid)
			require.NoError(t, err)
			assert.Equal(t, catalog.Committed, res.Status)
		}
		assert.Equal(t, catalog.Stock{ProductID: p.ID, OnHand: 7, Reserved: 2}, f.stock(t, p.ID))
		_, err := f.store.Release(ctx, paid)
		assert.ErrorIs(t, err, catalog.ErrCommitted)
	})
	t.Run("release twice returns the units once", func(t *testing.T) {
		for range 2 {
			res, err := f.store.Release(ctx, cancelled)
			require.NoError(t, err)
			assert.Equal(t, catalog.Released, res.Status)
		}
		assert.Equal(t, catalog.Stock{ProductID: p.ID, OnHand: 7, Reserved: 0}, f.stock(t, p.ID))
		assert.Equal(t, 1, f.events(t, contracts.TopicInventoryReleased))
		contractstest.Sent(t, contracts.TopicInventoryReleased, f.payload(t, contracts.TopicInventoryReleased, cancelled))
		_, err := f.commit(cancelled)
		assert.ErrorIs(t, err, catalog.ErrReleased)
	})
	t.Run("a concurrent commit and release: exactly one applies", func(t *testing.T) {
		order := reserve(4)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		wg.Go(func() { _, errs[0] = f.commit(order) })
		wg.Go(func() { _, errs[1] = f.store.Release(ctx, order) })
		wg.Wait()
		assert.True(t, (errs[0] == nil) != (errs[1] == nil), "commit: %v, release: %v", errs[0], errs[1])
		st := f.stock(t, p.ID)
		assert.Equal(t, 0, st.Reserved)
		assert.Contains(t, []int{3, 7}, st.OnHand)
	})
	t.Run("unknown orders", func(t *testing.T) {
		_, err := f.commit(uuid.New())
		assert.ErrorIs(t, err, catalog.ErrNoReservation)
		_, err = f.store.Release(ctx, uuid.New())
		assert.ErrorIs(t, err, catalog.ErrNoReservation)
	})
}

func TestAdjustments(t *testing.T) {
	ctx := context.Background()
	f := newInventoryFixture(t)
	p := createProduct(t, f.store, catalog.NewProduct{Name: "Lamp", InitialStock: 10, LowStockThreshold: 5})
	_, err := f.store.Reserve(ctx, uuid.New(), []catalog.Line{{ProductID: p.ID, Quantity: 4}})
	require.NoError(t, err)

	tests := []struct {
		name    string
		delta   int
		wantErr error
		want    catalog.Stock
	}{
		{"restock", 5, nil, catalog.Stock{ProductID: p.ID, OnHand: 15, Reserved: 4, LowStockThreshold: 5}},
		{"write off down to the reserved units", -11, nil, catalog.Stock{ProductID: p.ID, OnHand: 4, Reserved: 4, LowStockThreshold: 5}},
		{"below what is reserved", -1, catalog.ErrBelowReserved, catalog.Stock{ProductID: p.ID, OnHand: 4, Reserved: 4, LowStockThreshold: 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.store.Adjust(ctx, catalog.Adjustment{ProductID: p.ID, Delta: tt.delta, Reason: tt.name, ActorID: "admin-1"})
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
			}
			assert.Equal(t, tt.want, f.stock(t, p.ID))
		})
	}
	t.Run("each applied adjustment is audited", func(t *testing.T) {
		rows, err := f.pool.Query(ctx, `SELECT delta, reason, actor_id, on_hand_after FROM inventory_adjustments
			WHERE product_id = $1 ORDER BY created_at`, p.ID)
		require.NoError(t, err)
		type audit struct {
			Delta       int
			Reason      string
			ActorID     string
			OnHandAfter int
		}
		got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[audit])
		require.NoError(t, err)
		assert.Equal(t, []audit{{5, "restock", "admin-1", 15}, {-11, "write off down to the reserved units", "admin-1", 4}}, got)
	})
	t.Run("falling below the threshold emits low stock once", func(t *testing.T) {
		// available went 6 → 11 → 0: one crossing below 5.
		assert.Equal(t, 1, f.events(t, contracts.TopicInventoryLowStock))
		var payload map[string]any
		require.NoError(t, f.pool.QueryRow(ctx, `SELECT payload FROM outbox WHERE topic = $1`, contracts.TopicInventoryLowStock).Scan(&payload))
		assert.Equal(t, map[string]any{"product_id": p.ID.String(), "sku": p.SKU, "name": "Lamp", "available": float64(0), "threshold": float64(5)}, payload)
		contractstest.Sent(t, contracts.TopicInventoryLowStock, payload)
	})
	t.Run("an unknown product", func(t *testing.T) {
		_, err := f.store.Adjust(ctx, catalog.Adjustment{ProductID: uuid.New(), Delta: 1, Reason: "x", ActorID: "a"})
		assert.ErrorIs(t, err, catalog.ErrNotFound)
	})
	t.Run("past the most stock a product can hold", func(t *testing.T) {
		full := createProduct(t, f.store, catalog.NewProduct{Name: "Bolt", InitialStock: catalog.MaxOnHand - 5})
		want := catalog.Stock{ProductID: full.ID, OnHand: catalog.MaxOnHand - 5}
		_, err := f.store.Adjust(ctx, catalog.Adjustment{ProductID: full.ID, Delta: 10_000_000, Reason: "x", ActorID: "a"})
		assert.ErrorIs(t, err, catalog.ErrAboveMaxStock)
		assert.Equal(t, want, f.stock(t, full.ID), "nothing changed")
		got, err := f.store.Adjust(ctx, catalog.Adjustment{ProductID: full.ID, Delta: 5, Reason: "to the brim", ActorID: "a"})
		require.NoError(t, err)
		assert.Equal(t, catalog.MaxOnHand, got.OnHand)
	})
}

func TestReservingBelowThresholdEmitsLowStock(t *testing.T) {
	ctx := context.Background()
	f := newInventoryFixture(t)
	p := createProduct(t, f.store, catalog.NewProduct{Name: "Pen", InitialStock: 10, LowStockThreshold: 3})
	for _, q := range []int{6, 2, 1} { // available 10 → 4 → 2 (crosses) → 1
		_, err := f.store.Reserve(ctx, uuid.New(), []catalog.Line{{ProductID: p.ID, Quantity: q}})
		require.NoError(t, err)
	}
	assert.Equal(t, 1, f.events(t, contracts.TopicInventoryLowStock))
}

func TestLowStockListsProductsBelowTheirThreshold(t *testing.T) {
	ctx := context.Background()
	f := newInventoryFixture(t)
	pen := createProduct(t, f.store, catalog.NewProduct{Name: "Pen", InitialStock: 10, LowStockThreshold: 3})
	ink := createProduct(t, f.store, catalog.NewProduct{Name: "Ink", InitialStock: 1, LowStockThreshold: 5})
	createProduct(t, f.store, catalog.NewProduct{Name: "Paper", InitialStock: 3, LowStockThreshold: 3})
	createProduct(t, f.store, catalog.NewProduct{Name: "Untracked", InitialStock: 0})
	gone := createProduct(t, f.store, catalog.NewProduct{Name: "Gone", InitialStock: 0, LowStockThreshold: 2})
	require.NoError(t, f.store.Delete(ctx, gone.ID))
	_, err := f.store.Reserve(ctx, uuid.New(), []catalog.Line{{ProductID: pen.ID, Quantity: 8}})
	require.NoError(t, err)

	items, err := f.store.LowStock(ctx, 10)
	require.NoError(t, err)
	assert.Equal(t, []catalog.LowStock{
		{ProductID: ink.ID, SKU: ink.SKU, Name: "Ink", Available: 1, Threshold: 5},
		{ProductID: pen.ID, SKU: pen.SKU, Name: "Pen", Available: 2, Threshold: 3},
	}, items, "reserved stock counts, at the threshold is not low, deleted and untracked products are left out")

	first, err := f.store.LowStock(ctx, 1)
	require.NoError(t, err)
	require.Len(t, first, 1)
	assert.Equal(t, ink.ID, first[0].ProductID)
}
