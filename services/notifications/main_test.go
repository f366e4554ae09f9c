package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/config"
	"github.com/daprshop/daprshop/services/platform/postgres/pgtest"
)

// TestRunServesEventsBesideProtectedRoutes starts the service as main does
// and checks the wiring: the sidecar reaches the subscription list and the
// event route with only its app token, while the API still demands a
// user's bearer token.
func TestRunServesEventsBesideProtectedRoutes(t *testing.T) {
	const appToken = "sidecar-secret"
	dbName := "test_" + strings.ReplaceAll(uuid.NewString(), "-", "")
	t.Cleanup(func() { dropDatabase(t, dbName) })
	port := freePort(t)
	env := map[string]string{
		"APP_PORT":      strconv.Itoa(port),
		"APP_API_TOKEN": appToken,
		"DATABASE_URL":  config.DatabaseURL(pgtest.ServerURL(), dbName),
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- program.Run(ctx, func(k string) string { return env[k] }, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-done)
	})

	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 20*time.Millisecond)

	call := func(method, path, body string, sidecar bool) (int, []byte) {
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		if sidecar {
			req.Header.Set("dapr-api-token", appToken)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, b
	}
	statusOf := func(method, path, body string, sidecar bool) int {
		s, _ := call(method, path, body, sidecar)
		return s
	}
	event := `{"id": "evt-1", "data": {"user_id": "` + uuid.NewString() + `"}}`
	status, body := call(http.MethodGet, "/dapr/subscribe", "", true)
	require.Equal(t, http.StatusOK, status, "%s", body)
	var subs []map[string]string
	require.NoError(t, json.Unmarshal(body, &subs))
	deadLetters := map[string]string{}
	for _, s := range subs {
		deadLetters[s["topic"]] = s["deadLetterTopic"]
	}
	assert.Len(t, deadLetters, 11, "ten topics and the dead letters")
	for topic, deadLetterTopic := range deadLetters {
		want := "deadletter.notifications"
		if topic == want {
			want = "" // its failures are redelivered, never dead-lettered
		}
		assert.Equal(t, want, deadLetterTopic, topic)
	}
	assert.Equal(t, http.StatusOK, statusOf(http.MethodPost, "/events/user.registered", event, true))
	assert.Equal(t, http.StatusUnauthorized, statusOf(http.MethodPost, "/events/user.registered", event, false),
		"only the sidecar may deliver events")
	assert.Equal(t, http.StatusUnauthorized, statusOf(http.MethodGet, "/api/v1/notifications", "", true),
		"the API needs a user's token too")
	assert.Equal(t, http.StatusForbidden, statusOf(http.MethodGet, "/internal/dead-letters", "", true),
		"the dead letters are served to the workers")
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func dropDatabase(t *testing.T, name string) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.ServerURL())
	if err != nil {
		t.Errorf("connect to drop %s: %v", name, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Errorf("drop %s: %v", name, err)
	}
}
