package payments_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/payments/internal/payments"
	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/contracts/contractstest"
)

// TestPublishedEventsMatchTheContractSamples pays, refunds and declines
// orders and charges one awaiting its customer, as the consumer and the
// webhooks do, and checks every payment
// event published against the sample its consumers are tested with.
func TestPublishedEventsMatchTheContractSamples(t *testing.T) {
	f := newFixture(t)
	paid, _ := f.paidOrder(t)
	f.cancelOrder(t, paid, "admin_cancelled")

	user, declined := uuid.New(), uuid.New()
	f.saveCard(t, user)
	f.charge(t, "evt-declined", declined, user)
	f.deliver(t, "evt_failed", payments.IntentAwaitingMethod, "pi_"+declined.String())
	// Without a saved card the customer confirms: payment.created.
	f.charge(t, "evt-awaiting-card", uuid.New(), uuid.New())

	for _, topic := range []string{contracts.TopicPaymentCreated, contracts.TopicPaymentSucceeded, contracts.TopicPaymentRefunded, contracts.TopicPaymentFailed} {
		t.Run(topic, func(t *testing.T) {
			var payload []byte
			require.NoError(t, f.pool.QueryRow(context.Background(),
				`SELECT payload FROM outbox WHERE topic = $1 ORDER BY created_at LIMIT 1`, topic).Scan(&payload))
			contractstest.Sent(t, topic, payload)
		})
	}
}
