package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/trace"

	"github.com/daprshop/daprshop/services/payments/internal/payments"
	"github.com/daprshop/daprshop/services/platform/outbox"
	"github.com/daprshop/daprshop/services/platform/telemetry"
)

// RecordPayment locks the order of orderID and, once per event id,
// records what decide makes of the order's payment as stored and of its
// cancellation: the new payment and its events, in one transaction. A
// replayed event id changes nothing. It returns the order's payment as
// it stands, or payments.ErrPaymentNotFound.
func (s *Store) RecordPayment(ctx context.Context, orderID uuid.UUID, eventID string, decide payments.DecideCharge) (payments.Payment, error) {
	var p payments.Payment
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		recorded, cancelled, stored, err := startCharge(ctx, tx, orderID, eventID)
		if err != nil {
			return err
		}
		if recorded {
			rec := decide(stored, cancelled)
			if rec.Payment != nil {
				if err := insertPayment(ctx, tx, *rec.Payment); err != nil {
					return err
				}
				// As paymentOfOrder reads it back; a cancelled order's
				// payment is read back, with its cancellation's reason.
				np := *rec.Payment
				np.OrderCancelled = cancelled
				if stored = &np; cancelled {
					if np, err = paymentOfOrder(ctx, tx, orderID); err != nil {
						return err
					}
				}
			}
			if err := addEvents(ctx, tx, rec.Events); err != nil {
				return err
			}
		}
		if stored == nil {
			return payments.ErrPaymentNotFound
		}
		p = *stored
		return nil
	})
	if err != nil {
		return payments.Payment{}, fmt.Errorf("record payment of order %s: %w", orderID, err)
	}
	return p, nil
}

