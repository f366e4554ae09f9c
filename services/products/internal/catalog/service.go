package catalog

import (
	"context"
	"errors"
	"log/slog"

	"github.com/google/uuid"
)

// Store keeps products, categories, stock and reservations.
type Store interface {
	// Get returns an active product or ErrNotFound.
	Get(ctx context.Context, id uuid.UUID) (Product, error)
	// List returns a page of active products matching q and how many match.
	List(ctx context.Context, q ListQuery) ([]Product, int, error)
	// Create adds a product with its opening stock, or returns
	// ErrDuplicateSKU or ErrUnknownCategory.
	Create(ctx context.Context, np NewProduct) (Product, error)
	// Update applies patch to an active product, or returns ErrNotFound,
	// ErrDuplicateSKU or ErrUnknownCategory.
	Update(ctx context.Context, id uuid.UUID, patch ProductPatch) (Product, error)
	// Delete hides an active product, or returns ErrNotFound.
	Delete(ctx context.Context, id uuid.UUID) error
	// Categories returns every category, ordered by name.
	Categories(ctx context.Context) ([]Category, error)
	// Category returns one category or ErrCategoryNotFound.
	Category(ctx context.Context, id uuid.UUID) (Category, error)
	// CreateCategory adds a category, or returns ErrDuplicateSlug or
	// ErrUnknownParent.
	CreateCategory(ctx context.Context, c Category) (Category, error)
	// UpdateCategory applies patch, or returns ErrCategoryNotFound,
	// ErrDuplicateSlug, ErrUnknownParent or ErrCategoryCycle.
	UpdateCategory(ctx context.Context, id uuid.UUID, patch CategoryPatch) (Category, error)
	// DeleteCategory removes an empty category, or returns
	// ErrCategoryNotFound or ErrCategoryInUse.
	DeleteCategory(ctx context.Context, id uuid.UUID) error
	// Stock returns a product's inventory, with what abandoned checkouts
	// hold of it, or ErrNotFound.
	Stock(ctx context.Context, id uuid.UUID) (Stock, error)
	// AbandonedHolds sums the stock held for abandoned checkouts.
	AbandonedHolds(ctx context.Context) (AbandonedHolds, error)
	// HeldReservations sums the stock every pending reservation holds.
	HeldReservations(ctx context.Context) (Holds, error)
	// Adjust changes on-hand stock and audits it, or returns ErrNotFound,
	// ErrBelowReserved or ErrAboveMaxStock.
	Adjust(ctx context.Context, a Adjustment) (Stock, error)
	// LowStock lists up to limit active products below their threshold,
	// the scarcest first.
	LowStock(ctx context.Context, limit int) ([]LowStock, error)
	// Reserve holds every line or none (an InsufficientStock error);
	// reserving again for an order returns its first reservation.
	Reserve(ctx context.Context, orderID uuid.UUID, lines []Line) (Reservation, error)
	// Release returns held stock to available; again is a no-op. It
	// returns ErrNoReservation or ErrCommitted.
	Release(ctx context.Context, orderID uuid.UUID) (Reservation, error)
	// SettleOnce commits (to Committed), releases (to Released) or
	// restocks (to Restocked: the committed units return on hand, each
	// product's adjustment audited with RestockReason) the reservation of
	// orderID in the transaction that records eventID as processed; an
	// event already recorded changes nothing. A settling error goes
	// through accept: when accept returns nil the event is recorded
	// without effect, otherwise nothing is and accept's error is returned.
	SettleOnce(ctx context.Context, eventID string, orderID uuid.UUID, to ReservationStatus, accept func(error) error) (Reservation, error)
	// MarkPlaced records that the checkout holding orderID's reservation
	// placed its order; again is a no-op. It returns ErrNoReservation.
	MarkPlaced(ctx context.Context, orderID uuid.UUID) error
}

// DefaultCurrency is a product's currency when it names none.
const DefaultCurrency = "USD"

// LowStockLimit keeps the low stock digest a mail a person reads.
const LowStockLimit = 500

// Service runs the catalog's use cases over a Store.
type Service struct {
	store Store
	log   *slog.Logger
}

// NewService returns a Service over store; log records the events
// acknowledged without effect.
func NewService(store Store, log *slog.Logger) *Service {
	return &Service{store: store, log: log}
}

// Product returns an active product or ErrNotFound.
func (s *Service) Product(ctx context.Context, id uuid.UUID) (Product, error) {
	return s.store.Get(ctx, id)
}

// Products returns a page of active products and how many match q.
func (s *Service) Products(ctx context.Context, q ListQuery) ([]Product, int, error) {
	return s.store.List(ctx, q)
}

// CreateProduct adds a product, priced in DefaultCurrency unless it names
// one. Errors as Store.Create.
func (s *Service) CreateProduct(ctx context.Context, np NewProduct) (Product, error) {
	if np.Currency == "" {
		np.Currency = DefaultCurrency
	}
	return s.store.Create(ctx, np)
}

// UpdateProduct changes an active product. Errors as Store.Update.
func (s *Service) UpdateProduct(ctx context.Context, id uuid.UUID, patch ProductPatch) (Product, error) {
	return s.store.Update(ctx, id, patch)
}

// DeleteProduct hides an active product, or returns ErrNotFound.
func (s *Service) DeleteProduct(ctx context.Context, id uuid.UUID) error {
	return s.store.Delete(ctx, id)
}

// CategoryTree returns the roots of the category tree.
func (s *Service) CategoryTree(ctx context.Context) ([]*Category, error) {
	flat, err := s.store.Categories(ctx)
	if err != nil {
		return nil, err
	}
	return Tree(flat), nil
}

