package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daprshop/daprshop/services/orders/internal/orders"
	"github.com/daprshop/daprshop/services/platform/events"
	"github.com/daprshop/daprshop/services/platform/outbox"
	"github.com/daprshop/daprshop/services/platform/purge"
)

// querier is a pool or a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

const (
	selectOrder = `SELECT id, user_id, status, total_cents, currency, created_at, shipping_address,
			payment_status, payment_id, payment_intent_id, client_secret, payment_provider, approval_url
		FROM orders WHERE id = $1`
	selectOrderLocked = selectOrder + ` FOR UPDATE`
	selectItems       = `SELECT product_id, name, quantity, unit_price_cents
		FROM order_items WHERE order_id = $1 ORDER BY product_id`
	selectHistory = `SELECT status, at FROM order_status_history WHERE order_id = $1 ORDER BY at, status`
)

// getDetail reads order id with its items and history; with lock, the
// order row stays locked until the transaction ends.
func getDetail(ctx context.Context, q querier, id uuid.UUID, lock bool) (orders.Detail, error) {
	query := selectOrder
	if lock {
		query = selectOrderLocked
	}
	// One round trip, and one implicit transaction outside a caller's.
	b := &pgx.Batch{}
	b.Queue(query, id)
	b.Queue(selectItems, id)
	b.Queue(selectHistory, id)
	br := q.SendBatch(ctx, b)
	defer br.Close()
	var d orders.Detail
	var status string
	var payStatus, intentID, secret, approvalURL *string
	err := br.QueryRow().Scan(&d.ID, &d.UserID, &status, &d.TotalCents, &d.Currency, &d.CreatedAt,
		&d.ShippingAddress, &payStatus, &d.Payment.PaymentID, &intentID, &secret, &d.PaymentProvider, &approvalURL)
	if errors.Is(err, pgx.ErrNoRows) {
		return orders.Detail{}, orders.ErrNotFound
	}
	if err != nil {
		return orders.Detail{}, fmt.Errorf("read order %s: %w", id, err)
	}
	d.Status, d.CreatedAt = orders.Status(status), d.CreatedAt.UTC()
	d.Payment.Status, d.Payment.PaymentIntentID, d.Payment.ClientSecret = deref(payStatus), deref(intentID), deref(secret)
	d.Payment.ApprovalURL = deref(approvalURL)
	rows, _ := br.Query()
	d.Items, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (orders.Item, error) {
		var it orders.Item
		return it, r.Scan(&it.ProductID, &it.Name, &it.Quantity, &it.UnitPriceCents)
	})
	if err != nil {
		return orders.Detail{}, fmt.Errorf("read items of order %s: %w", id, err)
	}
	rows, _ = br.Query()
	d.History, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (orders.HistoryEntry, error) {
		var h orders.HistoryEntry
		var st string
		err := r.Scan(&st, &h.At)
		h.Status, h.At = orders.Status(st), h.At.UTC()
		return h, err
	})
	if err != nil {
		return orders.Detail{}, fmt.Errorf("read history of order %s: %w", id, err)
	}
	return d, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Get returns order id with its items, payment and history, or
// orders.ErrNotFound.
func (s *Store) Get(ctx context.Context, id uuid.UUID) (orders.Detail, error) {
	return getDetail(ctx, s.pool, id, false)
}

// Transition applies decide's change to order id in one transaction.
func (s *Store) Transition(ctx context.Context, id uuid.UUID, decide orders.Decide) (orders.Detail, error) {
	var d orders.Detail
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		d, err = transition(ctx, tx, id, decide)
		return err
	})
	return d, err
}

// TransitionOnce applies decide's change to order id in the transaction
// that records eventID as processed by ConsumerName; an event recorded
// before changes nothing and reports applied false.
func (s *Store) TransitionOnce(ctx context.Context, eventID string, id uuid.UUID, decide orders.Decide) (orders.Detail, bool, error) {
	var d orders.Detail
	applied := false
	err := events.Once(ctx, s.pool, ConsumerName, events.Event{ID: eventID}, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		d, err = transition(ctx, tx, id, decide)
		applied = err == nil
		return err
	})
	return d, applied, err
}

