package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// port is the port an httptest server listens on.
func port(t *testing.T, s *httptest.Server) int {
	t.Helper()
	_, p, err := net.SplitHostPort(s.Listener.Addr().String())
	require.NoError(t, err)
	n, err := strconv.Atoi(p)
	require.NoError(t, err)
	return n
}

// serve starts an HTTP server answering handler, closed with the test.
func serve(t *testing.T, handler http.HandlerFunc) *httptest.Server {
	s := httptest.NewServer(handler)
	t.Cleanup(s.Close)
	return s
}

// fakeTCP listens like a server of a line protocol: for each connection it
// reads n bytes and writes answer.
func fakeTCP(t *testing.T, n int, answer string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				if _, err := io.ReadFull(bufio.NewReader(conn), make([]byte, n)); err == nil {
					_, _ = conn.Write([]byte(answer))
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// closedAddr is an address nothing listens on.
func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// fakeInstance is an app, its sidecar and the sidecar's metrics port.
type fakeInstance struct{ app, sidecar, metrics *httptest.Server }

func newFakeInstance(t *testing.T, id string, ready bool) fakeInstance {
	return fakeInstance{
		app: serve(t, func(w http.ResponseWriter, r *http.Request) {
			require.Equal(t, "/readyz", r.URL.Path)
			if !ready {
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprint(w, `{"title":"a dependency is unavailable","checks":{"dapr":"ok","postgres":"unavailable"}}`)
				return
			}
			fmt.Fprint(w, `{"status":"ready","checks":{"postgres":"ok","dapr":"ok"}}`)
		}),
		sidecar: serve(t, func(w http.ResponseWriter, r *http.Request) {
			require.Equal(t, "/v1.0/healthz", r.URL.Path)
			w.WriteHeader(http.StatusNoContent)
		}),
		metrics: serve(t, func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "# TYPE dapr_runtime_component_loaded counter\ndapr_runtime_component_loaded{app_id=%q} 4\n", id)
		}),
	}
}

func (f fakeInstance) entry(t *testing.T, id string) testApp {
	return testApp{id: id, appPort: port(t, f.app), daprPort: port(t, f.sidecar), extra: fmt.Sprintf(
		"daprGRPCPort: %d\ndaprInternalGRPCPort: %d\nmetricsPort: %d\n",
		port(t, f.sidecar)+1, port(t, f.sidecar)+2, port(t, f.metrics))}
}

// healthyDependencies are the flags pointing runner status at fakes of
// every dependency, all up, Jaeger aside.
func healthyDependencies(t *testing.T) []string {
	ok := serve(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	redis := fakeTCP(t, len("PING\r\n"), "+PONG\r\n")
	return []string{
		"-postgres", fakeTCP(t, 8, "N"), "-redis", redis, "-pubsub", "redis", "-broker", redis,
		"-sentry", ok.URL, "-mailpit", ok.URL, "-devsink", ok.URL, "-stripe", ok.URL, "-paypal", ok.URL, "-prometheus", ok.URL,
		"-jaeger", "http://" + closedAddr(t), "-gateway", "http://gateway.test",
	}
}

func TestStatusAllUp(t *testing.T) {
	orders, payments := newFakeInstance(t, "orders", true), newFakeInstance(t, "payments", true)
	runFile := writeRunFile(t, "true", orders.entry(t, "orders"), payments.entry(t, "payments"))
	var out strings.Builder
	err := runStatus(context.Background(), append([]string{"-f", runFile}, healthyDependencies(t)...), &out)
	require.NoError(t, err, out.String())
	lines := out.String()
	for _, want := range []string{
		"orders  ", "payments  ",
		"up, dapr ok, postgres ok",
		"up, 4 components loaded",
		fmt.Sprintf("app %d, dapr http %d", port(t, orders.app), port(t, orders.sidecar)),
		"PostgreSQL", "Redis", "broker (redis)", "Dapr Sentry", "mailpit", "SMS/push sink", "Stripe emulator", "Prometheus",
		"Jaeger           not running (optional)",
		"Gateway (API)          http://gateway.test",
		"all up: 2 instances, their sidecars, 10 dependencies",
	} {
		assert.Contains(t, lines, want)
	}
	assert.NotContains(t, lines, "DOWN")
}

func TestStatusReportsWhatIsDown(t *testing.T) {
	orders := newFakeInstance(t, "orders", false)
	payments := newFakeInstance(t, "payments", true)
	payments.sidecar.Close()
	runFile := writeRunFile(t, "true", orders.entry(t, "orders"), payments.entry(t, "payments"))
	flags := healthyDependencies(t)
	for i, f := range flags {
		switch f {
		case "-postgres":
			flags[i+1] = closedAddr(t)
		case "-redis":
			flags[i+1] = fakeTCP(t, len("PING\r\n"), "-ERR unknown\r\n")
		}
	}
	var out strings.Builder
	err := runStatus(context.Background(), append([]string{"-f", runFile}, flags...), &out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "4 down")
	for _, name := range []string{"orders", "payments's sidecar", "PostgreSQL", "Redis"} {
		assert.Contains(t, err.Error(), name+" (")
	}
	assert.Contains(t, out.String(), "DOWN: 503 Service Unavailable dapr ok, postgres unavailable", "which check fails")
	assert.Contains(t, out.String(), "DOWN: connect: connection refused")
	assert.Contains(t, out.String(), `DOWN: not Redis: answered "-ERR "`)
}

// TestStatusProbesEveryReplica: with -replicas, the further instances are
// probed at their own ports (the first's plus 10), as the runner started
// them; here nothing listens there.
func TestStatusProbesEveryReplica(t *testing.T) {
	orders := newFakeInstance(t, "orders", true)
	runFile := writeRunFile(t, "true", orders.entry(t, "orders"))
	var out strings.Builder
	err := runStatus(context.Background(),
		append([]string{"-f", runFile, "-replicas", "orders=2"}, healthyDependencies(t)...), &out)
	require.Error(t, err, out.String())
	assert.Equal(t, fmt.Sprintf("status: 2 down: orders-2 (http://127.0.0.1:%d/readyz), orders-2's sidecar (http://127.0.0.1:%d/v1.0/healthz)",
		port(t, orders.app)+replicaPortStep, port(t, orders.sidecar)+replicaPortStep), err.Error())
	assert.Contains(t, out.String(), "orders-2")
	assert.Contains(t, out.String(), fmt.Sprintf("app %d, dapr http %d", port(t, orders.app)+replicaPortStep, port(t, orders.sidecar)+replicaPortStep))
}

func TestStatusRefusesAnUnknownBroker(t *testing.T) {
	orders := newFakeInstance(t, "orders", true)
	runFile := writeRunFile(t, "true", orders.entry(t, "orders"))
	err := runStatus(context.Background(), []string{"-f", runFile, "-pubsub", "carrier-pigeon"}, io.Discard)
	assert.ErrorContains(t, err, `unknown pub/sub backend "carrier-pigeon"`)
}
