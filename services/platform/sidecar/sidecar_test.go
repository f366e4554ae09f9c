package sidecar

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/config"
)

// fakeSidecar serves the sidecar's HTTP API on a port of its own and
// answers every invocation with status and body, recording the request.
func fakeSidecar(t *testing.T, status int, body string) (*Sidecar, *http.Request) {
	t.Helper()
	var got http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = *r.Clone(context.Background())
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	require.NoError(t, err)
	cfg := config.Base{DaprAPIToken: "dapr-token", DaprGRPCPort: 1}
	cfg.DaprHTTPPort, err = strconv.Atoi(port)
	require.NoError(t, err)
	s, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s, &got
}

func TestInvokeMethodGoesThroughTheHTTPInvocationAPI(t *testing.T) {
	s, got := fakeSidecar(t, http.StatusOK, `{"keys":[]}`)

	out, err := s.InvokeMethod(t.Context(), "auth", ".well-known/jwks.json", "get")

	require.NoError(t, err)
	assert.JSONEq(t, `{"keys":[]}`, string(out))
	assert.Equal(t, http.MethodGet, got.Method)
	assert.Equal(t, "/v1.0/invoke/auth/method/.well-known/jwks.json", got.URL.Path)
	assert.Equal(t, "dapr-token", got.Header.Get("dapr-api-token"))
}

func TestInvokeMethodRefusedIsAnError(t *testing.T) {
	s, got := fakeSidecar(t, http.StatusForbidden, `{"errorCode":"ERR_DIRECT_INVOKE"}`)

	out, err := s.InvokeMethod(t.Context(), "products", "internal/purge", "post")

	require.ErrorContains(t, err, "answered 403")
	assert.Nil(t, out)
	assert.Equal(t, http.MethodPost, got.Method)
	assert.Equal(t, "/v1.0/invoke/products/method/internal/purge", got.URL.Path)
}
