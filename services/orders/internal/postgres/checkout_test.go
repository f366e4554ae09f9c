package postgres_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/orders/internal/orders"
	"github.com/daprshop/daprshop/services/orders/internal/orders/orderstest"
	"github.com/daprshop/daprshop/services/orders/internal/postgres"
	"github.com/daprshop/daprshop/services/orders/internal/postgres/migrations"
	"github.com/daprshop/daprshop/services/platform/apperr"
	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/postgres/pgtest"
)

type checkoutFixture struct {
	pool    *pgxpool.Pool
	svc     *orders.Service
	carts   *orderstest.Carts
	catalog *orderstest.Catalog
	now     time.Time
}

func newCheckoutFixture(t *testing.T, reserver orders.Products) *checkoutFixture {
	t.Helper()
	f := &checkoutFixture{pool: pgtest.NewDatabase(t, migrations.FS), carts: orderstest.NewCarts(), catalog: orderstest.NewCatalog(), now: day0}
	if reserver == nil {
		reserver = f.catalog
	}
	f.svc = orders.NewService(postgres.NewStore(f.pool), f.carts, reserver, func() time.Time { return f.now }, 30*time.Minute)
	return f
}

func (f *checkoutFixture) fill(t *testing.T, user uuid.UUID, p orders.Product, qty int) {
	t.Helper()
	_, err := orders.NewCarts(f.carts, f.catalog).Add(context.Background(), user, p.ID, qty)
	require.NoError(t, err)
}

func (f *checkoutFixture) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, f.pool.QueryRow(context.Background(), query, args...).Scan(&n))
	return n
}

func cmd(user uuid.UUID, key, hash string) orders.CheckoutCommand {
	return orders.CheckoutCommand{UserID: user, Key: key, RequestHash: hash, Address: orders.Address{Name: "A", Line1: "1 St", City: "Lyon", PostalCode: "69001", Country: "FR"}}
}

func TestCheckoutPlacesOnceAndReplays(t *testing.T) {
	ctx := context.Background()
	f := newCheckoutFixture(t, nil)
	p := f.catalog.Add("Kettle", 3999, 10)
	user := uuid.New()
	f.fill(t, user, p, 2)

	first, err := f.svc.Checkout(ctx, cmd(user, "k1", "h1"))
	require.NoError(t, err)
	require.NotNil(t, first.Order)
	assert.False(t, first.Replayed)
	assert.Equal(t, orders.OrderIDFor(user, "k1"), first.Order.ID)
	assert.Equal(t, int64(7998), first.Order.TotalCents)
	assert.Equal(t, 8, f.catalog.Stock(p.ID))
	cart, _, err := f.carts.Load(ctx, user)
	require.NoError(t, err)
	assert.Empty(t, cart.Lines, "the cart is emptied")

	t.Run("the same key replays the recorded order", func(t *testing.T) {
		again, err := f.svc.Checkout(ctx, cmd(user, "k1", "h1"))
		require.NoError(t, err)
		assert.True(t, again.Replayed)
		assert.Equal(t, first.Order, again.Order)
		stored, err := postgres.NewStore(f.pool).Get(ctx, first.Order.ID)
		require.NoError(t, err)
		assert.Equal(t, *first.Order, stored, "the answer reads as the stored order")
	})
	t.Run("the same key with another body is refused", func(t *testing.T) {
		_, err := f.svc.Checkout(ctx, cmd(user, "k1", "other"))
		assert.ErrorIs(t, err, orders.ErrKeyReused)
	})
	assert.Equal(t, 1, f.catalog.Reserves)
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM orders`))
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM outbox WHERE topic = 'order.created' AND payload->>'order_id' = $1`, first.Order.ID.String()))
}

