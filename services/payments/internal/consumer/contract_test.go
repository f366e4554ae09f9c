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

// calls records what the subscriptions asked of payments.
type calls struct {
	charged         contracts.OrderCreatedV1
	cancelled       uuid.UUID
	cancelledReason string
}

func (c *calls) Charge(_ context.Context, _ string, o contracts.OrderCreatedV1) error {
	c.charged = o
	return nil
}

func (c *calls) RefundOrder(context.Context, string, uuid.UUID) error { return nil }

func (c *calls) CancelOrder(_ context.Context, orderID uuid.UUID, reason string) error {
	c.cancelled, c.cancelledReason = orderID, reason
	return nil
}

var sampleOrder = uuid.MustParse("11111111-1111-1111-1111-111111111111")

// TestOrderCancelledCarriesWhatARefundNeeds delivers what orders publishes
// to the order.cancelled subscription: the sample, unpaid, closes the
// order's payment for its reason.
func TestOrderCancelledCarriesWhatARefundNeeds(t *testing.T) {
	contractstest.Received(t, contracts.TopicOrderCancelled, &contracts.OrderCancelledV1{})
	got := &calls{}
	require.NoError(t, contractstest.Deliver(t, New(got).Subscriptions(), contracts.TopicOrderCancelled))
	assert.Equal(t, sampleOrder, got.cancelled)
	assert.Equal(t, contracts.CancelReasonPaymentFailed, got.cancelledReason)
}

// TestOrderCreatedCarriesWhatAChargeNeeds delivers what orders publishes
// to the order.created subscription; the email is the customer's when the
// token named one.
func TestOrderCreatedCarriesWhatAChargeNeeds(t *testing.T) {
	contractstest.Received(t, contracts.TopicOrderCreated, &contracts.OrderCreatedV1{}, "email")
	got := &calls{}
	require.NoError(t, contractstest.Deliver(t, New(got).Subscriptions(), contracts.TopicOrderCreated))
	assert.Equal(t, sampleOrder, got.charged.OrderID)
	assert.NotEqual(t, uuid.Nil, got.charged.UserID)
	assert.Equal(t, int64(4250), got.charged.TotalCents)
	assert.Equal(t, "USD", got.charged.Currency)
	require.Len(t, got.charged.Items, 1)
	assert.Equal(t, contracts.OrderItemV1{ProductID: uuid.MustParse("44444444-4444-4444-4444-444444444444"), Name: "Widget", Quantity: 2, UnitPriceCents: 2125}, got.charged.Items[0])
}
