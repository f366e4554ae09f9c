package notifications_test

import (
	"testing"

	"github.com/daprshop/daprshop/services/notifications/internal/notifications"
	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/contracts/contractstest"
)

// TestOrderEventsCarryWhatTheMessagesShow decodes what orders publishes
// into the types the templates render. Email is optional: without it the
// address comes from user.registered.
func TestOrderEventsCarryWhatTheMessagesShow(t *testing.T) {
	t.Run(contracts.TopicOrderPaid, func(t *testing.T) {
		contractstest.Received(t, contracts.TopicOrderPaid, &notifications.OrderPaid{}, "email")
	})
	t.Run(contracts.TopicOrderCancelled, func(t *testing.T) {
		contractstest.Received(t, contracts.TopicOrderCancelled, &notifications.OrderEvent{}, "email")
	})
	// The reason is order.cancelled's alone.
	for _, topic := range []string{contracts.TopicOrderShipped, contracts.TopicOrderDelivered} {
		t.Run(topic, func(t *testing.T) {
			contractstest.Received(t, topic, &notifications.OrderEvent{}, "email", "reason")
		})
	}
}
