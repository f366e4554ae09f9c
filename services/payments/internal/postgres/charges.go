package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/daprshop/daprshop/services/payments/internal/payments"
	"github.com/daprshop/daprshop/services/platform/outbox"
)

// RecordPayment records the payment of an order with payment.created, once
// per event id and once per order (a second order.created of the same
// order, under another event id, changes nothing either).
func (s *Store) RecordPayment(ctx context.Context, eventID string, p payments.Payment) (bool, error) {
	recorded := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
			ConsumerName, eventID)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		lines := p.Lines
		if lines == nil {
			lines = []payments.Line{}
		}
		tag, err = tx.Exec(ctx, `INSERT INTO payments
			(id, order_id, user_id, payment_intent_id, client_secret, status, amount_cents, currency, lines)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT DO NOTHING`,
			p.ID, p.OrderID, p.UserID, p.IntentID, p.ClientSecret, p.Status, p.AmountCents, p.Currency, lines)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		recorded = true
		_, err = outbox.Add(ctx, tx, payments.TopicPaymentCreated, payments.PaymentEvent{
			OrderID: p.OrderID, PaymentID: p.ID, UserID: p.UserID, PaymentIntentID: p.IntentID,
			ClientSecret: p.ClientSecret, Status: p.Status, AmountCents: p.AmountCents, Currency: p.Currency,
		})
		return err
	})
	if err != nil {
		return false, fmt.Errorf("record payment of order %s: %w", p.OrderID, err)
	}
	return recorded, nil
}

// Settle applies a verdict on intentID once per webhook event id: a
// pending or processing payment becomes succeeded or failed, with
// payment.succeeded or payment.failed. A verdict on a settled payment is
// recorded and ignored. Without a payment for intentID nothing is recorded
// and payments.ErrUnknownIntent is returned, so the webhook comes again.
// A success issues the invoice, its total split at taxBPS.
func (s *Store) Settle(ctx context.Context, eventID, eventType, intentID string, status payments.Status, failure string, taxBPS int) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO webhook_events (id, type) VALUES ($1, $2) ON CONFLICT DO NOTHING`, eventID, eventType)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		// One statement decides, under the row lock: a payment committed
		// between two separate reads would otherwise look settled already
		// and its verdict would be lost.
		var p payments.Payment
		err = tx.QueryRow(ctx, `SELECT id, order_id, user_id, amount_cents, currency, status
			FROM payments WHERE payment_intent_id = $1 FOR UPDATE`, intentID).
			Scan(&p.ID, &p.OrderID, &p.UserID, &p.AmountCents, &p.Currency, &p.Status)
		if errors.Is(err, pgx.ErrNoRows) {
			return payments.ErrUnknownIntent
		}
		if err != nil {
			return err
		}
		if p.Status.Final() {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE payments SET status = $2, failure_message = NULLIF($3, ''), updated_at = greatest(now(), created_at)
			WHERE id = $1`, p.ID, status, failure); err != nil {
			return err
		}
		evt := payments.PaymentEvent{OrderID: p.OrderID, PaymentID: p.ID, UserID: p.UserID, PaymentIntentID: intentID, Status: status}
		topic := payments.TopicPaymentSucceeded
		if status == payments.StatusSucceeded {
			evt.AmountCents, evt.Currency = p.AmountCents, p.Currency
			if err := issueInvoice(ctx, tx, p, taxBPS); err != nil {
				return err
			}
		} else {
			topic, evt.Reason = payments.TopicPaymentFailed, failure
		}
		_, err = outbox.Add(ctx, tx, topic, evt)
		return err
	})
	if err != nil {
		return fmt.Errorf("settle intent %s: %w", intentID, err)
	}
	return nil
}

