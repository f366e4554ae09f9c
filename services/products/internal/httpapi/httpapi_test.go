package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	dapr "github.com/dapr/go-sdk/client"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/authn/authntest"
	"github.com/daprshop/daprshop/services/platform/config"
	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/postgres/pgtest"
	"github.com/daprshop/daprshop/services/platform/server"
	"github.com/daprshop/daprshop/services/products/internal/cache"
	"github.com/daprshop/daprshop/services/products/internal/catalog"
	"github.com/daprshop/daprshop/services/products/internal/httpapi"
	"github.com/daprshop/daprshop/services/products/internal/postgres"
	"github.com/daprshop/daprshop/services/products/internal/postgres/migrations"
)

// memoryState is a state store in memory, standing in for the sidecar.
type memoryState struct {
	mu     sync.Mutex
	values map[string][]byte
}

func (m *memoryState) GetState(_ context.Context, _, key string, _ map[string]string) (*dapr.StateItem, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return &dapr.StateItem{Key: key, Value: m.values[key]}, nil
}

func (m *memoryState) SaveState(_ context.Context, _, key string, data []byte, _ map[string]string, _ ...dapr.StateOption) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.values[key] = data
	return nil
}

func (m *memoryState) DeleteBulkState(_ context.Context, _ string, keys []string, _ map[string]string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		delete(m.values, k)
	}
	return nil
}

type fixture struct {
	app      *fiber.App
	admin    string
	customer string
}

// newFixture serves the handlers on the platform server, behind the cache
// on an in-memory state store, over a fresh database.
func newFixture(t *testing.T) fixture {
	t.Helper()
	pool := pgtest.NewDatabase(t, migrations.FS)
	issuer := authntest.NewIssuer(t)
	log := slog.New(slog.DiscardHandler)
	srv := server.New(server.Options{Config: config.Base{Service: "products"}, Logger: log})
	store := cache.New(postgres.NewStore(pool), &memoryState{values: map[string][]byte{}}, "cache", log)
	httpapi.New(catalog.NewService(store, log), issuer.Verifier()).Register(srv.App())
	return fixture{
		app:      srv.App(),
		admin:    issuer.Token(t, uuid.NewString(), authn.RoleAdmin),
		customer: issuer.Token(t, uuid.NewString()),
	}
}

type result struct {
	status      int
	contentType string
	body        map[string]any
}

func (f fixture) do(t *testing.T, method, path, token, contentType, body string) result {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		req.Header.Set(fiber.HeaderAuthorization, "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set(fiber.HeaderContentType, contentType)
	}
	// Internal routes are invoked through Dapr by their one caller.
	switch {
	case strings.HasPrefix(path, contracts.ReservationsPath):
		req.Header.Set(server.HeaderCallerAppID, contracts.ReservationsCaller)
	case strings.HasPrefix(path, contracts.LowStockPath):
		req.Header.Set(server.HeaderCallerAppID, contracts.LowStockCaller)
	}
	resp, err := f.app.Test(req, -1)
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	r := result{status: resp.StatusCode, contentType: resp.Header.Get(fiber.HeaderContentType)}
	if len(b) > 0 {
		require.NoError(t, json.Unmarshal(b, &r.body), string(b))
	}
	return r
}

func (f fixture) json(t *testing.T, method, path, token, body string) result {
	t.Helper()
	return f.do(t, method, path, token, fiber.MIMEApplicationJSON, body)
}

func fieldNames(r result) []string {
	var out []string
	errs, _ := r.body["errors"].([]any)
	for _, e := range errs {
		out = append(out, e.(map[string]any)["field"].(string))
	}
	return out
}

func TestProductWrites(t *testing.T) {
	f := newFixture(t)
	created := f.json(t, http.MethodPost, "/api/v1/products", f.admin,
		`{"sku": "MUG-1", "name": "Mug", "description": "Stoneware", "price_cents": 1200, "initial_stock": 5}`)
	require.Equal(t, http.StatusCreated, created.status, created.body)
	assert.Equal(t, "USD", created.body["currency"])
	assert.Equal(t, float64(5), created.body["available"])
	assert.Nil(t, created.body["category_id"])
	path := "/api/v1/products/" + created.body["id"].(string)

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
			r := f.do(t, tt.method, tt.path, tt.token, tt.contentType, tt.body)
			assert.Equal(t, tt.want, r.status, r.body)
			assert.Equal(t, server.ProblemContentType, r.contentType)
			if tt.fields != nil {
				assert.ElementsMatch(t, tt.fields, fieldNames(r))
			}
		})
	}

	t.Run("a patch is visible to the next read, cached or not", func(t *testing.T) {
		for range 2 {
			require.Equal(t, float64(1200), f.json(t, http.MethodGet, path, "", "").body["price_cents"])
		}
		require.Equal(t, float64(1200), f.json(t, http.MethodGet, "/api/v1/products", "", "").body["items"].([]any)[0].(map[string]any)["price_cents"])
		patched := f.json(t, http.MethodPatch, path, f.admin, `{"price_cents": 999}`)
		require.Equal(t, http.StatusOK, patched.status, patched.body)
		assert.Equal(t, "Mug", patched.body["name"])
		assert.Equal(t, float64(999), f.json(t, http.MethodGet, path, "", "").body["price_cents"])
		assert.Equal(t, float64(999), f.json(t, http.MethodGet, "/api/v1/products", "", "").body["items"].([]any)[0].(map[string]any)["price_cents"])
	})
	t.Run("an adjustment is visible in available at once", func(t *testing.T) {
		r := f.json(t, http.MethodPost, path+"/inventory/adjustments", f.admin, `{"delta": 3, "reason": "restock"}`)
		require.Equal(t, http.StatusOK, r.status, r.body)
		assert.Equal(t, map[string]any{"product_id": created.body["id"], "on_hand": float64(8), "reserved": float64(0),
			"available": float64(8), "low_stock_threshold": float64(0)}, r.body)
		assert.Equal(t, float64(8), f.json(t, http.MethodGet, path, "", "").body["available"])
	})
	t.Run("delete hides the product", func(t *testing.T) {
		assert.Equal(t, http.StatusNoContent, f.do(t, http.MethodDelete, path, f.admin, "", "").status)
		assert.Equal(t, http.StatusNotFound, f.json(t, http.MethodGet, path, "", "").status)
		assert.Equal(t, float64(0), f.json(t, http.MethodGet, "/api/v1/products", "", "").body["total"])
	})
}

