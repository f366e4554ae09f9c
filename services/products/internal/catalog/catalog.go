// Package catalog holds the product catalog's types and rules: products,
// the category tree, stock levels and the reservations orders hold on them.
package catalog

import (
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/platform/apperr"
)

// Errors the catalog returns; each carries the kind its HTTP status comes from.
var (
	ErrNotFound         = apperr.New(apperr.NotFound, "product not found")
	ErrCategoryNotFound = apperr.New(apperr.NotFound, "category not found")
	ErrDuplicateSKU     = &apperr.Error{Kind: apperr.Conflict, Code: "duplicate_sku", Message: "a product with this sku exists"}
	ErrDuplicateSlug    = &apperr.Error{Kind: apperr.Conflict, Code: "duplicate_slug", Message: "a category with this slug exists"}
	ErrCategoryInUse    = &apperr.Error{Kind: apperr.Conflict, Code: "category_not_empty", Message: "the category still has products or sub-categories"}
	ErrUnknownCategory  = apperr.Validation(apperr.FieldError{Field: "category_id", Message: "names no category"})
	ErrUnknownParent    = apperr.Validation(apperr.FieldError{Field: "parent_id", Message: "names no category"})
	ErrCategoryCycle    = apperr.Validation(apperr.FieldError{Field: "parent_id", Message: "would make the category its own ancestor"})
	ErrBelowReserved    = &apperr.Error{Kind: apperr.Conflict, Code: "below_reserved", Message: "on hand stock cannot go below the reserved quantity"}
	ErrAboveMaxStock    = &apperr.Error{Kind: apperr.Conflict, Code: "above_max_stock", Message: "on hand stock cannot exceed 2147483647 units"}
	ErrNoReservation    = apperr.New(apperr.NotFound, "reservation not found")
	ErrReleased         = &apperr.Error{Kind: apperr.Conflict, Code: "reservation_released", Message: "the reservation was released"}
	ErrCommitted        = &apperr.Error{Kind: apperr.Conflict, Code: "reservation_committed", Message: "the reservation was committed"}
	// ErrNotCommitted refuses to restock a reservation still held: its
	// order's payment has not reached the catalog yet.
	ErrNotCommitted = &apperr.Error{Kind: apperr.Conflict, Code: "reservation_not_committed", Message: "the reservation was not committed"}
)

// MaxOnHand is the most stock one product can hold (a PostgreSQL integer).
const MaxOnHand = 1<<31 - 1

// CodeInsufficientStock is the problem code of a refused reservation.
const CodeInsufficientStock = "insufficient_stock"

// InsufficientStock is the error of a reservation that cannot be met in
// full; productIDs lists the lines short of stock (or not for sale).
func InsufficientStock(productIDs []uuid.UUID) error {
	return &apperr.Error{
		Kind: apperr.Conflict, Code: CodeInsufficientStock, Message: "not enough stock for some products",
		Extra: map[string]any{"product_ids": productIDs},
	}
}