func TestPurgedKeysStillReplayTheirOrder(t *testing.T) {
	ctx := context.Background()
	f := newCheckoutFixture(t, nil)
	p := f.catalog.Add("Kettle", 3999, 10)
	user := uuid.New()
	f.fill(t, user, p, 1)
	first, err := f.svc.Checkout(ctx, cmd(user, "k1", "h1"))
	require.NoError(t, err)
	stale := uuid.New()
	f.fill(t, stale, p, 1)
	_, err = f.svc.Checkout(ctx, cmd(stale, "k2", "h2"))
	require.NoError(t, err)
	_, err = f.pool.Exec(ctx, `UPDATE checkout_requests SET completed_at = now() - interval '2 days' WHERE user_id = $1`, stale)
	require.NoError(t, err)

	purged, err := postgres.SpentIdempotencyKeys(f.pool, 24*time.Hour)(ctx, time.Now())
	require.NoError(t, err)
	assert.Equal(t, int64(1), purged, "only the claim completed before the retention")
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM checkout_requests WHERE user_id = $1`, user))

	f.fill(t, stale, p, 3)
	again, err := f.svc.Checkout(ctx, cmd(stale, "k2", "h2"))
	require.NoError(t, err)
	assert.True(t, again.Replayed, "the key's order is replayed, not placed again")
	assert.Equal(t, 2, f.catalog.Reserves, "no stock reserved for the retry")
	assert.Equal(t, 2, f.count(t, `SELECT count(*) FROM orders`))
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM order_items WHERE order_id = $1`, again.Order.ID))
	assert.NotEqual(t, first.Order.ID, again.Order.ID)
}

func TestCheckoutInsufficientStockIsRecorded(t *testing.T) {
	ctx := context.Background()
	f := newCheckoutFixture(t, nil)
	p := f.catalog.Add("Rare", 100, 1)
	user := uuid.New()
	f.fill(t, user, p, 2)
	for _, attempt := range []string{"first", "replay"} {
		t.Run(attempt, func(t *testing.T) {
			out, err := f.svc.Checkout(ctx, cmd(user, "k", "h"))
			var ae *apperr.Error
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, apperr.Conflict, ae.Kind)
			assert.Equal(t, orders.CodeInsufficientStock, ae.Code)
			assert.Equal(t, []uuid.UUID{p.ID}, out.ShortProductIDs)
		})
	}
	assert.Equal(t, 0, f.count(t, `SELECT count(*) FROM orders`))
	assert.Equal(t, 1, f.catalog.Stock(p.ID))
}

func TestCheckoutEmptyCartIsNotRecorded(t *testing.T) {
	ctx := context.Background()
	f := newCheckoutFixture(t, nil)
	user := uuid.New()
	_, err := f.svc.Checkout(ctx, cmd(user, "k", "h"))
	require.ErrorIs(t, err, orders.ErrEmptyCart)
	// The claim stays open: filling the cart and retrying the key works.
	f.fill(t, user, f.catalog.Add("Pen", 150, 3), 1)
	out, err := f.svc.Checkout(ctx, cmd(user, "k", "h"))
	require.NoError(t, err)
	assert.Equal(t, int64(150), out.Order.TotalCents)
}

func TestConcurrentDuplicatesPlaceOneOrder(t *testing.T) {
	ctx := context.Background()
	f := newCheckoutFixture(t, nil)
	p := f.catalog.Add("Chair", 5000, 50)
	user := uuid.New()
	f.fill(t, user, p, 1)
	const n = 8
	outs := make([]orders.CheckoutOutcome, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = f.svc.Checkout(ctx, cmd(user, "same", "h"))
		}()
	}
	wg.Wait()
	replayed := 0
	for i := range n {
		require.NoError(t, errs[i])
		assert.Equal(t, orders.OrderIDFor(user, "same"), outs[i].Order.ID)
		if outs[i].Replayed {
			replayed++
		}
	}
	assert.Equal(t, n-1, replayed)
	assert.Equal(t, 1, f.catalog.Reserves)
	assert.Equal(t, 49, f.catalog.Stock(p.ID))
}

// crashingReserver reserves, then fails as if the process died before the
// order was written.
type crashingReserver struct {
	orders.Products
	crash bool
}

var errCrash = errors.New("crash")

func (c *crashingReserver) Reserve(ctx context.Context, id uuid.UUID, lines []orders.Line) (orders.Reservation, error) {
	r, err := c.Products.Reserve(ctx, id, lines)
	if c.crash {
		return orders.Reservation{}, errCrash
	}
	return r, err
}