type paymentRow struct {
	ID             uuid.UUID `db:"id"`
	OrderID        uuid.UUID `db:"order_id"`
	UserID         uuid.UUID `db:"user_id"`
	IntentID       string    `db:"payment_intent_id"`
	ClientSecret   string    `db:"client_secret"`
	Status         string    `db:"status"`
	AmountCents    int64     `db:"amount_cents"`
	RefundedCents  int64     `db:"refunded_cents"`
	Currency       string    `db:"currency"`
	FailureMessage *string   `db:"failure_message"`
	CreatedAt      time.Time `db:"created_at"`
	UpdatedAt      time.Time `db:"updated_at"`
}

type refundRow struct {
	ID          uuid.UUID `db:"id"`
	PaymentID   uuid.UUID `db:"payment_id"`
	AmountCents int64     `db:"amount_cents"`
	Currency    string    `db:"currency"`
	Status      string    `db:"status"`
	CreatedAt   time.Time `db:"created_at"`
}

// PaymentsOfOrder lists an order's payments with their refunds.
func (s *Store) PaymentsOfOrder(ctx context.Context, orderID uuid.UUID) ([]payments.Payment, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, order_id, user_id, payment_intent_id, client_secret, status, amount_cents,
			refunded_cents, currency, failure_message, created_at, updated_at
		FROM payments WHERE order_id = $1 ORDER BY created_at, id`, orderID)
	if err != nil {
		return nil, fmt.Errorf("list payments of order %s: %w", orderID, err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowToStructByName[paymentRow])
	if err != nil {
		return nil, fmt.Errorf("list payments of order %s: %w", orderID, err)
	}
	rows, err = s.pool.Query(ctx, `SELECT r.id, r.payment_id, r.amount_cents, r.currency, r.status, r.created_at
		FROM refunds r JOIN payments p ON p.id = r.payment_id
		WHERE p.order_id = $1 ORDER BY r.created_at, r.id`, orderID)
	if err != nil {
		return nil, fmt.Errorf("list refunds of order %s: %w", orderID, err)
	}
	refunds, err := pgx.CollectRows(rows, pgx.RowToStructByName[refundRow])
	if err != nil {
		return nil, fmt.Errorf("list refunds of order %s: %w", orderID, err)
	}
	out := make([]payments.Payment, len(found))
	for i, r := range found {
		out[i] = payments.Payment{
			ID: r.ID, OrderID: r.OrderID, UserID: r.UserID, IntentID: r.IntentID, ClientSecret: r.ClientSecret,
			Status: payments.Status(r.Status), AmountCents: r.AmountCents, RefundedCents: r.RefundedCents,
			Currency: r.Currency, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Refunds: []payments.Refund{},
		}
		if r.FailureMessage != nil {
			out[i].FailureMessage = *r.FailureMessage
		}
		for _, rf := range refunds {
			if rf.PaymentID == r.ID {
				out[i].Refunds = append(out[i].Refunds, payments.Refund{
					ID: rf.ID, PaymentID: rf.PaymentID, AmountCents: rf.AmountCents, Currency: rf.Currency, Status: rf.Status, CreatedAt: rf.CreatedAt,
				})
			}
		}
	}
	return out, nil
}

// ClaimUnsettled returns up to limit payments pending or processing and
// unchanged since before: those reconciliation looked at least recently
// first (never, first of all), then the oldest. It records at as their
// last look, so the next run starts with others; rows another run is
// claiming are skipped.
func (s *Store) ClaimUnsettled(ctx context.Context, before, at time.Time, limit int) ([]payments.Payment, error) {
	rows, err := s.pool.Query(ctx, `UPDATE payments SET reconciled_at = $3
		WHERE id IN (
			SELECT id FROM payments
			WHERE status IN ('pending', 'requires_action', 'processing') AND updated_at < $1
			ORDER BY reconciled_at NULLS FIRST, updated_at, id
			LIMIT $2
			FOR UPDATE SKIP LOCKED)
		RETURNING id, order_id, payment_intent_id, status`, before, limit, at)
	if err != nil {
		return nil, fmt.Errorf("claim unsettled payments: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (payments.Payment, error) {
		var p payments.Payment
		err := row.Scan(&p.ID, &p.OrderID, &p.IntentID, &p.Status)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("claim unsettled payments: %w", err)
	}
	return out, nil
}
