package consumer_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	dapr "github.com/dapr/go-sdk/client"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/events"
	"github.com/daprshop/daprshop/services/platform/postgres/pgtest"
	"github.com/daprshop/daprshop/services/platform/server/servertest"
	"github.com/daprshop/daprshop/services/products/internal/cache"
	"github.com/daprshop/daprshop/services/products/internal/catalog"
	"github.com/daprshop/daprshop/services/products/internal/consumer"
	"github.com/daprshop/daprshop/services/products/internal/postgres"
	"github.com/daprshop/daprshop/services/products/internal/postgres/migrations"
)

// invalidations is the cache's state store, recording the products whose
// cached reads the cache invalidated (it deletes their generation keys,
// gen|product|<id>).
type invalidations struct{ ids []uuid.UUID }

func (i *invalidations) GetState(_ context.Context, _, key string, _ map[string]string) (*dapr.StateItem, error) {
	return &dapr.StateItem{Key: key}, nil
}

func (i *invalidations) SaveState(context.Context, string, string, []byte, map[string]string, ...dapr.StateOption) error {
	return nil
}

func (i *invalidations) DeleteBulkState(_ context.Context, _ string, keys []string, _ map[string]string) error {
	for _, k := range keys {
		if id, ok := strings.CutPrefix(k, "gen|product|"); ok {
			i.ids = append(i.ids, uuid.MustParse(id))
		}
	}
	return nil
}

