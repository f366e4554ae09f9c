package httpapi_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
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
	"github.com/daprshop/daprshop/services/platform/server"
	"github.com/daprshop/daprshop/services/platform/server/servertest"
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
	*servertest.API
	svc *accounts.Service
}

// newFixture serves the handlers over a fresh database, verifying with
// the service's own keys.
func newFixture(t *testing.T) fixture {
	t.Helper()
	api := servertest.NewAPI(t, "auth", migrations.FS)
	set, err := keys.FromSecrets(map[string]string{keys.SecretCurrent: "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=", keys.SecretCurrentID: "k1"})
	require.NoError(t, err)
	deny := &denylist{revoked: map[string]bool{}}
	svc, err := accounts.NewService(postgres.NewStore(api.DB),
		password.NewHasher(password.Params{Time: 1, Memory: 64, Threads: 1, SaltLen: 16, KeyLen: 32}),
		tokens.NewIssuer(set), deny, slog.New(slog.DiscardHandler), time.Now)
	require.NoError(t, err)
	doc, err := json.Marshal(set.JWKS())
	require.NoError(t, err)
	verifier := authn.NewVerifier(func(context.Context) ([]byte, error) { return doc, nil }, time.Now).WithDenylist(deny)
	httpapi.New(set, svc, verifier).Register(api.App())
	return fixture{API: api, svc: svc}
}

func (f fixture) register(t *testing.T, email string) string {
	t.Helper()
	r := f.Send(t, http.MethodPost, "/api/v1/auth/register", "", `{"email":"`+email+`","password":"Blue-Kettle-Rain7","name":"Jane"}`)
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	return r.Object["id"].(string)
}

func (f fixture) login(t *testing.T, email, pw string) servertest.Response {
	t.Helper()
	return f.Send(t, http.MethodPost, "/api/v1/auth/login", "", `{"email":"`+email+`","password":"`+pw+`"}`,
		"User-Agent", "probe/1.0", "X-Forwarded-For", "203.0.113.7, 10.0.0.1")
}

func TestRegister(t *testing.T) {
	f := newFixture(t)
	r := f.Send(t, http.MethodPost, "/api/v1/auth/register", "", `{"email":" Jane@Example.com ","password":"Blue-Kettle-Rain7","name":"Jane"}`)
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	assert.Equal(t, "jane@example.com", r.Object["email"])
	assert.Equal(t, []any{"CUSTOMER"}, r.Object["roles"])
	assert.NotContains(t, string(r.Body), "password")

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
			r := f.Send(t, http.MethodPost, "/api/v1/auth/register", "", tt.body)
			assert.Equal(t, tt.status, r.Status, string(r.Body))
			assert.Equal(t, server.ProblemContentType, r.Header.Get(fiber.HeaderContentType))
			assert.Equal(t, tt.fields, r.Fields())
		})
	}
}

func TestLoginMeRefreshLogout(t *testing.T) {
	f := newFixture(t)
	id := f.register(t, "jane@example.com")

	r := f.login(t, "jane@example.com", "Blue-Kettle-Rain7")
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	assert.Equal(t, "Bearer", r.Object["token_type"])
	assert.InDelta(t, 900, r.Object["expires_in"], 0)
	access, refresh := r.Object["access_token"].(string), r.Object["refresh_token"].(string)

	me := f.Get(t, "/api/v1/auth/me", access)
	require.Equal(t, http.StatusOK, me.Status, string(me.Body))
	assert.Equal(t, map[string]any{"id": id, "email": "jane@example.com", "name": "Jane", "roles": []any{"CUSTOMER"}}, me.Object)

	sessions := f.Get(t, "/api/v1/auth/sessions", access)
	require.Equal(t, http.StatusOK, sessions.Status)
	var list []map[string]any
	sessions.JSON(t, &list)
	require.Len(t, list, 1)
	assert.Equal(t, "probe/1.0", list[0]["user_agent"])
	assert.Equal(t, "203.0.113.7", list[0]["ip"])
	assert.Equal(t, true, list[0]["current"])

	next := f.Send(t, http.MethodPost, "/api/v1/auth/refresh", "", `{"refresh_token":"`+refresh+`"}`)
	require.Equal(t, http.StatusOK, next.Status, string(next.Body))
	newAccess := next.Object["access_token"].(string)

	reused := f.Send(t, http.MethodPost, "/api/v1/auth/refresh", "", `{"refresh_token":"`+refresh+`"}`)
	assert.Equal(t, http.StatusUnauthorized, reused.Status)
	assert.Equal(t, http.StatusUnauthorized, f.Get(t, "/api/v1/auth/me", newAccess).Status,
		"reuse revoked the session's live access token")

	again := f.login(t, "jane@example.com", "Blue-Kettle-Rain7").Object["access_token"].(string)
	assert.Equal(t, http.StatusNoContent, f.Send(t, http.MethodPost, "/api/v1/auth/logout", again, "").Status)
	assert.Equal(t, http.StatusUnauthorized, f.Get(t, "/api/v1/auth/me", again).Status)
}

