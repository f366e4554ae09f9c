package consumer

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/contracts/contractstest"
	"github.com/daprshop/daprshop/services/platform/events"
)

// TestPaymentEventsCarryWhatTheOrderRecords decodes what payments
// publishes as the order's payment subscriptions do: each event names its
// order, its payment and its intent; payment.created brings the client
// secret and status, payment.succeeded the invoice.
func TestPaymentEventsCarryWhatTheOrderRecords(t *testing.T) {
	tests := map[string]any{
		contracts.TopicPaymentCreated:   &contracts.PaymentCreatedV1{},
		contracts.TopicPaymentSucceeded: &contracts.PaymentSucceededV1{},
		contracts.TopicPaymentFailed:    &contracts.PaymentFailedV1{},
		contracts.TopicPaymentRefunded:  &contracts.PaymentRefundedV1{},
	}
	for topic, payload := range tests {
		t.Run(topic, func(t *testing.T) {
			contractstest.Received(t, topic, payload)
			orderID, news, err := decodePayment(events.Event{ID: "contract", Topic: topic, Data: contractstest.Sample(t, topic)})
			require.NoError(t, err)
			assert.NotEqual(t, uuid.Nil, orderID)
			assert.NotEqual(t, uuid.Nil, news.PaymentID)
			assert.NotEmpty(t, news.PaymentIntentID)
			switch topic {
			case contracts.TopicPaymentCreated:
				assert.NotEmpty(t, news.ClientSecret)
				assert.NotEmpty(t, news.Status)
			case contracts.TopicPaymentSucceeded:
				assert.NotEmpty(t, news.InvoiceNumber)
			}
		})
	}
}
