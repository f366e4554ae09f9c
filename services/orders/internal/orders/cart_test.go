package orders_test

import (
	"context"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/orders/internal/orders"
	"github.com/daprshop/daprshop/services/orders/internal/orders/orderstest"
)

func TestCartConcurrentAddsAllLand(t *testing.T) {
	store, catalog := orderstest.NewCarts(), orderstest.NewCatalog()
	carts := orders.NewCarts(store, catalog)
	p := catalog.Add("Mug", 450, 100)
	user := uuid.New()
	const adds = 20
	var wg sync.WaitGroup
	errs := make([]error, adds)
	for i := range adds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = carts.Add(context.Background(), user, p.ID, 1)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			// Losing the race maxCartAttempts times is the only refusal allowed.
			require.ErrorIs(t, err, orders.ErrCartBusy)
		}
	}
	view, err := carts.View(context.Background(), user)
	require.NoError(t, err)
	require.Len(t, view.Items, 1)
	assert.Equal(t, store.Saves, view.Items[0].Quantity, "every successful write is one unit")
	assert.Equal(t, int64(450*view.Items[0].Quantity), view.TotalCents)
}

func TestCartRules(t *testing.T) {
	ctx := context.Background()
	store, catalog := orderstest.NewCarts(), orderstest.NewCatalog()
	carts := orders.NewCarts(store, catalog)
	p := catalog.Add("Lamp", 2000, 5)
	user := uuid.New()

	t.Run("unknown product is refused", func(t *testing.T) {
		_, err := carts.Add(ctx, user, uuid.New(), 1)
		assert.ErrorIs(t, err, orders.ErrUnknownProduct)
	})
	t.Run("adding to a line sums and caps", func(t *testing.T) {
		_, err := carts.Add(ctx, user, p.ID, 60)
		require.NoError(t, err)
		_, err = carts.Add(ctx, user, p.ID, 41)
		assert.ErrorIs(t, err, orders.ErrLineQuantity)
		view, err := carts.Add(ctx, user, p.ID, 40)
		require.NoError(t, err)
		assert.Equal(t, 100, view.Items[0].Quantity)
		assert.Equal(t, int64(200000), view.Items[0].LineTotalCents)
	})
	t.Run("setting 0 removes; a missing line is 404", func(t *testing.T) {
		view, err := carts.SetQuantity(ctx, user, p.ID, 0)
		require.NoError(t, err)
		assert.Empty(t, view.Items)
		_, err = carts.SetQuantity(ctx, user, p.ID, 2)
		assert.ErrorIs(t, err, orders.ErrNotInCart)
	})
}
