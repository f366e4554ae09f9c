package orders_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/orders/internal/orders"
	"github.com/daprshop/daprshop/services/platform/contracts"
)

// TestRefundedOrdersRestockOnlyWhatNeverLeft follows payment.refunded on
// orders at each point of their life: only a paid order cancelled before
// it shipped gives its units back.
func TestRefundedOrdersRestockOnlyWhatNeverLeft(t *testing.T) {
	now := time.Date(2026, 3, 11, 9, 0, 0, 0, time.UTC)
	item := orders.Item{ProductID: uuid.New(), Name: "Widget", Quantity: 2, UnitPriceCents: 2125}
	order := func(history ...orders.Status) orders.Detail {
		d := orders.Detail{
			Order: orders.Order{ID: uuid.New(), UserID: uuid.New(), Status: history[len(history)-1], TotalCents: 4250, Currency: "USD"},
			Items: []orders.Item{item},
		}
		for _, s := range history {
			d.History = append(d.History, orders.HistoryEntry{Status: s, At: now})
		}
		return d
	}
	refunded := func(t *testing.T, d orders.Detail) orders.Change {
		t.Helper()
		ch, err := orders.OnPayment(contracts.TopicPaymentRefunded, orders.PaymentNews{PaymentID: uuid.New()}, now)(d)
		require.NoError(t, err)
		return ch
	}

	t.Run("paid, then cancelled: refunded with its units restocked", func(t *testing.T) {
		d := order(orders.StatusPendingPayment, orders.StatusPaid, orders.StatusCancelled)
		ch := refunded(t, d)
		assert.Equal(t, orders.StatusRefunded, ch.To)
		require.Len(t, ch.Events, 1)
		assert.Equal(t, orders.Event{Topic: contracts.TopicOrderRefunded, Payload: contracts.OrderRefundedV1{
			OrderID: d.ID, UserID: d.UserID, Restock: true, TotalCents: 4250, Currency: "USD",
			Items: []contracts.OrderItemV1{contracts.OrderItemV1(item)},
		}}, ch.Events[0])
	})
	t.Run("cancelled before it was paid: refunded, its stock was released at cancellation", func(t *testing.T) {
		ch := refunded(t, order(orders.StatusPendingPayment, orders.StatusCancelled))
		assert.Equal(t, orders.StatusRefunded, ch.To)
		require.Len(t, ch.Events, 1)
		refund, ok := ch.Events[0].Payload.(contracts.OrderRefundedV1)
		require.True(t, ok)
		assert.False(t, refund.Restock)
	})
	// A shipped order cannot be cancelled, so an admin's refund of its
	// payment leaves it where it is: no order.refunded, nothing restocked.
	for _, history := range [][]orders.Status{
		{orders.StatusPendingPayment, orders.StatusPaid, orders.StatusShipped},
		{orders.StatusPendingPayment, orders.StatusPaid, orders.StatusShipped, orders.StatusDelivered},
		{orders.StatusPendingPayment, orders.StatusPaid},
	} {
		d := order(history...)
		t.Run("refunded while "+string(d.Status)+": recorded, no move, no event", func(t *testing.T) {
			ch := refunded(t, d)
			assert.Empty(t, ch.To)
			assert.Empty(t, ch.Events)
			require.NotNil(t, ch.Payment)
			assert.Equal(t, orders.PaymentRefunded, ch.Payment.Status)
		})
	}
}
