package main

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/apiclient"
)

// A product refused with 429 is sent again once Retry-After has passed, and
// counts as created.
func TestCreateProductWaitsOutTheRateLimit(t *testing.T) {
	var calls atomic.Int32
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"type":"about:blank","title":"Too Many Requests","status":429}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"id":"6c1f7a52-40aa-4f3e-9d38-1e2b8f0a9c11","sku":"A-1"}`))
	}))
	defer gateway.Close()
	c, err := newClient(gateway.URL, "token")
	require.NoError(t, err)

	status, err := createProduct(t.Context(), c, apiclient.ProductInput{SKU: "A-1", Name: "A", PriceCents: 100})
	require.NoError(t, err)
	assert.Equal(t, http.StatusCreated, status)
	assert.Equal(t, int32(2), calls.Load(), "sent again after the 429")
}
