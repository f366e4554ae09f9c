package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/daprshop/daprshop/services/payments/internal/payments"
	"github.com/daprshop/daprshop/services/platform/postgres"
)

// issueInvoice issues the invoice of payment paymentID, split as totals,
// in tx, and returns its number as the customer reads it. Its number is the
// next of the year's series: the counter row stays locked until tx ends, so
// concurrent issuers take consecutive numbers and a rollback leaves no gap.
// The counter is taken last to hold that lock briefly.
func issueInvoice(ctx context.Context, tx pgx.Tx, paymentID uuid.UUID, totals payments.InvoiceTotals) (string, error) {
	var year int
	var seq int64
	err := tx.QueryRow(ctx, `INSERT INTO invoice_year_counters (year, last_number)
		VALUES (EXTRACT(YEAR FROM now() AT TIME ZONE 'UTC')::int, 1)
		ON CONFLICT (year) DO UPDATE SET last_number = invoice_year_counters.last_number + 1
		RETURNING year, last_number`).Scan(&year, &seq)
	if err != nil {
		return "", fmt.Errorf("next invoice number: %w", err)
	}
	number := int64(year)*payments.InvoiceNumberBase + seq
	_, err = tx.Exec(ctx, `INSERT INTO invoices
		(id, number, payment_id, order_id, user_id, lines, subtotal_cents, tax_cents, total_cents, currency)
		SELECT $1, $2, id, order_id, user_id, lines, $3, $4, amount_cents, currency FROM payments WHERE id = $5`,
		uuid.New(), number, totals.SubtotalCents, totals.TaxCents, paymentID)
	if err != nil {
		return "", fmt.Errorf("issue invoice of payment %s: %w", paymentID, err)
	}
	return payments.Invoice{Number: number}.DisplayNumber(), nil
}

type invoiceRow struct {
	ID            uuid.UUID       `db:"id"`
	Number        int64           `db:"number"`
	PaymentID     uuid.UUID       `db:"payment_id"`
	OrderID       uuid.UUID       `db:"order_id"`
	UserID        uuid.UUID       `db:"user_id"`
	Lines         []payments.Line `db:"lines"`
	SubtotalCents int64           `db:"subtotal_cents"`
	TaxCents      int64           `db:"tax_cents"`
	TotalCents    int64           `db:"total_cents"`
	Currency      string          `db:"currency"`
	IssuedAt      time.Time       `db:"issued_at"`
}

func (r invoiceRow) invoice() payments.Invoice { return payments.Invoice(r) }

const invoiceColumns = `id, number, payment_id, order_id, user_id, lines, subtotal_cents, tax_cents, total_cents, currency, issued_at`

// Invoices lists an order's invoices.
func (s *Store) Invoices(ctx context.Context, orderID uuid.UUID) ([]payments.Invoice, error) {
	invoices, err := listOf(ctx, s.pool, invoiceRow.invoice, `SELECT `+invoiceColumns+` FROM invoices WHERE order_id = $1 ORDER BY number`, orderID)
	if err != nil {
		return nil, fmt.Errorf("list invoices of order %s: %w", orderID, err)
	}
	return invoices, nil
}

// Invoice returns an invoice, or payments.ErrInvoiceNotFound.
func (s *Store) Invoice(ctx context.Context, id uuid.UUID) (payments.Invoice, error) {
	r, err := postgres.One[invoiceRow](ctx, s.pool, payments.ErrInvoiceNotFound, "read invoice "+id.String(),
		`SELECT `+invoiceColumns+` FROM invoices WHERE id = $1`, id)
	if err != nil {
		return payments.Invoice{}, err
	}
	return r.invoice(), nil
}
