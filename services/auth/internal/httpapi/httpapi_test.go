package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/auth/internal/accounts"
	"github.com/daprshop/daprshop/services/auth/internal/httpapi"
	"github.com/daprshop/daprshop/services/auth/internal/keys"
	"github.com/daprshop/daprshop/services/auth/internal/password"
	"github.com/daprshop/daprshop/services/auth/internal/postgres"
	"github.com/daprshop/daprshop/services/auth/internal/postgres/migrations"
	"github.com/daprshop/daprshop/services/auth/internal/tokens"
	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/config"
	"github.com/daprshop/daprshop/services/platform/postgres/pgtest"
	"github.com/daprshop/daprshop/services/platform/server"
)

// denylist is an in-memory denylist, written by the service and read by
// the verifier, like the shared state store.
type denylist struct {
	mu      sync.Mutex
	revoked map[string]bool
}

func (d *denylist) Revoke(_ context.Context, tokenID string, _ time.Duration) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.revoked[tokenID] = true
	return nil
}

func (d *denylist) Revoked(_ context.Context, ids ...string) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, id := range ids {
		if d.revoked[id] {
			return true, nil
		}
	}
	return false, nil
}

type fixture struct {
	app *fiber.App
	svc *accounts.Service
}

// newFixture serves the handlers on the platform server (real problem+json
// errors) over a fresh database, verifying with the service's own keys.
func newFixture(t *testing.T) fixture {
	t.Helper()
	pool := pgtest.NewDatabase(t, migrations.FS)
	set, err := keys.FromSecrets(map[string]string{keys.SecretCurrent: "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=", keys.SecretCurrentID: "k1"})
	require.NoError(t, err)
	deny := &denylist{revoked: map[string]bool{}}
	svc, err := accounts.NewService(postgres.NewStore(pool),
		password.NewHasher(password.Params{Time: 1, Memory: 64, Threads: 1, SaltLen: 16, KeyLen: 32}),
		tokens.NewIssuer(set), deny, slog.New(slog.DiscardHandler), time.Now)
	require.NoError(t, err)
	doc, err := json.Marshal(set.JWKS())
	require.NoError(t, err)
	verifier := authn.NewVerifier(func(context.Context) ([]byte, error) { return doc, nil }, time.Now).WithDenylist(deny)
	srv := server.New(server.Options{Config: config.Base{Service: "auth"}, Logger: slog.New(slog.DiscardHandler)})
	httpapi.New(set, svc, verifier).Register(srv.App())
	return fixture{app: srv.App(), svc: svc}
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

// do sends a JSON body (none when empty) with an optional bearer token.
func (f fixture) do(t *testing.T, method, path, token, body string, headers ...string) reply {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	if body != "" {
		req.Header.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	}
	if token != "" {
		req.Header.Set(fiber.HeaderAuthorization, "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := f.app.Test(req, -1)
	require.NoError(t, err)
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	out := reply{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 && raw[0] == '{' {
		require.NoError(t, json.Unmarshal(raw, &out.body), string(raw))
	}
	return out
}

func (f fixture) register(t *testing.T, email string) string {
	t.Helper()
	r := f.do(t, http.MethodPost, "/api/v1/auth/register", "", `{"email":"`+email+`","password":"Blue-Kettle-Rain7","name":"Jane"}`)
	require.Equal(t, http.StatusCreated, r.status, string(r.raw))
	return r.body["id"].(string)
}

func (f fixture) login(t *testing.T, email, pw string) reply {
	t.Helper()
	return f.do(t, http.MethodPost, "/api/v1/auth/login", "", `{"email":"`+email+`","password":"`+pw+`"}`,
		"User-Agent", "probe/1.0", "X-Forwarded-For", "203.0.113.7, 10.0.0.1")
}

func fields(r reply) []string {
	var out []string
	errs, _ := r.body["errors"].([]any)
	for _, e := range errs {
		out = append(out, e.(map[string]any)["field"].(string))
	}
	return out
}

func TestRegister(t *testing.T) {
	f := newFixture(t)
	r := f.do(t, http.MethodPost, "/api/v1/auth/register", "", `{"email":" Jane@Example.com ","password":"Blue-Kettle-Rain7","name":"Jane"}`)
	require.Equal(t, http.StatusCreated, r.status, string(r.raw))
	assert.Equal(t, "jane@example.com", r.body["email"])
	assert.Equal(t, []any{"CUSTOMER"}, r.body["roles"])
	assert.NotContains(t, string(r.raw), "password")

	tests := []struct {
		name, body string
		status     int
		fields     []string
	}{
		{"taken email", `{"email":"JANE@example.com","password":"Blue-Kettle-Rain7","name":"J"}`, http.StatusConflict, nil},
		{"every violation listed", `{"email":"bob","password":"short","name":""}`, http.StatusUnprocessableEntity,
			[]string{"email", "password", "password", "password", "name"}},
		{"unknown field", `{"email":"a@b.co","password":"Blue-Kettle-Rain7","name":"J","admin":true}`, http.StatusBadRequest, nil},
		{"not json", `{"email":`, http.StatusBadRequest, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do(t, http.MethodPost, "/api/v1/auth/register", "", tt.body)
			assert.Equal(t, tt.status, r.status, string(r.raw))
			assert.Equal(t, server.ProblemContentType, r.header.Get(fiber.HeaderContentType))
			assert.Equal(t, tt.fields, fields(r))
		})
	}
}

func TestLoginMeRefreshLogout(t *testing.T) {
	f := newFixture(t)
	id := f.register(t, "jane@example.com")

	r := f.login(t, "jane@example.com", "Blue-Kettle-Rain7")
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	assert.Equal(t, "Bearer", r.body["token_type"])
	assert.InDelta(t, 900, r.body["expires_in"], 0)
	access, refresh := r.body["access_token"].(string), r.body["refresh_token"].(string)

	me := f.do(t, http.MethodGet, "/api/v1/auth/me", access, "")
	require.Equal(t, http.StatusOK, me.status, string(me.raw))
	assert.Equal(t, map[string]any{"id": id, "email": "jane@example.com", "name": "Jane", "roles": []any{"CUSTOMER"}}, me.body)

	sessions := f.do(t, http.MethodGet, "/api/v1/auth/sessions", access, "")
	require.Equal(t, http.StatusOK, sessions.status)
	var list []map[string]any
	require.NoError(t, json.Unmarshal(sessions.raw, &list))
	require.Len(t, list, 1)
	assert.Equal(t, "probe/1.0", list[0]["user_agent"])
	assert.Equal(t, "203.0.113.7", list[0]["ip"])
	assert.Equal(t, true, list[0]["current"])

	next := f.do(t, http.MethodPost, "/api/v1/auth/refresh", "", `{"refresh_token":"`+refresh+`"}`)
	require.Equal(t, http.StatusOK, next.status, string(next.raw))
	newAccess := next.body["access_token"].(string)

	reused := f.do(t, http.MethodPost, "/api/v1/auth/refresh", "", `{"refresh_token":"`+refresh+`"}`)
	assert.Equal(t, http.StatusUnauthorized, reused.status)
	assert.Equal(t, http.StatusUnauthorized, f.do(t, http.MethodGet, "/api/v1/auth/me", newAccess, "").status,
		"reuse revoked the session's live access token")

	again := f.login(t, "jane@example.com", "Blue-Kettle-Rain7").body["access_token"].(string)
	assert.Equal(t, http.StatusNoContent, f.do(t, http.MethodPost, "/api/v1/auth/logout", again, "").status)
	assert.Equal(t, http.StatusUnauthorized, f.do(t, http.MethodGet, "/api/v1/auth/me", again, "").status)
}

func TestLoginFailures(t *testing.T) {
	f := newFixture(t)
	f.register(t, "jane@example.com")
	unknown := f.login(t, "nobody@example.com", "Blue-Kettle-Rain7")
	wrong := f.login(t, "jane@example.com", "Wrong-Password-1")
	assert.Equal(t, http.StatusUnauthorized, unknown.status)
	assert.Equal(t, unknown.body["detail"], wrong.body["detail"], "the answer does not tell whether the email exists")
	for range 4 {
		require.Equal(t, http.StatusUnauthorized, f.login(t, "jane@example.com", "Wrong-Password-1").status)
	}
	locked := f.login(t, "jane@example.com", "Blue-Kettle-Rain7")
	assert.Equal(t, http.StatusTooManyRequests, locked.status)
	secs, err := strconv.Atoi(locked.header.Get(fiber.HeaderRetryAfter))
	require.NoError(t, err)
	assert.InDelta(t, (15 * time.Minute).Seconds(), secs, 5)
}

func TestAdminRoutes(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.svc.BootstrapSuperAdmin(context.Background(), "root@example.com", "Root-Password-1"))
	janeID := f.register(t, "jane@example.com")
	jane := f.login(t, "jane@example.com", "Blue-Kettle-Rain7").body["access_token"].(string)
	root := f.login(t, "root@example.com", "Root-Password-1").body["access_token"].(string)

	assert.Equal(t, http.StatusUnauthorized, f.do(t, http.MethodGet, "/api/v1/admin/users", "", "").status)
	assert.Equal(t, http.StatusForbidden, f.do(t, http.MethodGet, "/api/v1/admin/users", jane, "").status)

	page := f.do(t, http.MethodGet, "/api/v1/admin/users?page_size=1&page=2", root, "")
	require.Equal(t, http.StatusOK, page.status, string(page.raw))
	assert.InDelta(t, 2, page.body["total"], 0)
	items := page.body["items"].([]any)
	require.Len(t, items, 1)
	assert.Equal(t, janeID, items[0].(map[string]any)["id"])

	path := "/api/v1/admin/users/" + janeID + "/roles"
	tests := []struct {
		name, token, body string
		status            int
	}{
		{"a customer may not", jane, `{"roles":["ADMIN"]}`, http.StatusForbidden},
		{"unknown role", root, `{"roles":["ROOT"]}`, http.StatusUnprocessableEntity},
		{"no role left", root, `{"roles":[]}`, http.StatusUnprocessableEntity},
		{"unknown user", root, `{"roles":["CUSTOMER"]}`, http.StatusNotFound},
		{"super admin grants ADMIN", root, `{"roles":["CUSTOMER","ADMIN"]}`, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := path
			if tt.status == http.StatusNotFound {
				p = "/api/v1/admin/users/" + uuid.NewString() + "/roles"
			}
			r := f.do(t, http.MethodPut, p, tt.token, tt.body)
			assert.Equal(t, tt.status, r.status, string(r.raw))
		})
	}
	t.Run("the new admin may list but not demote themselves from ADMIN", func(t *testing.T) {
		admin := f.login(t, "jane@example.com", "Blue-Kettle-Rain7").body["access_token"].(string)
		assert.Equal(t, http.StatusOK, f.do(t, http.MethodGet, "/api/v1/admin/users", admin, "").status)
		assert.Equal(t, http.StatusForbidden, f.do(t, http.MethodPut, path, admin, `{"roles":["CUSTOMER"]}`).status)
	})
}

func TestSessionRevokeOfAnotherUsersSessionIsNotFound(t *testing.T) {
	f := newFixture(t)
	f.register(t, "jane@example.com")
	f.register(t, "bob@example.com")
	jane := f.login(t, "jane@example.com", "Blue-Kettle-Rain7").body["access_token"].(string)
	bob := f.login(t, "bob@example.com", "Blue-Kettle-Rain7").body["access_token"].(string)
	var bobs []map[string]any
	require.NoError(t, json.Unmarshal(f.do(t, http.MethodGet, "/api/v1/auth/sessions", bob, "").raw, &bobs))
	require.Len(t, bobs, 1)
	bobSession := bobs[0]["id"].(string)

	assert.Equal(t, http.StatusNotFound, f.do(t, http.MethodDelete, "/api/v1/auth/sessions/"+bobSession, jane, "").status)
	assert.Equal(t, http.StatusNotFound, f.do(t, http.MethodDelete, "/api/v1/auth/sessions/not-a-uuid", jane, "").status)
	assert.Equal(t, http.StatusOK, f.do(t, http.MethodGet, "/api/v1/auth/me", bob, "").status)
	assert.Equal(t, http.StatusNoContent, f.do(t, http.MethodDelete, "/api/v1/auth/sessions/"+bobSession, bob, "").status)
	assert.Equal(t, http.StatusUnauthorized, f.do(t, http.MethodGet, "/api/v1/auth/me", bob, "").status)
}

func TestHostileInputGetsAClientError(t *testing.T) {
	f := newFixture(t)
	f.register(t, "jane@example.com")
	require.NoError(t, f.svc.BootstrapSuperAdmin(context.Background(), "root@example.com", "Root-Password-1"))
	root := f.login(t, "root@example.com", "Root-Password-1").body["access_token"].(string)
	long := strings.Repeat("ü", 5000)
	const login, register = "/api/v1/auth/login", "/api/v1/auth/register"
	tests := []struct {
		name, method, path, token, body string
		headers                         []string
		status                          int
	}{
		// NUL is refused as the body is read: no row may hold one.
		{"NUL in a login email", http.MethodPost, login, "", `{"email":"ja\u0000ne@example.com","password":"x"}`, nil, http.StatusBadRequest},
		{"NUL in a password", http.MethodPost, login, "", `{"email":"jane@example.com","password":"\u0000"}`, nil, http.StatusBadRequest},
		{"overlong login email", http.MethodPost, login, "", `{"email":"` + long + `","password":"x"}`, nil, http.StatusUnprocessableEntity},
		{"overlong login password", http.MethodPost, login, "", `{"email":"jane@example.com","password":"` + long + `"}`, nil, http.StatusUnprocessableEntity},
		{"lone surrogate in an email", http.MethodPost, login, "", `{"email":"\ud800@example.com","password":"x"}`, nil, http.StatusUnauthorized},
		{"invalid UTF-8 in an email", http.MethodPost, login, "", "{\"email\":\"\xff\xfe@example.com\",\"password\":\"x\"}", nil, http.StatusUnauthorized},
		{"huge number for a string", http.MethodPost, login, "", `{"email":1e999999,"password":"x"}`, nil, http.StatusBadRequest},
		{"malformed JSON", http.MethodPost, login, "", `{"email":"` + long, nil, http.StatusBadRequest},
		{"invalid UTF-8 user agent on a good login", http.MethodPost, login, "", `{"email":"jane@example.com","password":"Blue-Kettle-Rain7"}`,
			[]string{"User-Agent", "\xff\xfe" + strings.Repeat("ü", 1000), "X-Forwarded-For", "\xff"}, http.StatusOK},
		{"NUL in a name", http.MethodPost, register, "", `{"email":"nul@example.com","password":"Blue-Kettle-Rain7","name":"J\u0000"}`, nil, http.StatusBadRequest},
		{"NUL in a sign-up email", http.MethodPost, register, "", `{"email":"n\u0000ul@example.com","password":"Blue-Kettle-Rain7","name":"J"}`, nil, http.StatusBadRequest},
		{"overlong sign-up fields", http.MethodPost, register, "", `{"email":"` + long + `@example.com","password":"` + long + `","name":"` + long + `"}`, nil, http.StatusUnprocessableEntity},
		{"NUL in a refresh token", http.MethodPost, "/api/v1/auth/refresh", "", `{"refresh_token":"\u0000"}`, nil, http.StatusBadRequest},
		{"huge number for a role", http.MethodPut, "/api/v1/admin/users/" + uuid.NewString() + "/roles", root, `{"roles":[123456789012345678901234567890]}`, nil, http.StatusBadRequest},
		{"NUL in a role", http.MethodPut, "/api/v1/admin/users/" + uuid.NewString() + "/roles", root, `{"roles":["ADMIN\u0000"]}`, nil, http.StatusBadRequest},
		{"a page past any offset", http.MethodGet, "/api/v1/admin/users?page=9223372036854775807&page_size=100", root, "", nil, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do(t, tt.method, tt.path, tt.token, tt.body, tt.headers...)
			assert.Equal(t, tt.status, r.status, "%.300s", r.raw)
			if r.status >= 400 {
				assert.Equal(t, server.ProblemContentType, r.header.Get(fiber.HeaderContentType))
				assert.NotContains(t, string(r.raw), "üü", "the problem does not echo the request")
				assert.NotContains(t, string(r.raw), `\u0000`)
			}
		})
	}
	t.Run("nothing was stored", func(t *testing.T) {
		page := f.do(t, http.MethodGet, "/api/v1/admin/users", root, "")
		assert.InDelta(t, 2, page.body["total"], 0, "only jane and root")
	})
}

