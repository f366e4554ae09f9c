// Package cache keeps products and the first list pages in a Dapr state
// store, in front of the catalog's database.
//
// Invalidation is by generation, so that no read starting after a write
// returned can see what the write replaced. Every cached value's key holds
// a generation token, read from a generation key first; a write deletes the
// generation keys of what it changed before it answers. A read that started
// earlier may still store what it loaded from the database, but under the
// old generation, where no later read looks. (Deleting the value itself
// would not do: that earlier read could put the old value back after the
// delete.) Values expire after ValueTTL whatever happens.
//
// Stock is part of a product (available), so reserving, releasing,
// restocking and adjusting stock invalidate the product and every list
// page too; committing a reservation leaves available unchanged and
// invalidates nothing.
package cache

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	dapr "github.com/dapr/go-sdk/client"
	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/products/internal/catalog"
)

// How long values and generation tokens live in the store.
const (
	ValueTTL      = 60 * time.Second
	GenerationTTL = 10 * time.Minute
)

// CachedPages is how many leading pages of a listing are cached.
const CachedPages = 3

// StateStore is the part of the Dapr client the cache uses.
type StateStore interface {
	GetState(ctx context.Context, storeName, key string, meta map[string]string) (*dapr.StateItem, error)
	SaveState(ctx context.Context, storeName, key string, data []byte, meta map[string]string, so ...dapr.StateOption) error
	DeleteBulkState(ctx context.Context, storeName string, keys []string, meta map[string]string) error
}

// Catalog is a catalog.Store with cached reads and invalidating writes.
// Methods it does not override go straight to the Store.
type Catalog struct {
	catalog.Store
	states    StateStore
	storeName string
	log       *slog.Logger
}

// New caches store in the state store named storeName; an empty name turns
// caching off (every call goes to store), for comparing the two.
func New(store catalog.Store, states StateStore, storeName string, log *slog.Logger) *Catalog {
	return &Catalog{Store: store, states: states, storeName: storeName, log: log}
}

const listGeneration = "gen|list"

func productGeneration(id uuid.UUID) string { return "gen|product|" + id.String() }

func ttl(d time.Duration) map[string]string {
	return map[string]string{"ttlInSeconds": strconv.Itoa(int(d.Seconds()))}
}

// generation returns the current token of a generation key, starting a new
// one when there is none. ok is false when the state store cannot be used:
// the caller then reads the database without caching.
func (c *Catalog) generation(ctx context.Context, key string) (token string, ok bool) {
	if c.storeName == "" {
		return "", false
	}
	item, err := c.states.GetState(ctx, c.storeName, key, nil)
	if err != nil {
		c.log.WarnContext(ctx, "cache unavailable", "key", key, "err", err)
		return "", false
	}
	if item != nil && len(item.Value) > 0 {
		return string(item.Value), true
	}
	token = uuid.NewString()
	if err := c.states.SaveState(ctx, c.storeName, key, []byte(token), ttl(GenerationTTL)); err != nil {
		c.log.WarnContext(ctx, "cache unavailable", "key", key, "err", err)
		return "", false
	}
	return token, true
}

// load fills v from key, reporting a hit.
func (c *Catalog) load(ctx context.Context, key string, v any) bool {
	item, err := c.states.GetState(ctx, c.storeName, key, nil)
	if err != nil {
		c.log.WarnContext(ctx, "cache unavailable", "key", key, "err", err)
		return false
	}
	if item == nil || len(item.Value) == 0 {
		return false
	}
	if err := json.Unmarshal(item.Value, v); err != nil {
		c.log.WarnContext(ctx, "unreadable cache entry", "key", key, "err", err)
		return false
	}
	return true
}

// save stores v under key; a failure only costs a later miss.
func (c *Catalog) save(ctx context.Context, key string, v any) {
	b, err := json.Marshal(v)
	if err == nil {
		err = c.states.SaveState(ctx, c.storeName, key, b, ttl(ValueTTL))
	}
	if err != nil {
		c.log.WarnContext(ctx, "cache write failed", "key", key, "err", err)
	}
}

// Get returns an active product, from the cache when it holds it.
func (c *Catalog) Get(ctx context.Context, id uuid.UUID) (catalog.Product, error) {
	gen, ok := c.generation(ctx, productGeneration(id))
	if !ok {
		return c.Store.Get(ctx, id)
	}
	key := "product|" + id.String() + "|" + gen
	var p catalog.Product
	if c.load(ctx, key, &p) {
		return p, nil
	}
	p, err := c.Store.Get(ctx, id)
	if err != nil {
		return catalog.Product{}, err
	}
	c.save(ctx, key, p)
	return p, nil
}

type cachedPage struct {
	Products []catalog.Product `json:"products"`
	Total    int               `json:"total"`
}