// transition locks order id in tx, asks decide what to do and applies the
// change: the new state with its history entry, the payment news and the
// events, all in tx.
func transition(ctx context.Context, tx pgx.Tx, id uuid.UUID, decide orders.Decide) (orders.Detail, error) {
	d, err := getDetail(ctx, tx, id, true)
	if err != nil {
		return orders.Detail{}, err
	}
	ch, err := decide(d)
	if err != nil {
		return orders.Detail{}, err
	}
	// The payment news and the move go in one round trip.
	b := &pgx.Batch{}
	if p := ch.Payment; p != nil {
		b.Queue(`UPDATE orders SET payment_status = $2, payment_id = $3,
				payment_intent_id = NULLIF($4, ''), client_secret = NULLIF($5, ''), approval_url = NULLIF($6, '')
			WHERE id = $1`, id, p.Status, p.PaymentID, p.PaymentIntentID, p.ClientSecret, p.ApprovalURL)
	}
	if ch.To != "" {
		b.Queue(moveOrder, id, string(ch.To))
	}
	if err := applyChange(ctx, tx, b, &d, ch); err != nil {
		return orders.Detail{}, err
	}
	if err := addEvents(ctx, tx, ch.Events); err != nil {
		return orders.Detail{}, err
	}
	return d, nil
}

// moveOrder moves order $1 to status $2 and records the move in its
// history, returning when.
const moveOrder = `WITH moved AS (
		UPDATE orders SET status = $2, updated_at = greatest(now(), created_at) WHERE id = $1 RETURNING updated_at)
	INSERT INTO order_status_history (order_id, status, at) SELECT $1, $2, updated_at FROM moved RETURNING at`

// applyChange sends b, the statements transition queued for ch, and
// applies ch to d.
func applyChange(ctx context.Context, tx pgx.Tx, b *pgx.Batch, d *orders.Detail, ch orders.Change) error {
	if b.Len() == 0 {
		return nil
	}
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	if p := ch.Payment; p != nil {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("record payment of order %s: %w", d.ID, err)
		}
		d.Payment = *p
	}
	if ch.To != "" {
		var at time.Time
		if err := br.QueryRow().Scan(&at); err != nil {
			return fmt.Errorf("move order %s to %s: %w", d.ID, ch.To, err)
		}
		d.Status = ch.To
		d.History = append(d.History, orders.HistoryEntry{Status: ch.To, At: at.UTC()})
	}
	return br.Close()
}

func addEvents(ctx context.Context, tx pgx.Tx, evs []orders.Event) error {
	for _, e := range evs {
		if _, err := outbox.Add(ctx, tx, e.Topic, e.Payload); err != nil {
			return err
		}
	}
	return nil
}

