package apidocs

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/gateway/internal/edge"
)

func get(t *testing.T, app *fiber.App, path string) (*http.Response, string) {
	t.Helper()
	resp, err := app.Test(httptest.NewRequest(http.MethodGet, path, nil))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

// The page loads Redoc from the gateway itself, and the policy of the
// page allows exactly that while every other answer keeps the strict one.
func TestPageLoadsRedocFromTheGateway(t *testing.T) {
	app := fiber.New()
	app.Use(edge.SecurityHeaders)
	Register(app, "/api/v1/openapi.json")
	app.Get("/other", func(c *fiber.Ctx) error { return c.SendString("{}") })

	resp, body := get(t, app, Path)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Contains(t, body, `<redoc spec-url="/api/v1/openapi.json">`)
	assert.Contains(t, body, `<script src="`+BundlePath+`">`)
	assert.NotContains(t, body, "http", "nothing is loaded from another origin")
	csp := resp.Header.Get("Content-Security-Policy")
	assert.Contains(t, csp, "script-src 'self'")
	assert.NotContains(t, csp, "unsafe-eval")
	assert.Contains(t, csp, "frame-ancestors 'none'")

	resp, body = get(t, app, BundlePath)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript"))
	assert.Greater(t, len(body), 100_000, "the whole bundle")
	assert.Contains(t, body, "Redoc")

	resp, _ = get(t, app, "/other")
	assert.Equal(t, edge.StrictContentSecurityPolicy, resp.Header.Get("Content-Security-Policy"))
}
