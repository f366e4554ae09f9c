package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/daprshop/daprshop/services/payments/internal/payments"
)

// lockOrder serialises recording an order's payment with recording its
// cancellation until the transaction ends: each checks for the other's
// row, which neither would see while both are uncommitted.
func lockOrder(ctx context.Context, tx pgx.Tx, orderID uuid.UUID) error {
	if _, err := tx.Exec(ctx, lockOrderQuery, orderID); err != nil {
		return fmt.Errorf("lock order %s: %w", orderID, err)
	}
	return nil
}

const lockOrderQuery = `SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))`

// paymentColumns read a payment with its order's cancellation, from
// payments p LEFT JOIN cancelled_orders c.
const paymentColumns = `p.id, p.order_id, p.user_id, p.payment_intent_id, p.status, p.amount_cents, p.refunded_cents,
	p.currency, c.order_id IS NOT NULL, coalesce(c.reason, ''), p.provider`

const fromPayments = ` FROM payments p LEFT JOIN cancelled_orders c ON c.order_id = p.order_id `

func scanPayment(row pgx.Row) (payments.Payment, error) {
	var p payments.Payment
	err := row.Scan(&p.ID, &p.OrderID, &p.UserID, &p.IntentID, &p.Status, &p.AmountCents, &p.RefundedCents,
		&p.Currency, &p.OrderCancelled, &p.CancelReason, &p.Provider)
	return p, err
}

// rowQuerier is a pool or a transaction.
type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

const paymentOfOrderQuery = `SELECT ` + paymentColumns + fromPayments + `WHERE p.order_id = $1`

// paymentOfOrder reads orderID's payment with its cancellation, or returns
// payments.ErrPaymentNotFound.
func paymentOfOrder(ctx context.Context, q rowQuerier, orderID uuid.UUID) (payments.Payment, error) {
	p, err := scanPayment(q.QueryRow(ctx, paymentOfOrderQuery, orderID))
	if errors.Is(err, pgx.ErrNoRows) {
		return payments.Payment{}, payments.ErrPaymentNotFound
	}
	return p, err
}

// PaymentOfIntent reads the payment of intentID with its order's
// cancellation, or returns payments.ErrUnknownIntent.
func (s *Store) PaymentOfIntent(ctx context.Context, intentID string) (payments.Payment, error) {
	p, err := scanPayment(s.pool.QueryRow(ctx, `SELECT `+paymentColumns+fromPayments+`WHERE p.payment_intent_id = $1`, intentID))
	if errors.Is(err, pgx.ErrNoRows) {
		return payments.Payment{}, payments.ErrUnknownIntent
	}
	if err != nil {
		return payments.Payment{}, fmt.Errorf("read payment of intent %s: %w", intentID, err)
	}
	return p, nil
}

// CancelOrder records that orderID was cancelled unpaid, once, and returns
// its payment, or payments.ErrPaymentNotFound.
func (s *Store) CancelOrder(ctx context.Context, orderID uuid.UUID, reason string) (payments.Payment, error) {
	var p payments.Payment
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockOrder(ctx, tx, orderID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO cancelled_orders (order_id, reason) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
			orderID, reason); err != nil {
			return err
		}
		var err error
		p, err = paymentOfOrder(ctx, tx, orderID)
		if errors.Is(err, payments.ErrPaymentNotFound) {
			return nil // the cancellation commits all the same
		}
		return err
	})
	if err == nil && p.ID == uuid.Nil {
		err = payments.ErrPaymentNotFound
	}
	if err != nil {
		return payments.Payment{}, fmt.Errorf("cancel payment of order %s: %w", orderID, err)
	}
	return p, nil
}

const orderCancelledQuery = `SELECT EXISTS (SELECT 1 FROM cancelled_orders WHERE order_id = $1)`
