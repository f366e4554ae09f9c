package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/authn"
)

// TestSystem runs in order: the fault-isolation step kills a service, so it
// comes last.
func TestSystem(t *testing.T) {
	t.Run("every service answers through the gateway", testServicesAnswer)
	t.Run("request ids are echoed and generated", testRequestID)
	t.Run("an event published on pubsub reaches its subscriber", testEventDelivery)
	t.Run("a dead service is a 503 and the rest keep working", testFaultIsolation)
}

func testServicesAnswer(t *testing.T) {
	customer := token(t, uuid.New(), authn.RoleCustomer)
	admin := token(t, uuid.New(), authn.RoleAdmin)
	tests := []struct {
		app    string
		port   int
		path   string
		route  string
		bearer string
		want   int
	}{
		{"products", 3002, "/api/v1/products", "/api/v1/products", "", http.StatusOK},
		{"products", 3002, "/api/v1/categories", "/api/v1/categories", "", http.StatusOK},
		{"auth", 3001, "/.well-known/jwks.json", "/.well-known/jwks.json", "", http.StatusOK},
		{"orders", 3003, "/api/v1/orders", "/api/v1/orders", customer, http.StatusOK},
		{"payments", 3004, "/api/v1/payment-methods", "/api/v1/payment-methods", customer, http.StatusOK},
		{"notifications", 3005, "/api/v1/notifications/preferences", "/api/v1/notifications/preferences", customer, http.StatusOK},
		{"workers", 3006, "/api/v1/admin/analytics/sales?from=2026-01-01&to=2026-01-31", "/api/v1/admin/analytics/sales", admin, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %s %d", tt.app, tt.route, tt.want), func(t *testing.T) {
			before := servedCount(t, tt.app, tt.port, http.MethodGet, tt.route, tt.want)
			var headers []string
			if tt.bearer != "" {
				headers = []string{"Authorization", "Bearer " + tt.bearer}
			}
			resp := call(t, http.MethodGet, gatewayURL+tt.path, nil, headers...)
			require.Equal(t, tt.want, resp.Status, "body: %s", resp.Body)
			if tt.want >= 400 {
				assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
			} else {
				assert.True(t, json.Valid(resp.Body), "body: %s", resp.Body)
			}
			// The service itself, reached through both sidecars, answered.
			assert.Equal(t, before+1, servedCount(t, tt.app, tt.port, http.MethodGet, tt.route, tt.want))
		})
	}

	t.Run("anonymous calls to protected routes stop at the edge", func(t *testing.T) {
		before := requestCount(t, 3003, "/api/v1/orders", http.StatusUnauthorized)
		invalidRequests(t) // no token
		resp := call(t, http.MethodGet, gatewayURL+"/api/v1/orders", nil, "X-User-ID", uuid.NewString(), "X-User-Roles", "ADMIN")
		assert.Equal(t, http.StatusUnauthorized, resp.Status)
		assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
		assert.Equal(t, before, requestCount(t, 3003, "/api/v1/orders", http.StatusUnauthorized), "orders was never invoked")
	})
	t.Run("jwks publishes the dev signing key", func(t *testing.T) {
		resp := call(t, http.MethodGet, gatewayURL+"/.well-known/jwks.json", nil)
		keys, err := authn.ParseJWKS(resp.Body)
		require.NoError(t, err)
		assert.Contains(t, keys, sys.secrets["jwt-signing-key-id"])
	})
	t.Run("unknown paths are a problem+json 404 from the gateway", func(t *testing.T) {
		invalidRequests(t) // a path the document does not have
		resp := call(t, http.MethodGet, gatewayURL+"/api/v1/nothing-here", nil)
		assert.Equal(t, http.StatusNotFound, resp.Status)
		assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	})
	t.Run("services refuse calls that bypass their sidecar", func(t *testing.T) {
		resp := call(t, http.MethodGet, "http://127.0.0.1:3002/api/v1/products", nil)
		assert.Equal(t, http.StatusUnauthorized, resp.Status)
	})
}

func testRequestID(t *testing.T) {
	resp := call(t, http.MethodGet, gatewayURL+"/api/v1/products", nil, "X-Request-ID", "e2e-request-1")
	assert.Equal(t, "e2e-request-1", resp.Header.Get("X-Request-ID"))
	resp = call(t, http.MethodGet, gatewayURL+"/api/v1/products", nil)
	_, err := uuid.Parse(resp.Header.Get("X-Request-ID"))
	assert.NoError(t, err, "a generated request id is a UUID")
	assert.Regexp(t, `^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$`, resp.Header.Get("traceparent"))
}

