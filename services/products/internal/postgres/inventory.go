package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/events"
	"github.com/daprshop/daprshop/services/platform/outbox"
	"github.com/daprshop/daprshop/services/products/internal/catalog"
)

// newReservationEvent is the payload of inventory.released and
// inventory.restocked for r. Holding stock announces nothing: no service
// consumes it, and the order.created that follows says the same.
func newReservationEvent(r catalog.Reservation) contracts.InventoryReservationV1 {
	e := contracts.InventoryReservationV1{OrderID: r.OrderID, Lines: make([]contracts.InventoryLineV1, len(r.Lines))}
	for i, l := range r.Lines {
		e.Lines[i] = contracts.InventoryLineV1{ProductID: l.ProductID, Quantity: l.Quantity}
	}
	return e
}

// abandonedCheckout selects, as r, the reservations held for checkouts
// that placed no order within $1 (catalog.AbandonedAfter).
const abandonedCheckout = `r.status = 'reserved' AND r.placed_at IS NULL AND r.created_at < now() - $1::interval`

// heldByAbandonedCheckouts sums what the abandoned checkouts hold of
// inventory row i.
const heldByAbandonedCheckouts = `(SELECT coalesce(sum(l.quantity), 0)
	FROM reservations r JOIN reservation_lines l ON l.order_id = r.order_id
	WHERE l.product_id = i.product_id AND ` + abandonedCheckout + `)`

// Stock returns a product's inventory, deleted products included, or
// catalog.ErrNotFound.
func (s *Store) Stock(ctx context.Context, id uuid.UUID) (catalog.Stock, error) {
	st := catalog.Stock{ProductID: id}
	err := s.pool.QueryRow(ctx, `SELECT i.on_hand, i.reserved, i.low_stock_threshold, `+heldByAbandonedCheckouts+`
		FROM inventory i WHERE i.product_id = $2`, catalog.AbandonedAfter, id).
		Scan(&st.OnHand, &st.Reserved, &st.LowStockThreshold, &st.HeldByAbandonedCheckouts)
	if errors.Is(err, pgx.ErrNoRows) {
		return catalog.Stock{}, catalog.ErrNotFound
	}
	if err != nil {
		return catalog.Stock{}, fmt.Errorf("get stock of %s: %w", id, err)
	}
	return st, nil
}

// AbandonedHolds sums the stock held for checkouts that placed no order
// within catalog.AbandonedAfter.
func (s *Store) AbandonedHolds(ctx context.Context) (catalog.AbandonedHolds, error) {
	var h catalog.AbandonedHolds
	err := s.pool.QueryRow(ctx, `SELECT count(DISTINCT r.order_id), coalesce(sum(l.quantity), 0)
		FROM reservations r JOIN reservation_lines l ON l.order_id = r.order_id
		WHERE `+abandonedCheckout, catalog.AbandonedAfter).Scan(&h.Checkouts, &h.Units)
	if err != nil {
		return catalog.AbandonedHolds{}, fmt.Errorf("sum abandoned holds: %w", err)
	}
	return h, nil
}

// HeldReservations sums the reservations still holding stock and their
// units.
func (s *Store) HeldReservations(ctx context.Context) (catalog.Holds, error) {
	var h catalog.Holds
	err := s.pool.QueryRow(ctx, `SELECT count(DISTINCT r.order_id), coalesce(sum(l.quantity), 0)
		FROM reservations r JOIN reservation_lines l ON l.order_id = r.order_id
		WHERE r.status = 'reserved'`).Scan(&h.Reservations, &h.Units)
	if err != nil {
		return catalog.Holds{}, fmt.Errorf("sum held reservations: %w", err)
	}
	return h, nil
}

// MarkPlaced records that the checkout of orderID placed its order; the
// first time counts. It returns catalog.ErrNoReservation for an order
// without a reservation.
func (s *Store) MarkPlaced(ctx context.Context, orderID uuid.UUID) error {
	tag, err := s.pool.Exec(ctx, `UPDATE reservations SET placed_at = coalesce(placed_at, now()) WHERE order_id = $1`, orderID)
	if err != nil {
		return fmt.Errorf("mark order %s placed: %w", orderID, err)
	}
	if tag.RowsAffected() == 0 {
		return catalog.ErrNoReservation
	}
	return nil
}

