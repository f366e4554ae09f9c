package e2e

import (
	"net/http"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAdminConsole drives the admin console the gateway serves at /admin
// in a real browser: web/e2e/admin.spec.ts, run by Playwright in headless
// Chromium at desktop and at phone width, signed in as the admin the
// system bootstraps. Screenshots of every step, the sales chart before and
// after the sale and its refund among them, are left in
// web/test-results-admin (Playwright empties its output directory at each
// run, and TestShop's run follows this one).
func TestAdminConsole(t *testing.T) {
	t.Run("the gateway serves the console's page at /admin with the shop's rules", func(t *testing.T) {
		resp, page := getPage(t, "/admin")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
		assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'self'")
		assert.Contains(t, page, "daprshop admin")
		assets := regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`).FindAllStringSubmatch(page, -1)
		require.NotEmpty(t, assets, "the page loads its script from the gateway: %s", page)
		for _, a := range assets {
			resp, _ := getPage(t, a[1])
			assert.Equal(t, http.StatusOK, resp.StatusCode, a[1])
		}
		for _, path := range []string{"/admin/", "/admin/%2e%2e/index.html", "/admin/missing.js"} {
			resp, _ := getPage(t, path)
			assert.NotEqual(t, http.StatusOK, resp.StatusCode, path)
		}
		// The admin API stays the API's and its own checks: no token, no data.
		resp, _ = getPage(t, "/api/v1/admin/users")
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	})

	t.Run("an admin creates a product, restocks it, ships an order of it, refunds it and sees the chart change", func(t *testing.T) {
		// The browser's logins come from 127.0.0.1, as TestShop's do.
		require.NoError(t, resetRateLimits())
		playwright(t, "e2e/admin.spec.ts", "test-results-admin", "SHOP_URL="+gatewayURL,
			"ADMIN_EMAIL="+sys.secrets["admin-email"], "ADMIN_PASSWORD="+sys.secrets["admin-password"])
	})
}
