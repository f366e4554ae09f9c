package invoicepdf_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/payments/internal/invoicepdf"
	"github.com/daprshop/daprshop/services/payments/internal/payments"
)

func TestRenderIsAPDF(t *testing.T) {
	doc, err := invoicepdf.Render(payments.Invoice{
		ID: uuid.New(), Number: 2026*payments.InvoiceNumberBase + 7, OrderID: uuid.New(), Currency: "EUR",
		Lines:         []payments.Line{{Name: "Café crème", Quantity: 2, UnitPriceCents: 605, TotalCents: 1210}},
		SubtotalCents: 1000, TaxCents: 210, TotalCents: 1210, IssuedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	})
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(doc, []byte("%PDF-")), "PDF header")
	assert.True(t, bytes.Contains(doc[len(doc)-32:], []byte("%%EOF")), "PDF trailer")
	assert.Contains(t, string(doc), "2026-000007", "the title carries the number")
}
