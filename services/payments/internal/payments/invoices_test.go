package payments_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/payments/internal/payments"
	"github.com/daprshop/daprshop/services/payments/internal/payments/paymentstest"
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

// payOrderWithLines charges an order of two lines (2 × 605 + 1 × 1000 =
// 2210) and applies its success webhook.
func (f fixture) payOrderWithLines(t *testing.T, user uuid.UUID) uuid.UUID {
	t.Helper()
	order := uuid.New()
	require.NoError(t, f.svc.Charge(context.Background(), "evt-"+order.String(), paymentstest.OrderWithLines(t, order, user)))
	f.deliver(t, "evt_ok_"+order.String(), payments.IntentSucceeded, "pi_"+order.String())
	return order
}

func TestInvoiceIssuedOnPayment(t *testing.T) {
	f := newFixture(t)
	user := uuid.New()
	f.saveCard(t, user)
	order := f.payOrderWithLines(t, user)

	invoices, err := f.svc.Invoices(context.Background(), order)
	require.NoError(t, err)
	require.Len(t, invoices, 1)
	inv := invoices[0]
	assert.Equal(t, fmt.Sprintf("%d-000001", time.Now().UTC().Year()), inv.DisplayNumber())
	assert.Equal(t, user, inv.UserID)
	assert.EqualValues(t, 2210, inv.TotalCents)
	assert.EqualValues(t, 384, inv.TaxCents, "21% included: 2210 × 21/121 = 383.55")
	assert.EqualValues(t, 1826, inv.SubtotalCents)
	require.Len(t, inv.Lines, 2)
	assert.EqualValues(t, 1210, inv.Lines[0].TotalCents)
	var named string
	require.NoError(t, f.pool.QueryRow(context.Background(),
		`SELECT payload->>'invoice_number' FROM outbox WHERE topic = 'payment.succeeded'`).Scan(&named))
	assert.Equal(t, inv.DisplayNumber(), named, "payment.succeeded names the invoice")

	byID, err := f.svc.Invoice(context.Background(), inv.ID)
	require.NoError(t, err)
	assert.Equal(t, inv, byID)
	_, err = f.svc.Invoice(context.Background(), uuid.New())
	assert.ErrorIs(t, err, payments.ErrInvoiceNotFound)

	t.Run("a replayed success issues no second invoice", func(t *testing.T) {
		f.deliver(t, "evt_ok_again", payments.IntentSucceeded, "pi_"+order.String())
		assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM invoices WHERE order_id = $1`, order))
	})
}

// Concurrent successes take consecutive numbers: no gap, no duplicate.
func TestConcurrentPaymentsNumberInvoicesWithoutGaps(t *testing.T) {
	f := newFixture(t)
	const n = 20
	users := make([]uuid.UUID, n)
	for i := range users {
		users[i] = uuid.New()
		f.saveCard(t, users[i])
	}
	var wg sync.WaitGroup
	for _, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.payOrderWithLines(t, u)
		}()
	}
	wg.Wait()
	rows, err := f.pool.Query(context.Background(), `SELECT number FROM invoices`)
	require.NoError(t, err)
	var numbers []int64
	for rows.Next() {
		var n int64
		require.NoError(t, rows.Scan(&n))
		numbers = append(numbers, n%payments.InvoiceNumberBase)
	}
	require.NoError(t, rows.Err())
	sort.Slice(numbers, func(i, j int) bool { return numbers[i] < numbers[j] })
	want := make([]int64, n)
	for i := range want {
		want[i] = int64(i + 1)
	}
	assert.Equal(t, want, numbers)
}
