package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/server"
)

// do sends a JSON body (none when empty) with token and extra header
// pairs, and returns the status and decoded body.
func (f fixture) do(t *testing.T, method, path, token, body string, headers ...string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	}
	req.Header.Set(fiber.HeaderAuthorization, "Bearer "+token)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := f.app.Test(req, -1)
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out map[string]any
	if len(b) > 0 {
		require.NoError(t, json.Unmarshal(b, &out), string(b))
	}
	if resp.StatusCode >= 400 {
		assert.Equal(t, server.ProblemContentType, resp.Header.Get(fiber.HeaderContentType))
	}
	return resp.StatusCode, out
}

const shipTo = `{"shipping_address": {"name": "Ada", "line1": "1 St", "city": "Lyon", "postal_code": "69001", "country": "FR"}}`

func TestCartAndCheckout(t *testing.T) {
	f := newFixture(t)
	p := f.catalog.Add("Teapot", 2500, 3)
	user := f.issuer.Token(t, uuid.NewString())
	add := func(body string) (int, map[string]any) {
		return f.do(t, http.MethodPost, "/api/v1/cart/items", user, body)
	}

	t.Run("bad cart input is 422 and changes nothing", func(t *testing.T) {
		for name, body := range map[string]string{
			"unknown product": `{"product_id": "` + uuid.NewString() + `", "quantity": 1}`,
			"zero quantity":   `{"product_id": "` + p.ID.String() + `", "quantity": 0}`,
			"too many":        `{"product_id": "` + p.ID.String() + `", "quantity": 101}`,
			"not a uuid":      `{"product_id": "x", "quantity": 1}`,
		} {
			t.Run(name, func(t *testing.T) {
				status, _ := add(body)
				assert.Equal(t, http.StatusUnprocessableEntity, status)
			})
		}
		for name, body := range map[string]string{
			"quantity past int64":   `{"product_id": "` + p.ID.String() + `", "quantity": 99999999999999999999}`,
			"quantity exponent":     `{"product_id": "` + p.ID.String() + `", "quantity": 1e400}`,
			"fractional quantity":   `{"product_id": "` + p.ID.String() + `", "quantity": 1.5}`,
			"quantity as text":      `{"product_id": "` + p.ID.String() + `", "quantity": "1"}`,
			"infinite quantity":     `{"product_id": "` + p.ID.String() + `", "quantity": Infinity}`,
			"NUL in the product id": `{"product_id": "\u0000", "quantity": 1}`,
		} {
			t.Run(name, func(t *testing.T) {
				status, problem := add(body)
				assert.Equal(t, http.StatusBadRequest, status)
				assert.NotContains(t, problem["detail"], "99999999999999999999")
			})
		}
		status, _ := add(`{"product_id": "` + p.ID.String() + `", "quantity": -1}`)
		assert.Equal(t, http.StatusUnprocessableEntity, status, "a negative quantity")
		status, cart := f.do(t, http.MethodGet, "/api/v1/cart", user, "")
		require.Equal(t, http.StatusOK, status)
		assert.Empty(t, cart["items"])
	})

	status, cart := add(`{"product_id": "` + p.ID.String() + `", "quantity": 2}`)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, float64(5000), cart["total_cents"])
	status, cart = f.do(t, http.MethodPatch, "/api/v1/cart/items/"+p.ID.String(), user, `{"quantity": 3}`)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, float64(7500), cart["total_cents"])

	t.Run("checkout needs an Idempotency-Key", func(t *testing.T) {
		status, _ := f.do(t, http.MethodPost, "/api/v1/checkout", user, shipTo)
		assert.Equal(t, http.StatusBadRequest, status)
	})
	t.Run("checkout validates the address", func(t *testing.T) {
		status, body := f.do(t, http.MethodPost, "/api/v1/checkout", user, `{"shipping_address": {"name": "A"}}`, "Idempotency-Key", "v")
		assert.Equal(t, http.StatusUnprocessableEntity, status)
		assert.Len(t, body["errors"], 4)
	})

	status, first := f.do(t, http.MethodPost, "/api/v1/checkout", user, shipTo, "Idempotency-Key", "key-1")
	require.Equal(t, http.StatusCreated, status, first)
	assert.Equal(t, "pending_payment", first["status"])
	assert.Equal(t, float64(7500), first["total_cents"])
	assert.Nil(t, first["payment"])
	assert.Len(t, first["history"], 1)

	t.Run("a replay answers the same 201", func(t *testing.T) {
		status, again := f.do(t, http.MethodPost, "/api/v1/checkout", user, shipTo, "Idempotency-Key", "key-1")
		assert.Equal(t, http.StatusCreated, status)
		assert.Equal(t, first, again)
	})
	t.Run("the key with another body is 422", func(t *testing.T) {
		status, body := f.do(t, http.MethodPost, "/api/v1/checkout", user, strings.Replace(shipTo, "Lyon", "Nice", 1), "Idempotency-Key", "key-1")
		assert.Equal(t, http.StatusUnprocessableEntity, status)
		assert.Equal(t, "idempotency_key_reused", body["code"])
	})
	t.Run("the emptied cart cannot be checked out", func(t *testing.T) {
		status, body := f.do(t, http.MethodPost, "/api/v1/checkout", user, shipTo, "Idempotency-Key", "key-2")
		assert.Equal(t, http.StatusUnprocessableEntity, status)
		assert.Equal(t, "empty_cart", body["code"])
	})
	t.Run("out of stock is 409 naming the product", func(t *testing.T) {
		other := f.issuer.Token(t, uuid.NewString())
		status, _ := f.do(t, http.MethodPost, "/api/v1/cart/items", other, `{"product_id": "`+p.ID.String()+`", "quantity": 1}`)
		require.Equal(t, http.StatusOK, status)
		status, body := f.do(t, http.MethodPost, "/api/v1/checkout", other, shipTo, "Idempotency-Key", "k")
		assert.Equal(t, http.StatusConflict, status)
		assert.Equal(t, "insufficient_stock", body["code"])
		assert.Equal(t, []any{p.ID.String()}, body["product_ids"])
	})

	id := first["id"].(string)
	t.Run("order routes: visibility and roles", func(t *testing.T) {
		status, _ := f.do(t, http.MethodGet, "/api/v1/orders/"+id, f.issuer.Token(t, uuid.NewString()), "")
		assert.Equal(t, http.StatusNotFound, status, "another customer's order")
		status, _ = f.do(t, http.MethodGet, "/api/v1/orders/not-a-uuid", user, "")
		assert.Equal(t, http.StatusNotFound, status)
		status, _ = f.do(t, http.MethodPost, "/api/v1/orders/"+id+"/ship", user, "")
		assert.Equal(t, http.StatusForbidden, status)
		admin := f.issuer.Token(t, uuid.NewString(), authn.RoleAdmin)
		status, body := f.do(t, http.MethodPost, "/api/v1/orders/"+id+"/ship", admin, "")
		assert.Equal(t, http.StatusConflict, status, "an unpaid order cannot ship")
		assert.Equal(t, "invalid_transition", body["code"])
		status, body = f.do(t, http.MethodPost, "/api/v1/orders/"+id+"/cancel", user, "")
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, "cancelled", body["status"])
		status, _ = f.do(t, http.MethodPost, "/api/v1/orders/"+id+"/cancel", admin, "")
		assert.Equal(t, http.StatusConflict, status)
	})
}
