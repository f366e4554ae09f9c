package httpapi_test

import (
	"context"
	"log/slog"
	"net/http"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/server"
	"github.com/daprshop/daprshop/services/platform/server/servertest"
	"github.com/daprshop/daprshop/services/products/internal/cache"
	"github.com/daprshop/daprshop/services/products/internal/cache/cachetest"
	"github.com/daprshop/daprshop/services/products/internal/catalog"
	"github.com/daprshop/daprshop/services/products/internal/httpapi"
	"github.com/daprshop/daprshop/services/products/internal/postgres"
	"github.com/daprshop/daprshop/services/products/internal/postgres/migrations"
)

type fixture struct {
	*servertest.API
	admin    string
	customer string
}

// newFixture serves the handlers behind the cache on an in-memory state
// store, over a fresh database.
func newFixture(t *testing.T) fixture {
	t.Helper()
	api := servertest.NewAPI(t, "products", migrations.FS)
	log := slog.New(slog.DiscardHandler)
	store := cache.New(postgres.NewStore(api.DB), cachetest.NewState(), "cache", log)
	httpapi.New(catalog.NewService(store, log), api.Issuer.Verifier()).Register(api.App())
	return fixture{
		API:      api,
		admin:    api.Issuer.Token(t, uuid.NewString(), authn.RoleAdmin),
		customer: api.Issuer.Token(t, uuid.NewString()),
	}
}

// fromOrders is the header of a call invoked through Dapr by orders, the
// one caller of the reservation routes.
var fromOrders = []string{server.HeaderCallerAppID, contracts.ReservationsCaller}