func TestCheckoutCrashedHalfWayIsFinishedByItsRetry(t *testing.T) {
	ctx := context.Background()
	catalog := orderstest.NewCatalog()
	reserver := &crashingReserver{Products: catalog, crash: true}
	f := newCheckoutFixture(t, reserver)
	f.catalog = catalog
	p := catalog.Add("Desk", 20000, 3)
	user := uuid.New()
	f.fill(t, user, p, 2)

	_, err := f.svc.Checkout(ctx, cmd(user, "k", "h"))
	require.ErrorIs(t, err, errCrash)
	assert.Equal(t, 0, f.count(t, `SELECT count(*) FROM orders`))
	assert.Equal(t, 1, catalog.Stock(p.ID), "the stock stays reserved for the order id")

	reserver.crash = false
	out, err := f.svc.Checkout(ctx, cmd(user, "k", "h"))
	require.NoError(t, err)
	assert.False(t, out.Replayed)
	assert.Equal(t, orders.OrderIDFor(user, "k"), out.Order.ID)
	assert.Equal(t, 1, catalog.Reserves, "reserved once")
	assert.Equal(t, 1, catalog.Stock(p.ID))
}

func TestAbandonedCheckoutsGiveTheirStockBack(t *testing.T) {
	ctx := context.Background()
	catalog := orderstest.NewCatalog()
	reserver := &crashingReserver{Products: catalog, crash: true}
	f := newCheckoutFixture(t, reserver)
	f.catalog = catalog
	p := catalog.Add("Desk", 20000, 10)
	abandoned, recent, placed := uuid.New(), uuid.New(), uuid.New()
	for _, user := range []uuid.UUID{abandoned, recent} {
		f.fill(t, user, p, 2)
		_, err := f.svc.Checkout(ctx, cmd(user, "k", "h"))
		require.ErrorIs(t, err, errCrash)
	}
	reserver.crash = false
	f.fill(t, placed, p, 1)
	_, err := f.svc.Checkout(ctx, cmd(placed, "k", "h"))
	require.NoError(t, err)
	require.Equal(t, 5, catalog.Stock(p.ID))
	_, err = f.pool.Exec(ctx, `UPDATE checkout_requests SET created_at = $2 WHERE user_id = $1`, abandoned, f.now.Add(-16*time.Minute))
	require.NoError(t, err)
	_, err = f.pool.Exec(ctx, `UPDATE checkout_requests SET created_at = $2 WHERE user_id <> $1`, abandoned, f.now.Add(-14*time.Minute))
	require.NoError(t, err)

	released, err := f.svc.ReleaseAbandoned(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, released, "only the claim older than 15 minutes, never completed")
	assert.Equal(t, 7, catalog.Stock(p.ID), "its 2 units are back")
	assert.Equal(t, 0, f.count(t, `SELECT count(*) FROM checkout_requests WHERE user_id = $1`, abandoned))
	assert.Equal(t, 2, f.count(t, `SELECT count(*) FROM checkout_requests`))

	_, err = f.svc.Checkout(ctx, cmd(abandoned, "k", "h"))
	assert.ErrorIs(t, err, orders.ErrCheckoutAbandoned, "its key cannot place an order without stock")
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM orders`))
	assert.Equal(t, 7, catalog.Stock(p.ID))

	again, err := f.svc.ReleaseAbandoned(ctx)
	require.NoError(t, err)
	assert.Zero(t, again, "the refused retry left its new claim, too recent to sweep")
}

func TestTransitionsAndExpiry(t *testing.T) {
	ctx := context.Background()
	f := newCheckoutFixture(t, nil)
	p := f.catalog.Add("Book", 1200, 10)
	owner := uuid.New()
	place := func(key string) uuid.UUID {
		f.fill(t, owner, p, 1)
		out, err := f.svc.Checkout(ctx, cmd(owner, key, "h"))
		require.NoError(t, err)
		return out.Order.ID
	}
	ownerView := orders.Viewer{UserID: owner}
	stranger := orders.Viewer{UserID: uuid.New()}

	t.Run("a stranger cannot see or cancel the order", func(t *testing.T) {
		id := place("a")
		_, err := f.svc.Get(ctx, stranger, id)
		assert.ErrorIs(t, err, orders.ErrNotFound)
		_, err = f.svc.Cancel(ctx, stranger, id)
		assert.ErrorIs(t, err, orders.ErrNotFound)
	})
	t.Run("ship before payment is refused and changes nothing", func(t *testing.T) {
		id := place("b")
		_, err := f.svc.Ship(ctx, id)
		assert.ErrorIs(t, err, orders.ErrInvalidTransition)
		d, err := f.svc.Get(ctx, ownerView, id)
		require.NoError(t, err)
		assert.Equal(t, orders.StatusPendingPayment, d.Status)
		assert.Equal(t, 0, f.count(t, `SELECT count(*) FROM outbox WHERE topic = 'order.shipped'`))
	})
	t.Run("cancelling a paid order asks for a refund", func(t *testing.T) {
		id := place("c")
		store := postgres.NewStore(f.pool)
		_, err := store.Transition(ctx, id, orders.OnPayment(contracts.TopicPaymentSucceeded, orders.PaymentNews{}, f.now))
		require.NoError(t, err)
		d, err := f.svc.Cancel(ctx, ownerView, id)
		require.NoError(t, err)
		assert.Equal(t, orders.StatusCancelled, d.Status)
		assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM outbox WHERE topic = 'order.cancelled'
			AND payload->>'order_id' = $1 AND (payload->>'refund')::bool AND payload->>'reason' = 'customer_cancelled'`, id.String()))
		assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM outbox WHERE topic = 'order.paid' AND payload->>'order_id' = $1`, id.String()))
	})
	t.Run("unpaid orders past the timeout expire, once", func(t *testing.T) {
		old := place("d")
		f.now = f.now.Add(20 * time.Minute)
		fresh := place("e")
		f.now = f.now.Add(15 * time.Minute) // old is 35 min old, fresh 15
		_, err := f.pool.Exec(ctx, `UPDATE orders SET status = 'cancelled' WHERE id <> $1 AND id <> $2`, old, fresh)
		require.NoError(t, err)
		n, err := f.svc.ExpireUnpaid(ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		n, err = f.svc.ExpireUnpaid(ctx)
		require.NoError(t, err)
		assert.Equal(t, 0, n)
		d, err := f.svc.Get(ctx, ownerView, old)
		require.NoError(t, err)
		assert.Equal(t, orders.StatusCancelled, d.Status)
		d, err = f.svc.Get(ctx, ownerView, fresh)
		require.NoError(t, err)
		assert.Equal(t, orders.StatusPendingPayment, d.Status)
		assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM outbox WHERE topic = 'order.cancelled'
			AND payload->>'order_id' = $1 AND payload->>'reason' = 'payment_timeout'`, old.String()))
	})
}

