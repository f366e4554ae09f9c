package payments_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/daprshop/daprshop/services/payments/internal/payments"
)

func TestSplitTax(t *testing.T) {
	tests := []struct {
		name          string
		total         int64
		bps           int
		subtotal, tax int64
	}{
		{"21% of 121.00", 12100, 2100, 10000, 2100},
		{"no tax", 999, 0, 999, 0},
		{"rounds half up", 1, 10000, 0, 1}, // 0.5 cent of tax
		{"10% of 0.11", 11, 1000, 10, 1},
		{"21% of 10.00", 1000, 2100, 826, 174}, // 173.55… → 174
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub, tax := payments.SplitTax(tt.total, tt.bps)
			assert.Equal(t, tt.subtotal, sub)
			assert.Equal(t, tt.tax, tax)
			assert.Equal(t, tt.total, sub+tax)
		})
	}
}

func TestDisplayNumber(t *testing.T) {
	assert.Equal(t, "2026-000042", payments.Invoice{Number: 2026*payments.InvoiceNumberBase + 42}.DisplayNumber())
}
