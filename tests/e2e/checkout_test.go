package e2e

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/apiclient"
	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/contracts"
)

// shop drives the cart, checkout and order routes through the gateway.
type shop struct {
	admin string // bearer header value
}

func (s shop) send(t *testing.T, method, path, auth, body string, headers ...string) response {
	t.Helper()
	h := append([]string{"Content-Type", "application/json"}, headers...)
	if auth != "" {
		h = append(h, "Authorization", auth)
	}
	return call(t, method, gatewayURL+path, strings.NewReader(body), h...)
}

// newProduct creates a product with stock and returns its id.
func (s shop) newProduct(t *testing.T, priceCents, stock int) string {
	t.Helper()
	return s.newProductIn(t, priceCents, "USD", stock)
}

// newProductIn is newProduct priced in currency.
func (s shop) newProductIn(t *testing.T, priceCents int, currency string, stock int) string {
	t.Helper()
	suffix := strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
	resp, err := api.CreateProductWithResponse(ctx(t), apiclient.ProductInput{
		SKU: "CO-" + suffix, Name: "Checkout item " + suffix, Description: new("e2e"),
		PriceCents: int64(priceCents), Currency: new(currency), InitialStock: stock,
	}, as(s.admin))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, resp.StatusCode(), "create product: %s", resp.Body)
	return resp.JSON201.ID.String()
}

// inventory is the part of a product's inventory the tests compare.
type inventory struct {
	OnHand, Reserved, Available, HeldByAbandonedCheckouts int
}

func (s shop) inventory(t *testing.T, productID string) inventory {
	t.Helper()
	resp, err := api.GetInventoryWithResponse(ctx(t), uuid.MustParse(productID), as(s.admin))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "inventory: %s", resp.Body)
	got := resp.JSON200
	return inventory{OnHand: got.OnHand, Reserved: got.Reserved, Available: got.Available, HeldByAbandonedCheckouts: got.HeldByAbandonedCheckouts}
}

// waitInventory waits for the product's stock to reach want (events are
// applied asynchronously).
func (s shop) waitInventory(t *testing.T, productID string, want inventory) {
	t.Helper()
	var got inventory
	require.Eventually(t, func() bool {
		got = s.inventory(t, productID)
		return got == want
	}, 30*time.Second, 100*time.Millisecond, "inventory of %s: want %+v", productID, want)
}

type orderJSON struct {
	ID         string `json:"id"`
	UserID     string `json:"user_id"`
	Status     string `json:"status"`
	TotalCents int64  `json:"total_cents"`
	Currency   string `json:"currency"`
	Items      []struct {
		ProductID      string `json:"product_id"`
		Quantity       int    `json:"quantity"`
		UnitPriceCents int64  `json:"unit_price_cents"`
	} `json:"items"`
	History []struct {
		Status string `json:"status"`
	} `json:"history"`
}

// shipTo is the checkout the tests place; address is its body, for the
// loads that send their requests themselves.
var (
	shipTo = apiclient.Checkout{ShippingAddress: apiclient.Address{
		Name: "Ada Lovelace", Line1: "1 Analytical St", City: "London", PostalCode: "N1 9GU", Country: "GB",
	}}
	address = func() string {
		b, err := json.Marshal(shipTo)
		if err != nil {
			panic(err)
		}
		return string(b)
	}()
)

func (s shop) addToCart(t *testing.T, auth, productID string, qty int) response {
	t.Helper()
	resp, err := api.AddCartItem(ctx(t), apiclient.CartAddition{ProductID: uuid.MustParse(productID), Quantity: qty}, as(auth))
	return answer(t, resp, err)
}

func (s shop) checkout(t *testing.T, auth, key string, in apiclient.Checkout) response {
	t.Helper()
	resp, err := api.Checkout(ctx(t), &apiclient.CheckoutParams{IdempotencyKey: key}, in, as(auth))
	return answer(t, resp, err)
}

// placeOrder fills a fresh customer's cart and checks out.
func (s shop) placeOrder(t *testing.T, productID string, qty int) (auth string, o orderJSON) {
	t.Helper()
	auth = "Bearer " + token(t, uuid.New(), authn.RoleCustomer)
	return auth, s.placeOrderAs(t, auth, productID, qty)
}

// placeOrderAs fills auth's cart and checks out.
func (s shop) placeOrderAs(t *testing.T, auth, productID string, qty int) (o orderJSON) {
	t.Helper()
	require.Equal(t, http.StatusOK, s.addToCart(t, auth, productID, qty).Status)
	resp := s.checkout(t, auth, uuid.NewString(), shipTo)
	require.Equal(t, http.StatusCreated, resp.Status, "checkout: %s", resp.Body)
	resp.JSON(t, &o)
	return o
}

