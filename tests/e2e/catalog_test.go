package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/authn"
)

type catalogProduct struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	PriceCents int64  `json:"price_cents"`
	CategoryID string `json:"category_id"`
	Available  int    `json:"available"`
}

// TestCatalog drives the catalog through the gateway: an admin stocks it,
// a customer finds and reads it, and every write shows at once.
func TestCatalog(t *testing.T) {
	admin := "Bearer " + token(t, uuid.New(), authn.RoleAdmin)
	customer := "Bearer " + token(t, uuid.New(), authn.RoleCustomer)
	suffix := strings.ReplaceAll(uuid.NewString(), "-", "")[:10]
	send := func(t *testing.T, method, path, auth, body string) response {
		t.Helper()
		headers := []string{"Content-Type", "application/json"}
		if auth != "" {
			headers = append(headers, "Authorization", auth)
		}
		return call(t, method, gatewayURL+path, strings.NewReader(body), headers...)
	}

	cat := send(t, http.MethodPost, "/api/v1/categories", admin, `{"name": "E2E Audio", "slug": "e2e-audio-`+suffix+`"}`)
	require.Equal(t, http.StatusCreated, cat.Status, "body: %s", cat.Body)
	var category struct{ ID string }
	cat.JSON(t, &category)
	name := "Zorblax Headphones " + suffix
	created := send(t, http.MethodPost, "/api/v1/products", admin, `{"sku": "E2E-`+suffix+`", "name": "`+name+`",
		"description": "Closed-back studio headphones", "price_cents": 12900, "category_id": "`+category.ID+`", "initial_stock": 4}`)
	require.Equal(t, http.StatusCreated, created.Status, "body: %s", created.Body)
	var product catalogProduct
	created.JSON(t, &product)
	assert.Equal(t, category.ID, product.CategoryID)
	path := "/api/v1/products/" + product.ID

	t.Run("a customer finds it by category, by search with a typo, and by id", func(t *testing.T) {
		for _, query := range []string{"category=e2e-audio-" + suffix, "q=zorblx&page_size=100", "q=" + url.QueryEscape("studio headphones") + "&category=" + category.ID} {
			resp := send(t, http.MethodGet, "/api/v1/products?"+query, customer, "")
			require.Equal(t, http.StatusOK, resp.Status, "body: %s", resp.Body)
			var page struct {
				Items []catalogProduct `json:"items"`
				Total int              `json:"total"`
			}
			resp.JSON(t, &page)
			ids := make([]string, len(page.Items))
			for i, p := range page.Items {
				ids[i] = p.ID
			}
			assert.Contains(t, ids, product.ID, query)
		}
		var got catalogProduct
		resp := send(t, http.MethodGet, path, "", "")
		require.Equal(t, http.StatusOK, resp.Status)
		resp.JSON(t, &got)
		assert.Equal(t, product, got)
	})

	t.Run("an anonymous reader holding the current copy gets a 304 without a body", func(t *testing.T) {
		first := call(t, http.MethodGet, gatewayURL+path, nil)
		require.Equal(t, http.StatusOK, first.Status)
		etag := first.Header.Get("ETag")
		require.NotEmpty(t, etag, "a cacheable read names its representation")
		assert.Equal(t, "public, max-age=1", first.Header.Get("Cache-Control"))

		again := call(t, http.MethodGet, gatewayURL+path, nil, "If-None-Match", etag)
		assert.Equal(t, http.StatusNotModified, again.Status)
		assert.Empty(t, again.Body)
		assert.Equal(t, etag, again.Header.Get("ETag"))

		other := call(t, http.MethodGet, gatewayURL+path, nil, "If-None-Match", `"some-other-copy"`)
		assert.Equal(t, http.StatusOK, other.Status, "a stale copy gets the whole answer")
		assert.Equal(t, first.Body, other.Body)

		withToken := call(t, http.MethodGet, gatewayURL+path, nil, "If-None-Match", etag, "Authorization", customer)
		assert.Equal(t, http.StatusOK, withToken.Status, "a read with credentials never comes from the shared cache")
		assert.Empty(t, withToken.Header.Get("ETag"))
	})

	t.Run("a new price shows at once, though the old one was cached", func(t *testing.T) {
		for range 2 {
			var got catalogProduct
			send(t, http.MethodGet, path, "", "").JSON(t, &got)
			require.Equal(t, int64(12900), got.PriceCents)
		}
		resp := send(t, http.MethodPatch, path, admin, `{"price_cents": 9900}`)
		require.Equal(t, http.StatusOK, resp.Status, "body: %s", resp.Body)
		var got catalogProduct
		send(t, http.MethodGet, path, "", "").JSON(t, &got)
		assert.Equal(t, int64(9900), got.PriceCents)
		assert.Equal(t, name, got.Name)
	})

	t.Run("stock adjustments show in available at once", func(t *testing.T) {
		resp := send(t, http.MethodPost, path+"/inventory/adjustments", admin, `{"delta": 6, "reason": "e2e restock"}`)
		require.Equal(t, http.StatusOK, resp.Status, "body: %s", resp.Body)
		var got catalogProduct
		send(t, http.MethodGet, path, "", "").JSON(t, &got)
		assert.Equal(t, 10, got.Available)
		resp = send(t, http.MethodGet, path+"/inventory", admin, "")
		require.Equal(t, http.StatusOK, resp.Status)
		assert.JSONEq(t, `{"product_id": "`+product.ID+`", "on_hand": 10, "reserved": 0, "available": 10, "held_by_abandoned_checkouts": 0, "low_stock_threshold": 0}`, string(resp.Body))
	})

	t.Run("writes are refused to customers, strangers and bad bodies", func(t *testing.T) {
		tests := []struct {
			name   string
			method string
			path   string
			auth   string
			header []string
			body   string
			want   int
		}{
			{"customer creates", http.MethodPost, "/api/v1/products", customer, nil, `{}`, http.StatusForbidden},
			{"customer patches", http.MethodPatch, path, customer, nil, `{"price_cents": 1}`, http.StatusForbidden},
			{"anonymous creates", http.MethodPost, "/api/v1/products", "", nil, `{}`, http.StatusUnauthorized},
			{"anonymous deletes", http.MethodDelete, path, "", nil, ``, http.StatusUnauthorized},
			{"invalid fields", http.MethodPost, "/api/v1/products", admin, nil, `{"sku": "", "price_cents": -1}`, http.StatusUnprocessableEntity},
			{"malformed json", http.MethodPost, "/api/v1/products", admin, nil, `{"sku":`, http.StatusBadRequest},
			{"not json", http.MethodPost, "/api/v1/products", admin, []string{"Content-Type", "text/plain"}, `sku=x`, http.StatusUnsupportedMediaType},
			{"duplicate sku", http.MethodPost, "/api/v1/products", admin, nil,
				`{"sku": "E2E-` + suffix + `", "name": "x", "price_cents": 1, "initial_stock": 0}`, http.StatusConflict},
			{"category still in use", http.MethodDelete, "/api/v1/categories/" + category.ID, admin, nil, ``, http.StatusConflict},
		}
		// The requests the document itself refuses: no token, a body
		// missing required fields, not JSON.
		invalid := map[string]bool{"customer creates": true, "anonymous creates": true, "anonymous deletes": true,
			"invalid fields": true, "malformed json": true, "not json": true}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if invalid[tt.name] {
					invalidRequests(t)
				}
				headers := []string{"Content-Type", "application/json"}
				if tt.header != nil {
					headers = tt.header
				}
				if tt.auth != "" {
					headers = append(headers, "Authorization", tt.auth)
				}
				resp := call(t, tt.method, gatewayURL+tt.path, strings.NewReader(tt.body), headers...)
				assert.Equal(t, tt.want, resp.Status, "body: %s", resp.Body)
				assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
			})
		}
	})

	t.Run("delete hides it", func(t *testing.T) {
		require.Equal(t, http.StatusNoContent, send(t, http.MethodDelete, path, admin, "").Status)
		assert.Equal(t, http.StatusNotFound, send(t, http.MethodGet, path, "", "").Status)
		resp := send(t, http.MethodGet, "/api/v1/products?category="+category.ID, "", "")
		assert.JSONEq(t, `{"items": [], "total": 0, "page": 1, "page_size": 20}`, string(resp.Body))
		assert.Equal(t, http.StatusNoContent, send(t, http.MethodDelete, "/api/v1/categories/"+category.ID, admin, "").Status)
	})

	t.Run("the internal reservation routes are not public", func(t *testing.T) {
		invalidRequests(t) // a path the document does not have
		resp := send(t, http.MethodPost, "/internal/reservations", admin, `{}`)
		assert.Equal(t, http.StatusNotFound, resp.Status)
	})
}
