package routes

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMatch(t *testing.T) {
	table, err := New([]Route{
		{Prefix: "/api/v1/orders", App: "orders"},
		{Prefix: "/api/v1/admin/users", App: "auth"},
		{Prefix: "/api/v1/admin", App: "admin"},
	})
	require.NoError(t, err)
	tests := []struct {
		path    string
		wantApp string
	}{
		{"/api/v1/orders", "orders"},
		{"/api/v1/orders/42/cancel", "orders"},
		{"/api/v1/ordersx", ""},
		{"/api/v1/admin/users/7", "auth"},
		{"/api/v1/admin/other", "admin"},
		{"/", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r, ok := table.Match(tt.path)
			assert.Equal(t, tt.wantApp != "", ok)
			assert.Equal(t, tt.wantApp, r.App)
		})
	}
}

func TestNewRejectsBadTables(t *testing.T) {
	tests := map[string][]Route{
		"relative prefix":  {{Prefix: "api", App: "a"}},
		"trailing slash":   {{Prefix: "/api/", App: "a"}},
		"missing app":      {{Prefix: "/api"}},
		"duplicate prefix": {{Prefix: "/api", App: "a"}, {Prefix: "/api", App: "b"}},
	}
	for name, routes := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := New(routes)
			assert.Error(t, err)
		})
	}
}

func TestLoadShippedTable(t *testing.T) {
	table, err := Load(filepath.Join("..", "..", "routes.yaml"))
	require.NoError(t, err)
	r, ok := table.Match("/api/v1/products/123")
	require.True(t, ok)
	assert.Equal(t, "products", r.App)
}

func TestLoadRejectsUnknownKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "routes.yaml")
	require.NoError(t, os.WriteFile(path, []byte("routes:\n  - {prefix: /a, app: a, auth: yes}\n"), 0o600))
	_, err := Load(path)
	assert.ErrorContains(t, err, "auth")
}
