package e2e

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rawGET sends a request-target to the gateway exactly as written, as
// curl --path-as-is does: Go's client would clean or escape it first.
func rawGET(t *testing.T, target string) (int, string, string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(gatewayURL, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET "+target+" HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
}

func TestGatewayCanonicalPaths(t *testing.T) {
	// Each would reach the gateway sidecar's own API, a service's /events
	// or /internal routes, once a parser behind the edge cleans or decodes it.
	for _, target := range []string{
		"/api/v1/products/../../../v1.0/secrets/secretstore/bulk",
		"/api/v1/products/../../../v1.0/metadata",
		"/api/v1/products/%2e%2e/%2e%2e/%2e%2e/v1.0/secrets/secretstore/bulk",
		"/api/v1/products/%2E%2E/%2E%2E/%2E%2E/v1.0/secrets/secretstore/bulk",
		"/api/v1/products/%252e%252e/%252e%252e/%252e%252e/v1.0/secrets/secretstore/bulk",
		"/api/v1/products/x%2f..%2f..%2f..%2fv1.0%2fsecrets%2fsecretstore%2fbulk",
		"/api/v1/products/..%5c..%5c..%5cv1.0%5csecrets",
		"/api/v1/products/../../../events/order.paid",
		"/api/v1/products/../internal/reservations",
		"/api/v1/products//",
		"/api/v1/products;/../../../v1.0/secrets/secretstore/bulk",
		"http://127.0.0.1:3500/v1.0/secrets/secretstore/bulk",
	} {
		t.Run(target, func(t *testing.T) {
			status, contentType, body := rawGET(t, target)
			assert.Equal(t, http.StatusBadRequest, status)
			assert.Equal(t, "application/problem+json", contentType)
			assert.NotContains(t, body, "secret")
			assert.NotContains(t, body, "..")
		})
	}

	t.Run("a canonical target with a query still reaches the catalog", func(t *testing.T) {
		status, _, body := rawGET(t, "/api/v1/products?page=1&page_size=5&q=caf%C3%A9")
		assert.Equal(t, http.StatusOK, status, body)
		assert.Contains(t, body, `"page_size":5`)
	})
}
