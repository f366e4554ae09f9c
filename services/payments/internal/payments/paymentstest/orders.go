package paymentstest

import (
	"encoding/json"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/contracts"
)

// Order is the order.created of an order of 1500 USD by user.
func Order(order, user uuid.UUID) contracts.OrderCreatedV1 {
	return contracts.OrderCreatedV1{OrderID: order, UserID: user, TotalCents: 1500, Currency: "USD"}
}

// OrderWithLines is the order.created of an order of two lines by user:
// 2 × 605 + 1 × 1000 = 2210 EUR.
func OrderWithLines(t testing.TB, order, user uuid.UUID) contracts.OrderCreatedV1 {
	t.Helper()
	o := contracts.OrderCreatedV1{OrderID: order, UserID: user, TotalCents: 2210, Currency: "EUR"}
	require.NoError(t, json.Unmarshal([]byte(`[
		{"product_id": "`+uuid.NewString()+`", "name": "Mug", "quantity": 2, "unit_price_cents": 605},
		{"product_id": "`+uuid.NewString()+`", "name": "Tea", "quantity": 1, "unit_price_cents": 1000}]`), &o.Items))
	return o
}