// Product is a sellable item with its current stock.
type Product struct {
	ID                uuid.UUID
	SKU               string
	Name              string
	Description       string
	PriceCents        int64
	Currency          string
	CategoryID        *uuid.UUID
	Available         int // on hand minus reserved
	LowStockThreshold int
	Active            bool
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// NewProduct is a product to create, with its opening stock.
type NewProduct struct {
	SKU               string
	Name              string
	Description       string
	PriceCents        int64
	Currency          string
	CategoryID        *uuid.UUID
	InitialStock      int
	LowStockThreshold int
}

// ProductPatch changes the fields that are set. SetCategory with a nil
// CategoryID makes the product uncategorised.
type ProductPatch struct {
	SKU               *string
	Name              *string
	Description       *string
	PriceCents        *int64
	Currency          *string
	SetCategory       bool
	CategoryID        *uuid.UUID
	LowStockThreshold *int
}

// Category is a node of the category tree.
type Category struct {
	ID       uuid.UUID
	Slug     string
	Name     string
	ParentID *uuid.UUID
	Children []*Category
}

// CategoryPatch changes the fields that are set; SetParent with a nil
// ParentID makes the category a root.
type CategoryPatch struct {
	Slug      *string
	Name      *string
	SetParent bool
	ParentID  *uuid.UUID
}

// Sort orders a product listing.
type Sort string

// The listing orders of the public API. Every order breaks ties on id, so
// pages never overlap or skip.
const (
	SortRelevance Sort = "relevance"
	SortPrice     Sort = "price"
	SortPriceDesc Sort = "-price"
	SortName      Sort = "name"
	SortNewest    Sort = "-created_at"
)

// Sorts lists the valid orders.
var Sorts = []Sort{SortRelevance, SortPrice, SortPriceDesc, SortName, SortNewest}

// ValidSort reports whether s is one of Sorts.
func ValidSort(s Sort) bool { return slices.Contains(Sorts, s) }

// ListQuery selects a page of active products. Zero values filter nothing.
type ListQuery struct {
	Text     string     // full-text, typo tolerant
	Category *uuid.UUID // this category and its sub-categories
	// CategorySlug names the category when Category is nil.
	CategorySlug string
	MinPrice     *int64
	MaxPrice     *int64
	InStock      bool
	Sort         Sort // default: relevance with Text, newest first without
	Offset       int
	Limit        int
}

// EffectiveSort is the order the listing uses: relevance means nothing
// without search text, so it falls back to newest first.
func (q ListQuery) EffectiveSort() Sort {
	switch {
	case q.Sort == "" && q.Text != "":
		return SortRelevance
	case q.Sort == "", q.Sort == SortRelevance && q.Text == "":
		return SortNewest
	default:
		return q.Sort
	}
}

// Stock is a product's inventory.
type Stock struct {
	ProductID         uuid.UUID
	OnHand            int
	Reserved          int
	LowStockThreshold int
	// HeldByAbandonedCheckouts is the part of Reserved held for checkouts
	// that placed no order (see AbandonedAfter).
	HeldByAbandonedCheckouts int
}

// AbandonedAfter is how long a reservation may wait for its order before
// its checkout counts as abandoned. A checkout places its order within its
// request's deadline (the gateway's is 15 seconds) and order.created tells
// the catalog moments later, so a reservation still without its order
// after a minute was made by a checkout that died half-way. Orders gives
// the stock of such checkouts back 15 minutes after they began.
const AbandonedAfter = time.Minute

// AbandonedHolds is the stock held for abandoned checkouts, over every
// product.
type AbandonedHolds struct {
	Checkouts int // reservations
	Units     int
}

// Holds is the stock held by reservations that are neither committed nor
// released yet, over every product.
type Holds struct {
	Reservations int
	Units        int
}

// Available is the stock that can still be reserved.
func (s Stock) Available() int { return s.OnHand - s.Reserved }

// LowStock is a product whose available stock is below its threshold.
type LowStock struct {
	ProductID uuid.UUID
	SKU       string
	Name      string
	Available int
	Threshold int
}

// Adjustment changes a product's on-hand stock, with the reason audited.
type Adjustment struct {
	ProductID uuid.UUID
	Delta     int
	Reason    string
	ActorID   string
}

// ReservationStatus is where a reservation is in its life.
type ReservationStatus string

// A reservation is held, then either committed (the order was paid: the
// stock leaves) or released (the order was cancelled: the stock returns
// to available). A committed one is restocked when its order was
// cancelled and refunded before it shipped: the units come back on hand.
const (
	Reserved  ReservationStatus = "reserved"
	Committed ReservationStatus = "committed"
	Released  ReservationStatus = "released"
	Restocked ReservationStatus = "restocked"
)

// Settles decides moving r to status to (Committed, Released or
// Restocked): done when r is there already, or past it (a restocked
// reservation was committed), so that settling again is a no-op. It
// returns ErrReleased when r was released instead, ErrCommitted when a
// committed r is to be released, and ErrNotCommitted when a held r is to
// be restocked.
func (r Reservation) Settles(to ReservationStatus) (done bool, err error) {
	switch {
	case r.Status == to, r.Status == Restocked && to == Committed:
		return true, nil
	case r.Status == Released:
		return false, ErrReleased
	case r.Status == Reserved && to == Restocked:
		return false, ErrNotCommitted
	case r.Status == Reserved, r.Status == Committed && to == Restocked:
		return false, nil
	}
	return false, ErrCommitted
}

// RestockReason is the reason recorded with the stock adjustment that
// returns the units of a refunded order.
func RestockReason(orderID uuid.UUID) string {
	return "order " + orderID.String() + " refunded before it shipped"
}

// RestockActor is who the stock adjustments returning the units of
// refunded orders are recorded as made by: the orders service, whose
// order.refunded asked for them.
const RestockActor = "orders"

// Line asks for quantity units of a product.
type Line struct {
	ProductID uuid.UUID
	Quantity  int
}

// ReservedLine is a held line, priced when it was reserved.
type ReservedLine struct {
	ProductID      uuid.UUID
	Name           string
	Quantity       int
	UnitPriceCents int64
	Currency       string
}

// Reservation is the stock held for one order.
type Reservation struct {
	OrderID uuid.UUID
	Status  ReservationStatus
	Lines   []ReservedLine
}

// MergeLines sums the quantities of repeated products and sorts the lines
// by product id: rows are then always locked in the same order, so
// concurrent reservations cannot deadlock.
func MergeLines(lines []Line) []Line {
	sum := map[uuid.UUID]int{}
	for _, l := range lines {
		sum[l.ProductID] += l.Quantity
	}
	merged := make([]Line, 0, len(sum))
	for id, q := range sum {
		merged = append(merged, Line{ProductID: id, Quantity: q})
	}
	slices.SortFunc(merged, func(a, b Line) int { return slices.Compare(a.ProductID[:], b.ProductID[:]) })
	return merged
}

// CrossedBelow reports whether available stock fell below threshold with
// this change: the moment inventory.low_stock is due, once per crossing.
func CrossedBelow(before, after, threshold int) bool {
	return threshold > 0 && before >= threshold && after < threshold
}

// Tree links flat categories into trees and returns the roots, keeping the
// input order among siblings. A category whose parent is missing is a root.
func Tree(flat []Category) []*Category {
	nodes := make(map[uuid.UUID]*Category, len(flat))
	for i := range flat {
		c := flat[i]
		c.Children = []*Category{}
		nodes[c.ID] = &c
	}
	roots := []*Category{}
	for i := range flat {
		n := nodes[flat[i].ID]
		if n.ParentID != nil {
			if parent, ok := nodes[*n.ParentID]; ok {
				parent.Children = append(parent.Children, n)
				continue
			}
		}
		roots = append(roots, n)
	}
	return roots
}

// ProductIDs lists the products the reservation holds.
func (r Reservation) ProductIDs() []uuid.UUID {
	ids := make([]uuid.UUID, len(r.Lines))
	for i, l := range r.Lines {
		ids[i] = l.ProductID
	}
	return ids
}
