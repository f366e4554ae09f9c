package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/daprshop/daprshop/services/payments/internal/payments"
	"github.com/daprshop/daprshop/services/platform/outbox"
)

func scanRefund(row pgx.Row) (payments.Refund, error) {
	var r payments.Refund
	err := row.Scan(&r.ID, &r.PaymentID, &r.AmountCents, &r.Currency, &r.Status, &r.CreatedAt)
	return r, err
}

const refundColumns = `id, payment_id, amount_cents, currency, status, created_at`

// ReserveRefund records a pending refund and raises the payment's
// refunded amount in one transaction; the CHECK on payments is the last
// guard against an over-refund.
func (s *Store) ReserveRefund(ctx context.Context, id, paymentID uuid.UUID, amountCents int64) (payments.Refund, string, error) {
	var (
		r        payments.Refund
		intentID string
	)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var status string
		var amount, refunded int64
		err := tx.QueryRow(ctx, `SELECT status, amount_cents, refunded_cents, payment_intent_id
			FROM payments WHERE id = $1 FOR UPDATE`, paymentID).Scan(&status, &amount, &refunded, &intentID)
		if errors.Is(err, pgx.ErrNoRows) {
			return payments.ErrPaymentNotFound
		}
		if err != nil {
			return err
		}
		// A redelivered request resumes its refund.
		r, err = scanRefund(tx.QueryRow(ctx, `SELECT `+refundColumns+` FROM refunds WHERE id = $1 AND payment_id = $2`, id, paymentID))
		if err == nil || !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if status != string(payments.StatusSucceeded) {
			return payments.ErrNotRefundable
		}
		if amountCents == 0 {
			amountCents = amount - refunded
		}
		if amountCents <= 0 || refunded+amountCents > amount {
			return payments.ErrOverRefund
		}
		if _, err := tx.Exec(ctx, `UPDATE payments SET refunded_cents = refunded_cents + $2, updated_at = greatest(now(), created_at)
			WHERE id = $1`, paymentID, amountCents); err != nil {
			return err
		}
		r, err = scanRefund(tx.QueryRow(ctx, `INSERT INTO refunds (id, payment_id, amount_cents, currency)
			SELECT $1, id, $3, currency FROM payments WHERE id = $2
			RETURNING `+refundColumns, id, paymentID, amountCents))
		return err
	})
	if err != nil {
		return payments.Refund{}, "", fmt.Errorf("reserve refund of payment %s: %w", paymentID, err)
	}
	return r, intentID, nil
}

// CompleteRefund marks a pending refund succeeded and adds
// payment.refunded to the outbox.
func (s *Store) CompleteRefund(ctx context.Context, id uuid.UUID, providerID string) (payments.Refund, error) {
	var r payments.Refund
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		r, err = scanRefund(tx.QueryRow(ctx, `UPDATE refunds SET status = 'succeeded', stripe_refund_id = $2, updated_at = greatest(now(), created_at)
			WHERE id = $1 AND status = 'pending' RETURNING `+refundColumns, id, providerID))
		if errors.Is(err, pgx.ErrNoRows) {
			r, err = scanRefund(tx.QueryRow(ctx, `SELECT `+refundColumns+` FROM refunds WHERE id = $1`, id))
			return err
		}
		if err != nil {
			return err
		}
		evt := payments.PaymentEvent{PaymentID: r.PaymentID, AmountCents: r.AmountCents, Currency: r.Currency, Status: payments.RefundSucceeded}
		if err := tx.QueryRow(ctx, `SELECT p.order_id, p.user_id, p.payment_intent_id, r.updated_at
			FROM refunds r JOIN payments p ON p.id = r.payment_id WHERE r.id = $1`, id).
			Scan(&evt.OrderID, &evt.UserID, &evt.PaymentIntentID, &evt.RefundedAt); err != nil {
			return err
		}
		_, err = outbox.Add(ctx, tx, payments.TopicPaymentRefunded, evt)
		return err
	})
	if err != nil {
		return payments.Refund{}, fmt.Errorf("complete refund %s: %w", id, err)
	}
	return r, nil
}

// FailRefund marks a pending refund failed and gives its amount back.
func (s *Store) FailRefund(ctx context.Context, id uuid.UUID) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `WITH failed AS (
				UPDATE refunds SET status = 'failed', updated_at = greatest(now(), created_at)
				WHERE id = $1 AND status = 'pending' RETURNING payment_id, amount_cents)
			UPDATE payments p SET refunded_cents = p.refunded_cents - f.amount_cents
			FROM failed f WHERE p.id = f.payment_id`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("fail refund %s: %w", id, err)
	}
	return nil
}

// PaymentOfOrder returns the succeeded payment of an order, or
// payments.ErrPaymentNotFound.
func (s *Store) PaymentOfOrder(ctx context.Context, orderID uuid.UUID) (payments.Payment, error) {
	var p payments.Payment
	err := s.pool.QueryRow(ctx, `SELECT id, status FROM payments WHERE order_id = $1`, orderID).Scan(&p.ID, &p.Status)
	if errors.Is(err, pgx.ErrNoRows) {
		return payments.Payment{}, payments.ErrPaymentNotFound
	}
	if err != nil {
		return payments.Payment{}, fmt.Errorf("read payment of order %s: %w", orderID, err)
	}
	p.OrderID = orderID
	return p, nil
}