// startCharge locks orderID in tx, records eventID as processed and
// reads, after the lock, the order's cancellation and its payment as
// stored (nil when none), all in one round trip. recorded is false for an
// event recorded before.
func startCharge(ctx context.Context, tx pgx.Tx, orderID uuid.UUID, eventID string) (recorded, cancelled bool, stored *payments.Payment, err error) {
	b := &pgx.Batch{}
	b.Queue(lockOrderQuery, orderID).Exec(func(pgconn.CommandTag) error { return nil })
	b.Queue(`INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, ConsumerName, eventID).
		Exec(func(tag pgconn.CommandTag) error {
			recorded = tag.RowsAffected() == 1
			return nil
		})
	b.Queue(orderCancelledQuery, orderID).QueryRow(func(row pgx.Row) error { return row.Scan(&cancelled) })
	b.Queue(paymentOfOrderQuery, orderID).QueryRow(func(row pgx.Row) error {
		p, err := scanPayment(row)
		switch {
		case err == nil:
			stored = &p
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		return nil
	})
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return false, false, nil, fmt.Errorf("lock and read order %s: %w", orderID, err)
	}
	return recorded, cancelled, stored, nil
}

func insertPayment(ctx context.Context, tx pgx.Tx, p payments.Payment) error {
	lines := p.Lines
	if lines == nil {
		lines = []payments.Line{}
	}
	_, err := tx.Exec(ctx, `INSERT INTO payments
		(id, order_id, user_id, payment_intent_id, client_secret, status, amount_cents, currency, lines, traceparent, provider, approval_url)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, coalesce(NULLIF($11, ''), 'stripe'), $12)`,
		p.ID, p.OrderID, p.UserID, p.IntentID, p.ClientSecret, p.Status, p.AmountCents, p.Currency, lines, telemetry.Traceparent(ctx),
		p.Provider, p.ApprovalURL)
	return err
}

// addEvents adds events to the outbox in tx.
func addEvents(ctx context.Context, tx pgx.Tx, events []payments.Event) error {
	for _, e := range events {
		if _, err := outbox.Add(ctx, tx, e.Topic, e.Payload); err != nil {
			return err
		}
	}
	return nil
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
		// The payment is locked first, and everything after reads it under
		// that lock: the decision (a payment committed between two separate
		// reads would otherwise look settled already and its verdict would
		// be lost) and the trace it is settled in. The webhook usually
		// arrives while the payment's transaction is still open: read apart,
		// the trace context could be missed and the payment still found.
		var tp string
		err := tx.QueryRow(ctx, `SELECT traceparent FROM payments WHERE payment_intent_id = $1 FOR UPDATE`, intentID).Scan(&tp)
		if errors.Is(err, pgx.ErrNoRows) {
			return payments.ErrUnknownIntent
		}
		if err != nil {
			return err
		}
		// The verdict, and the events it publishes, belong to the trace of
		// the checkout that created the payment (linked to this one).
		ctx, span := telemetry.Continue(ctx, tp, "settle payment", trace.SpanKindInternal)
		defer span.End()
		tag, err := tx.Exec(ctx, `INSERT INTO webhook_events (id, type) VALUES ($1, $2) ON CONFLICT DO NOTHING`, eventID, eventType)
		if err != nil {
			return err
		}
		p, err = scanPayment(tx.QueryRow(ctx, `SELECT `+paymentColumns+fromPayments+`WHERE p.payment_intent_id = $1`, intentID))
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
	return addEvents(ctx, tx, ch.Events)
}

type paymentRow struct {
	ID             uuid.UUID `db:"id"`
	OrderID        uuid.UUID `db:"order_id"`
	UserID         uuid.UUID `db:"user_id"`
	IntentID       string    `db:"payment_intent_id"`
	ClientSecret   string    `db:"client_secret"`
	Provider       string    `db:"provider"`
	ApprovalURL    string    `db:"approval_url"`
	Status         string    `db:"status"`
	AmountCents    int64     `db:"amount_cents"`
	RefundedCents  int64     `db:"refunded_cents"`
	Currency       string    `db:"currency"`
	FailureMessage *string   `db:"failure_message"`
	CreatedAt      time.Time `db:"created_at"`
	UpdatedAt      time.Time `db:"updated_at"`
}

func (r paymentRow) payment() payments.Payment {
	return payments.Payment{
		ID: r.ID, OrderID: r.OrderID, UserID: r.UserID, IntentID: r.IntentID, ClientSecret: r.ClientSecret,
		Provider: r.Provider, ApprovalURL: r.ApprovalURL, Status: payments.Status(r.Status), AmountCents: r.AmountCents, RefundedCents: r.RefundedCents,
		Currency: r.Currency, FailureMessage: deref(r.FailureMessage), CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		Refunds: []payments.Refund{},
	}
}

type refundRow struct {
	ID          uuid.UUID `db:"id"`
	PaymentID   uuid.UUID `db:"payment_id"`
	AmountCents int64     `db:"amount_cents"`
	Currency    string    `db:"currency"`
	Status      string    `db:"status"`
	CreatedAt   time.Time `db:"created_at"`
}

func (r refundRow) refund() payments.Refund {
	return payments.Refund{ID: r.ID, PaymentID: r.PaymentID, AmountCents: r.AmountCents, Currency: r.Currency, Status: r.Status, CreatedAt: r.CreatedAt}
}

// PaymentsOfOrder lists an order's payments with their refunds.
func (s *Store) PaymentsOfOrder(ctx context.Context, orderID uuid.UUID) ([]payments.Payment, error) {
	out, err := listOf(ctx, s.pool, paymentRow.payment, `SELECT id, order_id, user_id, payment_intent_id, client_secret, provider, approval_url, status, amount_cents,
			refunded_cents, currency, failure_message, created_at, updated_at
		FROM payments WHERE order_id = $1 ORDER BY created_at, id`, orderID)
	if err != nil {
		return nil, fmt.Errorf("list payments of order %s: %w", orderID, err)
	}
	refunds, err := listOf(ctx, s.pool, refundRow.refund, `SELECT r.id, r.payment_id, r.amount_cents, r.currency, r.status, r.created_at
		FROM refunds r JOIN payments p ON p.id = r.payment_id
		WHERE p.order_id = $1 ORDER BY r.created_at, r.id`, orderID)
	if err != nil {
		return nil, fmt.Errorf("list refunds of order %s: %w", orderID, err)
	}
	for i := range out {
		for _, r := range refunds {
			if r.PaymentID == out[i].ID {
				out[i].Refunds = append(out[i].Refunds, r)
			}
		}
	}
	return out, nil
}

// claimOldest starts a statement that claims up to $2 rows of table
// matching where and unchanged since $1: those reconciliation looked at
// least recently first (never, first of all), then the oldest. It records
// $3 as their last look, so the next run starts with others; rows another
// run is claiming are skipped. The statement goes on with a SELECT from
// claimed.
func claimOldest(table, where string) string {
	return `WITH claimed AS (
			UPDATE ` + table + ` SET reconciled_at = $3
			WHERE id IN (
				SELECT id FROM ` + table + `
				WHERE ` + where + ` AND updated_at < $1
				ORDER BY reconciled_at NULLS FIRST, updated_at, id
				LIMIT $2
				FOR UPDATE SKIP LOCKED)
			RETURNING *)
		`
}

// claim runs a statement that starts with claimOldest and reads each row
// it returns with scan.
func claim[T any](ctx context.Context, pool *pgxpool.Pool, statement string, before, at time.Time, limit int, scan func(pgx.Row) (T, error)) ([]T, error) {
	rows, _ := pool.Query(ctx, statement, before, limit, at) // CollectRows returns the query's error
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (T, error) { return scan(row) })
}

// ClaimUnsettled returns up to limit payments pending or processing and
// unchanged since before, and records at as their last look (see
// claimOldest).
func (s *Store) ClaimUnsettled(ctx context.Context, before, at time.Time, limit int) ([]payments.Payment, error) {
	out, err := claim(ctx, s.pool, claimOldest("payments", `status IN ('pending', 'requires_action', 'processing')`)+
		`SELECT `+paymentColumns+` FROM claimed p LEFT JOIN cancelled_orders c ON c.order_id = p.order_id`, before, at, limit, scanPayment)
	if err != nil {
		return nil, fmt.Errorf("claim unsettled payments: %w", err)
	}
	return out, nil
}