func TestProductWrites(t *testing.T) {
	f := newFixture(t)
	created := f.Send(t, http.MethodPost, "/api/v1/products", f.admin,
		`{"sku": "MUG-1", "name": "Mug", "description": "Stoneware", "price_cents": 1200, "initial_stock": 5}`)
	require.Equal(t, http.StatusCreated, created.Status, created.Object)
	assert.Equal(t, "USD", created.Object["currency"])
	assert.Equal(t, float64(5), created.Object["available"])
	assert.Nil(t, created.Object["category_id"])
	path := "/api/v1/products/" + created.Object["id"].(string)

	tests := []struct {
		name        string
		method      string
		path        string
		token       string
		contentType string
		body        string
		want        int
		fields      []string
	}{
		{"anonymous", http.MethodPost, "/api/v1/products", "", "application/json", `{}`, http.StatusUnauthorized, nil},
		{"a customer", http.MethodPost, "/api/v1/products", f.customer, "application/json", `{}`, http.StatusForbidden, nil},
		{"a customer patching", http.MethodPatch, path, f.customer, "application/json", `{"price_cents": 1}`, http.StatusForbidden, nil},
		{"a customer deleting", http.MethodDelete, path, f.customer, "", ``, http.StatusForbidden, nil},
		{"a customer reading stock", http.MethodGet, path + "/inventory", f.customer, "", ``, http.StatusForbidden, nil},
		{"not json", http.MethodPost, "/api/v1/products", f.admin, "text/plain", `sku=x`, http.StatusUnsupportedMediaType, nil},
		{"malformed json", http.MethodPost, "/api/v1/products", f.admin, "application/json", `{"sku": `, http.StatusBadRequest, nil},
		{"unknown field", http.MethodPost, "/api/v1/products", f.admin, "application/json", `{"sku": "A", "colour": "red"}`, http.StatusBadRequest, nil},
		{"missing and invalid fields", http.MethodPost, "/api/v1/products", f.admin, "application/json",
			`{"sku": "", "name": "X", "price_cents": -1, "currency": "EURO", "category_id": "nope"}`, http.StatusUnprocessableEntity,
			[]string{"sku", "price_cents", "currency", "category_id", "initial_stock"}},
		{"an unknown category", http.MethodPost, "/api/v1/products", f.admin, "application/json",
			`{"sku": "B", "name": "X", "price_cents": 1, "initial_stock": 0, "category_id": "` + uuid.NewString() + `"}`,
			http.StatusUnprocessableEntity, []string{"category_id"}},
		{"a duplicate sku", http.MethodPost, "/api/v1/products", f.admin, "application/json",
			`{"sku": "MUG-1", "name": "Mug", "price_cents": 1, "initial_stock": 0}`, http.StatusConflict, nil},
		{"an invalid patch", http.MethodPatch, path, f.admin, "application/json", `{"name": "", "price_cents": -5}`,
			http.StatusUnprocessableEntity, []string{"name", "price_cents"}},
		{"patching an unknown product", http.MethodPatch, "/api/v1/products/" + uuid.NewString(), f.admin, "application/json", `{}`, http.StatusNotFound, nil},
		{"a zero adjustment", http.MethodPost, path + "/inventory/adjustments", f.admin, "application/json", `{"delta": 0, "reason": "x"}`,
			http.StatusUnprocessableEntity, []string{"delta"}},
		{"an adjustment below reserved", http.MethodPost, path + "/inventory/adjustments", f.admin, "application/json", `{"delta": -6, "reason": "lost"}`,
			http.StatusConflict, nil},
		{"a bad listing filter", http.MethodGet, "/api/v1/products?min_price=-1&sort=cheapest&in_stock=yes", "", "", ``,
			http.StatusUnprocessableEntity, []string{"min_price", "in_stock", "sort"}},
		{"a price past the most a product may cost", http.MethodPost, "/api/v1/products", f.admin, "application/json",
			`{"sku": "C", "name": "X", "price_cents": 100000000001, "initial_stock": 0}`, http.StatusUnprocessableEntity, []string{"price_cents"}},
		{"a price at the int64 ceiling", http.MethodPatch, path, f.admin, "application/json", `{"price_cents": 9223372036854775807}`,
			http.StatusUnprocessableEntity, []string{"price_cents"}},
		{"a price past int64", http.MethodPatch, path, f.admin, "application/json", `{"price_cents": 9223372036854775808}`, http.StatusBadRequest, nil},
		{"a price with a huge exponent", http.MethodPatch, path, f.admin, "application/json", `{"price_cents": 1e400}`, http.StatusBadRequest, nil},
		{"a fractional price", http.MethodPatch, path, f.admin, "application/json", `{"price_cents": 12.5}`, http.StatusBadRequest, nil},
		{"a price as text", http.MethodPatch, path, f.admin, "application/json", `{"price_cents": "12"}`, http.StatusBadRequest, nil},
		{"a NaN price", http.MethodPatch, path, f.admin, "application/json", `{"price_cents": NaN}`, http.StatusBadRequest, nil},
		{"a negative threshold", http.MethodPatch, path, f.admin, "application/json", `{"low_stock_threshold": -1}`,
			http.StatusUnprocessableEntity, []string{"low_stock_threshold"}},
		{"negative initial stock", http.MethodPost, "/api/v1/products", f.admin, "application/json",
			`{"sku": "D", "name": "X", "price_cents": 1, "initial_stock": -1}`, http.StatusUnprocessableEntity, []string{"initial_stock"}},
		{"an adjustment past its bound", http.MethodPost, path + "/inventory/adjustments", f.admin, "application/json",
			`{"delta": 10000001, "reason": "x"}`, http.StatusUnprocessableEntity, []string{"delta"}},
		{"an adjustment with an exponent", http.MethodPost, path + "/inventory/adjustments", f.admin, "application/json",
			`{"delta": 1e10, "reason": "x"}`, http.StatusBadRequest, nil},
		{"an adjustment past int64", http.MethodPost, path + "/inventory/adjustments", f.admin, "application/json",
			`{"delta": -99999999999999999999, "reason": "x"}`, http.StatusBadRequest, nil},
		{"price filters that are no whole numbers", http.MethodGet, "/api/v1/products?min_price=1e3&max_price=99999999999999999999", "", "", ``,
			http.StatusUnprocessableEntity, []string{"min_price", "max_price"}},
		{"price filters in other digits or NaN", http.MethodGet, "/api/v1/products?min_price=%D9%A1&max_price=NaN", "", "", ``,
			http.StatusUnprocessableEntity, []string{"min_price", "max_price"}},
		{"price filters infinite or fractional", http.MethodGet, "/api/v1/products?min_price=Inf&max_price=1.5", "", "", ``,
			http.StatusUnprocessableEntity, []string{"min_price", "max_price"}},
		{"paging out of range", http.MethodGet, "/api/v1/products?page=1e17&page_size=1e3", "", "", ``,
			http.StatusUnprocessableEntity, []string{"page", "page_size"}},
		{"a page number past int", http.MethodGet, "/api/v1/products?page=99999999999999999999", "", "", ``,
			http.StatusUnprocessableEntity, []string{"page"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.Send(t, tt.method, tt.path, tt.token, tt.body, fiber.HeaderContentType, tt.contentType)
			assert.Equal(t, tt.want, r.Status, r.Object)
			assert.Equal(t, server.ProblemContentType, r.Header.Get(fiber.HeaderContentType))
			if tt.fields != nil {
				assert.ElementsMatch(t, tt.fields, r.Fields())
			}
		})
	}

	t.Run("a patch is visible to the next read, cached or not", func(t *testing.T) {
		for range 2 {
			require.Equal(t, float64(1200), f.Get(t, path, "").Object["price_cents"])
		}
		require.Equal(t, float64(1200), f.Get(t, "/api/v1/products", "").Object["items"].([]any)[0].(map[string]any)["price_cents"])
		patched := f.Send(t, http.MethodPatch, path, f.admin, `{"price_cents": 999}`)
		require.Equal(t, http.StatusOK, patched.Status, patched.Object)
		assert.Equal(t, "Mug", patched.Object["name"])
		assert.Equal(t, float64(999), f.Get(t, path, "").Object["price_cents"])
		assert.Equal(t, float64(999), f.Get(t, "/api/v1/products", "").Object["items"].([]any)[0].(map[string]any)["price_cents"])
	})
	t.Run("an adjustment is visible in available at once", func(t *testing.T) {
		r := f.Send(t, http.MethodPost, path+"/inventory/adjustments", f.admin, `{"delta": 3, "reason": "restock"}`)
		require.Equal(t, http.StatusOK, r.Status, r.Object)
		assert.Equal(t, map[string]any{"product_id": created.Object["id"], "on_hand": float64(8), "reserved": float64(0),
			"available": float64(8), "low_stock_threshold": float64(0), "held_by_abandoned_checkouts": float64(0)}, r.Object)
		assert.Equal(t, float64(8), f.Get(t, path, "").Object["available"])
	})
	t.Run("delete hides the product", func(t *testing.T) {
		assert.Equal(t, http.StatusNoContent, f.Send(t, http.MethodDelete, path, f.admin, "").Status)
		assert.Equal(t, http.StatusNotFound, f.Get(t, path, "").Status)
		assert.Equal(t, float64(0), f.Get(t, "/api/v1/products", "").Object["total"])
	})
}

