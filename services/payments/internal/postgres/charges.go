package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/daprshop/daprshop/services/payments/internal/payments"
	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/outbox"
)

// RecordPayment records the payment of an order with payment.created, once
// per event id and once per order (a second order.created of the same
// order, under another event id, changes nothing either), and returns the
// order's payment as stored. An order cancelled meanwhile gets its payment
// recorded, so that its intent can be cancelled, but no payment.created.
func (s *Store) RecordPayment(ctx context.Context, eventID string, p payments.Payment) (payments.Payment, error) {
	var stored payments.Payment
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockOrder(ctx, tx, p.OrderID); err != nil {
			return err
		}
		recorded, err := insertPayment(ctx, tx, eventID, p)
		if err != nil {
			return err
		}
		stored, err = scanPayment(tx.QueryRow(ctx, `SELECT `+paymentColumns+fromPayments+`WHERE p.order_id = $1`, p.OrderID))
		if err != nil || !recorded || stored.OrderCancelled {
			return err
		}
		_, err = outbox.Add(ctx, tx, payments.TopicPaymentCreated, contracts.PaymentCreatedV1{
			OrderID: p.OrderID, PaymentID: p.ID, UserID: p.UserID, PaymentIntentID: p.IntentID,
			ClientSecret: p.ClientSecret, Status: string(p.Status), AmountCents: p.AmountCents, Currency: p.Currency,
		})
		return err
	})
	if err != nil {
		return payments.Payment{}, fmt.Errorf("record payment of order %s: %w", p.OrderID, err)
	}
	return stored, nil
}

// insertPayment records eventID and inserts p, and reports whether both
// were new.
func insertPayment(ctx context.Context, tx pgx.Tx, eventID string, p payments.Payment) (bool, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
		ConsumerName, eventID)
	if err != nil || tag.RowsAffected() == 0 {
		return false, err
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
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

// Transition locks the payment of intentID and, once per webhook event
// id, applies the change decide returns: its status, its invoice and its
// events, in one transaction. A replayed event id changes nothing.
// Without a payment for intentID nothing is recorded and
// payments.ErrUnknownIntent is returned, so the webhook comes again. It
// returns the payment as it stands.
func (s *Store) Transition(ctx context.Context, intentID, eventID, eventType string, decide payments.Decide) (payments.Payment, error) {
	var p payments.Payment
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO webhook_events (id, type) VALUES ($1, $2) ON CONFLICT DO NOTHING`, eventID, eventType)
		if err != nil {
			return err
		}
		// The decision is made under the row lock: a payment committed
		// between two separate reads would otherwise look settled already
		// and its verdict would be lost.
		p, err = scanPayment(tx.QueryRow(ctx, `SELECT `+paymentColumns+fromPayments+`WHERE p.payment_intent_id = $1 FOR UPDATE OF p`, intentID))
		if errors.Is(err, pgx.ErrNoRows) {
			return payments.ErrUnknownIntent
		}
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		ch, err := decide(p)
		if err != nil {
			return err
		}
		return apply(ctx, tx, &p, ch)
	})
	if err != nil {
		return payments.Payment{}, fmt.Errorf("settle intent %s: %w", intentID, err)
	}
	return p, nil
}

// apply persists the change ch of payment p in tx.
func apply(ctx context.Context, tx pgx.Tx, p *payments.Payment, ch payments.Change) error {
	if ch.To != "" {
		if _, err := tx.Exec(ctx, `UPDATE payments SET status = $2, failure_message = NULLIF($3, ''), updated_at = greatest(now(), created_at)
			WHERE id = $1`, p.ID, ch.To, ch.Failure); err != nil {
			return err
		}
		p.Status = ch.To
	}
	if ch.Invoice != nil {
		number, err := issueInvoice(ctx, tx, p.ID, *ch.Invoice)
		if err != nil {
			return err
		}
		ch = ch.Invoiced(number)
	}
	for _, e := range ch.Events {
		if _, err := outbox.Add(ctx, tx, e.Topic, e.Payload); err != nil {
			return err
		}
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
	rows, err := s.pool.Query(ctx, `WITH claimed AS (
			UPDATE payments SET reconciled_at = $3
			WHERE id IN (
				SELECT id FROM payments
				WHERE status IN ('pending', 'requires_action', 'processing') AND updated_at < $1
				ORDER BY reconciled_at NULLS FIRST, updated_at, id
				LIMIT $2
				FOR UPDATE SKIP LOCKED)
			RETURNING *)
		SELECT `+paymentColumns+` FROM claimed p LEFT JOIN cancelled_orders c ON c.order_id = p.order_id`, before, limit, at)
	if err != nil {
		return nil, fmt.Errorf("claim unsettled payments: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (payments.Payment, error) { return scanPayment(row) })
	if err != nil {
		return nil, fmt.Errorf("claim unsettled payments: %w", err)
	}
	return out, nil
}