func paypalCmd(user uuid.UUID, key, hash string) orders.CheckoutCommand {
	c := cmd(user, key, hash)
	c.PaymentProvider = contracts.PaymentProviderPayPal
	return c
}

// TestCheckoutRefusesWhatPayPalCannotCharge: PayPal takes forints in
// whole units only; an order it could not charge is refused at checkout,
// with nothing reserved and no order, rather than failing later.
func TestCheckoutRefusesWhatPayPalCannotCharge(t *testing.T) {
	ctx := context.Background()
	f := newCheckoutFixture(t, nil)
	p := f.catalog.Add("Paprika", 0, 10)
	f.catalog.Reprice(p.ID, 150050, "HUF") // 1500.50 Ft
	user := uuid.New()
	f.fill(t, user, p, 1)
	for _, attempt := range []string{"first", "retry"} {
		t.Run(attempt, func(t *testing.T) {
			_, err := f.svc.Checkout(ctx, paypalCmd(user, "k", "h"))
			require.ErrorIs(t, err, orders.ErrNotPayable)
			var ae *apperr.Error
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, apperr.Invalid, ae.Kind)
			assert.Equal(t, []apperr.FieldError{{Field: "payment_provider", Message: "PayPal takes HUF in whole units only; choose another payment"}}, ae.Fields)
			assert.Equal(t, map[string]any{"currency": "HUF", "total_cents": int64(150050)}, ae.Extra)
		})
	}
	assert.Equal(t, 0, f.catalog.Reserves, "nothing reserved")
	assert.Equal(t, 10, f.catalog.Stock(p.ID))
	assert.Equal(t, 0, f.count(t, `SELECT count(*) FROM orders`))
	assert.Equal(t, 0, f.count(t, `SELECT count(*) FROM outbox`))
	cart, _, err := f.carts.Load(ctx, user)
	require.NoError(t, err)
	assert.Len(t, cart.Lines, 1, "the cart is kept")

	t.Run("a second unit makes whole forints", func(t *testing.T) {
		f.fill(t, user, p, 1)
		out, err := f.svc.Checkout(ctx, paypalCmd(user, "k2", "h"))
		require.NoError(t, err)
		assert.Equal(t, int64(300100), out.Order.TotalCents)
		assert.Equal(t, contracts.PaymentProviderPayPal, out.Order.PaymentProvider)
	})
	t.Run("Stripe takes fillér", func(t *testing.T) {
		other := uuid.New()
		f.fill(t, other, p, 1)
		out, err := f.svc.Checkout(ctx, cmd(other, "k", "h"))
		require.NoError(t, err)
		assert.Equal(t, int64(150050), out.Order.TotalCents)
	})
	t.Run("a currency PayPal does not take", func(t *testing.T) {
		won := f.catalog.Add("Kimchi", 0, 5)
		f.catalog.Reprice(won.ID, 1000000, "KRW")
		other := uuid.New()
		f.fill(t, other, won, 1)
		_, err := f.svc.Checkout(ctx, paypalCmd(other, "k", "h"))
		var ae *apperr.Error
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, orders.ErrNotPayable.Code, ae.Code)
		assert.Equal(t, "PayPal does not take KRW; choose another payment", ae.Fields[0].Message)
		assert.Equal(t, 5, f.catalog.Stock(won.ID))
	})
	t.Run("a cart of two currencies, before reserving", func(t *testing.T) {
		other := uuid.New()
		euros := f.catalog.Add("Stroopwafel", 0, 5)
		f.catalog.Reprice(euros.ID, 450, "EUR")
		f.fill(t, other, euros, 1)
		f.fill(t, other, p, 2)
		reserves := f.catalog.Reserves
		_, err := f.svc.Checkout(ctx, paypalCmd(other, "k", "h"))
		require.ErrorIs(t, err, orders.ErrMixedCurrencies)
		assert.Equal(t, reserves, f.catalog.Reserves)
	})
}

