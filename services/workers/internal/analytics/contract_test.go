package analytics_test

import (
	"testing"

	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/contracts/contractstest"
	"github.com/daprshop/daprshop/services/workers/internal/analytics"
)

// TestOrderPaidCarriesTheSale decodes what orders publishes as the
// order.paid subscription does.
func TestOrderPaidCarriesTheSale(t *testing.T) {
	contractstest.Received(t, contracts.TopicOrderPaid, &analytics.OrderPaid{})
}

// TestPaymentRefundedCarriesTheRefund decodes what payments publishes as
// the payment.refunded subscription does.
func TestPaymentRefundedCarriesTheRefund(t *testing.T) {
	contractstest.Received(t, contracts.TopicPaymentRefunded, &analytics.PaymentRefunded{})
}