func TestRoleChangeTakesEffectOnTheNextRequest(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.svc.BootstrapSuperAdmin(context.Background(), "root@example.com", "Root-Password-1"))
	janeID := f.register(t, "jane@example.com")
	root := f.login(t, "root@example.com", "Root-Password-1").body["access_token"].(string)
	setRoles := func(roles string) reply {
		return f.do(t, http.MethodPut, "/api/v1/admin/users/"+janeID+"/roles", root, `{"roles":`+roles+`}`)
	}
	require.Equal(t, http.StatusOK, setRoles(`["ADMIN","CUSTOMER"]`).status)
	jane := f.login(t, "jane@example.com", "Blue-Kettle-Rain7")
	access, refresh := jane.body["access_token"].(string), jane.body["refresh_token"].(string)
	require.Equal(t, http.StatusOK, f.do(t, http.MethodGet, "/api/v1/admin/users", access, "").status)

	demoted := setRoles(`["CUSTOMER"]`)
	require.Equal(t, http.StatusOK, demoted.status, string(demoted.raw))
	assert.Equal(t, []any{"CUSTOMER"}, demoted.body["roles"])
	assert.Equal(t, http.StatusUnauthorized, f.do(t, http.MethodGet, "/api/v1/admin/users", access, "").status,
		"the ADMIN token is refused on the next request")

	next := f.do(t, http.MethodPost, "/api/v1/auth/refresh", "", `{"refresh_token":"`+refresh+`"}`)
	require.Equal(t, http.StatusOK, next.status, string(next.raw))
	renewed := next.body["access_token"].(string)
	assert.Equal(t, http.StatusForbidden, f.do(t, http.MethodGet, "/api/v1/admin/users", renewed, "").status)
	me := f.do(t, http.MethodGet, "/api/v1/auth/me", renewed, "")
	require.Equal(t, http.StatusOK, me.status)
	assert.Equal(t, []any{"CUSTOMER"}, me.body["roles"])
	assert.Equal(t, http.StatusOK, f.do(t, http.MethodGet, "/api/v1/admin/users", root, "").status, "other users' tokens are untouched")
}

func TestTheLastSuperAdminCannotBeDemoted(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.svc.BootstrapSuperAdmin(context.Background(), "root@example.com", "Root-Password-1"))
	root := f.login(t, "root@example.com", "Root-Password-1").body["access_token"].(string)
	me := f.do(t, http.MethodGet, "/api/v1/auth/me", root, "")
	rootID := me.body["id"].(string)

	r := f.do(t, http.MethodPut, "/api/v1/admin/users/"+rootID+"/roles", root, `{"roles":["ADMIN"]}`)
	assert.Equal(t, http.StatusConflict, r.status, string(r.raw))
	assert.Equal(t, server.ProblemContentType, r.header.Get(fiber.HeaderContentType))
	assert.Contains(t, r.body["detail"], "no SUPER_ADMIN")
	after := f.do(t, http.MethodGet, "/api/v1/auth/me", root, "")
	require.Equal(t, http.StatusOK, after.status, "the refused change revoked nothing")
	assert.Equal(t, []any{"SUPER_ADMIN"}, after.body["roles"])
}
