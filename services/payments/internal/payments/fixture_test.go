package payments_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/payments/internal/payments"
	"github.com/daprshop/daprshop/services/payments/internal/payments/paymentstest"
	"github.com/daprshop/daprshop/services/payments/internal/postgres"
	"github.com/daprshop/daprshop/services/payments/internal/postgres/migrations"
	"github.com/daprshop/daprshop/services/platform/postgres/pgtest"
)

// fixture runs the service over its real store, in a fresh database, and
// the in-memory provider.
type fixture struct {
	pool     *pgxpool.Pool
	provider *paymentstest.Provider
	svc      *payments.Service
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	pool := pgtest.NewDatabase(t, migrations.FS)
	provider := paymentstest.NewProvider()
	return fixture{pool: pool, provider: provider, svc: payments.NewService(postgres.NewStore(pool), provider).WithTaxRate(2100)}
}

func (f fixture) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, f.pool.QueryRow(context.Background(), query, args...).Scan(&n))
	return n
}

func (f fixture) events(t *testing.T, topic string) int {
	t.Helper()
	return f.count(t, `SELECT count(*) FROM outbox WHERE topic = $1`, topic)
}

// saveCard saves a card for user; the first becomes the default, charged
// at checkout.
func (f fixture) saveCard(t *testing.T, user uuid.UUID) payments.Method {
	t.Helper()
	m, err := f.svc.AddMethod(context.Background(), user, "", "pm_card_visa")
	require.NoError(t, err)
	return m
}

// charge applies order.created (event eventID) of an order of 1500.
func (f fixture) charge(t *testing.T, eventID string, order, user uuid.UUID) {
	t.Helper()
	require.NoError(t, f.svc.Charge(context.Background(), eventID, paymentstest.Order(order, user)))
}

const decline = "generic_decline: Your card was declined."

// intentEvent is the verified webhook event eventID telling that intent
// is at status: succeeded, processing, or declined (awaiting a method,
// with decline).
func intentEvent(eventID string, status payments.IntentStatus, intent string) payments.WebhookEvent {
	evt := payments.WebhookEvent{ID: eventID, Intent: &payments.Intent{ID: intent, Status: status}}
	switch status {
	case payments.IntentSucceeded:
		evt.Type = "payment_intent.succeeded"
	case payments.IntentProcessing:
		evt.Type = "payment_intent.processing"
	case payments.IntentAwaitingMethod:
		evt.Type, evt.Intent.FailureMessage = "payment_intent.payment_failed", decline
	}
	return evt
}

// deliver applies the webhook event eventID about intent at status.
func (f fixture) deliver(t *testing.T, eventID string, status payments.IntentStatus, intent string) {
	t.Helper()
	require.NoError(t, f.svc.Settle(context.Background(), intentEvent(eventID, status, intent)))
}

// paidOrder charges an order of 1500 with a saved card and applies its
// success webhook; it returns the order and payment ids.
func (f fixture) paidOrder(t *testing.T) (order, payment uuid.UUID) {
	t.Helper()
	user := uuid.New()
	order = uuid.New()
	f.saveCard(t, user)
	f.charge(t, "evt-order-"+order.String(), order, user)
	f.deliver(t, "evt_paid_"+order.String(), payments.IntentSucceeded, "pi_"+order.String())
	require.NoError(t, f.pool.QueryRow(context.Background(), `SELECT id FROM payments WHERE order_id = $1`, order).Scan(&payment))
	return order, payment
}

// cancelOrder applies order.cancelled without a refund.
func (f fixture) cancelOrder(t *testing.T, order uuid.UUID, reason string) {
	t.Helper()
	require.NoError(t, f.svc.CancelOrder(context.Background(), order, reason))
}

// reconcile runs reconciliation an hour from now, over payments older than
// a minute, and returns how many it settled.
func (f fixture) reconcile(t *testing.T) int {
	t.Helper()
	n, err := f.svc.Reconcile(context.Background(), time.Now().Add(time.Hour), time.Minute, 10)
	require.NoError(t, err)
	return n
}

// refunded is what the payment has given back or holds for a refund.
func (f fixture) refunded(t *testing.T, payment uuid.UUID) int {
	t.Helper()
	return f.count(t, `SELECT refunded_cents FROM payments WHERE id = $1`, payment)
}

// assertRefundedOnce checks that the payment of order was refunded in full
// exactly once, at the provider and in payment.refunded, and never paid
// the order.
func (f fixture) assertRefundedOnce(t *testing.T, order uuid.UUID) {
	t.Helper()
	refunds := f.provider.Refunds()
	require.Len(t, refunds, 1, "one refund at the provider")
	for _, amount := range refunds {
		assert.EqualValues(t, 1500, amount, "in full")
	}
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM payments
		WHERE order_id = $1 AND status = 'succeeded' AND refunded_cents = amount_cents`, order))
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM refunds WHERE status = 'succeeded' AND amount_cents = 1500`))
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM outbox WHERE topic = 'payment.refunded' AND payload->>'order_id' = $1`, order.String()))
	assert.Zero(t, f.events(t, "payment.succeeded"), "the cancelled order is never paid")
	assert.Zero(t, f.count(t, `SELECT count(*) FROM invoices WHERE order_id = $1`, order), "nor invoiced")
}