func TestCategoryWrites(t *testing.T) {
	f := newFixture(t)
	root := f.Send(t, http.MethodPost, "/api/v1/categories", f.admin, `{"name": "Home", "slug": "home"}`)
	require.Equal(t, http.StatusCreated, root.Status, root.Object)
	rootID := root.Object["id"].(string)
	child := f.Send(t, http.MethodPost, "/api/v1/categories", f.admin, `{"name": "Kitchen", "slug": "kitchen", "parent_id": "`+rootID+`"}`)
	require.Equal(t, http.StatusCreated, child.Status, child.Object)
	childID := child.Object["id"].(string)

	tests := []struct {
		name   string
		method string
		path   string
		body   string
		want   int
		fields []string
	}{
		{"a duplicate slug", http.MethodPost, "/api/v1/categories", `{"name": "Again", "slug": "home"}`, http.StatusConflict, nil},
		{"a slug with spaces", http.MethodPost, "/api/v1/categories", `{"name": "Bad", "slug": "Bad Slug"}`, http.StatusUnprocessableEntity, []string{"slug"}},
		{"an unknown parent", http.MethodPost, "/api/v1/categories", `{"name": "X", "slug": "x", "parent_id": "` + uuid.NewString() + `"}`,
			http.StatusUnprocessableEntity, []string{"parent_id"}},
		{"a cycle", http.MethodPatch, "/api/v1/categories/" + rootID, `{"parent_id": "` + childID + `"}`, http.StatusUnprocessableEntity, []string{"parent_id"}},
		{"deleting a non-empty category", http.MethodDelete, "/api/v1/categories/" + rootID, ``, http.StatusConflict, nil},
		{"moving to the root", http.MethodPatch, "/api/v1/categories/" + childID, `{"parent_id": null}`, http.StatusOK, nil},
		{"deleting an empty category", http.MethodDelete, "/api/v1/categories/" + childID, ``, http.StatusNoContent, nil},
		{"deleting it again", http.MethodDelete, "/api/v1/categories/" + childID, ``, http.StatusNotFound, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.Send(t, tt.method, tt.path, f.admin, tt.body)
			assert.Equal(t, tt.want, r.Status, r.Object)
			if tt.fields != nil {
				assert.ElementsMatch(t, tt.fields, r.Fields())
			}
		})
	}
	t.Run("a customer cannot create categories", func(t *testing.T) {
		assert.Equal(t, http.StatusForbidden, f.Send(t, http.MethodPost, "/api/v1/categories", f.customer, `{"name": "C", "slug": "c"}`).Status)
	})
}

