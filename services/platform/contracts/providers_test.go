package contracts_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/daprshop/daprshop/services/platform/contracts"
)

func TestPayable(t *testing.T) {
	for _, tt := range []struct {
		name     string
		provider string
		currency string
		cents    int64
		want     bool
	}{
		{"dollars and cents by PayPal", contracts.PaymentProviderPayPal, "USD", 1299, true},
		{"yen by PayPal", contracts.PaymentProviderPayPal, "JPY", 501, true},
		{"whole forints by PayPal", contracts.PaymentProviderPayPal, "HUF", 150000, true},
		{"forints and fillér by PayPal", contracts.PaymentProviderPayPal, "HUF", 150050, false},
		{"whole Taiwan dollars by PayPal", contracts.PaymentProviderPayPal, "TWD", 9900, true},
		{"Taiwan dollars and cents by PayPal", contracts.PaymentProviderPayPal, "TWD", 9999, false},
		{"a currency PayPal does not take", contracts.PaymentProviderPayPal, "KRW", 10000, false},
		{"forints and fillér by Stripe", contracts.PaymentProviderStripe, "HUF", 150050, true},
		{"no provider named is Stripe", "", "TWD", 9999, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, contracts.Payable(tt.provider, tt.currency, tt.cents))
		})
	}
}
