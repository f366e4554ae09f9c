package orders

import (
	"testing"

	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/contracts/contractstest"
)

// TestPaymentEventsCarryWhatTheOrderRecords decodes what payments
// publishes as the order's payment subscriptions do. Each topic carries
// its part of PaymentEvent; the rest is optional there.
func TestPaymentEventsCarryWhatTheOrderRecords(t *testing.T) {
	tests := map[string][]string{
		contracts.TopicPaymentCreated:   {"reason", "invoice_number"},
		contracts.TopicPaymentSucceeded: {"client_secret", "reason"},
		contracts.TopicPaymentFailed:    {"client_secret", "amount_cents", "currency", "invoice_number"},
		contracts.TopicPaymentRefunded:  {"client_secret", "reason", "invoice_number"},
	}
	for topic, optional := range tests {
		t.Run(topic, func(t *testing.T) { contractstest.Received(t, topic, &PaymentEvent{}, optional...) })
	}
}
