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

// orders records the order each event was applied to, and whether the
// refunded one was to be restocked.
type orders struct {
	applied map[string]uuid.UUID
	restock bool
}

func (o *orders) OrderPlaced(_ context.Context, id uuid.UUID) error {
	o.applied[contracts.TopicOrderCreated] = id
	return nil
}

func (o *orders) OrderPaid(_ context.Context, _ string, id uuid.UUID) error {
	o.applied[contracts.TopicOrderPaid] = id
	return nil
}

func (o *orders) OrderCancelled(_ context.Context, _ string, id uuid.UUID, _ bool) error {
	o.applied[contracts.TopicOrderCancelled] = id
	return nil
}

func (o *orders) OrderRefunded(_ context.Context, _ string, id uuid.UUID, restock bool) error {
	o.applied[contracts.TopicOrderRefunded], o.restock = id, restock
	return nil
}

// TestOrderEventsCarryTheOrder delivers what orders publishes to the
// catalog's subscriptions, which find the order in it.
func TestOrderEventsCarryTheOrder(t *testing.T) {
	applied := &orders{applied: map[string]uuid.UUID{}}
	subs := New(applied).Subscriptions()
	payloads := map[string]any{
		contracts.TopicOrderCreated:   &contracts.OrderCreatedV1{},
		contracts.TopicOrderPaid:      &contracts.OrderPaidV1{},
		contracts.TopicOrderCancelled: &contracts.OrderCancelledV1{},
		contracts.TopicOrderRefunded:  &contracts.OrderRefundedV1{},
	}
	for topic, payload := range payloads {
		t.Run(topic, func(t *testing.T) {
			contractstest.Received(t, topic, payload)
			require.NoError(t, contractstest.Deliver(t, subs, topic))
			assert.Equal(t, uuid.MustParse("11111111-1111-1111-1111-111111111111"), applied.applied[topic])
		})
	}
	assert.True(t, applied.restock, "the refunded order's units are to be restocked")
}