// Category returns one category, without its children, or
// ErrCategoryNotFound.
func (s *Service) Category(ctx context.Context, id uuid.UUID) (Category, error) {
	return s.store.Category(ctx, id)
}

// CreateCategory adds a category. Errors as Store.CreateCategory.
func (s *Service) CreateCategory(ctx context.Context, c Category) (Category, error) {
	return s.store.CreateCategory(ctx, c)
}

// UpdateCategory renames or moves a category. Errors as
// Store.UpdateCategory.
func (s *Service) UpdateCategory(ctx context.Context, id uuid.UUID, patch CategoryPatch) (Category, error) {
	return s.store.UpdateCategory(ctx, id, patch)
}

// DeleteCategory removes an empty category. Errors as
// Store.DeleteCategory.
func (s *Service) DeleteCategory(ctx context.Context, id uuid.UUID) error {
	return s.store.DeleteCategory(ctx, id)
}

// Stock returns a product's inventory or ErrNotFound.
func (s *Service) Stock(ctx context.Context, id uuid.UUID) (Stock, error) {
	return s.store.Stock(ctx, id)
}

// AdjustStock changes a product's on-hand stock. Errors as Store.Adjust.
func (s *Service) AdjustStock(ctx context.Context, a Adjustment) (Stock, error) {
	return s.store.Adjust(ctx, a)
}

// LowStock lists up to LowStockLimit products below their threshold.
func (s *Service) LowStock(ctx context.Context) ([]LowStock, error) {
	return s.store.LowStock(ctx, LowStockLimit)
}

// Reserve holds stock for an order. Errors as Store.Reserve.
func (s *Service) Reserve(ctx context.Context, orderID uuid.UUID, lines []Line) (Reservation, error) {
	return s.store.Reserve(ctx, orderID, lines)
}

// Release returns an order's held stock. Errors as Store.Release.
func (s *Service) Release(ctx context.Context, orderID uuid.UUID) (Reservation, error) {
	return s.store.Release(ctx, orderID)
}

// OrderPaid commits the reservation of a paid order, once per event. An
// order without one (it reserved nothing, or was released first) has
// nothing to commit; that is logged and acknowledged, since redelivery
// cannot change it.
func (s *Service) OrderPaid(ctx context.Context, eventID string, orderID uuid.UUID) error {
	return s.settleOnce(ctx, eventID, orderID, Committed, ErrReleased, slog.LevelWarn, "paid order has no reservation to commit")
}

// OrderCancelled settles the reservation of a cancelled order, once per
// event. One cancelled before it was paid is released, so its stock is
// available again. One cancelled after it was paid (paid: its refund
// follows) is committed: its order.paid may not be applied yet, since
// events of different topics arrive in any order and a redelivered one
// later still, and releasing the held units would leave the refund nothing
// to restock (and no adjustment to record it); the order.paid that comes
// after finds it committed. A committed reservation stays committed: the
// units left the warehouse's free stock when the order was paid, and
// returning them is the refund's inventory adjustment.
func (s *Service) OrderCancelled(ctx context.Context, eventID string, orderID uuid.UUID, paid bool) error {
	if paid {
		return s.settleOnce(ctx, eventID, orderID, Committed, ErrReleased, slog.LevelWarn, "cancelled paid order has no reservation to commit")
	}
	return s.settleOnce(ctx, eventID, orderID, Released, ErrCommitted, slog.LevelInfo, "cancelled order has no reservation to release")
}

// OrderRefunded returns to stock, once per event, the units of a refunded
// order that was paid and cancelled before it shipped (restock): its
// committed reservation is restocked. An order without restock had its
// held stock released when it was cancelled, so nothing comes back. A
// reservation still held waits, by redelivery, for the order's payment
// to be committed first; one without a committed reservation (none, or
// released before the payment arrived) is logged and acknowledged.
func (s *Service) OrderRefunded(ctx context.Context, eventID string, orderID uuid.UUID, restock bool) error {
	if !restock {
		return nil
	}
	return s.settleOnce(ctx, eventID, orderID, Restocked, ErrReleased, slog.LevelWarn, "refunded order has no committed reservation to restock")
}

// OrderPlaced records that the checkout of orderID placed its order, so
// its reservation no longer counts as abandoned. It is idempotent by
// itself, so it records no event. An order without a reservation has no
// stock to tell apart; that is logged and acknowledged.
func (s *Service) OrderPlaced(ctx context.Context, orderID uuid.UUID) error {
	err := s.store.MarkPlaced(ctx, orderID)
	if errors.Is(err, ErrNoReservation) {
		s.log.WarnContext(ctx, "placed order has no reservation", "order_id", orderID)
		return nil
	}
	return err
}

// AbandonedHolds sums the stock held for checkouts that placed no order.
func (s *Service) AbandonedHolds(ctx context.Context) (AbandonedHolds, error) {
	return s.store.AbandonedHolds(ctx)
}

// HeldReservations sums the stock held by reservations awaiting their
// order's payment (or abandoned).
func (s *Service) HeldReservations(ctx context.Context) (Holds, error) {
	return s.store.HeldReservations(ctx)
}

// settleOnce settles to `to` for an event; no reservation, or one settled
// the other way (settledOtherwise), is logged at level and acknowledged.
func (s *Service) settleOnce(ctx context.Context, eventID string, orderID uuid.UUID, to ReservationStatus,
	settledOtherwise error, level slog.Level, msg string) error {
	_, err := s.store.SettleOnce(ctx, eventID, orderID, to, func(err error) error {
		if errors.Is(err, ErrNoReservation) || errors.Is(err, settledOtherwise) {
			s.log.Log(ctx, level, msg, "order_id", orderID, "err", err)
			return nil
		}
		return err
	})
	return err
}