// repricingReserver changes a product's price just before reserving, as
// an admin's edit landing between checkout's price check and its
// reservation would.
type repricingReserver struct {
	*orderstest.Catalog
	product    uuid.UUID
	priceCents int64
	currency   string
}

func (r repricingReserver) Reserve(ctx context.Context, id uuid.UUID, lines []orders.Line) (orders.Reservation, error) {
	r.Reprice(r.product, r.priceCents, r.currency)
	return r.Catalog.Reserve(ctx, id, lines)
}

func TestCheckoutRepricedBeforeItsReservationIsRefused(t *testing.T) {
	ctx := context.Background()
	catalog := orderstest.NewCatalog()
	p := catalog.Add("Paprika", 0, 10)
	catalog.Reprice(p.ID, 150000, "HUF")
	f := newCheckoutFixture(t, repricingReserver{Catalog: catalog, product: p.ID, priceCents: 150050, currency: "HUF"})
	f.catalog = catalog
	user := uuid.New()
	f.fill(t, user, p, 1)

	_, err := f.svc.Checkout(ctx, paypalCmd(user, "k", "h"))
	require.ErrorIs(t, err, orders.ErrNotPayable, "the reservation's price decides")
	assert.Equal(t, 10, catalog.Stock(p.ID), "the stock is given back")
	assert.Equal(t, 0, f.count(t, `SELECT count(*) FROM orders`))
	_, err = f.svc.Checkout(ctx, paypalCmd(user, "k", "h"))
	assert.ErrorIs(t, err, orders.ErrNotPayable, "a retry answers the same")
	assert.Equal(t, 1, catalog.Reserves)
	assert.Equal(t, 10, catalog.Stock(p.ID))
}

