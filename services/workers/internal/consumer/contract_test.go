package consumer_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/contracts/contractstest"
	"github.com/daprshop/daprshop/services/workers/internal/analytics"
	"github.com/daprshop/daprshop/services/workers/internal/consumer"
)

// sales records the last sale added.
type sales struct{ added analytics.DaySales }

func (s *sales) Sales(context.Context, analytics.Range) ([]analytics.DaySales, error) {
	return nil, nil
}

func (s *sales) AddSales(_ context.Context, _ string, d analytics.DaySales) error {
	s.added = d
	return nil
}

// TestEventsCarryTheSales delivers what orders and payments publish to
// the analytics subscriptions: a sale and a refund each count on the day
// their event dates.
func TestEventsCarryTheSales(t *testing.T) {
	added := &sales{}
	subs := consumer.New(analytics.NewService(added, time.Now)).Subscriptions()
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	tests := []struct {
		topic   string
		payload any
		want    analytics.DaySales
	}{
		{contracts.TopicOrderPaid, &contracts.OrderPaidV1{}, analytics.DaySales{Day: day("2026-03-10"), Orders: 1, RevenueCents: 4250, ItemsSold: 2}},
		{contracts.TopicPaymentRefunded, &contracts.PaymentRefundedV1{}, analytics.DaySales{Day: day("2026-03-11"), RefundsCents: 4250}},
	}
	for _, tt := range tests {
		t.Run(tt.topic, func(t *testing.T) {
			contractstest.Received(t, tt.topic, tt.payload)
			require.NoError(t, contractstest.Deliver(t, subs, tt.topic))
			assert.Equal(t, tt.want, added.added)
		})
	}
}