// testEventDelivery publishes user.registered through a sidecar onto Redis
// Streams and waits for the notifications service to apply it: the user's
// default preferences row appears, once.
func testEventDelivery(t *testing.T) {
	userID := uuid.New()
	body, err := json.Marshal(map[string]string{"user_id": userID.String(), "email": "e2e@example.com", "name": "E2E"})
	require.NoError(t, err)
	resp := call(t, http.MethodPost, publishURL("user.registered"), bytes.NewReader(body),
		"Content-Type", "application/json", "dapr-api-token", sys.env["DAPR_API_TOKEN"])
	require.Equal(t, http.StatusNoContent, resp.Status, "publish: %s", resp.Body)

	db := connect(t, "notifications")
	require.Eventually(t, func() bool {
		var n int
		err := db.QueryRow(ctx(t), `SELECT count(*) FROM preferences WHERE user_id = $1`, userID).Scan(&n)
		return err == nil && n == 1
	}, 30*time.Second, 100*time.Millisecond, "preferences row for the registered user")
}

func connect(t *testing.T, database string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(ctx(t), databaseURL(database))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// testFaultIsolation kills the workers process: its routes turn into 503
// problem documents while other services keep answering. Then it starts
// the workers again as the runner did, and their sidecar finds them back.
func testFaultIsolation(t *testing.T) {
	admin := token(t, uuid.New(), authn.RoleAdmin)
	salesURL := gatewayURL + "/api/v1/admin/analytics/sales?from=2026-01-01&to=2026-01-02"
	require.Equal(t, http.StatusOK, call(t, http.MethodGet, salesURL, nil, "Authorization", "Bearer "+admin).Status)

	exe := filepath.Join(sys.root, ".bin", "workers")
	pid := pidOf(t, exe)
	restart := restartable(t, exe, pid)
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))

	require.Eventually(t, func() bool {
		resp := call(t, http.MethodGet, salesURL, nil, "Authorization", "Bearer "+admin)
		return resp.Status == http.StatusServiceUnavailable &&
			resp.Header.Get("Content-Type") == "application/problem+json" &&
			!strings.Contains(string(resp.Body), "127.0.0.1") // no internals leak
	}, 20*time.Second, 100*time.Millisecond, "workers routes answer 503 problem+json")

	assert.Equal(t, http.StatusOK, call(t, http.MethodGet, gatewayURL+"/api/v1/products", nil).Status)
	customer := token(t, uuid.New(), authn.RoleCustomer)
	assert.Equal(t, http.StatusOK, call(t, http.MethodGet, gatewayURL+"/api/v1/orders", nil, "Authorization", "Bearer "+customer).Status)

	restart()
	require.Eventually(t, func() bool {
		return call(t, http.MethodGet, salesURL, nil, "Authorization", "Bearer "+admin).Status == http.StatusOK
	}, 60*time.Second, 100*time.Millisecond, "workers routes answer again once the workers are back")
}

// restartable records how process pid runs exe (arguments, environment,
// directory) and returns a func starting it again the same way.
func restartable(t *testing.T, exe string, pid int) func() {
	t.Helper()
	proc := filepath.Join("/proc", strconv.Itoa(pid))
	cmdline, err := os.ReadFile(filepath.Join(proc, "cmdline"))
	require.NoError(t, err)
	environ, err := os.ReadFile(filepath.Join(proc, "environ"))
	require.NoError(t, err)
	dir, err := os.Readlink(filepath.Join(proc, "cwd"))
	require.NoError(t, err)
	split := func(b []byte) []string { return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00") }
	// Each process restarted keeps one log of its own, appended to at each
	// restart: several sidecars are restarted, and one shared file, created
	// anew at each start, kept the evidence of none.
	logPath := filepath.Join(sys.root, ".run", fmt.Sprintf("e2e-restarted-%s-%d.log", filepath.Base(exe), pid))
	return func() {
		log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		require.NoError(t, err)
		cmd := exec.Command(exe, split(cmdline)[1:]...)
		cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = split(environ), dir, log, log
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		require.NoError(t, cmd.Start())
		sys.restarted = append(sys.restarted, cmd)
	}
}

// pidOf finds the running process whose executable is exe.
func pidOf(t *testing.T, exe string) int {
	t.Helper()
	return findProcess(t, "no process runs "+exe, func(p proc) bool { return p.exe == exe })
}

// proc is what the tests match a running process on.
type proc struct {
	exe     string // path of its executable
	cmdline []byte // its arguments, each ended by a NUL
	environ []byte // its environment, each variable ended by a NUL
}

// has reports whether list (cmdline or environ) holds the NUL-separated
// items in order, each whole.
func has(list []byte, items ...string) bool {
	return bytes.Contains(append([]byte{0}, list...), []byte("\x00"+strings.Join(items, "\x00")+"\x00"))
}

// findProcess is the pid of the one process match accepts; none fails the
// test with missing.
func findProcess(t *testing.T, missing string, match func(proc) bool) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		dir := filepath.Join("/proc", e.Name())
		var p proc
		// A process may end while it is read, or belong to another user.
		if p.exe, err = os.Readlink(filepath.Join(dir, "exe")); err != nil {
			continue
		}
		if p.cmdline, err = os.ReadFile(filepath.Join(dir, "cmdline")); err != nil {
			continue
		}
		if p.environ, err = os.ReadFile(filepath.Join(dir, "environ")); err != nil {
			continue
		}
		if match(p) {
			return pid
		}
	}
	require.FailNow(t, missing)
	return 0
}
