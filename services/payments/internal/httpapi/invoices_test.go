package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/payments/internal/payments/paymentstest"
)

// payOrderWithLines charges an order of two lines (2 × 605 + 1 × 1000 =
// 2210) and delivers its success webhook.
func (f fixture) payOrderWithLines(t *testing.T, user uuid.UUID) uuid.UUID {
	t.Helper()
	order := uuid.New()
	require.NoError(t, f.svc.Charge(context.Background(), "evt-"+order.String(), paymentstest.OrderWithLines(t, order, user)))
	payload := intentEvent(t, "evt_ok_"+order.String(), "payment_intent.succeeded", "pi_"+order.String())
	require.Equal(t, http.StatusOK, f.webhook(t, payload, sign(payload, webhookSecret, time.Now())))
	return order
}

func TestInvoiceIssuedOnPayment(t *testing.T) {
	f := newFixture(t)
	user := uuid.New()
	f.insertCard(t, user, "visa", "4242", true, 0)
	order := f.payOrderWithLines(t, user)
	owner := f.issuer.Token(t, user.String())

	resp, body := f.do(t, http.MethodGet, "/api/v1/invoices?order_id="+order.String(), owner, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	var list []map[string]any
	require.NoError(t, json.Unmarshal(body, &list))
	require.Len(t, list, 1)
	inv := list[0]
	assert.Equal(t, fmt.Sprintf("%d-000001", time.Now().UTC().Year()), inv["number"])
	assert.EqualValues(t, 2210, inv["total_cents"])
	assert.EqualValues(t, 384, inv["tax_cents"], "21% included: 2210 × 21/121 = 383.55")
	assert.EqualValues(t, 1826, inv["subtotal_cents"])
	assert.Len(t, inv["lines"], 2)
	assert.EqualValues(t, 1210, inv["lines"].([]any)[0].(map[string]any)["total_cents"])

	path := "/api/v1/invoices/" + inv["id"].(string)
	t.Run("as JSON", func(t *testing.T) {
		resp, body := f.do(t, http.MethodGet, path, owner, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
		assert.Contains(t, string(body), `"number":"`+inv["number"].(string)+`"`)
	})
	t.Run("as PDF", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set(fiber.HeaderAuthorization, "Bearer "+owner)
		req.Header.Set(fiber.HeaderAccept, "application/pdf")
		resp, err := f.app.Test(req, -1)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "application/pdf", resp.Header.Get(fiber.HeaderContentType))
		var buf bytes.Buffer
		_, err = buf.ReadFrom(resp.Body)
		require.NoError(t, err)
		assert.True(t, bytes.HasPrefix(buf.Bytes(), []byte("%PDF-")))
	})
	t.Run("another user's invoice is not found", func(t *testing.T) {
		resp, _ := f.do(t, http.MethodGet, path, f.issuer.Token(t, uuid.NewString()), nil)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	})
}
