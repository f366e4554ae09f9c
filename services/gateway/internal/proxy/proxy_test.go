package proxy_test

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/gateway/internal/proxy"
	"github.com/daprshop/daprshop/services/platform/config"
	"github.com/daprshop/daprshop/services/platform/server"
)

// sidecar is a stand-in for the gateway's daprd HTTP port: it records the
// request and answers with handler.
func sidecar(t *testing.T, handler http.HandlerFunc) int {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().(*net.TCPAddr).Port
}

// gateway forwards every request to orders with the target the edge
// would have chosen: target(c), or the client's own one when nil.
func gateway(t *testing.T, sidecarPort int, timeout time.Duration, target func(c *fiber.Ctx) string) *fiber.App {
	t.Helper()
	if target == nil {
		target = func(c *fiber.Ctx) string { return c.OriginalURL() }
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := server.New(server.Options{Config: config.Base{Service: "gateway"}, Logger: log, Public: true, StreamRequestBody: true})
	p := proxy.New(proxy.Options{SidecarHTTPPort: sidecarPort, DaprAPIToken: "sidecar-token", Timeout: timeout, BodyLimit: 1 << 10, Logger: log})
	srv.App().All("/*", func(c *fiber.Ctx) error { return p.Forward(c, "orders", target(c), "203.0.113.9") })
	return srv.App()
}

func TestForwardsThroughTheSidecar(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789"), 500_000) // 5 MB answer, streamed back
	var got *http.Request
	var gotBody []byte
	const upstreamSpan = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	port := sidecar(t, func(w http.ResponseWriter, r *http.Request) {
		got = r
		gotBody, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Service-Header", "kept")
		w.Header().Set("traceparent", upstreamSpan)
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(big)
	})
	req := httptest.NewRequest("POST", "/api/v1/orders/42?x=1", strings.NewReader(`{"a":1}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Request-ID", "req-1")
	req.Header.Set("dapr-api-token", "client-guess")
	req.Header.Set("Connection", "keep-alive")
	resp, err := gateway(t, port, 5*time.Second, nil).Test(req, -1)
	require.NoError(t, err)

	assert.Equal(t, http.StatusCreated, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, len(big), len(body))
	assert.Equal(t, "kept", resp.Header.Get("X-Service-Header"))
	assert.Equal(t, "req-1", resp.Header.Get("X-Request-ID"))

	require.NotNil(t, got)
	assert.Equal(t, "/api/v1/orders/42", got.URL.Path)
	assert.Equal(t, "x=1", got.URL.RawQuery)
	assert.Equal(t, `{"a":1}`, string(gotBody))
	assert.Equal(t, "orders", got.Header.Get("dapr-app-id"))
	assert.Equal(t, "sidecar-token", got.Header.Get("dapr-api-token"), "the client's token guess is replaced")
	assert.Equal(t, "req-1", got.Header.Get("X-Request-ID"))
	sent := got.Header.Get("traceparent")
	require.Len(t, sent, len(upstreamSpan))
	answered := resp.Header.Get("traceparent")
	assert.Equal(t, sent[:35], answered[:35], "one trace")
	assert.NotEqual(t, sent, answered, "the client gets the gateway's span, the parent of the invocation's")
	assert.NotEqual(t, upstreamSpan, answered, "not the service's")
	assert.Equal(t, "203.0.113.9", got.Header.Get("X-Forwarded-For"), "the address the edge computed")
}

func TestSendsOnlyTheTargetItIsGiven(t *testing.T) {
	var gotURI string
	port := sidecar(t, func(w http.ResponseWriter, r *http.Request) {
		gotURI = r.RequestURI
		w.WriteHeader(http.StatusNoContent)
	})
	app := gateway(t, port, 5*time.Second, func(*fiber.Ctx) string { return "/api/v1/orders/42?page=2" })
	req := httptest.NewRequest("GET", "/api/v1/orders/../../v1.0/secrets/secretstore/bulk?page=2", nil)
	resp, err := app.Test(req, -1)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	assert.Equal(t, "/api/v1/orders/42?page=2", gotURI, "the client's raw request line reached the sidecar")
}

func TestFailuresBecomeProblems(t *testing.T) {
	daprError := func(status int, message string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = io.WriteString(w, `{"errorCode":"ERR_DIRECT_INVOKE","message":"`+message+`"}`)
		}
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    int
	}{
		{"service down", daprError(500, "failed to invoke, id: orders, err: dial tcp 127.0.0.1:3003: connect: connection refused"), 503},
		{"circuit open", daprError(500, "failed to invoke, id: orders, err: circuit breaker is open"), 503},
		{"service too slow", daprError(500, "failed to invoke, id: orders, err: rpc error: code = DeadlineExceeded desc = context deadline exceeded"), 504},
		{"service answers a bare 500", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(500)
			_, _ = io.WriteString(w, `{"oops":"stack trace here"}`)
		}, 502},
		{"sidecar hangs", func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		}, 504},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port := sidecar(t, tt.handler)
			resp, err := gateway(t, port, 300*time.Millisecond, nil).Test(httptest.NewRequest("GET", "/api/v1/orders", nil), -1)
			require.NoError(t, err)
			assert.Equal(t, tt.want, resp.StatusCode)
			assert.Equal(t, server.ProblemContentType, resp.Header.Get("Content-Type"))
			body, _ := io.ReadAll(resp.Body)
			assert.NotContains(t, string(body), "127.0.0.1")
			assert.NotContains(t, string(body), "stack trace")
		})
	}

	t.Run("a service's own problem passes through", func(t *testing.T) {
		port := sidecar(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", server.ProblemContentType)
			w.WriteHeader(409)
			_, _ = io.WriteString(w, `{"status":409,"code":"insufficient_stock"}`)
		})
		resp, err := gateway(t, port, time.Second, nil).Test(httptest.NewRequest("GET", "/api/v1/orders", nil), -1)
		require.NoError(t, err)
		assert.Equal(t, 409, resp.StatusCode)
		body, _ := io.ReadAll(resp.Body)
		assert.Contains(t, string(body), "insufficient_stock")
	})

	t.Run("sidecar unreachable", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		port := ln.Addr().(*net.TCPAddr).Port
		require.NoError(t, ln.Close())
		resp, err := gateway(t, port, time.Second, nil).Test(httptest.NewRequest("GET", "/api/v1/orders", nil), -1)
		require.NoError(t, err)
		assert.Equal(t, 503, resp.StatusCode)
	})
}

// Chunked bodies have no length to check up front; fiber's app.Test cannot
// send one, so the gateway serves on a real port here.
func TestChunkedBodyOverTheLimitIs413(t *testing.T) {
	called := false
	port := sidecar(t, func(http.ResponseWriter, *http.Request) { called = true })
	app := gateway(t, port, time.Second, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })

	body := io.MultiReader(strings.NewReader(strings.Repeat("x", 2<<10))) // no Len(): sent chunked
	resp, err := http.Post("http://"+ln.Addr().String()+"/api/v1/orders", "application/json", body)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, 413, resp.StatusCode)
	assert.False(t, called)
}