// TestPayPalCheckoutCrashedHalfWayIsFinishedAtItsReservedPrice: a
// checkout that reserved at a price PayPal takes, then crashed, is
// finished by its retry from its reservation, though the catalog's price
// is now one PayPal refuses.
func TestPayPalCheckoutCrashedHalfWayIsFinishedAtItsReservedPrice(t *testing.T) {
	ctx := context.Background()
	catalog := orderstest.NewCatalog()
	reserver := &crashingReserver{Products: catalog, crash: true}
	f := newCheckoutFixture(t, reserver)
	f.catalog = catalog
	p := catalog.Add("Paprika", 0, 10)
	catalog.Reprice(p.ID, 150000, "HUF")
	user := uuid.New()
	f.fill(t, user, p, 1)

	_, err := f.svc.Checkout(ctx, paypalCmd(user, "k", "h"))
	require.ErrorIs(t, err, errCrash)
	require.Equal(t, 9, catalog.Stock(p.ID))
	catalog.Reprice(p.ID, 150050, "HUF")
	reserver.crash = false

	for _, attempt := range []string{"retry", "replay"} {
		t.Run(attempt, func(t *testing.T) {
			out, err := f.svc.Checkout(ctx, paypalCmd(user, "k", "h"))
			require.NoError(t, err)
			assert.Equal(t, orders.OrderIDFor(user, "k"), out.Order.ID)
			assert.Equal(t, int64(150000), out.Order.TotalCents, "the reserved price")
			assert.Equal(t, 1, catalog.Reserves, "reserved once")
			assert.Equal(t, 9, catalog.Stock(p.ID))
		})
	}
}

// TestPayPalCheckoutCrashedBeforeReservingAndRepricedIsRefusedForGood: a
// retry that reserves for the first time, at a price PayPal refuses,
// gives the stock back, and every later retry answers the same.
func TestPayPalCheckoutCrashedBeforeReservingAndRepricedIsRefusedForGood(t *testing.T) {
	ctx := context.Background()
	f := newCheckoutFixture(t, nil)
	p := f.catalog.Add("Paprika", 0, 10)
	f.catalog.Reprice(p.ID, 150000, "HUF")
	user := uuid.New()
	f.fill(t, user, p, 1)
	// The first attempt claimed the key and died before reserving.
	_, err := postgres.NewStore(f.pool).ClaimCheckout(ctx, orders.CheckoutClaim{UserID: user, Key: "k", RequestHash: "h", OrderID: orders.OrderIDFor(user, "k")})
	require.NoError(t, err)
	f.catalog.Reprice(p.ID, 150050, "HUF")

	for _, attempt := range []string{"retry", "later retry", "after the price is restored"} {
		t.Run(attempt, func(t *testing.T) {
			if attempt == "after the price is restored" {
				f.catalog.Reprice(p.ID, 150000, "HUF")
			}
			_, err := f.svc.Checkout(ctx, paypalCmd(user, "k", "h"))
			require.ErrorIs(t, err, orders.ErrNotPayable)
			var ae *apperr.Error
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, map[string]any{"currency": "HUF", "total_cents": int64(150050)}, ae.Extra)
			assert.Equal(t, 10, f.catalog.Stock(p.ID), "nothing held")
			assert.Equal(t, 1, f.catalog.Reserves)
		})
	}
	out, err := f.svc.Checkout(ctx, paypalCmd(user, "k2", "h"))
	require.NoError(t, err, "a new key reads the restored price")
	assert.Equal(t, int64(150000), out.Order.TotalCents)
}

// TestCheckoutRefusedOnPriceReplaysAfterThePriceIsRestored: a refusal
// is recorded, so restoring the price changes no answer under the key.
func TestCheckoutRefusedOnPriceReplaysAfterThePriceIsRestored(t *testing.T) {
	ctx := context.Background()
	f := newCheckoutFixture(t, nil)
	p := f.catalog.Add("Paprika", 0, 10)
	f.catalog.Reprice(p.ID, 150050, "HUF")
	user := uuid.New()
	f.fill(t, user, p, 1)
	_, err := f.svc.Checkout(ctx, paypalCmd(user, "k", "h"))
	require.ErrorIs(t, err, orders.ErrNotPayable)

	f.catalog.Reprice(p.ID, 150000, "HUF")
	_, err = f.svc.Checkout(ctx, paypalCmd(user, "k", "h"))
	require.ErrorIs(t, err, orders.ErrNotPayable, "the same key, the same answer")
	assert.Equal(t, 0, f.catalog.Reserves)
	assert.Equal(t, 10, f.catalog.Stock(p.ID))
	out, err := f.svc.Checkout(ctx, paypalCmd(user, "k2", "h"))
	require.NoError(t, err)
	assert.Equal(t, int64(150000), out.Order.TotalCents)
}