// ClaimCheckout records c unless its (user, key) was claimed before, and
// returns the claim on record, New when this call made it. The insert
// waits for a concurrent claim of the same key to commit, so the read
// after it always finds a row.
func (s *Store) ClaimCheckout(ctx context.Context, c orders.CheckoutClaim) (orders.CheckoutClaim, error) {
	// One round trip; the read is a statement of its own, so it sees the
	// concurrent claim the insert waited for.
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO checkout_requests (user_id, idempotency_key, request_hash, order_id)
		VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, idempotency_key) DO NOTHING RETURNING true`,
		c.UserID, c.Key, c.RequestHash, c.OrderID)
	b.Queue(`SELECT request_hash, order_id FROM checkout_requests
		WHERE user_id = $1 AND idempotency_key = $2`, c.UserID, c.Key)
	br := s.pool.SendBatch(ctx, b)
	defer br.Close()
	got := orders.CheckoutClaim{UserID: c.UserID, Key: c.Key}
	if err := br.QueryRow().Scan(&got.New); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return orders.CheckoutClaim{}, fmt.Errorf("claim checkout: %w", err)
	}
	if err := br.QueryRow().Scan(&got.RequestHash, &got.OrderID); err != nil {
		return orders.CheckoutClaim{}, fmt.Errorf("read checkout claim: %w", err)
	}
	return got, br.Close()
}

// RunCheckout replays the claim's recorded outcome, or runs place and
// records its outcome (see orders.Store). place runs outside any
// transaction, so no connection is held while it calls products; its
// effects are idempotent per order id, so when a concurrent duplicate
// records first, this one's outcome is dropped for the recorded one.
func (s *Store) RunCheckout(ctx context.Context, c orders.CheckoutClaim, place func(ctx context.Context) (orders.CheckoutOutcome, error)) (orders.CheckoutOutcome, error) {
	// One round trip for what nearly every checkout finds: no outcome,
	// no order.
	var recorded []byte
	var placed bool
	if err := s.pool.QueryRow(ctx, selectOutcome+`, EXISTS (SELECT 1 FROM orders WHERE id = $3)`+fromClaims,
		c.UserID, c.Key, c.OrderID).Scan(&recorded, &placed); err != nil {
		return orders.CheckoutOutcome{}, fmt.Errorf("read checkout claim: %w", err)
	}
	if recorded != nil {
		return decodeOutcome(recorded)
	}
	// A key whose claim was purged (SpentIdempotencyKeys) still names the
	// order it placed: replay that order rather than place it again.
	if placed {
		d, err := s.Get(ctx, c.OrderID)
		if err != nil {
			return orders.CheckoutOutcome{}, err
		}
		return orders.CheckoutOutcome{Order: &d, Replayed: true}, nil
	}
	out, err := place(ctx)
	if err != nil {
		return orders.CheckoutOutcome{}, err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		recorded, done, err := recordedOutcome(ctx, tx, c)
		if err != nil || done {
			out = recorded
			return err
		}
		if out.Order != nil {
			if err := insertOrder(ctx, tx, *out.Order, c.Key); err != nil {
				return err
			}
			if err := addEvents(ctx, tx, out.Events); err != nil {
				return err
			}
		}
		result, err := json.Marshal(out)
		if err != nil {
			return fmt.Errorf("encode checkout outcome: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE checkout_requests SET result = $3, completed_at = now()
			WHERE user_id = $1 AND idempotency_key = $2`, c.UserID, c.Key, result); err != nil {
			return fmt.Errorf("record checkout outcome: %w", err)
		}
		return nil
	})
	return out, err
}

const (
	selectOutcome       = `SELECT result`
	fromClaims          = ` FROM checkout_requests WHERE user_id = $1 AND idempotency_key = $2`
	selectOutcomeLocked = selectOutcome + fromClaims + ` FOR UPDATE`
)

// recordedOutcome returns the claim's recorded outcome, marked Replayed,
// and whether there is one; the claim stays locked until tx ends, so two
// duplicates cannot both record.
func recordedOutcome(ctx context.Context, tx pgx.Tx, c orders.CheckoutClaim) (orders.CheckoutOutcome, bool, error) {
	var recorded []byte
	if err := tx.QueryRow(ctx, selectOutcomeLocked, c.UserID, c.Key).Scan(&recorded); err != nil {
		return orders.CheckoutOutcome{}, false, fmt.Errorf("read checkout claim: %w", err)
	}
	if recorded == nil {
		return orders.CheckoutOutcome{}, false, nil
	}
	out, err := decodeOutcome(recorded)
	return out, err == nil, err
}

// decodeOutcome reads a recorded outcome, marked Replayed.
func decodeOutcome(recorded []byte) (orders.CheckoutOutcome, error) {
	var out orders.CheckoutOutcome
	if err := json.Unmarshal(recorded, &out); err != nil {
		return orders.CheckoutOutcome{}, fmt.Errorf("decode recorded checkout: %w", err)
	}
	out.Replayed = true
	return out, nil
}

