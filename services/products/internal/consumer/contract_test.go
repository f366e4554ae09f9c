package consumer

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/contracts/contractstest"
)

// orders records the order each event was applied to.
type orders map[string]uuid.UUID

func (o orders) OrderPaid(_ context.Context, _ string, id uuid.UUID) error {
	o[contracts.TopicOrderPaid] = id
	return nil
}

func (o orders) OrderCancelled(_ context.Context, _ string, id uuid.UUID) error {
	o[contracts.TopicOrderCancelled] = id
	return nil
}

// TestOrderEventsCarryTheOrder delivers what orders publishes to the
// catalog's subscriptions, which find the order in it.
func TestOrderEventsCarryTheOrder(t *testing.T) {
	applied := orders{}
	subs := New(applied).Subscriptions()
	payloads := map[string]any{
		contracts.TopicOrderPaid:      &contracts.OrderPaidV1{},
		contracts.TopicOrderCancelled: &contracts.OrderCancelledV1{},
	}
	for topic, payload := range payloads {
		t.Run(topic, func(t *testing.T) {
			contractstest.Received(t, topic, payload)
			require.NoError(t, contractstest.Deliver(t, subs, topic))
			assert.Equal(t, uuid.MustParse("11111111-1111-1111-1111-111111111111"), applied[topic])
		})
	}
}
