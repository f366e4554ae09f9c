package edge_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/gateway/internal/edge"
	"github.com/daprshop/daprshop/services/gateway/internal/ratelimit"
	"github.com/daprshop/daprshop/services/gateway/internal/routes"
	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/authn/authntest"
	"github.com/daprshop/daprshop/services/platform/config"
	"github.com/daprshop/daprshop/services/platform/server"
)

// forwarder records what reached the proxy.
type forwarder struct {
	app, uri, client string
	rawTarget        string // the request-target the client sent
	headers          http.Header
}

func (f *forwarder) Forward(c *fiber.Ctx, app, uri, client string) error {
	f.app, f.uri, f.client = app, uri, client
	f.rawTarget = string(c.Request().Header.RequestURI())
	f.headers = http.Header{}
	c.Request().Header.VisitAll(func(k, v []byte) { f.headers.Add(string(k), string(v)) })
	return c.JSON(fiber.Map{"app": app})
}

// limiter allows a fixed number of requests, or fails; it remembers the
// last bucket counted.
type limiter struct {
	left   int
	err    error
	bucket string
}

func (l *limiter) Allow(_ context.Context, _, bucket string, requests int, window time.Duration) (ratelimit.Decision, error) {
	l.bucket = bucket
	if l.err != nil {
		return ratelimit.Decision{}, l.err
	}
	l.left--
	return ratelimit.Decision{Allowed: l.left >= 0, Limit: requests, Remaining: max(l.left, 0), Reset: window}, nil
}

type unavailableVerifier struct{}

func (unavailableVerifier) Verify(context.Context, string) (*authn.Claims, error) {
	return nil, errors.New("jwks fetch failed")
}

type fixture struct {
	app     *fiber.App
	log     *bytes.Buffer // what the server and the edge logged
	table   *routes.Table
	fwd     *forwarder
	limiter *limiter
	issuer  *authntest.Issuer
}

func newFixture(t testing.TB, verifier edge.Verifier, trusted ...netip.Prefix) *fixture {
	t.Helper()
	limits := map[string]routes.Limit{"default": {Requests: 100, Window: time.Minute}, "auth": {Requests: 5, Window: time.Minute}}
	table, err := routes.New([]routes.Route{
		{Prefix: "/api/v1/products", Methods: []string{"GET"}, App: "products", Access: routes.Public},
		{Prefix: "/api/v1/products", App: "products", Access: routes.Admin},
		{Prefix: "/api/v1/orders", App: "orders", Access: routes.User},
		{Prefix: "/api/v1/auth/login", Methods: []string{"POST"}, App: "auth", Access: routes.Public, RateLimit: "auth"},
	}, limits)
	require.NoError(t, err)
	f := &fixture{table: table, fwd: &forwarder{}, limiter: &limiter{left: 100}, issuer: authntest.NewIssuer(t)}
	if verifier == nil {
		verifier = f.issuer.Verifier()
	}
	f.log = &bytes.Buffer{}
	log := slog.New(slog.NewTextHandler(f.log, nil))
	cfg := config.Base{Service: "gateway", TrustedProxyNets: trusted}
	srv := server.New(server.Options{Config: cfg, Logger: log, Public: true})
	f.app = srv.App()
	f.app.Use(edge.SecurityHeaders)
	f.app.All("/*", edge.New(edge.Options{
		Table: table, Limits: limits, Verifier: verifier, Limiter: f.limiter, Forwarder: f.fwd, BodyLimit: 64,
		Logger: log,
	}).Handle)
	return f
}

func (f *fixture) do(t *testing.T, method, path, body string, headers ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := f.app.Test(req, -1)
	require.NoError(t, err)
	return resp
}