// List returns a page of products; the first CachedPages pages of any
// listing are cached.
func (c *Catalog) List(ctx context.Context, q catalog.ListQuery) ([]catalog.Product, int, error) {
	if q.Limit <= 0 || q.Offset >= CachedPages*q.Limit {
		return c.Store.List(ctx, q)
	}
	gen, ok := c.generation(ctx, listGeneration)
	if !ok {
		return c.Store.List(ctx, q)
	}
	key := "list|" + gen + "|" + listKey(q)
	var page cachedPage
	if c.load(ctx, key, &page) {
		return page.Products, page.Total, nil
	}
	products, total, err := c.Store.List(ctx, q)
	if err != nil {
		return nil, 0, err
	}
	c.save(ctx, key, cachedPage{Products: products, Total: total})
	return products, total, nil
}

// listKey names a listing by every field that changes its result.
func listKey(q catalog.ListQuery) string {
	var b strings.Builder
	fmt.Fprintf(&b, "q=%q|sort=%s|stock=%t|off=%d|lim=%d", q.Text, q.EffectiveSort(), q.InStock, q.Offset, q.Limit)
	if q.Category != nil {
		fmt.Fprintf(&b, "|cat=%s", q.Category)
	}
	if q.CategorySlug != "" {
		fmt.Fprintf(&b, "|slug=%q", q.CategorySlug)
	}
	if q.MinPrice != nil {
		fmt.Fprintf(&b, "|min=%d", *q.MinPrice)
	}
	if q.MaxPrice != nil {
		fmt.Fprintf(&b, "|max=%d", *q.MaxPrice)
	}
	return b.String()
}

// Invalidate starts new generations for every list page and for the given
// products, so reads from now on miss what is cached for them.
func (c *Catalog) Invalidate(ctx context.Context, productIDs ...uuid.UUID) error {
	if c.storeName == "" {
		return nil
	}
	keys := []string{listGeneration}
	for _, id := range productIDs {
		keys = append(keys, productGeneration(id))
	}
	if err := c.states.DeleteBulkState(ctx, c.storeName, keys, nil); err != nil {
		return fmt.Errorf("invalidate cache: %w", err)
	}
	return nil
}

// Create adds a product; it appears in list pages at once.
func (c *Catalog) Create(ctx context.Context, np catalog.NewProduct) (catalog.Product, error) {
	p, err := c.Store.Create(ctx, np)
	if err != nil {
		return catalog.Product{}, err
	}
	return p, c.Invalidate(ctx, p.ID)
}

// Update changes a product and invalidates it before returning.
func (c *Catalog) Update(ctx context.Context, id uuid.UUID, patch catalog.ProductPatch) (catalog.Product, error) {
	p, err := c.Store.Update(ctx, id, patch)
	if err != nil {
		return catalog.Product{}, err
	}
	return p, c.Invalidate(ctx, id)
}

// Delete hides a product and invalidates it before returning.
func (c *Catalog) Delete(ctx context.Context, id uuid.UUID) error {
	if err := c.Store.Delete(ctx, id); err != nil {
		return err
	}
	return c.Invalidate(ctx, id)
}

// UpdateCategory may move a sub-tree, which changes category listings.
func (c *Catalog) UpdateCategory(ctx context.Context, id uuid.UUID, patch catalog.CategoryPatch) (catalog.Category, error) {
	cat, err := c.Store.UpdateCategory(ctx, id, patch)
	if err != nil {
		return catalog.Category{}, err
	}
	return cat, c.Invalidate(ctx)
}

// Adjust changes stock, hence available, of one product.
func (c *Catalog) Adjust(ctx context.Context, a catalog.Adjustment) (catalog.Stock, error) {
	st, err := c.Store.Adjust(ctx, a)
	if err != nil {
		return catalog.Stock{}, err
	}
	return st, c.Invalidate(ctx, a.ProductID)
}

// Reserve holds stock; a replayed reservation invalidates again, which
// also covers a first attempt whose invalidation failed.
func (c *Catalog) Reserve(ctx context.Context, orderID uuid.UUID, lines []catalog.Line) (catalog.Reservation, error) {
	res, err := c.Store.Reserve(ctx, orderID, lines)
	if err != nil {
		return catalog.Reservation{}, err
	}
	return res, c.Invalidate(ctx, res.ProductIDs()...)
}

// Release returns held stock to available.
func (c *Catalog) Release(ctx context.Context, orderID uuid.UUID) (catalog.Reservation, error) {
	res, err := c.Store.Release(ctx, orderID)
	if err != nil {
		return catalog.Reservation{}, err
	}
	return res, c.Invalidate(ctx, res.ProductIDs()...)
}

// SettleOnce invalidates what a release or a restock returned to
// available, after it committed, so no read can cache the stock from
// before it.
func (c *Catalog) SettleOnce(ctx context.Context, eventID string, orderID uuid.UUID, to catalog.ReservationStatus,
	accept func(error) error) (catalog.Reservation, error) {
	res, err := c.Store.SettleOnce(ctx, eventID, orderID, to, accept)
	if err != nil || to == catalog.Committed || len(res.Lines) == 0 {
		return res, err
	}
	return res, c.Invalidate(ctx, res.ProductIDs()...)
}