func TestLoginFailures(t *testing.T) {
	f := newFixture(t)
	f.register(t, "jane@example.com")
	unknown := f.login(t, "nobody@example.com", "Blue-Kettle-Rain7")
	wrong := f.login(t, "jane@example.com", "Wrong-Password-1")
	assert.Equal(t, http.StatusUnauthorized, unknown.Status)
	assert.Equal(t, unknown.Object["detail"], wrong.Object["detail"], "the answer does not tell whether the email exists")
	for range 4 {
		require.Equal(t, http.StatusUnauthorized, f.login(t, "jane@example.com", "Wrong-Password-1").Status)
	}
	locked := f.login(t, "jane@example.com", "Blue-Kettle-Rain7")
	assert.Equal(t, http.StatusTooManyRequests, locked.Status)
	secs, err := strconv.Atoi(locked.Header.Get(fiber.HeaderRetryAfter))
	require.NoError(t, err)
	assert.InDelta(t, (15 * time.Minute).Seconds(), secs, 5)
}

func TestAdminRoutes(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.svc.BootstrapSuperAdmin(context.Background(), "root@example.com", "Root-Password-1"))
	janeID := f.register(t, "jane@example.com")
	jane := f.login(t, "jane@example.com", "Blue-Kettle-Rain7").Object["access_token"].(string)
	root := f.login(t, "root@example.com", "Root-Password-1").Object["access_token"].(string)

	assert.Equal(t, http.StatusUnauthorized, f.Get(t, "/api/v1/admin/users", "").Status)
	assert.Equal(t, http.StatusForbidden, f.Get(t, "/api/v1/admin/users", jane).Status)

	page := f.Get(t, "/api/v1/admin/users?page_size=1&page=2", root)
	require.Equal(t, http.StatusOK, page.Status, string(page.Body))
	assert.InDelta(t, 2, page.Object["total"], 0)
	items := page.Object["items"].([]any)
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
			r := f.Send(t, http.MethodPut, p, tt.token, tt.body)
			assert.Equal(t, tt.status, r.Status, string(r.Body))
		})
	}
	t.Run("the new admin may list but not demote themselves from ADMIN", func(t *testing.T) {
		admin := f.login(t, "jane@example.com", "Blue-Kettle-Rain7").Object["access_token"].(string)
		assert.Equal(t, http.StatusOK, f.Get(t, "/api/v1/admin/users", admin).Status)
		assert.Equal(t, http.StatusForbidden, f.Send(t, http.MethodPut, path, admin, `{"roles":["CUSTOMER"]}`).Status)
	})
}

func TestSessionRevokeOfAnotherUsersSessionIsNotFound(t *testing.T) {
	f := newFixture(t)
	f.register(t, "jane@example.com")
	f.register(t, "bob@example.com")
	jane := f.login(t, "jane@example.com", "Blue-Kettle-Rain7").Object["access_token"].(string)
	bob := f.login(t, "bob@example.com", "Blue-Kettle-Rain7").Object["access_token"].(string)
	var bobs []map[string]any
	f.Get(t, "/api/v1/auth/sessions", bob).JSON(t, &bobs)
	require.Len(t, bobs, 1)
	bobSession := bobs[0]["id"].(string)

	assert.Equal(t, http.StatusNotFound, f.Send(t, http.MethodDelete, "/api/v1/auth/sessions/"+bobSession, jane, "").Status)
	assert.Equal(t, http.StatusNotFound, f.Send(t, http.MethodDelete, "/api/v1/auth/sessions/not-a-uuid", jane, "").Status)
	assert.Equal(t, http.StatusOK, f.Get(t, "/api/v1/auth/me", bob).Status)
	assert.Equal(t, http.StatusNoContent, f.Send(t, http.MethodDelete, "/api/v1/auth/sessions/"+bobSession, bob, "").Status)
	assert.Equal(t, http.StatusUnauthorized, f.Get(t, "/api/v1/auth/me", bob).Status)
}

