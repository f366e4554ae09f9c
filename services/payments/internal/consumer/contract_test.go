package consumer

import (
	"testing"

	"github.com/daprshop/daprshop/services/payments/internal/payments"
	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/contracts/contractstest"
)

// TestOrderCancelledCarriesWhatARefundNeeds decodes what orders publishes
// as the order.cancelled subscription does.
func TestOrderCancelledCarriesWhatARefundNeeds(t *testing.T) {
	contractstest.Received(t, contracts.TopicOrderCancelled, &orderCancelled{})
}

// TestOrderCreatedCarriesWhatAChargeNeeds decodes what orders publishes as
// the order.created subscription does; the email is the customer's when
// the token named one.
func TestOrderCreatedCarriesWhatAChargeNeeds(t *testing.T) {
	contractstest.Received(t, contracts.TopicOrderCreated, &payments.OrderCreated{}, "email")
}