func (s shop) order(t *testing.T, auth, id string) orderJSON {
	t.Helper()
	resp, err := api.GetOrder(ctx(t), uuid.MustParse(id), as(auth))
	got := answer(t, resp, err)
	require.Equal(t, http.StatusOK, got.Status, "order: %s", got.Body)
	var o orderJSON
	got.JSON(t, &o)
	return o
}

// cancel cancels the order as auth (its customer or an admin).
func (s shop) cancel(t *testing.T, auth, orderID string) {
	t.Helper()
	resp, err := api.CancelOrder(ctx(t), uuid.MustParse(orderID), as(auth))
	got := answer(t, resp, err)
	require.Equal(t, http.StatusOK, got.Status, "cancel: %s", got.Body)
}

func (s shop) waitStatus(t *testing.T, auth, id, status string) orderJSON {
	t.Helper()
	var o orderJSON
	require.Eventually(t, func() bool {
		o = s.order(t, auth, id)
		return o.Status == status
	}, 30*time.Second, 100*time.Millisecond, "order %s to become %s", id, status)
	return o
}

func TestCheckout(t *testing.T) {
	s := shop{admin: "Bearer " + token(t, uuid.New(), authn.RoleAdmin)}

	t.Run("cart, checkout, replay and order.created", func(t *testing.T) {
		productID := s.newProduct(t, 1250, 20)
		customer := "Bearer " + token(t, uuid.New(), authn.RoleCustomer)

		// Two concurrent adds to a new cart both land (ETag concurrency).
		var wg sync.WaitGroup
		statuses := make([]int, 2)
		for i := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i] = s.addToCart(t, customer, productID, 1).Status
			}()
		}
		wg.Wait()
		assert.Equal(t, []int{http.StatusOK, http.StatusOK}, statuses)
		cart := s.send(t, http.MethodGet, "/api/v1/cart", customer, "")
		require.Equal(t, http.StatusOK, cart.Status)
		var c struct {
			Items []struct {
				Quantity       int   `json:"quantity"`
				LineTotalCents int64 `json:"line_total_cents"`
			} `json:"items"`
			TotalCents int64 `json:"total_cents"`
		}
		cart.JSON(t, &c)
		require.Len(t, c.Items, 1)
		assert.Equal(t, 2, c.Items[0].Quantity)
		assert.Equal(t, int64(2500), c.TotalCents)

		assert.Equal(t, http.StatusUnprocessableEntity, s.addToCart(t, customer, uuid.NewString(), 1).Status, "unknown product")
		done := invalidRequests(t) // no Idempotency-Key
		assert.Equal(t, http.StatusBadRequest, s.send(t, http.MethodPost, "/api/v1/checkout", customer, address).Status, "no key")
		done()

		key := uuid.NewString()
		first := s.checkout(t, customer, key, shipTo)
		require.Equal(t, http.StatusCreated, first.Status, "checkout: %s", first.Body)
		var o orderJSON
		first.JSON(t, &o)
		assert.Equal(t, "pending_payment", o.Status)
		assert.Equal(t, int64(2500), o.TotalCents)
		require.Len(t, o.Items, 1)
		assert.Equal(t, 2, o.Items[0].Quantity)
		s.waitInventory(t, productID, inventory{OnHand: 20, Reserved: 2, Available: 18})

		replay := s.checkout(t, customer, key, shipTo)
		require.Equal(t, http.StatusCreated, replay.Status, "replay: %s", replay.Body)
		assert.JSONEq(t, string(first.Body), string(replay.Body))
		other := shipTo
		other.ShippingAddress.City = "Paris"
		assert.Equal(t, http.StatusUnprocessableEntity, s.checkout(t, customer, key, other).Status, "same key, other body")
		assert.Equal(t, http.StatusUnprocessableEntity, s.checkout(t, customer, uuid.NewString(), shipTo).Status, "the cart was emptied")
		s.waitInventory(t, productID, inventory{OnHand: 20, Reserved: 2, Available: 18})

		// order.created left the outbox and reached notifications, once.
		ordersDB := connect(t, "orders")
		require.Eventually(t, func() bool {
			var published int
			err := ordersDB.QueryRow(ctx(t), `SELECT count(*) FROM outbox WHERE topic = 'order.created'
				AND payload->>'order_id' = $1 AND published_at IS NOT NULL`, o.ID).Scan(&published)
			return err == nil && published == 1
		}, 30*time.Second, 100*time.Millisecond, "order.created published")

		assert.Equal(t, http.StatusNotFound, s.send(t, http.MethodGet, "/api/v1/orders/"+o.ID,
			"Bearer "+token(t, uuid.New(), authn.RoleCustomer), "").Status, "another customer's order")
		assert.Equal(t, o.ID, s.order(t, s.admin, o.ID).ID, "an admin sees it")
	})

	t.Run("payment.succeeded pays, ship, deliver; illegal moves are 409", func(t *testing.T) {
		productID := s.newProduct(t, 999, 5)
		customer, o := s.placeOrder(t, productID, 3)
		eventID := uuid.NewString()
		for range 2 { // redelivered: one effect
			publishEvent(t, "payment.succeeded", eventID, map[string]any{"order_id": o.ID, "payment_id": uuid.NewString(), "amount_cents": o.TotalCents, "currency": "USD"})
		}
		s.waitStatus(t, customer, o.ID, "paid")
		s.waitInventory(t, productID, inventory{OnHand: 2, Reserved: 0, Available: 2})

		assert.Equal(t, http.StatusForbidden, s.send(t, http.MethodPost, "/api/v1/orders/"+o.ID+"/ship", customer, "").Status)
		assert.Equal(t, http.StatusConflict, s.send(t, http.MethodPost, "/api/v1/orders/"+o.ID+"/deliver", s.admin, "").Status, "deliver before ship")
		require.Equal(t, http.StatusOK, s.send(t, http.MethodPost, "/api/v1/orders/"+o.ID+"/ship", s.admin, "").Status)
		assert.Equal(t, http.StatusConflict, s.send(t, http.MethodPost, "/api/v1/orders/"+o.ID+"/cancel", customer, "").Status, "cancel once shipped")
		require.Equal(t, http.StatusOK, s.send(t, http.MethodPost, "/api/v1/orders/"+o.ID+"/deliver", s.admin, "").Status)
		got := s.order(t, customer, o.ID)
		assert.Equal(t, "delivered", got.Status)
		var states []string
		for _, h := range got.History {
			states = append(states, h.Status)
		}
		assert.Equal(t, []string{"pending_payment", "paid", "shipped", "delivered"}, states)
	})

	t.Run("payment.failed cancels and releases the stock", func(t *testing.T) {
		productID := s.newProduct(t, 500, 4)
		customer, o := s.placeOrder(t, productID, 4)
		s.waitInventory(t, productID, inventory{OnHand: 4, Reserved: 4, Available: 0})
		publishEvent(t, "payment.failed", uuid.NewString(), map[string]any{"order_id": o.ID, "reason": "card_declined"})
		s.waitStatus(t, customer, o.ID, "cancelled")
		s.waitInventory(t, productID, inventory{OnHand: 4, Reserved: 0, Available: 4})
	})

	t.Run("cancelling a paid order, then payment.refunded", func(t *testing.T) {
		productID := s.newProduct(t, 700, 3)
		customer, o := s.placeOrder(t, productID, 1)
		publishEvent(t, "payment.succeeded", uuid.NewString(), map[string]any{"order_id": o.ID})
		s.waitStatus(t, customer, o.ID, "paid")
		require.Equal(t, http.StatusOK, s.send(t, http.MethodPost, "/api/v1/orders/"+o.ID+"/cancel", customer, "").Status)
		assert.Equal(t, http.StatusConflict, s.send(t, http.MethodPost, "/api/v1/orders/"+o.ID+"/cancel", customer, "").Status, "twice")
		publishEvent(t, "payment.refunded", uuid.NewString(), map[string]any{"order_id": o.ID, "amount_cents": o.TotalCents})
		s.waitStatus(t, customer, o.ID, "refunded")
		s.waitInventory(t, productID, inventory{OnHand: 3, Available: 3})
	})

	t.Run("unpaid orders expire and their stock comes back", func(t *testing.T) {
		productID := s.newProduct(t, 300, 2)
		customer, o := s.placeOrder(t, productID, 2)
		ordersDB := connect(t, "orders")
		_, err := ordersDB.Exec(ctx(t), `UPDATE orders SET created_at = created_at - interval '2 hours' WHERE id = $1`, o.ID)
		require.NoError(t, err)
		resp := invokeAs(t, "workers", http.MethodPost, "orders", "internal/orders/expire", "")
		require.Equal(t, http.StatusOK, resp.Status, "expire: %s", resp.Body)
		s.waitStatus(t, customer, o.ID, "cancelled")
		s.waitInventory(t, productID, inventory{OnHand: 2, Reserved: 0, Available: 2})
	})

	t.Run("50 customers race for the last 10 units", func(t *testing.T) {
		productID := s.newProduct(t, 100, 10)
		const customers = 50
		results := make([]response, customers)
		var wg sync.WaitGroup
		for i := range customers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				auth := "Bearer " + token(t, uuid.New(), authn.RoleCustomer)
				if r := s.addToCart(t, auth, productID, 1); r.Status != http.StatusOK {
					results[i] = r
					return
				}
				results[i] = s.checkout(t, auth, uuid.NewString(), shipTo)
			}()
		}
		wg.Wait()
		count := map[int]int{}
		for _, r := range results {
			count[r.Status]++
			if r.Status == http.StatusConflict {
				var p struct {
					Code       string   `json:"code"`
					ProductIDs []string `json:"product_ids"`
				}
				r.JSON(t, &p)
				assert.Equal(t, "insufficient_stock", p.Code)
				assert.Equal(t, []string{productID}, p.ProductIDs)
			}
		}
		assert.Equal(t, map[int]int{http.StatusCreated: 10, http.StatusConflict: 40}, count)
		s.waitInventory(t, productID, inventory{OnHand: 10, Reserved: 10, Available: 0})
	})

	// Dapr 1.14 retries every answer of 400 and up under a retry policy, so
	// a refusal used to be asked of products four times, 2.4 s in all.
	t.Run("a refusal is asked of products once", func(t *testing.T) {
		productID := s.newProduct(t, 500, 1)
		customer := "Bearer " + token(t, uuid.New(), authn.RoleCustomer)
		require.Equal(t, http.StatusOK, s.addToCart(t, customer, productID, 2).Status)
		refusals := func() int {
			return servedCount(t, "products", 3002, http.MethodPost, contracts.ReservationsPath, http.StatusConflict)
		}
		before := refusals()
		resp := s.checkout(t, customer, uuid.NewString(), shipTo)
		require.Equal(t, http.StatusConflict, resp.Status, "%s", resp.Body)
		assert.Equal(t, before+1, refusals())
		s.waitInventory(t, productID, inventory{OnHand: 1, Reserved: 0, Available: 1})

		unknown := func() int {
			return servedCount(t, "products", 3002, http.MethodGet, "/api/v1/products/:id", http.StatusNotFound)
		}
		before = unknown()
		resp = s.addToCart(t, customer, uuid.NewString(), 1)
		require.Equal(t, http.StatusUnprocessableEntity, resp.Status, "%s", resp.Body)
		assert.Equal(t, before+1, unknown())
	})

	t.Run("an event committed while the orders sidecar is down is delivered once it is back", func(t *testing.T) {
		productID := s.newProduct(t, 400, 3)
		customer, o := s.placeOrder(t, productID, 3)
		s.waitInventory(t, productID, inventory{OnHand: 3, Reserved: 3, Available: 0})
		ordersDB := connect(t, "orders")
		_, err := ordersDB.Exec(ctx(t), `UPDATE orders SET created_at = created_at - interval '2 hours' WHERE id = $1`, o.ID)
		require.NoError(t, err)

		sidecar := daprdOf(t, "orders")
		require.NoError(t, syscall.Kill(sidecar, syscall.SIGSTOP))
		resumed := false
		resume := func() {
			if !resumed {
				resumed = true
				assert.NoError(t, syscall.Kill(sidecar, syscall.SIGCONT))
			}
		}
		t.Cleanup(resume)

		// The sidecar is frozen, so the expiry is asked of the app itself,
		// as its sidecar would deliver the workers' call (app token, caller
		// id): it commits the cancellation and its order.cancelled event.
		resp := call(t, http.MethodPost, "http://127.0.0.1:3003/internal/orders/expire", nil,
			"dapr-api-token", sys.env["APP_API_TOKEN"], "dapr-caller-app-id", "workers")
		require.Equal(t, http.StatusOK, resp.Status, "expire: %s", resp.Body)
		var eventID string
		require.NoError(t, ordersDB.QueryRow(ctx(t), `SELECT event_id::text FROM outbox
			WHERE topic = 'order.cancelled' AND payload->>'order_id' = $1`, o.ID).Scan(&eventID))
		require.Never(t, func() bool {
			return s.inventory(t, productID).Reserved == 0
		}, 2*time.Second, 200*time.Millisecond, "nothing is released while the event cannot leave")

		resume()
		s.waitInventory(t, productID, inventory{OnHand: 3, Reserved: 0, Available: 3})
		assert.Equal(t, "cancelled", s.order(t, customer, o.ID).Status)
		productsDB := connect(t, "products")
		var applied int
		require.NoError(t, productsDB.QueryRow(ctx(t), `SELECT count(*) FROM processed_events WHERE event_id = $1`, eventID).Scan(&applied))
		assert.Equal(t, 1, applied, "applied once")
	})
}

// daprdOf is the pid of the daprd process serving appID.
func daprdOf(t *testing.T, appID string) int {
	t.Helper()
	return findProcess(t, "no daprd serves "+appID, func(p proc) bool {
		return strings.Contains(filepath.Base(p.exe), "daprd") && has(p.cmdline, "--app-id", appID)
	})
}
