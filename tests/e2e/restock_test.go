package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/authn"
)

// productsGauge reads a gauge from the products' own /metrics.
func productsGauge(t *testing.T, name string) int {
	t.Helper()
	resp := call(t, http.MethodGet, "http://127.0.0.1:3002/metrics", nil)
	require.Equal(t, http.StatusOK, resp.Status)
	sc := bufio.NewScanner(strings.NewReader(string(resp.Body)))
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, name+"{") {
			var v float64
			_, err := fmt.Sscan(line[strings.LastIndex(line, " ")+1:], &v)
			require.NoError(t, err)
			return int(v)
		}
	}
	require.Failf(t, "no gauge", "products export no %s", name)
	return 0
}

// TestStockComesBack proves that the units of a paid order cancelled
// before it shipped return to stock once, when it is refunded, and never
// for a shipped one; and that the stock a checkout holds when it dies
// before placing its order is visible.
func TestStockComesBack(t *testing.T) {
	s := shop{admin: "Bearer " + token(t, uuid.New(), authn.RoleAdmin)}
	productsDB, ordersDB := connect(t, "products"), connect(t, "orders")
	// buyer is a new customer with a card that pays at checkout.
	buyer := func(t *testing.T) string {
		t.Helper()
		customer := "Bearer " + token(t, uuid.New(), authn.RoleCustomer)
		s.saveCard(t, customer, "pm_card_visa")
		return customer
	}
	buy := func(t *testing.T, customer, productID string, qty int) orderJSON {
		t.Helper()
		require.Equal(t, http.StatusOK, s.addToCart(t, customer, productID, qty).Status)
		resp := s.checkout(t, customer, uuid.NewString(), shipTo)
		require.Equal(t, http.StatusCreated, resp.Status, "checkout: %s", resp.Body)
		var o orderJSON
		resp.JSON(t, &o)
		return s.waitStatus(t, customer, o.ID, "paid")
	}
	// restocks counts the stock adjustments that returned the order's units.
	restocks := func(t *testing.T, orderID string) int {
		t.Helper()
		var n int
		require.NoError(t, productsDB.QueryRow(ctx(t), `SELECT count(*) FROM inventory_adjustments
			WHERE reason LIKE '%' || $1 || '%'`, orderID).Scan(&n))
		return n
	}

	t.Run("a paid order cancelled before it shipped comes back to stock once, when refunded", func(t *testing.T) {
		productID := s.newProduct(t, 1500, 5)
		customer := buyer(t)
		o := buy(t, customer, productID, 2)
		s.waitInventory(t, productID, inventory{OnHand: 3, Available: 3})
		s.cancel(t, customer, o.ID)
		refunded := s.waitStatus(t, customer, o.ID, "refunded")
		assert.Equal(t, []string{"pending_payment", "paid", "cancelled", "refunded"}, statuses(refunded))
		s.waitInventory(t, productID, inventory{OnHand: 5, Available: 5})
		assert.Equal(t, 1, restocks(t, o.ID))

		// order.refunded again: redelivered by the broker, and replayed
		// under a new id as a dead letter would be.
		var eventID string
		var payload json.RawMessage
		require.NoError(t, ordersDB.QueryRow(ctx(t), `SELECT event_id::text, payload FROM outbox
			WHERE topic = 'order.refunded' AND payload->>'order_id' = $1`, o.ID).Scan(&eventID, &payload))
		replayID := uuid.NewString()
		publishEvent(t, "order.refunded", eventID, payload)
		publishEvent(t, "order.refunded", replayID, payload)
		require.Eventually(t, func() bool {
			var n int
			err := productsDB.QueryRow(ctx(t), `SELECT count(*) FROM processed_events WHERE event_id = $1`, replayID).Scan(&n)
			return err == nil && n == 1
		}, 30*time.Second, 100*time.Millisecond, "products applied the replay")
		waitConsumedBy(t, "products", "order.refunded")
		assert.Equal(t, inventory{OnHand: 5, Available: 5}, s.inventory(t, productID))
		assert.Equal(t, 1, restocks(t, o.ID), "returned once")
	})

	t.Run("a buy-cancel loop leaves the stock as it was", func(t *testing.T) {
		productID := s.newProduct(t, 900, 4)
		customer := buyer(t)
		// Each round buys more than half the stock: a round whose units
		// did not come back leaves the next one short.
		for range 3 {
			o := buy(t, customer, productID, 3)
			s.waitInventory(t, productID, inventory{OnHand: 1, Available: 1})
			s.cancel(t, customer, o.ID)
			s.waitStatus(t, customer, o.ID, "refunded")
			s.waitInventory(t, productID, inventory{OnHand: 4, Available: 4})
			assert.Equal(t, 1, restocks(t, o.ID))
		}
	})

	t.Run("a shipped order refunded by an admin gives no stock back", func(t *testing.T) {
		productID := s.newProduct(t, 1200, 4)
		customer := buyer(t)
		o := buy(t, customer, productID, 1)
		s.waitInventory(t, productID, inventory{OnHand: 3, Available: 3})
		require.Equal(t, http.StatusOK, s.send(t, http.MethodPost, "/api/v1/orders/"+o.ID+"/ship", s.admin, "").Status)
		p := s.payment(t, customer, o.ID, "succeeded")
		resp := s.refund(t, p.ID, uuid.NewString())
		require.Equal(t, http.StatusCreated, resp.Status, "refund: %s", resp.Body)

		// Orders decides in the transaction that records the refund on the
		// order: once it shows, no order.refunded can be on its way.
		var got struct {
			Status  string
			Payment struct{ Status string }
		}
		require.Eventually(t, func() bool {
			resp := s.send(t, http.MethodGet, "/api/v1/orders/"+o.ID, customer, "")
			resp.JSON(t, &got)
			return got.Payment.Status == "refunded"
		}, 30*time.Second, 100*time.Millisecond, "orders recorded the refund")
		assert.Equal(t, "shipped", got.Status)
		var published int
		require.NoError(t, ordersDB.QueryRow(ctx(t), `SELECT count(*) FROM outbox WHERE topic = 'order.refunded'
			AND payload->>'order_id' = $1`, o.ID).Scan(&published))
		assert.Zero(t, published)
		assert.Equal(t, inventory{OnHand: 3, Available: 3}, s.inventory(t, productID))
		assert.Zero(t, restocks(t, o.ID))
	})

	t.Run("the stock of a checkout that reserved and placed no order shows as held", func(t *testing.T) {
		productID := s.newProduct(t, 700, 6)
		// age makes a reservation as old as a checkout that died a while ago.
		age := func(t *testing.T, orderID string) {
			t.Helper()
			_, err := productsDB.Exec(ctx(t), `UPDATE reservations SET created_at = created_at - interval '2 minutes' WHERE order_id = $1`, orderID)
			require.NoError(t, err)
		}
		// What a checkout that crashed between reserving and placing leaves.
		abandoned := uuid.NewString()
		resp := invokeAs(t, "orders", http.MethodPost, "products", "internal/reservations",
			fmt.Sprintf(`{"order_id": %q, "lines": [{"product_id": %q, "quantity": 3}]}`, abandoned, productID))
		require.Equal(t, http.StatusOK, resp.Status, "reserve: %s", resp.Body)
		assert.Equal(t, inventory{OnHand: 6, Reserved: 3, Available: 3}, s.inventory(t, productID), "not while it may still place its order")

		held := productsGauge(t, "stock_held_by_abandoned_checkouts")
		checkouts := productsGauge(t, "abandoned_checkouts")
		age(t, abandoned)
		assert.Equal(t, inventory{OnHand: 6, Reserved: 3, Available: 3, HeldByAbandonedCheckouts: 3}, s.inventory(t, productID))
		assert.Equal(t, held+3, productsGauge(t, "stock_held_by_abandoned_checkouts"))
		assert.Equal(t, checkouts+1, productsGauge(t, "abandoned_checkouts"))

		// A placed order's reservation, as old, is not abandoned once
		// order.created reached products.
		_, placed := s.placeOrder(t, productID, 1)
		age(t, placed.ID)
		s.waitInventory(t, productID, inventory{OnHand: 6, Reserved: 4, Available: 2, HeldByAbandonedCheckouts: 3})

		// Given back, as orders does 15 minutes after the checkout began.
		held = productsGauge(t, "stock_held_by_abandoned_checkouts")
		resp = invokeAs(t, "orders", http.MethodPost, "products", "internal/reservations/"+abandoned+"/release", "")
		require.Equal(t, http.StatusOK, resp.Status, "release: %s", resp.Body)
		assert.Equal(t, inventory{OnHand: 6, Reserved: 1, Available: 5}, s.inventory(t, productID))
		assert.Equal(t, held-3, productsGauge(t, "stock_held_by_abandoned_checkouts"))
	})
}