// TestCheckoutOfTwoCurrenciesAtReservationGivesTheStockBack: a product
// repriced into another currency between the check and the reservation
// leaves nothing reserved, and a retry answers the same.
func TestCheckoutOfTwoCurrenciesAtReservationGivesTheStockBack(t *testing.T) {
	ctx := context.Background()
	catalog := orderstest.NewCatalog()
	a, b := catalog.Add("Paprika", 0, 10), catalog.Add("Salami", 0, 10)
	catalog.Reprice(a.ID, 150000, "HUF")
	catalog.Reprice(b.ID, 300000, "HUF")
	f := newCheckoutFixture(t, repricingReserver{Catalog: catalog, product: b.ID, priceCents: 450, currency: "EUR"})
	f.catalog = catalog
	user := uuid.New()
	f.fill(t, user, a, 1)
	f.fill(t, user, b, 1)

	for _, attempt := range []string{"first", "retry"} {
		t.Run(attempt, func(t *testing.T) {
			_, err := f.svc.Checkout(ctx, paypalCmd(user, "k", "h"))
			require.ErrorIs(t, err, orders.ErrMixedCurrencies, "the same answer")
			assert.Equal(t, 10, catalog.Stock(a.ID))
			assert.Equal(t, 10, catalog.Stock(b.ID))
			assert.Equal(t, 0, f.count(t, `SELECT count(*) FROM orders`))
		})
	}
}

// racingDuplicate lets a duplicate's reservation happen while the first
// request under the key is still reading the catalog's prices: the first
// request's lookup waits until the duplicate has reserved (at a price
// PayPal takes), sees the price changed to one it refuses, and records
// the refusal before the duplicate records.
type racingDuplicate struct {
	*orderstest.Catalog
	product                 uuid.UUID
	looking                 chan struct{} // closed when the first request reads a price
	reserved                chan struct{} // closed when the duplicate has reserved
	firstRefused            chan struct{} // closed when the first request has answered
	lookupOnce, reserveOnce sync.Once
}

func (r *racingDuplicate) Product(ctx context.Context, id uuid.UUID) (orders.Product, error) {
	r.lookupOnce.Do(func() { close(r.looking) })
	<-r.reserved
	return r.Catalog.Product(ctx, id)
}

func (r *racingDuplicate) Reserve(ctx context.Context, id uuid.UUID, lines []orders.Line) (orders.Reservation, error) {
	res, err := r.Catalog.Reserve(ctx, id, lines)
	r.reserveOnce.Do(func() {
		r.Catalog.Reprice(r.product, 150050, "HUF")
		close(r.reserved)
		<-r.firstRefused
	})
	return res, err
}

// TestADuplicateOutrunByARefusalGivesItsStockBack: two requests under one
// key, the first refused on the catalog's prices before reserving, the
// duplicate (which skips that check) reserving at the earlier price. The
// refusal is recorded first, so the duplicate's order is never placed:
// its reservation, which no sweep would release once the claim is
// complete, is given back.
func TestADuplicateOutrunByARefusalGivesItsStockBack(t *testing.T) {
	ctx := context.Background()
	catalog := orderstest.NewCatalog()
	p := catalog.Add("Paprika", 0, 10)
	catalog.Reprice(p.ID, 150000, "HUF")
	race := &racingDuplicate{Catalog: catalog, product: p.ID,
		looking: make(chan struct{}), reserved: make(chan struct{}), firstRefused: make(chan struct{})}
	f := newCheckoutFixture(t, race)
	f.catalog = catalog
	user := uuid.New()
	f.fill(t, user, p, 1)

	firstErr := make(chan error, 1)
	go func() {
		_, err := f.svc.Checkout(ctx, paypalCmd(user, "k", "h"))
		close(race.firstRefused)
		firstErr <- err
	}()
	<-race.looking
	_, err := f.svc.Checkout(ctx, paypalCmd(user, "k", "h"))

	require.ErrorIs(t, <-firstErr, orders.ErrNotPayable)
	require.ErrorIs(t, err, orders.ErrNotPayable, "the duplicate answers the recorded refusal")
	assert.Equal(t, 0, f.count(t, `SELECT count(*) FROM orders`))
	assert.Equal(t, 1, catalog.Reserves)
	assert.Equal(t, 10, catalog.Stock(p.ID), "the duplicate's reservation is given back")
}
