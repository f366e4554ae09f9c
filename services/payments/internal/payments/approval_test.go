package payments_test

import (
	"context"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/payments/internal/payments"
	"github.com/daprshop/daprshop/services/payments/internal/payments/paymentstest"
	"github.com/daprshop/daprshop/services/platform/contracts"
)

// approvals is a provider whose buyers approve at the provider and whose
// approved intents the shop captures, as PayPal's.
type approvals struct {
	*paymentstest.Provider
	mu       sync.Mutex
	captures map[string]int
	decline  bool
}

func (a *approvals) Capture(ctx context.Context, _, id string) (payments.Intent, error) {
	a.mu.Lock()
	a.captures[id]++
	decline := a.decline
	a.mu.Unlock()
	if decline {
		return payments.Intent{ID: id, Status: payments.IntentAwaitingMethod, FailureMessage: "capture declined"}, nil
	}
	return payments.Intent{ID: id, Status: payments.IntentSucceeded}, nil
}

func (a *approvals) captured(id string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.captures[id]
}

// withPayPal adds an approvals provider as paypal to a fixture.
func withPayPal(t *testing.T) (fixture, *approvals) {
	t.Helper()
	f := newFixture(t)
	pp := &approvals{Provider: paymentstest.NewProvider(), captures: map[string]int{}}
	f.svc.WithProvider(contracts.PaymentProviderPayPal, pp)
	return f, pp
}

// chargePayPal applies order.created of an order paid with PayPal.
func (f fixture) chargePayPal(t *testing.T, order uuid.UUID) {
	t.Helper()
	o := paymentstest.Order(order, uuid.New())
	o.PaymentProvider = contracts.PaymentProviderPayPal
	require.NoError(t, f.svc.Charge(context.Background(), "evt-order-"+order.String(), o))
}

func approvedEvent(id, intent string) payments.WebhookEvent {
	return payments.WebhookEvent{ID: id, Type: "CHECKOUT.ORDER.APPROVED", Intent: &payments.Intent{ID: intent, Status: payments.IntentAwaitingCapture}}
}

func TestAnApprovedPaymentIsCapturedOnce(t *testing.T) {
	f, pp := withPayPal(t)
	ctx := context.Background()
	order := uuid.New()
	f.saveCard(t, uuid.New())
	f.chargePayPal(t, order)
	intent := "pi_" + order.String()
	assert.Equal(t, 1, pp.Created(), "the intent is PayPal's")
	assert.Zero(t, f.provider.Created(), "Stripe is not asked")
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM payments WHERE provider = 'paypal' AND status = 'pending'`))

	for _, id := range []string{"WH-1", "WH-1", "WH-2"} { // a redelivery, then another delivery
		require.NoError(t, f.svc.Settle(ctx, approvedEvent(id, intent)))
	}
	require.NoError(t, f.svc.Settle(ctx, intentEvent("WH-3", payments.IntentSucceeded, intent)))
	assert.Equal(t, 1, pp.captured(intent), "captured once")
	assert.Equal(t, 1, f.events(t, contracts.TopicPaymentSucceeded), "paid once")
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM invoices`))
}

func TestADeclinedCaptureFailsThePayment(t *testing.T) {
	f, pp := withPayPal(t)
	pp.decline = true
	order := uuid.New()
	f.chargePayPal(t, order)
	require.NoError(t, f.svc.Settle(context.Background(), approvedEvent("WH-1", "pi_"+order.String())))
	assert.Equal(t, 1, f.events(t, contracts.TopicPaymentFailed))
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM payments WHERE status = 'failed' AND failure_message = 'capture declined'`))
}

func TestAnApprovalAfterTheCancellationCapturesNothing(t *testing.T) {
	f, pp := withPayPal(t)
	order := uuid.New()
	f.chargePayPal(t, order)
	f.cancelOrder(t, order, contracts.CancelReasonCustomer)
	require.NoError(t, f.svc.Settle(context.Background(), approvedEvent("WH-1", "pi_"+order.String())))
	assert.Zero(t, pp.captured("pi_"+order.String()))
	assert.Zero(t, f.events(t, contracts.TopicPaymentSucceeded))
}

func TestReconciliationCapturesAnApprovalWhoseWebhookWasLost(t *testing.T) {
	f, pp := withPayPal(t)
	order := uuid.New()
	f.chargePayPal(t, order)
	pp.Settle(order, payments.IntentAwaitingCapture, "")
	assert.Equal(t, 1, f.reconcile(t))
	assert.Equal(t, 1, pp.captured("pi_"+order.String()))
	assert.Equal(t, 1, f.events(t, contracts.TopicPaymentSucceeded))
	assert.Zero(t, f.reconcile(t), "settled: nothing more to do")
}

func TestAnOrderNamingAnUnknownProviderIsDropped(t *testing.T) {
	f := newFixture(t)
	o := paymentstest.Order(uuid.New(), uuid.New())
	o.PaymentProvider = "bitcoin"
	err := f.svc.Charge(context.Background(), "evt-1", o)
	assert.ErrorIs(t, err, payments.ErrBadOrder)
	assert.ErrorIs(t, err, payments.ErrUnknownProvider)
}
