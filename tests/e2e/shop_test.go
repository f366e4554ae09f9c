package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/authn"
)

// chromium is the browser the shop's journeys run in: Debian's package
// (make e2e installs it), or CHROMIUM.
func chromium() string {
	if c := os.Getenv("CHROMIUM"); c != "" {
		return c
	}
	return "/usr/bin/chromium"
}

// getPage fetches a file of the shop as a browser would, outside the
// contract checks: the shop's files are not the API's.
func getPage(t *testing.T, path string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), http.MethodGet, gatewayURL+path, nil)
	require.NoError(t, err)
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

// TestShop drives the shop the gateway serves at / in a real browser:
// web/e2e/journey.spec.ts, run by Playwright in headless Chromium, at
// desktop and at phone width: the customer's journey to the invoice, a
// declined card and a cancelled order. Screenshots of every step are left in
// web/test-results.
func TestShop(t *testing.T) {
	t.Run("the gateway serves the shop's files from its own origin", func(t *testing.T) {
		resp, page := getPage(t, "/")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
		assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'self'")
		assert.Equal(t, "no-cache", resp.Header.Get("Cache-Control"))
		assets := regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`).FindAllStringSubmatch(page, -1)
		require.NotEmpty(t, assets, "the page loads its script from the gateway: %s", page)
		assert.NotContains(t, page, "//", "nothing is loaded from another origin")
		for _, a := range assets {
			resp, _ := getPage(t, a[1])
			require.Equal(t, http.StatusOK, resp.StatusCode, a[1])
			assert.Equal(t, "public, max-age=31536000, immutable", resp.Header.Get("Cache-Control"), a[1])
		}
		resp, _ = getPage(t, "/api/v1/products?page_size=1")
		assert.Equal(t, "application/json", resp.Header.Get("Content-Type"), "the API keeps its paths")
	})

	t.Run("a customer browses and finds products, pays, downloads the invoice; a declined card cancels the order", func(t *testing.T) {
		// Two products whose names share a word no other test uses, so that
		// the misspelt search finds exactly them: the teapot in a category,
		// the mug in a sub-category of it.
		s := shop{admin: "Bearer " + token(t, uuid.New(), authn.RoleAdmin)}
		suffix := strings.ReplaceAll(uuid.NewString(), "-", "")[:8]
		var categories, ids []string
		parent := ""
		for _, name := range []string{"Quokkaberry Ware " + suffix, "Quokkaberry Mugs " + suffix} {
			resp := s.send(t, http.MethodPost, "/api/v1/categories", s.admin, fmt.Sprintf(`{"name": %q, "slug": %q%s}`,
				name, strings.ToLower(strings.ReplaceAll(name, " ", "-")), parent))
			require.Equal(t, http.StatusCreated, resp.Status, "create category: %s", resp.Body)
			var c struct{ ID string }
			resp.JSON(t, &c)
			categories, ids = append(categories, name), append(ids, c.ID)
			parent = fmt.Sprintf(`, "parent_id": %q`, c.ID)
		}
		var products []string
		for i, item := range []struct {
			name  string
			cents int
		}{{"Quokkaberry Teapot " + suffix, 3450}, {"Quokkaberry Mug " + suffix, 1299}} {
			resp := s.send(t, http.MethodPost, "/api/v1/products", s.admin, fmt.Sprintf(
				`{"sku": "SHOP-%s-%d", "name": %q, "description": "For the shop's journey", "price_cents": %d, "currency": "USD", "category_id": %q, "initial_stock": 50}`,
				suffix, i, item.name, item.cents, ids[i]))
			require.Equal(t, http.StatusCreated, resp.Status, "create product: %s", resp.Body)
			products = append(products, fmt.Sprintf("%s=%d", item.name, item.cents))
		}

		// The browser connects from 127.0.0.1 like most of the suite; its
		// registrations and logins must not find the auth routes' per-address
		// budget spent by the tests before it.
		require.NoError(t, resetRateLimits())
		playwright(t, "e2e/journey.spec.ts", "test-results", "SHOP_URL="+gatewayURL,
			"SHOP_PRODUCTS="+strings.Join(products, "|"), "SHOP_CATEGORIES="+strings.Join(categories, "|"), "SHOP_TYPO=quokaberry")
	})
}

// playwright runs spec (web/e2e) with Playwright in Chromium, at desktop
// and at phone width (web/playwright.config.ts), with env added to its
// environment; its screenshots and traces land in web/<output> (apart
// for each spec: Playwright empties that directory at each run). It fails
// t, with Playwright's report in the log, when the spec fails.
func playwright(t *testing.T, spec, output string, env ...string) {
	t.Helper()
	browser := chromium()
	_, err := os.Stat(browser)
	require.NoError(t, err, "the browser tests need Chromium (make e2e installs Debian's package)")
	bin := filepath.Join(sys.root, "web", "node_modules", ".bin", "playwright")
	_, err = os.Stat(bin)
	require.NoError(t, err, "the web packages are not installed: run make build")
	run, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(run, bin, "test", "--output", output, spec)
	cmd.Dir = filepath.Join(sys.root, "web")
	cmd.Env = append(append(os.Environ(), "CHROMIUM="+browser), env...)
	out, err := cmd.CombinedOutput()
	t.Logf("playwright:\n%s", out)
	require.NoError(t, err, "%s failed; screenshots and traces are in web/%s", spec, output)
}
