package orders

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/contracts/contractstest"
)

// TestPublishedEventsMatchTheContractSamples builds each order event with
// the code that publishes it and checks it against the sample consumers
// are tested with.
func TestPublishedEventsMatchTheContractSamples(t *testing.T) {
	now := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	paymentID := uuid.MustParse("33333333-3333-3333-3333-333333333333")
	order := func(status Status, history ...Status) Detail {
		d := Detail{
			Order: Order{
				ID: uuid.MustParse("11111111-1111-1111-1111-111111111111"), UserID: uuid.MustParse("22222222-2222-2222-2222-222222222222"),
				Status: status, TotalCents: 4250, Currency: "USD",
			},
			Items:   []Item{{ProductID: uuid.MustParse("44444444-4444-4444-4444-444444444444"), Name: "Widget", Quantity: 2, UnitPriceCents: 2125}},
			Payment: Payment{PaymentID: &paymentID},
		}
		for _, h := range append(history, status) {
			d.History = append(d.History, HistoryEntry{Status: h, At: now})
		}
		return d
	}
	onPayment := func(topic string, d Detail) Change {
		ch, err := OnPayment(topic, PaymentNews{PaymentID: paymentID, InvoiceNumber: "2026-000042"}, now)(d)
		require.NoError(t, err)
		return ch
	}
	move := func(d Detail, to Status) Change {
		ch, err := moveTo(d, to, "", now)
		require.NoError(t, err)
		return ch
	}
	tests := map[string]Change{
		contracts.TopicOrderPaid:      onPayment(contracts.TopicPaymentSucceeded, order(StatusPendingPayment)),
		contracts.TopicOrderCancelled: onPayment(contracts.TopicPaymentFailed, order(StatusPendingPayment)),
		contracts.TopicOrderShipped:   move(order(StatusPaid), StatusShipped),
		contracts.TopicOrderDelivered: move(order(StatusShipped), StatusDelivered),
		contracts.TopicOrderRefunded: onPayment(contracts.TopicPaymentRefunded,
			order(StatusCancelled, StatusPendingPayment, StatusPaid)),
	}
	for topic, ch := range tests {
		t.Run(topic, func(t *testing.T) {
			require.Len(t, ch.Events, 1)
			require.Equal(t, topic, ch.Events[0].Topic)
			contractstest.Sent(t, topic, ch.Events[0].Payload)
		})
	}
}

// reserver holds every line at 2125 cents.
type reserver struct{}

func (reserver) Reserve(_ context.Context, _ uuid.UUID, lines []Line) (Reservation, error) {
	res := Reservation{Status: reservationHeld}
	for _, l := range lines {
		res.Lines = append(res.Lines, ReservedLine{ProductID: l.ProductID, Name: "Widget", Quantity: l.Quantity, UnitPriceCents: 2125, Currency: "USD"})
	}
	return res, nil
}

func (reserver) Release(context.Context, uuid.UUID) error { return nil }

func (reserver) Product(_ context.Context, id uuid.UUID) (Product, error) {
	return Product{ID: id, Name: "Widget", PriceCents: 2125, Currency: "USD", Active: true}, nil
}

// TestPlacedOrderMatchesTheContractSample places an order as checkout
// does and checks its order.created against the sample.
func TestPlacedOrderMatchesTheContractSample(t *testing.T) {
	s := NewService(nil, nil, reserver{}, time.Now, time.Hour)
	cart := Cart{Lines: []CartLine{{ProductID: uuid.New(), Quantity: 2}}}
	out, err := s.place(context.Background(), CheckoutClaim{OrderID: uuid.New(), New: true}, CheckoutCommand{UserID: uuid.New(), Email: "ada@example.com"}, cart)
	require.NoError(t, err)
	require.Len(t, out.Events, 1)
	require.Equal(t, contracts.TopicOrderCreated, out.Events[0].Topic)
	contractstest.Sent(t, contracts.TopicOrderCreated, out.Events[0].Payload)
}
