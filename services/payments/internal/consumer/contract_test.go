package consumer

import (
	"testing"

	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/contracts/contractstest"
)

// TestOrderCancelledCarriesWhatARefundNeeds decodes what orders publishes
// as the order.cancelled subscription does.
func TestOrderCancelledCarriesWhatARefundNeeds(t *testing.T) {
	contractstest.Received(t, contracts.TopicOrderCancelled, &orderCancelled{})
}
