package consumer

import (
	"testing"

	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/contracts/contractstest"
)

// TestOrderEventsCarryTheOrder decodes what orders publishes as the
// catalog's subscriptions do.
func TestOrderEventsCarryTheOrder(t *testing.T) {
	for _, topic := range []string{contracts.TopicOrderPaid, contracts.TopicOrderCancelled} {
		t.Run(topic, func(t *testing.T) { contractstest.Received(t, topic, &orderEvent{}) })
	}
}