func TestHostileInputGetsAClientError(t *testing.T) {
	f := newFixture(t)
	f.register(t, "jane@example.com")
	require.NoError(t, f.svc.BootstrapSuperAdmin(context.Background(), "root@example.com", "Root-Password-1"))
	root := f.login(t, "root@example.com", "Root-Password-1").Object["access_token"].(string)
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
			r := f.Send(t, tt.method, tt.path, tt.token, tt.body, tt.headers...)
			assert.Equal(t, tt.status, r.Status, "%.300s", r.Body)
			if r.Status >= 400 {
				assert.Equal(t, server.ProblemContentType, r.Header.Get(fiber.HeaderContentType))
				assert.NotContains(t, string(r.Body), "üü", "the problem does not echo the request")
				assert.NotContains(t, string(r.Body), `\u0000`)
			}
		})
	}
	t.Run("nothing was stored", func(t *testing.T) {
		page := f.Get(t, "/api/v1/admin/users", root)
		assert.InDelta(t, 2, page.Object["total"], 0, "only jane and root")
	})
}

func TestRoleChangeTakesEffectOnTheNextRequest(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.svc.BootstrapSuperAdmin(context.Background(), "root@example.com", "Root-Password-1"))
	janeID := f.register(t, "jane@example.com")
	root := f.login(t, "root@example.com", "Root-Password-1").Object["access_token"].(string)
	setRoles := func(roles string) servertest.Response {
		return f.Send(t, http.MethodPut, "/api/v1/admin/users/"+janeID+"/roles", root, `{"roles":`+roles+`}`)
	}
	require.Equal(t, http.StatusOK, setRoles(`["ADMIN","CUSTOMER"]`).Status)
	jane := f.login(t, "jane@example.com", "Blue-Kettle-Rain7")
	access, refresh := jane.Object["access_token"].(string), jane.Object["refresh_token"].(string)
	require.Equal(t, http.StatusOK, f.Get(t, "/api/v1/admin/users", access).Status)

	demoted := setRoles(`["CUSTOMER"]`)
	require.Equal(t, http.StatusOK, demoted.Status, string(demoted.Body))
	assert.Equal(t, []any{"CUSTOMER"}, demoted.Object["roles"])
	assert.Equal(t, http.StatusUnauthorized, f.Get(t, "/api/v1/admin/users", access).Status,
		"the ADMIN token is refused on the next request")

	next := f.Send(t, http.MethodPost, "/api/v1/auth/refresh", "", `{"refresh_token":"`+refresh+`"}`)
	require.Equal(t, http.StatusOK, next.Status, string(next.Body))
	renewed := next.Object["access_token"].(string)
	assert.Equal(t, http.StatusForbidden, f.Get(t, "/api/v1/admin/users", renewed).Status)
	me := f.Get(t, "/api/v1/auth/me", renewed)
	require.Equal(t, http.StatusOK, me.Status)
	assert.Equal(t, []any{"CUSTOMER"}, me.Object["roles"])
	assert.Equal(t, http.StatusOK, f.Get(t, "/api/v1/admin/users", root).Status, "other users' tokens are untouched")
}

func TestTheLastSuperAdminCannotBeDemoted(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.svc.BootstrapSuperAdmin(context.Background(), "root@example.com", "Root-Password-1"))
	root := f.login(t, "root@example.com", "Root-Password-1").Object["access_token"].(string)
	me := f.Get(t, "/api/v1/auth/me", root)
	rootID := me.Object["id"].(string)

	r := f.Send(t, http.MethodPut, "/api/v1/admin/users/"+rootID+"/roles", root, `{"roles":["ADMIN"]}`)
	assert.Equal(t, http.StatusConflict, r.Status, string(r.Body))
	assert.Equal(t, server.ProblemContentType, r.Header.Get(fiber.HeaderContentType))
	assert.Contains(t, r.Object["detail"], "no SUPER_ADMIN")
	after := f.Get(t, "/api/v1/auth/me", root)
	require.Equal(t, http.StatusOK, after.Status, "the refused change revoked nothing")
	assert.Equal(t, []any{"SUPER_ADMIN"}, after.Object["roles"])
}