func TestAdmission(t *testing.T) {
	f := newFixture(t, nil)
	customer := "Bearer " + f.issuer.Token(t, uuid.NewString(), authn.RoleCustomer)
	admin := "Bearer " + f.issuer.Token(t, uuid.NewString(), authn.RoleAdmin)
	superAdmin := "Bearer " + f.issuer.Token(t, uuid.NewString(), authn.RoleSuperAdmin)
	other := "Bearer " + authntest.NewIssuer(t).Token(t, uuid.NewString(), authn.RoleAdmin)
	tests := []struct {
		name, method, path, body string
		headers                  []string
		want                     int
		wantApp                  string
	}{
		{"no route", "GET", "/api/v1/nothing", "", nil, 404, ""},
		{"public route anonymous", "GET", "/api/v1/products", "", nil, 200, "products"},
		{"public route with a foreign token is the service's call", "GET", "/api/v1/products", "", []string{"Authorization", other}, 200, "products"},
		{"user route anonymous", "GET", "/api/v1/orders", "", nil, 401, ""},
		{"user route with a foreign token", "GET", "/api/v1/orders", "", []string{"Authorization", other}, 401, ""},
		{"user route with garbage", "GET", "/api/v1/orders", "", []string{"Authorization", "Bearer x.y.z"}, 401, ""},
		{"user route with a token", "GET", "/api/v1/orders", "", []string{"Authorization", customer}, 200, "orders"},
		{"admin route as customer", "POST", "/api/v1/products", `{}`, []string{"Authorization", customer, "Content-Type", "application/json"}, 403, ""},
		{"admin route as admin", "POST", "/api/v1/products", `{}`, []string{"Authorization", admin, "Content-Type", "application/json"}, 200, "products"},
		{"admin route as super admin", "POST", "/api/v1/products", `{}`, []string{"Authorization", superAdmin, "Content-Type", "application/json"}, 200, "products"},
		{"admin route anonymous", "POST", "/api/v1/products", `{}`, []string{"Content-Type", "application/json"}, 401, ""},
		{"body not JSON", "POST", "/api/v1/auth/login", `a=b`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, ""},
		{"body too large", "POST", "/api/v1/auth/login", strings.Repeat("x", 65), []string{"Content-Type", "application/json"}, 413, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.fwd.app = ""
			resp := f.do(t, tt.method, tt.path, tt.body, tt.headers...)
			assert.Equal(t, tt.want, resp.StatusCode)
			assert.Equal(t, tt.wantApp, f.fwd.app, "forwarded to")
			if tt.want >= 400 {
				assert.Equal(t, server.ProblemContentType, resp.Header.Get("Content-Type"))
			}
			assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
			assert.Equal(t, "DENY", resp.Header.Get("X-Frame-Options"))
		})
	}
}

func TestSpoofedIdentityHeadersNeverReachServices(t *testing.T) {
	f := newFixture(t, nil)
	resp := f.do(t, "GET", "/api/v1/products", "", "X-User-ID", uuid.NewString(), "X-User-Roles", "SUPER_ADMIN",
		"X-Forwarded-For", "10.0.0.1", "dapr-app-id", "auth", "X-Internal-Caller", "orders")
	require.Equal(t, 200, resp.StatusCode)
	for name := range f.fwd.headers {
		lower := strings.ToLower(name)
		assert.False(t, strings.HasPrefix(lower, "x-user") || strings.HasPrefix(lower, "x-internal") ||
			strings.HasPrefix(lower, "dapr-") || lower == "x-forwarded-for", "header %s was forwarded", name)
	}
	resp = f.do(t, "GET", "/api/v1/orders", "", "X-User-ID", uuid.NewString(), "X-User-Roles", "ADMIN")
	assert.Equal(t, 401, resp.StatusCode, "identity headers are no credentials")
}

func TestRateLimit(t *testing.T) {
	f := newFixture(t, nil)
	f.limiter.left = 1
	resp := f.do(t, "GET", "/api/v1/products", "")
	require.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "100", resp.Header.Get("X-RateLimit-Limit"))
	assert.Equal(t, "0", resp.Header.Get("X-RateLimit-Remaining"))
	assert.Equal(t, "60", resp.Header.Get("X-RateLimit-Reset"))

	resp = f.do(t, "GET", "/api/v1/products", "")
	assert.Equal(t, 429, resp.StatusCode)
	assert.Equal(t, "60", resp.Header.Get("Retry-After"))
	assert.Equal(t, server.ProblemContentType, resp.Header.Get("Content-Type"))

	t.Run("login has its own stricter limit", func(t *testing.T) {
		f.limiter.left = 10
		resp := f.do(t, "POST", "/api/v1/auth/login", `{}`, "Content-Type", "application/json")
		assert.Equal(t, "5", resp.Header.Get("X-RateLimit-Limit"))
	})
	t.Run("a limiter outage lets requests through", func(t *testing.T) {
		f.limiter.err = errors.New("redis down")
		resp := f.do(t, "GET", "/api/v1/products", "")
		assert.Equal(t, 200, resp.StatusCode)
	})
}

func TestVerificationUnavailableIs503(t *testing.T) {
	f := newFixture(t, unavailableVerifier{})
	resp := f.do(t, "GET", "/api/v1/orders", "", "Authorization", "Bearer a.b.c")
	assert.Equal(t, 503, resp.StatusCode)
	resp = f.do(t, "GET", "/api/v1/products", "", "Authorization", "Bearer a.b.c")
	assert.Equal(t, 200, resp.StatusCode, "public routes do not depend on verification")
}