// LowStock lists up to limit active products whose available stock is
// below their threshold (0: no alert), the scarcest first.
func (s *Store) LowStock(ctx context.Context, limit int) ([]catalog.LowStock, error) {
	rows, _ := s.pool.Query(ctx, `SELECT p.id, p.sku, p.name, i.on_hand - i.reserved, i.low_stock_threshold
		FROM inventory i JOIN products p ON p.id = i.product_id
		WHERE p.active AND i.on_hand - i.reserved < i.low_stock_threshold
		ORDER BY i.on_hand - i.reserved, p.sku LIMIT $1`, limit)
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (catalog.LowStock, error) {
		var l catalog.LowStock
		err := row.Scan(&l.ProductID, &l.SKU, &l.Name, &l.Available, &l.Threshold)
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("list low stock: %w", err)
	}
	return items, nil
}

// Adjust changes on-hand stock by a.Delta and records the adjustment. It
// returns catalog.ErrBelowReserved when on hand would fall below what is
// reserved, catalog.ErrAboveMaxStock when it would pass catalog.MaxOnHand,
// and catalog.ErrNotFound for an unknown product.
func (s *Store) Adjust(ctx context.Context, a catalog.Adjustment) (catalog.Stock, error) {
	st := catalog.Stock{ProductID: a.ProductID}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var sku, name string
		// on_hand + delta >= reserved also keeps on_hand from going negative;
		// the sum is taken in bigint so that passing the column's ceiling is
		// a refusal, not an integer overflow.
		err := tx.QueryRow(ctx, `UPDATE inventory i SET on_hand = i.on_hand + $2
			FROM products p WHERE i.product_id = $1 AND p.id = i.product_id
			AND i.on_hand::bigint + $2 BETWEEN i.reserved AND $3
			RETURNING i.on_hand, i.reserved, i.low_stock_threshold, p.sku, p.name`, a.ProductID, a.Delta, catalog.MaxOnHand).
			Scan(&st.OnHand, &st.Reserved, &st.LowStockThreshold, &sku, &name)
		if errors.Is(err, pgx.ErrNoRows) {
			if _, err := s.Stock(ctx, a.ProductID); err != nil {
				return err
			}
			// on_hand never starts below reserved, so only a cut can fall
			// below it and only a rise can pass the ceiling.
			if a.Delta > 0 {
				return catalog.ErrAboveMaxStock
			}
			return catalog.ErrBelowReserved
		}
		if err != nil {
			return err
		}
		if err := audit(ctx, tx, a, st.OnHand); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT `+heldByAbandonedCheckouts+` FROM inventory i WHERE i.product_id = $2`,
			catalog.AbandonedAfter, a.ProductID).Scan(&st.HeldByAbandonedCheckouts); err != nil {
			return err
		}
		if catalog.CrossedBelow(st.Available()-a.Delta, st.Available(), st.LowStockThreshold) {
			return addLowStock(ctx, tx, contracts.LowStockV1{
				ProductID: a.ProductID, SKU: sku, Name: name, Available: st.Available(), Threshold: st.LowStockThreshold,
			})
		}
		return nil
	})
	if err != nil {
		return catalog.Stock{}, fmt.Errorf("adjust stock of %s by %d: %w", a.ProductID, a.Delta, err)
	}
	return st, nil
}

// audit records adjustment a, which left onHandAfter units on hand.
func audit(ctx context.Context, tx pgx.Tx, a catalog.Adjustment, onHandAfter int) error {
	_, err := tx.Exec(ctx, `INSERT INTO inventory_adjustments (id, product_id, delta, reason, actor_id, on_hand_after)
		VALUES ($1, $2, $3, $4, $5, $6)`, uuid.New(), a.ProductID, a.Delta, a.Reason, a.ActorID, onHandAfter)
	return err
}

func addLowStock(ctx context.Context, tx pgx.Tx, e contracts.LowStockV1) error {
	_, err := outbox.Add(ctx, tx, contracts.TopicInventoryLowStock, e)
	return err
}

// reserveLine holds quantity of an active product if that much is
// available. The WHERE clause is the guard: under any concurrency a row is
// only updated while it still has the stock.
const reserveLine = `UPDATE inventory i SET reserved = i.reserved + $2
	FROM products p
	WHERE i.product_id = $1 AND p.id = i.product_id AND p.active AND i.on_hand - i.reserved >= $2
	RETURNING p.name, p.sku, p.price_cents, p.currency, i.on_hand - i.reserved, i.low_stock_threshold`

// Reserve holds stock for every line of an order, or for none: when any
// line is short (or its product is not for sale) it returns a
// catalog.InsufficientStock error listing those products and holds
// nothing. Reserving again for the same order returns the first
// reservation unchanged, whatever the lines.
func (s *Store) Reserve(ctx context.Context, orderID uuid.UUID, lines []catalog.Line) (catalog.Reservation, error) {
	var res catalog.Reservation
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// A concurrent retry of the same order waits here for the first
		// attempt to commit or roll back.
		tag, err := tx.Exec(ctx, `INSERT INTO reservations (order_id, status) VALUES ($1, 'reserved') ON CONFLICT DO NOTHING`, orderID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			res, err = reservation(ctx, tx, orderID, false)
			return err
		}
		res = catalog.Reservation{OrderID: orderID, Status: catalog.Reserved}
		var short []uuid.UUID
		var lowStock []contracts.LowStockV1
		for _, l := range catalog.MergeLines(lines) {
			rl := catalog.ReservedLine{ProductID: l.ProductID, Quantity: l.Quantity}
			var sku string
			var available, threshold int
			err := tx.QueryRow(ctx, reserveLine, l.ProductID, l.Quantity).
				Scan(&rl.Name, &sku, &rl.UnitPriceCents, &rl.Currency, &available, &threshold)
			if errors.Is(err, pgx.ErrNoRows) {
				short = append(short, l.ProductID)
				continue
			}
			if err != nil {
				return err
			}
			if catalog.CrossedBelow(available+l.Quantity, available, threshold) {
				lowStock = append(lowStock, contracts.LowStockV1{
					ProductID: l.ProductID, SKU: sku, Name: rl.Name, Available: available, Threshold: threshold,
				})
			}
			res.Lines = append(res.Lines, rl)
		}
		if len(short) > 0 {
			return catalog.InsufficientStock(short)
		}
		for _, l := range res.Lines {
			if _, err := tx.Exec(ctx, `INSERT INTO reservation_lines (order_id, product_id, quantity, unit_price_cents, currency)
				VALUES ($1, $2, $3, $4, $5)`, orderID, l.ProductID, l.Quantity, l.UnitPriceCents, l.Currency); err != nil {
				return err
			}
		}
		for _, e := range lowStock {
			if err := addLowStock(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return catalog.Reservation{}, fmt.Errorf("reserve stock for order %s: %w", orderID, err)
	}
	return res, nil
}

func reservation(ctx context.Context, tx pgx.Tx, orderID uuid.UUID, lock bool) (catalog.Reservation, error) {
	res := catalog.Reservation{OrderID: orderID}
	query := `SELECT status FROM reservations WHERE order_id = $1`
	if lock {
		query += ` FOR UPDATE`
	}
	err := tx.QueryRow(ctx, query, orderID).Scan(&res.Status)
	if errors.Is(err, pgx.ErrNoRows) {
		return catalog.Reservation{}, catalog.ErrNoReservation
	}
	if err != nil {
		return catalog.Reservation{}, err
	}
	rows, err := tx.Query(ctx, `SELECT l.product_id, p.name, l.quantity, l.unit_price_cents, l.currency
		FROM reservation_lines l JOIN products p ON p.id = l.product_id
		WHERE l.order_id = $1 ORDER BY l.product_id`, orderID)
	if err != nil {
		return catalog.Reservation{}, err
	}
	res.Lines, err = pgx.CollectRows(rows, pgx.RowToStructByPos[catalog.ReservedLine])
	return res, err
}

var settleVerb = map[catalog.ReservationStatus]string{catalog.Committed: "commit", catalog.Released: "release", catalog.Restocked: "restock"}

// settledTopic is the event a reservation settled to a status publishes.
var settledTopic = map[catalog.ReservationStatus]string{
	catalog.Released:  contracts.TopicInventoryReleased,
	catalog.Restocked: contracts.TopicInventoryRestocked,
}

// settleLine moves one line of order orderID's reservation to status to.
func settleLine(ctx context.Context, tx pgx.Tx, orderID uuid.UUID, to catalog.ReservationStatus, l catalog.ReservedLine) error {
	switch to {
	case catalog.Committed:
		_, err := tx.Exec(ctx, `UPDATE inventory SET on_hand = on_hand - $2, reserved = reserved - $2 WHERE product_id = $1`, l.ProductID, l.Quantity)
		return err
	case catalog.Released:
		_, err := tx.Exec(ctx, `UPDATE inventory SET reserved = reserved - $2 WHERE product_id = $1`, l.ProductID, l.Quantity)
		return err
	}
	var onHand int
	if err := tx.QueryRow(ctx, `UPDATE inventory SET on_hand = on_hand + $2 WHERE product_id = $1 RETURNING on_hand`,
		l.ProductID, l.Quantity).Scan(&onHand); err != nil {
		return err
	}
	return audit(ctx, tx, catalog.Adjustment{
		ProductID: l.ProductID, Delta: l.Quantity, Reason: catalog.RestockReason(orderID), ActorID: catalog.RestockActor,
	}, onHand)
}

func settle(ctx context.Context, tx pgx.Tx, orderID uuid.UUID, to catalog.ReservationStatus) (catalog.Reservation, error) {
	// The row lock makes concurrent settlements of one order (a commit and
	// a release, or two restocks) take turns, so only one applies.
	res, err := reservation(ctx, tx, orderID, true)
	if err != nil {
		return catalog.Reservation{}, fmt.Errorf("%s reservation of order %s: %w", settleVerb[to], orderID, err)
	}
	done, err := res.Settles(to)
	if err != nil {
		return catalog.Reservation{}, fmt.Errorf("%s reservation of order %s: %w", settleVerb[to], orderID, err)
	}
	if done {
		return res, nil
	}
	for _, l := range res.Lines { // in product id order, like Reserve
		if err := settleLine(ctx, tx, orderID, to, l); err != nil {
			return catalog.Reservation{}, fmt.Errorf("%s reservation of order %s: %w", settleVerb[to], orderID, err)
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE reservations SET status = $2, updated_at = now() WHERE order_id = $1`, orderID, to); err != nil {
		return catalog.Reservation{}, fmt.Errorf("%s reservation of order %s: %w", settleVerb[to], orderID, err)
	}
	if topic, ok := settledTopic[to]; ok {
		if _, err := outbox.Add(ctx, tx, topic, newReservationEvent(res)); err != nil {
			return catalog.Reservation{}, err
		}
	}
	res.Status = to
	return res, nil
}