// insertOrder inserts d with its items and history in one round trip.
func insertOrder(ctx context.Context, tx pgx.Tx, d orders.Detail, key string) error {
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO orders
		(id, user_id, status, total_cents, currency, shipping_address, idempotency_key, created_at, updated_at, payment_provider)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)`,
		d.ID, d.UserID, string(d.Status), d.TotalCents, d.Currency, d.ShippingAddress, key, d.CreatedAt, d.PaymentProvider)
	ids, names, qtys, prices := make([]uuid.UUID, len(d.Items)), make([]string, len(d.Items)), make([]int, len(d.Items)), make([]int64, len(d.Items))
	for i, it := range d.Items {
		ids[i], names[i], qtys[i], prices[i] = it.ProductID, it.Name, it.Quantity, it.UnitPriceCents
	}
	b.Queue(`INSERT INTO order_items (order_id, product_id, name, quantity, unit_price_cents)
		SELECT $1, * FROM unnest($2::uuid[], $3::text[], $4::int[], $5::bigint[])`,
		d.ID, ids, names, qtys, prices)
	statuses, ats := make([]string, len(d.History)), make([]time.Time, len(d.History))
	for i, h := range d.History {
		statuses[i], ats[i] = string(h.Status), h.At
	}
	b.Queue(`INSERT INTO order_status_history (order_id, status, at)
		SELECT $1, * FROM unnest($2::text[], $3::timestamptz[])`, d.ID, statuses, ats)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("insert order %s: %w", d.ID, err)
	}
	return nil
}

// PendingBefore lists up to limit orders awaiting payment since before
// cutoff, oldest first.
func (s *Store) PendingBefore(ctx context.Context, cutoff time.Time, limit int) ([]uuid.UUID, error) {
	rows, _ := s.pool.Query(ctx, `SELECT id FROM orders
		WHERE status = 'pending_payment' AND created_at < $1
		ORDER BY created_at, id LIMIT $2`, cutoff, limit)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("list unpaid orders: %w", err)
	}
	return ids, nil
}

// SpentIdempotencyKeys purges the checkout claims completed longer than
// retention ago. A client retrying with such a key later gets the order it
// placed (RunCheckout finds it by id), or a fresh attempt if it placed none.
func SpentIdempotencyKeys(pool *pgxpool.Pool, retention time.Duration) purge.Task {
	return purge.Older(pool, "checkout_requests", "completed_at", retention)
}

// SweepAbandonedCheckouts implements orders.Store. Each claim is taken
// with SKIP LOCKED in its own transaction, so a retry recording its
// outcome is never swept, and a retry that recorded nothing yet finds its
// claim gone when it tries (RunCheckout then fails and inserts nothing).
func (s *Store) SweepAbandonedCheckouts(ctx context.Context, cutoff time.Time, limit int, release func(ctx context.Context, orderID uuid.UUID) error) (int, error) {
	for swept := 0; swept < limit; swept++ {
		found := false
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			var c orders.CheckoutClaim
			err := tx.QueryRow(ctx, `SELECT user_id, idempotency_key, order_id FROM checkout_requests
				WHERE completed_at IS NULL AND created_at < $1
				ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED`, cutoff).Scan(&c.UserID, &c.Key, &c.OrderID)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("find abandoned checkout: %w", err)
			}
			found = true
			if err := release(ctx, c.OrderID); err != nil {
				return fmt.Errorf("release stock of abandoned order %s: %w", c.OrderID, err)
			}
			_, err = tx.Exec(ctx, `DELETE FROM checkout_requests WHERE user_id = $1 AND idempotency_key = $2`, c.UserID, c.Key)
			return err
		})
		if err != nil || !found {
			return swept, err
		}
	}
	return limit, nil
}
