package routes

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var limits = map[string]Limit{"default": {Requests: 10, Window: time.Minute}, "strict": {Requests: 1, Window: time.Minute}}

func TestMatch(t *testing.T) {
	table, err := New([]Route{
		{Prefix: "/api/v1/orders", App: "orders", Access: User},
		{Prefix: "/api/v1/admin/users", App: "auth", Access: Admin},
		{Prefix: "/api/v1/admin", App: "admin", Access: User},
		{Prefix: "/api/v1/products", App: "products", Access: Admin},
		{Prefix: "/api/v1/products", Methods: []string{"GET"}, App: "catalog", Access: Public},
	}, limits)
	require.NoError(t, err)
	tests := []struct {
		method, path string
		wantApp      string
	}{
		{"GET", "/api/v1/orders", "orders"},
		{"POST", "/api/v1/orders/42/cancel", "orders"},
		{"GET", "/api/v1/ordersx", ""},
		{"GET", "/api/v1/admin/users/7", "auth"},
		{"GET", "/api/v1/admin/other", "admin"},
		{"GET", "/api/v1/products/9", "catalog"},
		{"POST", "/api/v1/products", "products"},
		{"GET", "/", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r, ok := table.Match(tt.method, tt.path)
			assert.Equal(t, tt.wantApp != "", ok)
			assert.Equal(t, tt.wantApp, r.App)
		})
	}
}

func TestNewRejectsBadTables(t *testing.T) {
	tests := map[string][]Route{
		"relative prefix":       {{Prefix: "api", App: "a", Access: Public}},
		"trailing slash":        {{Prefix: "/api/", App: "a", Access: Public}},
		"missing app":           {{Prefix: "/api", Access: Public}},
		"missing access":        {{Prefix: "/api", App: "a"}},
		"unknown access":        {{Prefix: "/api", App: "a", Access: "ADMIN"}},
		"unknown rate limit":    {{Prefix: "/api", App: "a", Access: Public, RateLimit: "nope"}},
		"lower-case method":     {{Prefix: "/api", App: "a", Access: Public, Methods: []string{"get"}}},
		"duplicate prefix":      {{Prefix: "/api", App: "a", Access: Public}, {Prefix: "/api", App: "b", Access: Public}},
		"duplicate with method": {{Prefix: "/api", App: "a", Access: Public, Methods: []string{"GET"}}, {Prefix: "/api", App: "b", Access: Public, Methods: []string{"GET"}}},
		"cached user route":     {{Prefix: "/api", App: "a", Access: User, Methods: []string{"GET"}, Cache: true}},
		"cached writes":         {{Prefix: "/api", App: "a", Access: Public, Methods: []string{"GET", "POST"}, Cache: true}},
		"cached any method":     {{Prefix: "/api", App: "a", Access: Public, Cache: true}},
	}
	for name, routes := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := New(routes, limits)
			assert.Error(t, err)
		})
	}
	t.Run("no default limit", func(t *testing.T) {
		_, err := New(nil, map[string]Limit{"strict": {Requests: 1, Window: time.Second}})
		assert.Error(t, err)
	})
}

func TestLoadShippedConfig(t *testing.T) {
	cfg, table, err := Load(filepath.Join("..", "..", "routes.yaml"))
	require.NoError(t, err)
	assert.NotEmpty(t, cfg.CORS.AllowOrigins)
	tests := []struct {
		method, path, app, access, limit string
	}{
		{"GET", "/api/v1/products/123", "products", Public, ""},
		{"PATCH", "/api/v1/products/123", "products", Admin, ""},
		{"POST", "/api/v1/auth/login", "auth", Public, "auth"},
		{"GET", "/api/v1/auth/me", "auth", User, ""},
		{"PUT", "/api/v1/admin/users/1/roles", "auth", Admin, ""},
		// Stripe's few sending addresses get a limit of their own: the
		// default would throttle a busy shop's payment webhooks.
		{"POST", "/api/v1/payments/webhooks/stripe", "payments", Public, "webhooks"},
		{"GET", "/api/v1/payments", "payments", User, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r, ok := table.Match(tt.method, tt.path)
			require.True(t, ok)
			assert.Equal(t, tt.app, r.App)
			assert.Equal(t, tt.access, r.Access)
			assert.Equal(t, tt.access != Public, r.Authenticated())
			assert.Equal(t, tt.limit, r.RateLimit)
		})
	}
	assert.Greater(t, cfg.RateLimits["webhooks"].Requests, cfg.RateLimits["default"].Requests)
	assert.Less(t, cfg.RateLimits["auth"].Requests, cfg.RateLimits["default"].Requests)
}

func TestLoadRejectsUnknownKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "routes.yaml")
	require.NoError(t, os.WriteFile(path, []byte("rateLimits: {default: {requests: 1, window: 1s}}\nroutes:\n  - {prefix: /a, app: a, access: public, auth: yes}\n"), 0o600))
	_, _, err := Load(path)
	assert.ErrorContains(t, err, "auth")
}

func TestPatternNamesTheRouteInFewNames(t *testing.T) {
	products := Route{Prefix: "/api/v1/products"}
	assert.Equal(t, "/api/v1/products", products.Pattern("/api/v1/products"))
	assert.Equal(t, "/api/v1/products/*", products.Pattern("/api/v1/products/9"))
	assert.Equal(t, "/api/v1/products/*", products.Pattern("/api/v1/products/9/reviews"))
	root := Route{Prefix: "/"}
	assert.Equal(t, "/", root.Pattern("/"))
	assert.Equal(t, "/*", root.Pattern("/index.html"))
}
