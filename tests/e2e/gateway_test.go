package e2e

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/authn"
)

func TestGatewayEdge(t *testing.T) {
	t.Run("the API is published as OpenAPI 3", func(t *testing.T) {
		resp := call(t, http.MethodGet, gatewayURL+"/api/v1/openapi.json", nil)
		require.Equal(t, http.StatusOK, resp.Status)
		var doc struct {
			OpenAPI string         `json:"openapi"`
			Paths   map[string]any `json:"paths"`
		}
		resp.JSON(t, &doc)
		assert.Regexp(t, `^3\.`, doc.OpenAPI)
		assert.Contains(t, doc.Paths, "/api/v1/checkout")
	})

	t.Run("a customer on an admin route is refused at the edge", func(t *testing.T) {
		customer := token(t, uuid.New(), authn.RoleCustomer)
		invalidRequests(t) // an empty product
		resp := call(t, http.MethodPost, gatewayURL+"/api/v1/products", strings.NewReader(`{}`),
			"Authorization", "Bearer "+customer, "Content-Type", "application/json")
		assert.Equal(t, http.StatusForbidden, resp.Status)
	})

	t.Run("bodies must be JSON and small", func(t *testing.T) {
		invalidRequests(t) // not JSON
		resp := call(t, http.MethodPost, gatewayURL+"/api/v1/auth/login", strings.NewReader(`email=a`),
			"Content-Type", "application/x-www-form-urlencoded")
		assert.Equal(t, http.StatusUnsupportedMediaType, resp.Status)
		// A 2 MiB body is announced but only the first 8 KiB are sent (what
		// the server reads ahead before its handler runs): the gateway
		// answers from the announced length, without waiting for the rest.
		conn, err := net.Dial("tcp", strings.TrimPrefix(gatewayURL, "http://"))
		require.NoError(t, err)
		defer conn.Close()
		_, err = io.WriteString(conn, "POST /api/v1/auth/login HTTP/1.1\r\nHost: gateway\r\n"+
			"Content-Type: application/json\r\nContent-Length: 2097152\r\n\r\n"+strings.Repeat(" ", 8<<10))
		require.NoError(t, err)
		tooLarge, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err)
		assert.Equal(t, http.StatusRequestEntityTooLarge, tooLarge.StatusCode)
	})

	t.Run("the API reference page renders the served document with its own script", func(t *testing.T) {
		page := call(t, http.MethodGet, gatewayURL+"/api/docs", nil)
		require.Equal(t, http.StatusOK, page.Status)
		assert.Contains(t, string(page.Body), `spec-url="/api/v1/openapi.json"`)
		assert.Contains(t, string(page.Body), `<script src="/api/docs/redoc.standalone.js">`)
		assert.Contains(t, page.Header.Get("Content-Security-Policy"), "script-src 'self'")
		script := call(t, http.MethodGet, gatewayURL+"/api/docs/redoc.standalone.js", nil)
		require.Equal(t, http.StatusOK, script.Status)
		assert.Greater(t, len(script.Body), 100_000)
		doc := call(t, http.MethodGet, gatewayURL+"/api/v1/openapi.json", nil)
		require.Equal(t, http.StatusOK, doc.Status)
		assert.Contains(t, string(doc.Body), `"operationId":"checkout"`)
	})

	t.Run("security headers and CORS", func(t *testing.T) {
		resp := call(t, http.MethodGet, gatewayURL+"/api/v1/products", nil)
		assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
		assert.Equal(t, "DENY", resp.Header.Get("X-Frame-Options"))
		assert.NotEmpty(t, resp.Header.Get("Content-Security-Policy"))

		preflight := call(t, http.MethodOptions, gatewayURL+"/api/v1/orders", nil,
			"Origin", "http://localhost:5173", "Access-Control-Request-Method", "POST",
			"Access-Control-Request-Headers", "Authorization, Content-Type")
		assert.Equal(t, http.StatusNoContent, preflight.Status)
		assert.Equal(t, "http://localhost:5173", preflight.Header.Get("Access-Control-Allow-Origin"))
		foreign := call(t, http.MethodOptions, gatewayURL+"/api/v1/orders", nil,
			"Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
		assert.Empty(t, foreign.Header.Get("Access-Control-Allow-Origin"))
	})

	t.Run("a user over the rate limit gets 429 with Retry-After", func(t *testing.T) {
		bearer := "Bearer " + token(t, uuid.New(), authn.RoleCustomer)
		first := call(t, http.MethodGet, gatewayURL+"/api/v1/products?page_size=1", nil, "Authorization", bearer)
		require.Equal(t, http.StatusOK, first.Status)
		limit, err := strconv.Atoi(first.Header.Get("X-RateLimit-Limit"))
		require.NoError(t, err)
		assert.Equal(t, strconv.Itoa(limit-1), first.Header.Get("X-RateLimit-Remaining"))
		var last response
		for range limit {
			last = call(t, http.MethodGet, gatewayURL+"/api/v1/products?page_size=1", nil, "Authorization", bearer)
			if last.Status != http.StatusOK {
				break
			}
		}
		assert.Equal(t, http.StatusTooManyRequests, last.Status)
		assert.NotEmpty(t, last.Header.Get("Retry-After"))
		assert.Equal(t, "0", last.Header.Get("X-RateLimit-Remaining"))
		assert.Equal(t, "application/problem+json", last.Header.Get("Content-Type"))

		other := call(t, http.MethodGet, gatewayURL+"/api/v1/products?page_size=1", nil,
			"Authorization", "Bearer "+token(t, uuid.New(), authn.RoleCustomer))
		assert.Equal(t, http.StatusOK, other.Status, "another user has a budget of its own")
	})

	t.Run("login has a stricter limit than the default", func(t *testing.T) {
		done := invalidRequests(t) // an empty login: only the limit's headers matter
		login := call(t, http.MethodPost, gatewayURL+"/api/v1/auth/login", strings.NewReader(`{}`), "Content-Type", "application/json")
		done()
		products := call(t, http.MethodGet, gatewayURL+"/api/v1/products", nil)
		loginLimit, _ := strconv.Atoi(login.Header.Get("X-RateLimit-Limit"))
		defaultLimit, _ := strconv.Atoi(products.Header.Get("X-RateLimit-Limit"))
		assert.Positive(t, loginLimit)
		assert.Less(t, loginLimit, defaultLimit)
	})
}