func TestOrderEventsApplyOnce(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewDatabase(t, migrations.FS)
	store := postgres.NewStore(pool)
	log := slog.New(slog.DiscardHandler)
	inv := &invalidations{}
	app := servertest.NewClient("products")
	svc := catalog.NewService(cache.New(store, inv, "cache", log), log)
	events.Mount(app.App(), log, consumer.New(svc).Subscriptions()...)

	p, err := store.Create(ctx, catalog.NewProduct{SKU: "A", Name: "A", Currency: "USD", InitialStock: 10})
	require.NoError(t, err)
	paid, cancelled := uuid.New(), uuid.New()
	for order, q := range map[uuid.UUID]int{paid: 3, cancelled: 2} {
		_, err := store.Reserve(ctx, order, []catalog.Line{{ProductID: p.ID, Quantity: q}})
		require.NoError(t, err)
	}
	stock := func() catalog.Stock {
		st, err := store.Stock(ctx, p.ID)
		require.NoError(t, err)
		return st
	}

	t.Run("order.paid delivered twice commits once", func(t *testing.T) {
		for range 2 {
			assert.Equal(t, "SUCCESS", app.Deliver(t, contracts.TopicOrderPaid, "evt-paid", `{"order_id": "`+paid.String()+`"}`))
		}
		assert.Equal(t, catalog.Stock{ProductID: p.ID, OnHand: 7, Reserved: 2}, stock())
	})
	t.Run("order.cancelled delivered twice releases once", func(t *testing.T) {
		for range 2 {
			assert.Equal(t, "SUCCESS", app.Deliver(t, contracts.TopicOrderCancelled, "evt-cancel", `{"order_id": "`+cancelled.String()+`"}`))
		}
		assert.Equal(t, catalog.Stock{ProductID: p.ID, OnHand: 7, Reserved: 0}, stock())
		assert.Equal(t, []uuid.UUID{p.ID}, inv.ids, "the released product's cache entries were invalidated")
		var released int
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE topic = $1`, contracts.TopicInventoryReleased).Scan(&released))
		assert.Equal(t, 1, released)
	})
	t.Run("cancelling a paid order leaves its stock committed", func(t *testing.T) {
		assert.Equal(t, "SUCCESS", app.Deliver(t, contracts.TopicOrderCancelled, "evt-cancel-paid", `{"order_id": "`+paid.String()+`", "refund": true}`))
		assert.Equal(t, catalog.Stock{ProductID: p.ID, OnHand: 7, Reserved: 0}, stock())
	})
	t.Run("order.refunded delivered twice restocks the paid order once", func(t *testing.T) {
		inv.ids = nil
		refunded := `{"order_id": "` + paid.String() + `", "restock": true}`
		for range 2 {
			assert.Equal(t, "SUCCESS", app.Deliver(t, contracts.TopicOrderRefunded, "evt-refund", refunded))
		}
		assert.Equal(t, "SUCCESS", app.Deliver(t, contracts.TopicOrderRefunded, "evt-refund-again", refunded),
			"another event for the same refund finds it restocked")
		assert.Equal(t, catalog.Stock{ProductID: p.ID, OnHand: 10, Reserved: 0}, stock())
		assert.Equal(t, []uuid.UUID{p.ID, p.ID}, inv.ids, "the restocked product's cache entries were invalidated")
		var restocked, adjustments int
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE topic = $1`, contracts.TopicInventoryRestocked).Scan(&restocked))
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM inventory_adjustments WHERE product_id = $1 AND reason = $2`,
			p.ID, catalog.RestockReason(paid)).Scan(&adjustments))
		assert.Equal(t, 1, restocked)
		assert.Equal(t, 1, adjustments)
	})
	t.Run("order.refunded without restock gives nothing back", func(t *testing.T) {
		order := uuid.New()
		_, err := store.Reserve(ctx, order, []catalog.Line{{ProductID: p.ID, Quantity: 4}})
		require.NoError(t, err)
		require.Equal(t, "SUCCESS", app.Deliver(t, contracts.TopicOrderPaid, "evt-paid-shipped", `{"order_id": "`+order.String()+`"}`))
		assert.Equal(t, "SUCCESS", app.Deliver(t, contracts.TopicOrderRefunded, "evt-refund-shipped",
			`{"order_id": "`+order.String()+`", "restock": false}`))
		assert.Equal(t, catalog.Stock{ProductID: p.ID, OnHand: 6, Reserved: 0}, stock())
	})
	t.Run("order.created takes the reservation out of the abandoned holds", func(t *testing.T) {
		placed, abandoned := uuid.New(), uuid.New()
		for order, q := range map[uuid.UUID]int{placed: 1, abandoned: 2} {
			_, err := store.Reserve(ctx, order, []catalog.Line{{ProductID: p.ID, Quantity: q}})
			require.NoError(t, err)
		}
		for range 2 {
			assert.Equal(t, "SUCCESS", app.Deliver(t, contracts.TopicOrderCreated, "evt-created", `{"order_id": "`+placed.String()+`"}`))
		}
		_, err := pool.Exec(ctx, `UPDATE reservations SET created_at = created_at - $2::interval WHERE order_id = ANY($1)`,
			[]uuid.UUID{placed, abandoned}, 2*catalog.AbandonedAfter)
		require.NoError(t, err)
		assert.Equal(t, catalog.Stock{ProductID: p.ID, OnHand: 6, Reserved: 3, HeldByAbandonedCheckouts: 2}, stock())
		assert.Equal(t, "SUCCESS", app.Deliver(t, contracts.TopicOrderCreated, "evt-created-unknown", `{"order_id": "`+uuid.NewString()+`"}`),
			"an order without a reservation is acknowledged")
	})
	t.Run("a paid order cancelled before its order.paid is applied is restocked by its refund", func(t *testing.T) {
		// order.paid and order.cancelled travel on different topics, so
		// the cancellation of a paid order can come first (order.paid
		// redelivered, or still queued).
		order := uuid.New()
		_, err := store.Reserve(ctx, order, []catalog.Line{{ProductID: p.ID, Quantity: 2}})
		require.NoError(t, err)
		before := stock()
		id := `{"order_id": "` + order.String() + `"`
		assert.Equal(t, "SUCCESS", app.Deliver(t, contracts.TopicOrderCancelled, "evt-cancel-first", id+`, "refund": true}`))
		assert.Equal(t, before.OnHand-2, stock().OnHand, "the paid order's units are committed, not released")
		assert.Equal(t, "SUCCESS", app.Deliver(t, contracts.TopicOrderPaid, "evt-paid-late", id+`}`))
		assert.Equal(t, "SUCCESS", app.Deliver(t, contracts.TopicOrderRefunded, "evt-refund-late", id+`, "restock": true}`))
		assert.Equal(t, before.OnHand, stock().OnHand, "the refund returned the units")
		assert.Equal(t, before.Reserved-2, stock().Reserved)
		var status string
		require.NoError(t, pool.QueryRow(ctx, `SELECT status FROM reservations WHERE order_id = $1`, order).Scan(&status))
		assert.Equal(t, string(catalog.Restocked), status)
		var adjustments int
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM inventory_adjustments WHERE product_id = $1 AND reason = $2`,
			p.ID, catalog.RestockReason(order)).Scan(&adjustments))
		assert.Equal(t, 1, adjustments)
	})
	t.Run("an order without a reservation is acknowledged", func(t *testing.T) {
		assert.Equal(t, "SUCCESS", app.Deliver(t, contracts.TopicOrderPaid, "evt-none", `{"order_id": "`+uuid.NewString()+`"}`))
	})
	t.Run("an event without an order id is dropped", func(t *testing.T) {
		assert.Equal(t, "DROP", app.Deliver(t, contracts.TopicOrderPaid, "evt-bad", `{"order_id": "nope"}`))
		assert.Equal(t, "DROP", app.Deliver(t, contracts.TopicOrderCancelled, "evt-bad-2", `"text"`))
		assert.Equal(t, "DROP", app.Deliver(t, contracts.TopicOrderRefunded, "evt-bad-3", `{"restock": true}`))
	})
}
