package notifications_test

import (
	"testing"

	"github.com/daprshop/daprshop/services/notifications/internal/notifications"
	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/contracts/contractstest"
)

// TestEventsCarryWhatTheMessagesShow decodes what auth, products and
// workers publish into the types the templates render. A request names
// its user or, without one, goes to the admins.
func TestEventsCarryWhatTheMessagesShow(t *testing.T) {
	tests := map[string]struct {
		into     any
		optional []string
	}{
		contracts.TopicUserRegistered:        {into: &notifications.UserRegistered{}},
		contracts.TopicInventoryLowStock:     {into: &notifications.LowStock{}},
		contracts.TopicNotificationRequested: {into: &notifications.Requested{}, optional: []string{"user_id", "email"}},
	}
	for topic, tt := range tests {
		t.Run(topic, func(t *testing.T) { contractstest.Received(t, topic, tt.into, tt.optional...) })
	}
}

// TestOrderEventsCarryWhatTheMessagesShow decodes what orders publishes
// into the types the templates render. Email is optional: without it the
// address comes from user.registered.
func TestOrderEventsCarryWhatTheMessagesShow(t *testing.T) {
	t.Run(contracts.TopicOrderPaid, func(t *testing.T) {
		contractstest.Received(t, contracts.TopicOrderPaid, &notifications.OrderPaid{}, "email")
	})
	t.Run(contracts.TopicOrderCreated, func(t *testing.T) {
		contractstest.Received(t, contracts.TopicOrderCreated, &notifications.OrderEvent{}, "email", "reason")
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

// TestPaymentEventsCarryWhatTheMessagesShow decodes what payments
// publishes into the type the payment templates render; the failure mail
// names no amount.
func TestPaymentEventsCarryWhatTheMessagesShow(t *testing.T) {
	t.Run(contracts.TopicPaymentFailed, func(t *testing.T) {
		contractstest.Received(t, contracts.TopicPaymentFailed, &notifications.PaymentEvent{}, "email", "amount_cents", "currency")
	})
	t.Run(contracts.TopicPaymentRefunded, func(t *testing.T) {
		contractstest.Received(t, contracts.TopicPaymentRefunded, &notifications.PaymentEvent{}, "email", "reason")
	})
}