func TestCategoryWrites(t *testing.T) {
	f := newFixture(t)
	root := f.json(t, http.MethodPost, "/api/v1/categories", f.admin, `{"name": "Home", "slug": "home"}`)
	require.Equal(t, http.StatusCreated, root.status, root.body)
	rootID := root.body["id"].(string)
	child := f.json(t, http.MethodPost, "/api/v1/categories", f.admin, `{"name": "Kitchen", "slug": "kitchen", "parent_id": "`+rootID+`"}`)
	require.Equal(t, http.StatusCreated, child.status, child.body)
	childID := child.body["id"].(string)

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
			r := f.json(t, tt.method, tt.path, f.admin, tt.body)
			assert.Equal(t, tt.want, r.status, r.body)
			if tt.fields != nil {
				assert.ElementsMatch(t, tt.fields, fieldNames(r))
			}
		})
	}
	t.Run("a customer cannot create categories", func(t *testing.T) {
		assert.Equal(t, http.StatusForbidden, f.json(t, http.MethodPost, "/api/v1/categories", f.customer, `{"name": "C", "slug": "c"}`).status)
	})
}

func TestInternalReservations(t *testing.T) {
	f := newFixture(t)
	p := f.json(t, http.MethodPost, "/api/v1/products", f.admin, `{"sku": "S", "name": "Sock", "price_cents": 300, "initial_stock": 4}`)
	require.Equal(t, http.StatusCreated, p.status)
	productID := p.body["id"].(string)
	path := "/api/v1/products/" + productID
	order := uuid.NewString()
	require.Equal(t, float64(4), f.json(t, http.MethodGet, path, "", "").body["available"], "cached before reserving")

	reserve := `{"order_id": "` + order + `", "lines": [{"product_id": "` + productID + `", "quantity": 3}]}`
	for range 2 {
		r := f.json(t, http.MethodPost, contracts.ReservationsPath, "", reserve)
		require.Equal(t, http.StatusOK, r.status, r.body)
		assert.Equal(t, "reserved", r.body["status"])
		assert.Equal(t, []any{map[string]any{"product_id": productID, "name": "Sock", "quantity": float64(3),
			"unit_price_cents": float64(300), "currency": "USD"}}, r.body["lines"])
	}
	assert.Equal(t, float64(1), f.json(t, http.MethodGet, path, "", "").body["available"], "reserving invalidated the cached product")

	short := f.json(t, http.MethodPost, contracts.ReservationsPath, "",
		`{"order_id": "`+uuid.NewString()+`", "lines": [{"product_id": "`+productID+`", "quantity": 2}]}`)
	assert.Equal(t, http.StatusConflict, short.status)
	assert.Equal(t, "insufficient_stock", short.body["code"])
	assert.Equal(t, []any{productID}, short.body["product_ids"])

	invalid := f.json(t, http.MethodPost, contracts.ReservationsPath, "", `{"order_id": "x", "lines": [{"product_id": "y", "quantity": 0}]}`)
	assert.Equal(t, http.StatusUnprocessableEntity, invalid.status)
	assert.ElementsMatch(t, []string{"order_id", "lines[0].product_id", "lines[0].quantity"}, fieldNames(invalid))

	released := f.json(t, http.MethodPost, contracts.ReservationsPath+"/"+order+"/release", "", "")
	assert.Equal(t, http.StatusOK, released.status)
	assert.Equal(t, "released", released.body["status"])
	assert.Equal(t, float64(4), f.json(t, http.MethodGet, path, "", "").body["available"], "releasing invalidated the cached product")
	assert.Equal(t, http.StatusConflict, f.json(t, http.MethodPost, contracts.ReservationsPath+"/"+order+"/commit", "", "").status)
	assert.Equal(t, http.StatusNotFound, f.json(t, http.MethodPost, contracts.ReservationsPath+"/"+uuid.NewString()+"/commit", "", "").status)
}
