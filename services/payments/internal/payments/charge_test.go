package payments_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/payments/internal/payments"
	"github.com/daprshop/daprshop/services/platform/contracts"
)

func TestOnIntent(t *testing.T) {
	p := payments.Payment{
		ID: uuid.New(), OrderID: uuid.New(), UserID: uuid.New(), IntentID: "pi_1", ClientSecret: "pi_1_secret",
		Status: payments.StatusPending, AmountCents: 1500, Currency: "USD",
	}
	created := payments.Event{Topic: payments.TopicPaymentCreated, Payload: contracts.PaymentCreatedV1{
		OrderID: p.OrderID, PaymentID: p.ID, UserID: p.UserID, PaymentIntentID: "pi_1", ClientSecret: "pi_1_secret",
		Status: string(payments.StatusPending), AmountCents: 1500, Currency: "USD",
	}}
	confirmed := p
	confirmed.Status = payments.StatusProcessing
	stored := payments.Payment{ID: uuid.New(), OrderID: p.OrderID}
	for _, tt := range []struct {
		name      string
		payment   payments.Payment
		stored    *payments.Payment
		cancelled bool
		want      payments.ChargeRecord
	}{
		{"the first payment is recorded and announced", p, nil, false, payments.ChargeRecord{Payment: &p, Events: []payments.Event{created}}},
		{"a payment confirmed with a saved card waits for its verdict to be announced", confirmed, nil, false, payments.ChargeRecord{Payment: &confirmed}},
		{"a cancelled order's payment is recorded silently", p, nil, true, payments.ChargeRecord{Payment: &p}},
		{"the order's payment stands", p, &stored, false, payments.ChargeRecord{}},
		{"the cancelled order's payment stands", p, &stored, true, payments.ChargeRecord{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, payments.OnIntent(tt.payment)(tt.stored, tt.cancelled))
		})
	}
}

func TestIntentPaymentStatus(t *testing.T) {
	for _, tt := range []struct {
		name   string
		intent payments.Intent
		want   payments.Status
	}{
		{"awaiting its client's card", payments.Intent{Status: payments.IntentAwaitingMethod}, payments.StatusPending},
		{"awaiting its client", payments.Intent{Status: payments.IntentAwaitingClient}, payments.StatusPending},
		{"processing", payments.Intent{Status: payments.IntentProcessing}, payments.StatusProcessing},
		{"succeeded: its webhook settles it", payments.Intent{Status: payments.IntentSucceeded}, payments.StatusProcessing},
		{"declined: its webhook settles it", payments.Intent{Status: payments.IntentAwaitingMethod, FailureMessage: "card_declined"}, payments.StatusProcessing},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.intent.PaymentStatus())
		})
	}
}

func TestConcurrentFirstCardsMakeOneDefault(t *testing.T) {
	f := newFixture(t)
	user := uuid.New()
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.svc.AddMethod(context.Background(), user, "", "pm_card_visa")
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	assert.Equal(t, 5, f.count(t, `SELECT count(*) FROM payment_methods WHERE user_id = $1`, user))
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM payment_methods WHERE user_id = $1 AND is_default`, user))
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM customers WHERE user_id = $1`, user))
}

func TestChargeIsOncePerOrder(t *testing.T) {
	f := newFixture(t)
	user, order := uuid.New(), uuid.New()
	card := f.saveCard(t, user)

	f.charge(t, "evt-1", order, user)
	f.charge(t, "evt-1", order, user) // redelivered
	f.charge(t, "evt-2", order, user) // published twice

	assert.Equal(t, 1, f.provider.Created(), "one PaymentIntent")
	assert.Equal(t, []string{card.ProviderID}, f.provider.Charged(), "confirmed with the default card")
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM payments WHERE order_id = $1 AND status = 'processing'`, order))
	assert.Zero(t, f.count(t, `SELECT count(*) FROM outbox WHERE topic = 'payment.created'`), "its verdict announces it")

	t.Run("without a saved card the intent awaits the client", func(t *testing.T) {
		other := uuid.New()
		f.charge(t, "evt-3", uuid.New(), other)
		assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM payments WHERE user_id = $1 AND status = 'pending' AND client_secret <> ''`, other))
		assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM outbox WHERE topic = 'payment.created'`), "with its client secret")
	})
	t.Run("a bad order is refused", func(t *testing.T) {
		err := f.svc.Charge(context.Background(), "evt-4", contracts.OrderCreatedV1{OrderID: uuid.New(), UserID: user, TotalCents: 0, Currency: "USD"})
		assert.ErrorIs(t, err, payments.ErrBadOrder)
	})
}

func TestSettleAppliesAVerdictOnce(t *testing.T) {
	f := newFixture(t)
	user, order := uuid.New(), uuid.New()
	f.saveCard(t, user)
	f.charge(t, "evt-order", order, user)
	intent := "pi_" + order.String()

	t.Run("delivered three times, applied once", func(t *testing.T) {
		for range 3 {
			assert.NoError(t, f.svc.Settle(context.Background(), intentEvent("evt_succeeded_1", payments.IntentSucceeded, intent)))
		}
		assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM payments WHERE order_id = $1 AND status = 'succeeded'`, order))
		assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM outbox WHERE topic = 'payment.succeeded'`))
		var evt contracts.PaymentSucceededV1
		var raw []byte
		require.NoError(t, f.pool.QueryRow(context.Background(), `SELECT payload FROM outbox WHERE topic = 'payment.succeeded'`).Scan(&raw))
		require.NoError(t, json.Unmarshal(raw, &evt))
		assert.Equal(t, order, evt.OrderID)
		assert.EqualValues(t, 1500, evt.AmountCents)
		assert.Equal(t, "USD", evt.Currency)
	})
	t.Run("a late failure does not undo a success", func(t *testing.T) {
		assert.NoError(t, f.svc.Settle(context.Background(), intentEvent("evt_failed_late", payments.IntentAwaitingMethod, intent)))
		assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM payments WHERE order_id = $1 AND status = 'succeeded'`, order))
		assert.Zero(t, f.count(t, `SELECT count(*) FROM outbox WHERE topic = 'payment.failed'`))
	})
}

// The webhook can outrun the order.created consumer that records the
// payment: it is refused, unrecorded, so the provider delivers it again.
func TestSettleBeforeTheChargeIsRefusedUnrecorded(t *testing.T) {
	f := newFixture(t)
	user, order := uuid.New(), uuid.New()
	f.saveCard(t, user)
	failed := intentEvent("evt_failed", payments.IntentAwaitingMethod, "pi_"+order.String())

	assert.ErrorIs(t, f.svc.Settle(context.Background(), failed), payments.ErrUnknownIntent)
	assert.Zero(t, f.count(t, `SELECT count(*) FROM webhook_events`))

	f.charge(t, "evt-order", order, user)
	require.NoError(t, f.svc.Settle(context.Background(), failed))
	var reason string
	require.NoError(t, f.pool.QueryRow(context.Background(),
		`SELECT payload->>'reason' FROM outbox WHERE topic = 'payment.failed'`).Scan(&reason))
	assert.Equal(t, decline, reason)
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM payments WHERE status = 'failed' AND failure_message = $1`, decline))
}
