package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/orders/internal/orders"
	"github.com/daprshop/daprshop/services/orders/internal/postgres"
	"github.com/daprshop/daprshop/services/platform/postgres/pgtest"
)

// Every workers replica's cron fires the expiry, so runs overlap, each
// from an orders replica with its own pool: every unpaid order is still
// cancelled once, with one history entry and one order.cancelled.
func TestOverlappingExpiryRunsCancelEachOrderOnce(t *testing.T) {
	ctx := context.Background()
	f := newCheckoutFixture(t, nil)
	p := f.catalog.Add("Kettle", 3999, 1000)
	const unpaid = 60
	for range unpaid {
		user := uuid.New()
		f.fill(t, user, p, 1)
		_, err := f.svc.Checkout(ctx, cmd(user, "k", "h"))
		require.NoError(t, err)
	}
	f.now = f.now.Add(time.Hour) // past the 30 min payment timeout
	now := func() time.Time { return f.now }
	var listed sync.WaitGroup
	listed.Add(2)
	replicas := []*orders.Service{
		orders.NewService(listedTogether{postgres.NewStore(f.pool), &listed}, f.carts, f.catalog, now, 30*time.Minute),
		orders.NewService(listedTogether{postgres.NewStore(pgtest.AnotherPool(t, f.pool)), &listed}, f.carts, f.catalog, now, 30*time.Minute),
	}

	cancelled := make([]int, len(replicas))
	errs := make([]error, len(replicas))
	var wg sync.WaitGroup
	for i, svc := range replicas {
		wg.Go(func() { cancelled[i], errs[i] = svc.ExpireUnpaid(ctx) })
	}
	wg.Wait()

	for _, err := range errs {
		require.NoError(t, err)
	}
	t.Logf("cancelled by each run: %v", cancelled)
	assert.Equal(t, unpaid, cancelled[0]+cancelled[1], "the runs' counts add up to the orders cancelled")
	assert.Equal(t, unpaid, f.count(t, `SELECT count(*) FROM orders WHERE status = 'cancelled'`))
	assert.Equal(t, unpaid, f.count(t, `SELECT count(*) FROM order_status_history WHERE status = 'cancelled'`))
	assert.Equal(t, unpaid, f.count(t, `SELECT count(*) FROM outbox WHERE topic = 'order.cancelled'`))
	assert.Equal(t, unpaid, f.count(t, `SELECT count(DISTINCT payload->>'order_id') FROM outbox WHERE topic = 'order.cancelled'`),
		"one order.cancelled per order")
}

// listedTogether is a replica's store whose PendingBefore answers once
// every replica has listed the unpaid orders, so that each run goes for
// every one of them.
type listedTogether struct {
	*postgres.Store
	listed *sync.WaitGroup
}

func (s listedTogether) PendingBefore(ctx context.Context, cutoff time.Time, limit int) ([]uuid.UUID, error) {
	ids, err := s.Store.PendingBefore(ctx, cutoff, limit)
	s.listed.Done()
	s.listed.Wait()
	return ids, err
}
