package paypalapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/payments/internal/payments"
	"github.com/daprshop/daprshop/services/payments/internal/paypalapi"
)

// emulator is a running tools/paypallocal with what the tests need of it.
type emulator struct {
	url      string
	caFile   string
	secrets  map[string]string
	mu       sync.Mutex
	requests []*http.Request // through the stand-in sidecar
	received chan delivery   // webhooks delivered
}

type delivery struct {
	header http.Header
	body   []byte
}

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// buildEmulator builds tools/paypallocal once per test binary, from the
// workspace the payments module is in.
func buildEmulator(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "paypallocal")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "paypallocal")
		out, err := exec.Command("go", "build", "-o", binary, "github.com/daprshop/daprshop/tools/paypallocal").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("build paypallocal: %w: %s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return binary
}

// startEmulator runs the emulator on a free port with fresh credentials
// and CA, delivering webhooks to a receiver that answers 200.
func startEmulator(t *testing.T) *emulator {
	t.Helper()
	bin := buildEmulator(t)
	dir := t.TempDir()
	em := &emulator{
		caFile:   filepath.Join(dir, "paypal-ca.pem"),
		secrets:  map[string]string{"paypal-client-id": "client-" + t.Name(), "paypal-client-secret": "secret", "paypal-webhook-id": "WH-ID-1"},
		received: make(chan delivery, 64),
	}
	raw, err := json.Marshal(em.secrets)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "secrets.json"), raw, 0o600))
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		em.received <- delivery{r.Header.Clone(), body}
	}))
	t.Cleanup(receiver.Close)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	cmd := exec.Command(bin, "-addr", addr, "-secrets", filepath.Join(dir, "secrets.json"), "-ca", em.caFile, "-webhook-url", receiver.URL)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	em.url = "http://" + addr
	require.Eventually(t, func() bool {
		resp, err := http.Get(em.url + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusNoContent
	}, 20*time.Second, 50*time.Millisecond)
	return em
}

// sidecar stands in for the payments sidecar's invocation of the paypal
// HTTPEndpoint: it records each request and forwards it without the
// invocation prefix.
func (em *emulator) sidecar(t *testing.T) string {
	t.Helper()
	target, err := url.Parse(em.url)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		em.mu.Lock()
		em.requests = append(em.requests, r.Clone(context.Background()))
		em.mu.Unlock()
		path, found := strings.CutPrefix(r.URL.Path, "/v1.0/invoke/paypal/method")
		if !found {
			http.Error(w, "not an invocation of the paypal endpoint", http.StatusNotFound)
			return
		}
		r.URL.Path = path
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v1.0/invoke/paypal/method"
}

func (em *emulator) seen() []*http.Request {
	em.mu.Lock()
	defer em.mu.Unlock()
	return append([]*http.Request(nil), em.requests...)
}

// client is a Client through the stand-in sidecar.
func (em *emulator) client(t *testing.T) *paypalapi.Client {
	t.Helper()
	return paypalapi.New(paypalapi.Options{
		BaseURL: em.sidecar(t), ClientID: em.secrets["paypal-client-id"], ClientSecret: em.secrets["paypal-client-secret"],
		DaprAPIToken: "dapr-token", Timeout: 5 * time.Second, ReturnURL: "http://shop.test/orders", CancelURL: "http://shop.test/orders",
	})
}

// control calls a test control of the emulator.
func (em *emulator) control(t *testing.T, method, path string) {
	t.Helper()
	req, err := http.NewRequest(method, em.url+path, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Less(t, resp.StatusCode, 300, "%s %s", method, path)
}

// next returns the next webhook delivered of type typ, skipping others.
func (em *emulator) next(t *testing.T, typ string) delivery {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case d := <-em.received:
			var evt struct {
				EventType string `json:"event_type"`
			}
			require.NoError(t, json.Unmarshal(d.body, &evt))
			if evt.EventType == typ {
				return d
			}
		case <-timeout:
			t.Fatalf("no %s webhook delivered", typ)
		}
	}
}

// newOrder creates the PayPal order of a new shop order of cents.
func newOrder(t *testing.T, c *paypalapi.Client, cents int64, currency string) payments.Intent {
	t.Helper()
	created, err := c.CreateIntent(context.Background(), payments.IntentRequest{OrderID: uuid.New(), UserID: uuid.New(), AmountCents: cents, Currency: currency})
	require.NoError(t, err)
	return created
}
