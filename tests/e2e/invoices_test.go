package e2e

import (
	"net/http"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/authn"
)

// TestConcurrentPaymentsNumberInvoicesWithoutGaps checks out 20 customers
// at once, each charged at checkout with a saved card, and then reads
// every invoice number issued in this run: per year they run 1, 2, 3, …
// with no gap and no duplicate, whatever paid concurrently.
func TestConcurrentPaymentsNumberInvoicesWithoutGaps(t *testing.T) {
	s := shop{admin: "Bearer " + token(t, uuid.New(), authn.RoleAdmin)}
	const customers = 20
	productID := s.newProduct(t, 700, customers)
	auths := make([]string, customers)
	for i := range auths {
		auths[i] = "Bearer " + token(t, uuid.New(), authn.RoleCustomer)
		s.saveCard(t, auths[i], "pm_card_visa")
		require.Equal(t, http.StatusOK, s.addToCart(t, auths[i], productID, 1).Status)
	}

	orderIDs := make([]string, customers)
	var wg sync.WaitGroup
	for i := range auths {
		wg.Go(func() {
			resp := s.checkout(t, auths[i], uuid.NewString(), shipTo)
			if assert.Equal(t, http.StatusCreated, resp.Status, "checkout: %s", resp.Body) {
				var o orderJSON
				resp.JSON(t, &o)
				orderIDs[i] = o.ID
			}
		})
	}
	wg.Wait()
	require.NotContains(t, orderIDs, "")
	numbers := map[string]bool{}
	for i, id := range orderIDs {
		s.waitStatus(t, auths[i], id, "paid")
		resp := s.send(t, http.MethodGet, "/api/v1/invoices?order_id="+id, auths[i], "")
		require.Equal(t, http.StatusOK, resp.Status, "invoices: %s", resp.Body)
		var invoices []struct{ Number string }
		resp.JSON(t, &invoices)
		require.Len(t, invoices, 1, "one invoice for order %s", id)
		numbers[invoices[0].Number] = true
	}
	assert.Len(t, numbers, customers, "20 distinct numbers")
	s.waitInventory(t, productID, inventory{OnHand: 0, Reserved: 0, Available: 0})

	rows, err := connect(t, "payments").Query(ctx(t), `SELECT number FROM invoices ORDER BY number`)
	require.NoError(t, err)
	perYear := map[int64][]int64{}
	for rows.Next() {
		var n int64
		require.NoError(t, rows.Scan(&n))
		perYear[n/1_000_000] = append(perYear[n/1_000_000], n%1_000_000)
	}
	require.NoError(t, rows.Err())
	for year, seq := range perYear {
		for i, n := range seq {
			require.EqualValues(t, i+1, n, "invoice %d of %d: numbers %v", i+1, year, seq)
		}
	}
}
