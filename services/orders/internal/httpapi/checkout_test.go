package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/server/servertest"
)

const shipTo = `{"shipping_address": {"name": "Ada", "line1": "1 St", "city": "Lyon", "postal_code": "69001", "country": "FR"}}`

func TestCartAndCheckout(t *testing.T) {
	f := newFixture(t)
	p := f.catalog.Add("Teapot", 2500, 3)
	user := f.Issuer.Token(t, uuid.NewString())
	add := func(body string) servertest.Response {
		return f.Send(t, http.MethodPost, "/api/v1/cart/items", user, body)
	}

	t.Run("bad cart input is 422 and changes nothing", func(t *testing.T) {
		for name, body := range map[string]string{
			"unknown product": `{"product_id": "` + uuid.NewString() + `", "quantity": 1}`,
			"zero quantity":   `{"product_id": "` + p.ID.String() + `", "quantity": 0}`,
			"too many":        `{"product_id": "` + p.ID.String() + `", "quantity": 101}`,
			"not a uuid":      `{"product_id": "x", "quantity": 1}`,
		} {
			t.Run(name, func(t *testing.T) {
				assert.Equal(t, http.StatusUnprocessableEntity, add(body).Status)
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
				problem := add(body)
				assert.Equal(t, http.StatusBadRequest, problem.Status)
				assert.NotContains(t, problem.Object["detail"], "99999999999999999999")
			})
		}
		assert.Equal(t, http.StatusUnprocessableEntity, add(`{"product_id": "`+p.ID.String()+`", "quantity": -1}`).Status, "a negative quantity")
		cart := f.Get(t, "/api/v1/cart", user)
		require.Equal(t, http.StatusOK, cart.Status)
		assert.Empty(t, cart.Object["items"])
	})

	cart := add(`{"product_id": "` + p.ID.String() + `", "quantity": 2}`)
	require.Equal(t, http.StatusOK, cart.Status)
	assert.Equal(t, float64(5000), cart.Object["total_cents"])
	cart = f.Send(t, http.MethodPatch, "/api/v1/cart/items/"+p.ID.String(), user, `{"quantity": 3}`)
	require.Equal(t, http.StatusOK, cart.Status)
	assert.Equal(t, float64(7500), cart.Object["total_cents"])

	t.Run("checkout needs an Idempotency-Key", func(t *testing.T) {
		assert.Equal(t, http.StatusBadRequest, f.Send(t, http.MethodPost, "/api/v1/checkout", user, shipTo).Status)
	})
	t.Run("checkout validates the address", func(t *testing.T) {
		r := f.Send(t, http.MethodPost, "/api/v1/checkout", user, `{"shipping_address": {"name": "A"}}`, "Idempotency-Key", "v")
		assert.Equal(t, http.StatusUnprocessableEntity, r.Status)
		assert.Len(t, r.Object["errors"], 4)
	})

	t.Run("checkout takes only the providers there are", func(t *testing.T) {
		for _, provider := range []string{`"bitcoin"`, `"PAYPAL"`, `42`} {
			r := f.Send(t, http.MethodPost, "/api/v1/checkout", user,
				strings.Replace(shipTo, `{"shipping_address"`, `{"payment_provider": `+provider+`, "shipping_address"`, 1), "Idempotency-Key", "p")
			assert.Contains(t, []int{http.StatusBadRequest, http.StatusUnprocessableEntity}, r.Status, provider)
		}
	})

	placed := f.Send(t, http.MethodPost, "/api/v1/checkout", user, shipTo, "Idempotency-Key", "key-1")
	require.Equal(t, http.StatusCreated, placed.Status, string(placed.Body))
	first := placed.Object
	assert.Equal(t, "pending_payment", first["status"])
	assert.Equal(t, "stripe", first["payment_provider"], "the default provider")
	assert.Equal(t, float64(7500), first["total_cents"])
	assert.Nil(t, first["payment"])
	assert.Len(t, first["history"], 1)

	t.Run("a replay answers the same 201", func(t *testing.T) {
		again := f.Send(t, http.MethodPost, "/api/v1/checkout", user, shipTo, "Idempotency-Key", "key-1")
		assert.Equal(t, http.StatusCreated, again.Status)
		assert.Equal(t, first, again.Object)
	})
	t.Run("the key with another body is 422", func(t *testing.T) {
		r := f.Send(t, http.MethodPost, "/api/v1/checkout", user, strings.Replace(shipTo, "Lyon", "Nice", 1), "Idempotency-Key", "key-1")
		assert.Equal(t, http.StatusUnprocessableEntity, r.Status)
		assert.Equal(t, "idempotency_key_reused", r.Object["code"])
	})
	t.Run("the emptied cart cannot be checked out", func(t *testing.T) {
		r := f.Send(t, http.MethodPost, "/api/v1/checkout", user, shipTo, "Idempotency-Key", "key-2")
		assert.Equal(t, http.StatusUnprocessableEntity, r.Status)
		assert.Equal(t, "empty_cart", r.Object["code"])
	})
	t.Run("out of stock is 409 naming the product", func(t *testing.T) {
		other := f.Issuer.Token(t, uuid.NewString())
		require.Equal(t, http.StatusOK, f.Send(t, http.MethodPost, "/api/v1/cart/items", other, `{"product_id": "`+p.ID.String()+`", "quantity": 1}`).Status)
		r := f.Send(t, http.MethodPost, "/api/v1/checkout", other, shipTo, "Idempotency-Key", "k")
		assert.Equal(t, http.StatusConflict, r.Status)
		assert.Equal(t, "insufficient_stock", r.Object["code"])
		assert.Equal(t, []any{p.ID.String()}, r.Object["product_ids"])
	})

	id := first["id"].(string)
	t.Run("order routes: visibility and roles", func(t *testing.T) {
		assert.Equal(t, http.StatusNotFound, f.Get(t, "/api/v1/orders/"+id, f.Issuer.Token(t, uuid.NewString())).Status, "another customer's order")
		assert.Equal(t, http.StatusNotFound, f.Get(t, "/api/v1/orders/not-a-uuid", user).Status)
		assert.Equal(t, http.StatusForbidden, f.Send(t, http.MethodPost, "/api/v1/orders/"+id+"/ship", user, "").Status)
		admin := f.Issuer.Token(t, uuid.NewString(), authn.RoleAdmin)
		r := f.Send(t, http.MethodPost, "/api/v1/orders/"+id+"/ship", admin, "")
		assert.Equal(t, http.StatusConflict, r.Status, "an unpaid order cannot ship")
		assert.Equal(t, "invalid_transition", r.Object["code"])
		r = f.Send(t, http.MethodPost, "/api/v1/orders/"+id+"/cancel", user, "")
		require.Equal(t, http.StatusOK, r.Status)
		assert.Equal(t, "cancelled", r.Object["status"])
		assert.Equal(t, http.StatusConflict, f.Send(t, http.MethodPost, "/api/v1/orders/"+id+"/cancel", admin, "").Status)
	})
}
