package orders_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/daprshop/daprshop/services/orders/internal/orders"
)

func TestStateMachine(t *testing.T) {
	allowed := map[[2]orders.Status]bool{
		{orders.StatusPendingPayment, orders.StatusPaid}:      true,
		{orders.StatusPendingPayment, orders.StatusCancelled}: true,
		{orders.StatusPaid, orders.StatusShipped}:             true,
		{orders.StatusPaid, orders.StatusCancelled}:           true,
		{orders.StatusShipped, orders.StatusDelivered}:        true,
		{orders.StatusCancelled, orders.StatusRefunded}:       true,
	}
	all := []orders.Status{orders.StatusPendingPayment, orders.StatusPaid, orders.StatusShipped,
		orders.StatusDelivered, orders.StatusCancelled, orders.StatusRefunded}
	for _, from := range all {
		for _, to := range all {
			t.Run(string(from)+" to "+string(to), func(t *testing.T) {
				assert.Equal(t, allowed[[2]orders.Status{from, to}], from.CanBecome(to))
			})
		}
	}
}
