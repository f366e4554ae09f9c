package edge_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/gateway/internal/edge"
	"github.com/daprshop/daprshop/services/gateway/internal/microcache"
	"github.com/daprshop/daprshop/services/gateway/internal/routes"
	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/authn/authntest"
)

// countingForwarder answers like a service and counts what reached it.
type countingForwarder struct{ calls int }

func (f *countingForwarder) Forward(c *fiber.Ctx, _, _, _ string) error {
	f.calls++
	return c.JSON(fiber.Map{"call": f.calls})
}

func TestCachedRoutes(t *testing.T) {
	limits := map[string]routes.Limit{"default": {Requests: 100, Window: time.Minute}}
	table, err := routes.New([]routes.Route{
		{Prefix: "/api/v1/products", Methods: []string{"GET"}, App: "products", Access: routes.Public, Cache: true},
		{Prefix: "/api/v1/products", App: "products", Access: routes.Admin},
		{Prefix: "/api/v1/categories", Methods: []string{"GET"}, App: "products", Access: routes.Public},
		{Prefix: "/api/v1/checkout", Methods: []string{"POST"}, App: "orders", Access: routes.User},
	}, limits)
	require.NoError(t, err)
	issuer := authntest.NewIssuer(t)
	fwd, lim := &countingForwarder{}, &limiter{left: 100}
	app := fiber.New()
	app.All("/*", edge.New(edge.Options{
		Table: table, Limits: limits, Verifier: issuer.Verifier(), Limiter: lim, Forwarder: fwd, BodyLimit: 64,
		Cache: microcache.New(time.Second, time.Now), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}).Handle)
	do := func(method, path string, headers ...string) *http.Response {
		t.Helper()
		req := httptest.NewRequest(method, path, strings.NewReader(""))
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := app.Test(req, -1)
		require.NoError(t, err)
		return resp
	}
	customer := "Bearer " + issuer.Token(t, uuid.NewString(), authn.RoleCustomer)
	admin := "Bearer " + issuer.Token(t, uuid.NewString(), authn.RoleAdmin)

	do("GET", "/api/v1/products/1")
	resp := do("GET", "/api/v1/products/1")
	assert.Equal(t, 1, fwd.calls, "the second anonymous read is the first's answer")
	assert.Equal(t, "public, max-age=1", resp.Header.Get("Cache-Control"))
	assert.Equal(t, 98, lim.left, "a cached answer still counts against the client's rate limit")

	do("GET", "/api/v1/products/1", "Authorization", customer)
	assert.Equal(t, 2, fwd.calls, "a read with a token reaches the service")

	do("GET", "/api/v1/categories")
	do("GET", "/api/v1/categories")
	assert.Equal(t, 4, fwd.calls, "a route not marked cache is never cached")

	do("POST", "/api/v1/checkout", "Authorization", customer, "Content-Type", "application/json")
	assert.Equal(t, 5, fwd.calls)
	do("GET", "/api/v1/products/1")
	assert.Equal(t, 5, fwd.calls, "a write to another app leaves the catalog cached")

	do("DELETE", "/api/v1/products/1", "Authorization", admin)
	assert.Equal(t, 6, fwd.calls)
	do("GET", "/api/v1/products/1")
	assert.Equal(t, 7, fwd.calls, "after a write to the catalog the read reaches the service")
}
