package consumer

import (
	"reflect"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/notifications/internal/notifications"
	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/contracts/contractstest"
)

// emptyFields lists the JSON names of the fields of struct v that are
// empty.
func emptyFields(v any) []string {
	val := reflect.ValueOf(v)
	var out []string
	for i := range val.NumField() {
		if val.Field(i).IsZero() {
			name, _, _ := strings.Cut(val.Type().Field(i).Tag.Get("json"), ",")
			out = append(out, name)
		}
	}
	return out
}

// made decodes topic's sample as the subscription does and makes its
// message with of.
func made[T any](of func(T) message) func(t *testing.T, topic string) message {
	return func(t *testing.T, topic string) message {
		var e T
		contractstest.Received(t, topic, &e)
		return of(e)
	}
}

// TestOrderAndPaymentEventsCarryWhatTheMessagesShow decodes what orders
// and payments publish as the subscriptions do and makes each message of
// it: a field the message shows is empty only where its event has nothing
// to say. Without an email the address comes from user.registered; the
// reason is order.cancelled's alone; the failure mail names no amount.
func TestOrderAndPaymentEventsCarryWhatTheMessagesShow(t *testing.T) {
	tests := []struct {
		topic string
		make  func(t *testing.T, topic string) message
		empty []string
	}{
		{contracts.TopicOrderCreated, made(orderCreated), []string{"email", "reason"}},
		{contracts.TopicOrderPaid, made(orderPaid), []string{"email"}},
		{contracts.TopicOrderShipped, made(orderStatusChanged), []string{"email", "reason"}},
		{contracts.TopicOrderDelivered, made(orderStatusChanged), []string{"email", "reason"}},
		{contracts.TopicOrderCancelled, made(orderCancelled), []string{"email"}},
		{contracts.TopicPaymentFailed, made(paymentFailed), []string{"email", "amount_cents", "currency"}},
		{contracts.TopicPaymentRefunded, made(paymentRefunded), []string{"email", "reason"}},
	}
	for _, tt := range tests {
		t.Run(tt.topic, func(t *testing.T) {
			m := tt.make(t, tt.topic)
			assert.NotEqual(t, uuid.Nil, m.userID)
			assert.Equal(t, m.email, reflect.ValueOf(m.data).FieldByName("Email").String(), "the message goes where it says")
			assert.Subset(t, tt.empty, emptyFields(m.data))
		})
	}
}

// TestEventsCarryWhatTheMessagesShow decodes what auth, products and
// workers publish as the subscriptions do. A request names its user or,
// without one, goes to the admins.
func TestEventsCarryWhatTheMessagesShow(t *testing.T) {
	t.Run(contracts.TopicUserRegistered, func(t *testing.T) {
		contractstest.Received(t, contracts.TopicUserRegistered, &contracts.UserRegisteredV1{})
	})
	t.Run(contracts.TopicInventoryLowStock, func(t *testing.T) {
		var e contracts.LowStockV1
		contractstest.Received(t, contracts.TopicInventoryLowStock, &e)
		assert.Empty(t, emptyFields(lowStockData(e)))
	})
	t.Run(contracts.TopicNotificationRequested, func(t *testing.T) {
		var r contracts.NotificationRequestedV1
		contractstest.Received(t, contracts.TopicNotificationRequested, &r, "user_id", "email")
		kind, ok := notifications.Kinds[r.Template]
		require.True(t, ok, "a template notifications has: %s", r.Template)
		data, err := kind.DecodeData(r.Data)
		require.NoError(t, err)
		digest, ok := data.(notifications.LowStockDigestData)
		require.True(t, ok, "the digest's data: %T", data)
		require.NotEmpty(t, digest.Items)
		for _, it := range digest.Items {
			assert.Empty(t, emptyFields(it))
		}
	})
}
