package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/daprshop/daprshop/services/payments/internal/payments"
)

func scanRefund(row pgx.Row) (payments.Refund, error) {
	var r payments.Refund
	var requestHash, answered *string
	err := row.Scan(&r.ID, &r.PaymentID, &r.AmountCents, &r.Currency, &r.Status, &r.CreatedAt,
		&r.IntentID, &requestHash, &answered, &r.Provider)
	r.RequestHash, r.AnsweredStatus = deref(requestHash), deref(answered)
	return r, err
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// refundColumns are read from refunds r joined with their payment p.
const (
	refundColumns = `r.id, r.payment_id, r.amount_cents, r.currency, r.status, r.created_at,
		p.payment_intent_id, r.request_hash, r.answered_status, p.provider`
	fromRefunds = ` FROM refunds r JOIN payments p ON p.id = r.payment_id `
)

// selectRefund reads refund id with refundColumns.
const selectRefund = `SELECT ` + refundColumns + fromRefunds + `WHERE r.id = $1`

// ReserveRefund records a pending refund of the amount decide returns and
// raises the payment's refunded amount in one transaction; the CHECK on
// payments is the last guard against an over-refund.
func (s *Store) ReserveRefund(ctx context.Context, c payments.RefundClaim, decide payments.DecideRefund) (payments.Refund, bool, error) {
	var (
		r        payments.Refund
		reserved bool
	)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// The payment's row lock serialises the refunds of one payment,
		// retries of one key included.
		p, err := scanPayment(tx.QueryRow(ctx, `SELECT `+paymentColumns+fromPayments+`WHERE p.id = $1 FOR UPDATE OF p`, c.PaymentID))
		if errors.Is(err, pgx.ErrNoRows) {
			return payments.ErrPaymentNotFound
		}
		if err != nil {
			return err
		}
		// A retried request resumes its refund.
		r, err = scanRefund(tx.QueryRow(ctx, selectRefund+` AND r.payment_id = $2`, c.ID, c.PaymentID))
		if err == nil || !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		amountCents, err := decide(p)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE payments SET refunded_cents = refunded_cents + $2, updated_at = greatest(now(), created_at)
			WHERE id = $1`, c.PaymentID, amountCents); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO refunds (id, payment_id, amount_cents, currency, idempotency_key, request_hash)
			SELECT $1, id, $3, currency, NULLIF($4, ''), NULLIF($5, '') FROM payments WHERE id = $2`,
			c.ID, c.PaymentID, amountCents, c.Key, c.RequestHash); err != nil {
			return err
		}
		reserved = true
		r, err = scanRefund(tx.QueryRow(ctx, selectRefund, c.ID))
		return err
	})
	if err != nil {
		return payments.Refund{}, false, fmt.Errorf("reserve refund of payment %s: %w", c.PaymentID, err)
	}
	return r, reserved, nil
}

// CompleteRefund marks a pending refund succeeded and adds the events
// publish returns for it to the outbox; a decided refund is returned as it
// is.
func (s *Store) CompleteRefund(ctx context.Context, id uuid.UUID, providerID string, publish func(p payments.Payment, r payments.Refund, at time.Time) []payments.Event) (payments.Refund, error) {
	var r payments.Refund
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var at time.Time
		err := tx.QueryRow(ctx, `UPDATE refunds SET status = 'succeeded', stripe_refund_id = $2, updated_at = greatest(now(), created_at)
			WHERE id = $1 AND status = 'pending' RETURNING updated_at`, id, providerID).Scan(&at)
		completed := err == nil
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if r, err = scanRefund(tx.QueryRow(ctx, selectRefund, id)); err != nil || !completed {
			return err
		}
		p, err := scanPayment(tx.QueryRow(ctx, `SELECT `+paymentColumns+fromPayments+`WHERE p.id = $1`, r.PaymentID))
		if err != nil {
			return err
		}
		return addEvents(ctx, tx, publish(p, r, at))
	})
	if err != nil {
		return payments.Refund{}, fmt.Errorf("complete refund %s: %w", id, err)
	}
	return r, nil
}

// FailRefund marks a pending refund failed and gives its amount back.
func (s *Store) FailRefund(ctx context.Context, id uuid.UUID) error {
	_, err := s.pool.Exec(ctx, `WITH failed AS (
			UPDATE refunds SET status = 'failed', updated_at = greatest(now(), created_at)
			WHERE id = $1 AND status = 'pending' RETURNING payment_id, amount_cents)
		UPDATE payments p SET refunded_cents = p.refunded_cents - f.amount_cents
		FROM failed f WHERE p.id = f.payment_id`, id)
	if err != nil {
		return fmt.Errorf("fail refund %s: %w", id, err)
	}
	return nil
}

// SubmitRefund records the Stripe refund of a refund Stripe holds pending.
func (s *Store) SubmitRefund(ctx context.Context, id uuid.UUID, providerID string) (payments.Refund, error) {
	var r payments.Refund
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE refunds SET stripe_refund_id = $2, updated_at = greatest(now(), created_at)
			WHERE id = $1 AND status = 'pending' AND stripe_refund_id IS DISTINCT FROM $2`, id, providerID); err != nil {
			return err
		}
		var err error
		r, err = scanRefund(tx.QueryRow(ctx, selectRefund, id))
		return err
	})
	if err != nil {
		return payments.Refund{}, fmt.Errorf("record stripe refund of %s: %w", id, err)
	}
	return r, nil
}

// AnswerRefund records the answer to the request of refund id unless a
// concurrent retry recorded one first, and returns the refund as answered.
func (s *Store) AnswerRefund(ctx context.Context, id uuid.UUID, status string) (payments.Refund, error) {
	var r payments.Refund
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE refunds SET answered_status = $2 WHERE id = $1 AND answered_status IS NULL`, id, status)
		if err != nil {
			return err
		}
		if r, err = scanRefund(tx.QueryRow(ctx, selectRefund, id)); err != nil {
			return err
		}
		r.Status, r.Replayed = r.AnsweredStatus, tag.RowsAffected() == 0
		return nil
	})
	if err != nil {
		return payments.Refund{}, fmt.Errorf("answer refund %s: %w", id, err)
	}
	return r, nil
}

// ClaimPendingRefunds returns up to limit refunds pending and unchanged
// since before, and records at as their last look (see claimOldest).
func (s *Store) ClaimPendingRefunds(ctx context.Context, before, at time.Time, limit int) ([]payments.Refund, error) {
	out, err := claim(ctx, s.pool, claimOldest("refunds", `status = 'pending'`)+
		`SELECT `+refundColumns+` FROM claimed r JOIN payments p ON p.id = r.payment_id`, before, at, limit, scanRefund)
	if err != nil {
		return nil, fmt.Errorf("claim pending refunds: %w", err)
	}
	return out, nil
}

// PaymentOfOrder returns the order's payment, or
// payments.ErrPaymentNotFound.
func (s *Store) PaymentOfOrder(ctx context.Context, orderID uuid.UUID) (payments.Payment, error) {
	p, err := paymentOfOrder(ctx, s.pool, orderID)
	if err != nil {
		return payments.Payment{}, fmt.Errorf("read payment of order %s: %w", orderID, err)
	}
	return p, nil
}