func TestInternalReservations(t *testing.T) {
	f := newFixture(t)
	p := f.Send(t, http.MethodPost, "/api/v1/products", f.admin, `{"sku": "S", "name": "Sock", "price_cents": 300, "initial_stock": 4}`)
	require.Equal(t, http.StatusCreated, p.Status)
	productID := p.Object["id"].(string)
	path := "/api/v1/products/" + productID
	order := uuid.NewString()
	require.Equal(t, float64(4), f.Get(t, path, "").Object["available"], "cached before reserving")

	reserve := `{"order_id": "` + order + `", "lines": [{"product_id": "` + productID + `", "quantity": 3}]}`
	for range 2 {
		r := f.Send(t, http.MethodPost, contracts.ReservationsPath, "", reserve, fromOrders...)
		require.Equal(t, http.StatusOK, r.Status, r.Object)
		assert.Equal(t, "reserved", r.Object["status"])
		assert.Equal(t, []any{map[string]any{"product_id": productID, "name": "Sock", "quantity": float64(3),
			"unit_price_cents": float64(300), "currency": "USD"}}, r.Object["lines"])
	}
	assert.Equal(t, float64(1), f.Get(t, path, "").Object["available"], "reserving invalidated the cached product")

	short := f.Send(t, http.MethodPost, contracts.ReservationsPath, "",
		`{"order_id": "`+uuid.NewString()+`", "lines": [{"product_id": "`+productID+`", "quantity": 2}]}`, fromOrders...)
	assert.Equal(t, http.StatusConflict, short.Status)
	assert.Equal(t, "insufficient_stock", short.Object["code"])
	assert.Equal(t, []any{productID}, short.Object["product_ids"])

	invalid := f.Send(t, http.MethodPost, contracts.ReservationsPath, "", `{"order_id": "x", "lines": [{"product_id": "y", "quantity": 0}]}`, fromOrders...)
	assert.Equal(t, http.StatusUnprocessableEntity, invalid.Status)
	assert.ElementsMatch(t, []string{"order_id", "lines[0].product_id", "lines[0].quantity"}, invalid.Fields())

	t.Run("a checkout that reserved and placed no order shows in the inventory", func(t *testing.T) {
		inventory := func() map[string]any {
			r := f.Get(t, path+"/inventory", f.admin)
			require.Equal(t, http.StatusOK, r.Status, r.Object)
			return r.Object
		}
		assert.Equal(t, float64(0), inventory()["held_by_abandoned_checkouts"], "not while the checkout may still place it")
		_, err := f.DB.Exec(context.Background(), `UPDATE reservations SET created_at = created_at - $2::interval WHERE order_id = $1`,
			order, 2*catalog.AbandonedAfter)
		require.NoError(t, err)
		assert.Equal(t, map[string]any{"product_id": productID, "on_hand": float64(4), "reserved": float64(3), "available": float64(1),
			"low_stock_threshold": float64(0), "held_by_abandoned_checkouts": float64(3)}, inventory())
	})

	released := f.Send(t, http.MethodPost, contracts.ReservationsPath+"/"+order+"/release", "", "", fromOrders...)
	assert.Equal(t, http.StatusOK, released.Status)
	assert.Equal(t, "released", released.Object["status"])
	assert.Equal(t, float64(4), f.Get(t, path, "").Object["available"], "releasing invalidated the cached product")
	assert.Equal(t, http.StatusNotFound, f.Send(t, http.MethodPost, contracts.ReservationsPath+"/"+uuid.NewString()+"/release", "", "", fromOrders...).Status)

	// Only order.paid commits a reservation, and nothing reads one back:
	// neither is served to orders, or to anyone.
	assert.Equal(t, http.StatusNotFound, f.Send(t, http.MethodPost, contracts.ReservationsPath+"/"+order+"/commit", "", "", fromOrders...).Status)
	assert.Equal(t, http.StatusNotFound, f.Send(t, http.MethodGet, contracts.ReservationsPath+"/"+order, "", "", fromOrders...).Status)
	assert.Equal(t, float64(4), f.Get(t, path, "").Object["available"], "the reservation stayed released")
}