// Release returns an order's held stock to available. Releasing again is
// a no-op; it returns catalog.ErrCommitted for a committed reservation and
// catalog.ErrNoReservation for an unknown order.
func (s *Store) Release(ctx context.Context, orderID uuid.UUID) (catalog.Reservation, error) {
	return s.settleInTx(ctx, orderID, catalog.Released)
}

func (s *Store) settleInTx(ctx context.Context, orderID uuid.UUID, to catalog.ReservationStatus) (catalog.Reservation, error) {
	var res catalog.Reservation
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		res, err = settle(ctx, tx, orderID, to)
		return err
	})
	return res, err
}

// SettleOnce is a commit, Release or a restock (to) in the transaction that
// records eventID as processed by ConsumerName; an event already recorded
// changes nothing. A settling error is recorded as the event's outcome
// when accept turns it into nil.
func (s *Store) SettleOnce(ctx context.Context, eventID string, orderID uuid.UUID, to catalog.ReservationStatus,
	accept func(error) error) (catalog.Reservation, error) {
	var res catalog.Reservation
	err := events.Once(ctx, s.pool, ConsumerName, events.Event{ID: eventID}, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		if res, err = settle(ctx, tx, orderID, to); err != nil {
			return accept(err)
		}
		return nil
	})
	return res, err
}
