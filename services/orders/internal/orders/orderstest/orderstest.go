// Package orderstest holds in-memory fakes of the orders domain's
// dependencies that live behind the Dapr sidecar (the cart state store and
// the products service), for tests that run without one.
package orderstest

import (
	"context"
	"strconv"
	"sync"

	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/orders/internal/orders"
)

// Carts is an orders.CartStore with the state store's ETag semantics: each
// write bumps a version, and a write or delete at a stale version fails
// with orders.ErrCartChanged.
type Carts struct {
	mu      sync.Mutex
	carts   map[uuid.UUID]orders.Cart
	version map[uuid.UUID]int
	// Saves counts successful writes.
	Saves int
}

// NewCarts returns an empty store.
func NewCarts() *Carts {
	return &Carts{carts: map[uuid.UUID]orders.Cart{}, version: map[uuid.UUID]int{}}
}

// Load implements orders.CartStore.
func (c *Carts) Load(_ context.Context, userID uuid.UUID) (orders.Cart, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cart := c.carts[userID]
	cart.Lines = append([]orders.CartLine(nil), cart.Lines...)
	return cart, strconv.Itoa(c.version[userID]), nil
}

// Save implements orders.CartStore.
func (c *Carts) Save(_ context.Context, userID uuid.UUID, cart orders.Cart, etag string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if etag != strconv.Itoa(c.version[userID]) {
		return orders.ErrCartChanged
	}
	c.carts[userID] = cart
	c.version[userID]++
	c.Saves++
	return nil
}

// Delete implements orders.CartStore.
func (c *Carts) Delete(_ context.Context, userID uuid.UUID, etag string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if etag != "" && etag != strconv.Itoa(c.version[userID]) {
		return orders.ErrCartChanged
	}
	delete(c.carts, userID)
	c.version[userID]++
	return nil
}

// Catalog is an orders.Catalog over a fixed set of products that also
// reserves their stock, idempotently per order id, like products does.
type Catalog struct {
	mu           sync.Mutex
	products     map[uuid.UUID]orders.Product
	stock        map[uuid.UUID]int
	reservations map[uuid.UUID]orders.Reservation
	// Reserves counts reservations made (not replayed).
	Reserves int
}

// NewCatalog returns an empty catalog.
func NewCatalog() *Catalog {
	return &Catalog{products: map[uuid.UUID]orders.Product{}, stock: map[uuid.UUID]int{}, reservations: map[uuid.UUID]orders.Reservation{}}
}

// Add puts an active product with stock in the catalog and returns it.
func (c *Catalog) Add(name string, priceCents int64, stock int) orders.Product {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := orders.Product{ID: uuid.New(), Name: name, PriceCents: priceCents, Currency: "USD", Active: true}
	c.products[p.ID], c.stock[p.ID] = p, stock
	return p
}

// Reprice sets a product's price and currency.
func (c *Catalog) Reprice(id uuid.UUID, priceCents int64, currency string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.products[id]
	p.PriceCents, p.Currency = priceCents, currency
	c.products[id] = p
}

// Stock is the unreserved stock of a product.
func (c *Catalog) Stock(id uuid.UUID) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stock[id]
}

// Product implements orders.Catalog.
func (c *Catalog) Product(_ context.Context, id uuid.UUID) (orders.Product, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.products[id]
	if !ok {
		return orders.Product{}, orders.ErrUnknownProduct
	}
	return p, nil
}

// Reserve implements orders.Reserver.
func (c *Catalog) Reserve(_ context.Context, orderID uuid.UUID, lines []orders.Line) (orders.Reservation, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.reservations[orderID]; ok {
		return r, nil
	}
	var short []uuid.UUID
	for _, l := range lines {
		if _, ok := c.products[l.ProductID]; !ok || c.stock[l.ProductID] < l.Quantity {
			short = append(short, l.ProductID)
		}
	}
	if len(short) > 0 {
		return orders.Reservation{}, &orders.InsufficientStockError{ProductIDs: short}
	}
	r := orders.Reservation{Status: "reserved"}
	for _, l := range lines {
		p := c.products[l.ProductID]
		c.stock[l.ProductID] -= l.Quantity
		r.Lines = append(r.Lines, orders.ReservedLine{ProductID: p.ID, Name: p.Name, Quantity: l.Quantity, UnitPriceCents: p.PriceCents, Currency: p.Currency})
	}
	c.reservations[orderID] = r
	c.Reserves++
	return r, nil
}

// Release implements orders.Reserver: a held reservation gives its stock
// back and stays released, so reserving again answers it released.
func (c *Catalog) Release(_ context.Context, orderID uuid.UUID) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.reservations[orderID]
	if !ok || r.Status != "reserved" {
		return nil
	}
	for _, l := range r.Lines {
		c.stock[l.ProductID] += l.Quantity
	}
	r.Status = "released"
	c.reservations[orderID] = r
	return nil
}
