package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/auth/internal/accounts"
	"github.com/daprshop/daprshop/services/auth/internal/keys"
	"github.com/daprshop/daprshop/services/auth/internal/password"
	"github.com/daprshop/daprshop/services/auth/internal/postgres"
	"github.com/daprshop/daprshop/services/auth/internal/postgres/migrations"
	"github.com/daprshop/daprshop/services/auth/internal/tokens"
	"github.com/daprshop/daprshop/services/platform/apperr"
	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/clocktest"
	"github.com/daprshop/daprshop/services/platform/contracts/contractstest"
	"github.com/daprshop/daprshop/services/platform/postgres/pgtest"
)

// denylist records revocations in memory.
type denylist struct {
	mu      sync.Mutex
	revoked map[string]time.Duration
}

func (d *denylist) Revoke(_ context.Context, tokenID string, ttl time.Duration) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.revoked[tokenID] = ttl
	return nil
}

func (d *denylist) ttl(tokenID string) (time.Duration, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ttl, ok := d.revoked[tokenID]
	return ttl, ok
}

type fixture struct {
	pool     *pgxpool.Pool
	clock    *clocktest.Clock
	denylist *denylist
	svc      *accounts.Service
}

// cheapHash keeps tests fast; the real parameters are measured by the
// password package's benchmark.
var cheapHash = password.Params{Time: 1, Memory: 64, Threads: 1, SaltLen: 16, KeyLen: 32}

func newFixture(t *testing.T) fixture {
	t.Helper()
	return newFixtureHashing(t, password.NewHasher(cheapHash))
}

// newFixtureHashing runs the service with hasher.
func newFixtureHashing(t *testing.T, hasher accounts.Hasher) fixture {
	t.Helper()
	pool := pgtest.NewDatabase(t, migrations.FS)
	set, err := keys.FromSecrets(map[string]string{keys.SecretCurrent: "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=", keys.SecretCurrentID: "k1"})
	require.NoError(t, err)
	f := fixture{pool: pool, clock: clocktest.New(time.Now().UTC().Truncate(time.Microsecond)), denylist: &denylist{revoked: map[string]time.Duration{}}}
	f.svc, err = accounts.NewService(postgres.NewStore(pool), hasher, tokens.NewIssuer(set),
		f.denylist, slog.New(slog.DiscardHandler), f.clock.Now)
	require.NoError(t, err)
	return f
}

func (f fixture) register(t *testing.T, email string) accounts.User {
	t.Helper()
	r, err := accounts.NewRegistration(email, "Blue-Kettle-Rain7", "Jane")
	require.NoError(t, err)
	u, err := f.svc.Register(context.Background(), r)
	require.NoError(t, err)
	return u
}

func (f fixture) login(t *testing.T, email string) accounts.Tokens {
	t.Helper()
	tok, err := f.svc.Login(context.Background(), email, "Blue-Kettle-Rain7", accounts.Client{UserAgent: "test", IP: "192.0.2.1"})
	require.NoError(t, err)
	return tok
}

// sessionIDOf is the session tok belongs to.
func sessionIDOf(t *testing.T, f fixture, tok accounts.Tokens) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	require.NoError(t, f.pool.QueryRow(context.Background(), `SELECT session_id FROM refresh_tokens WHERE token_hash = $1`, tok.Refresh.Hash).Scan(&id))
	return id
}

func (f fixture) sessionRevoked(t *testing.T, tok accounts.Tokens) bool {
	t.Helper()
	var revoked bool
	require.NoError(t, f.pool.QueryRow(context.Background(), `SELECT s.revoked_at IS NOT NULL
		FROM sessions s JOIN refresh_tokens r ON r.session_id = s.id WHERE r.token_hash = $1`, tok.Refresh.Hash).Scan(&revoked))
	return revoked
}

func TestRegisterStoresUserAndEventTogether(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	u := f.register(t, " Jane@Example.com")
	assert.Equal(t, "jane@example.com", u.Email)
	assert.Equal(t, []string{authn.RoleCustomer}, u.Roles)

	var topic string
	var payload []byte
	var eventID uuid.UUID
	require.NoError(t, f.pool.QueryRow(ctx, `SELECT topic, payload, event_id FROM outbox`).Scan(&topic, &payload, &eventID))
	assert.Equal(t, "user.registered", topic)
	assert.NotEqual(t, uuid.Nil, eventID)
	var evt map[string]string
	require.NoError(t, json.Unmarshal(payload, &evt))
	assert.Equal(t, map[string]string{"user_id": u.ID.String(), "email": "jane@example.com", "name": "Jane"}, evt)
	contractstest.Sent(t, topic, payload)

	t.Run("a taken email in another case is a conflict and adds no event", func(t *testing.T) {
		r, err := accounts.NewRegistration("JANE@example.com", "Blue-Kettle-Rain7", "Other")
		require.NoError(t, err)
		_, err = f.svc.Register(ctx, r)
		assert.ErrorIs(t, err, accounts.ErrEmailTaken)
		var users, events int
		require.NoError(t, f.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM outbox)`).Scan(&users, &events))
		assert.Equal(t, 1, users)
		assert.Equal(t, 1, events)
	})
}

func TestBootstrapSuperAdminOnceAcrossReplicas(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() { errs <- f.svc.BootstrapSuperAdmin(ctx, "Admin@Example.com", "Adm1n-secret-pass") })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.NoError(t, f.svc.BootstrapSuperAdmin(ctx, "other-admin@example.com", "Adm1n-secret-pass"), "a restart with other secrets")

	var n int
	var email string
	require.NoError(t, f.pool.QueryRow(ctx, `SELECT count(*), min(email) FROM users WHERE 'SUPER_ADMIN' = ANY (roles)`).Scan(&n, &email))
	assert.Equal(t, 1, n)
	assert.Equal(t, "admin@example.com", email)
	tok, err := f.svc.Login(ctx, "admin@example.com", "Adm1n-secret-pass", accounts.Client{})
	require.NoError(t, err, "the bootstrap admin logs in")
	assert.NotEmpty(t, tok.Access.Token)
}

func TestLoginLocksOutAfterFiveFailuresInTheWindow(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.register(t, "jane@example.com")
	for i := range accounts.MaxLoginFailures {
		_, err := f.svc.Login(ctx, "jane@example.com", "Wrong-Password-1", accounts.Client{})
		require.ErrorIs(t, err, accounts.ErrBadCredentials, "attempt %d", i+1)
		f.clock.Advance(time.Minute)
	}

	t.Run("the right password is refused while locked", func(t *testing.T) {
		_, err := f.svc.Login(ctx, "JANE@example.com", "Blue-Kettle-Rain7", accounts.Client{})
		var locked *accounts.LockedOutError
		require.ErrorAs(t, err, &locked)
		// Five failures one minute apart: the oldest leaves the window in 10 minutes.
		assert.Equal(t, 10*time.Minute, locked.Wait)
	})
	t.Run("an attempt while locked is not counted", func(t *testing.T) {
		var n int
		require.NoError(t, f.pool.QueryRow(ctx, `SELECT count(*) FROM login_failures WHERE email = 'jane@example.com'`).Scan(&n))
		assert.Equal(t, accounts.MaxLoginFailures, n)
	})
	t.Run("once the oldest failure ages out a login succeeds", func(t *testing.T) {
		f.clock.Advance(10 * time.Minute)
		f.login(t, "jane@example.com")
	})
	t.Run("one more failure locks again: a success does not clear the window", func(t *testing.T) {
		_, err := f.svc.Login(ctx, "jane@example.com", "Wrong-Password-1", accounts.Client{})
		require.ErrorIs(t, err, accounts.ErrBadCredentials)
		_, err = f.svc.Login(ctx, "jane@example.com", "Blue-Kettle-Rain7", accounts.Client{})
		var locked *accounts.LockedOutError
		require.ErrorAs(t, err, &locked)
		assert.Equal(t, time.Minute, locked.Wait)
	})
}

func TestUnknownEmailsFailAndCountLikeWrongPasswords(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for range accounts.MaxLoginFailures {
		_, err := f.svc.Login(ctx, "nobody@example.com", "Blue-Kettle-Rain7", accounts.Client{})
		require.ErrorIs(t, err, accounts.ErrBadCredentials)
	}
	_, err := f.svc.Login(ctx, "nobody@example.com", "Blue-Kettle-Rain7", accounts.Client{})
	var locked *accounts.LockedOutError
	assert.ErrorAs(t, err, &locked)
}

func TestRefreshRotatesWithinTheSession(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.register(t, "jane@example.com")
	first := f.login(t, "jane@example.com")
	f.clock.Advance(time.Minute)

	second, err := f.svc.Refresh(ctx, first.Refresh.Plain)
	require.NoError(t, err)
	assert.NotEqual(t, first.Refresh.Plain, second.Refresh.Plain)
	assert.NotEqual(t, first.Access.ID, second.Access.ID)
	third, err := f.svc.Refresh(ctx, second.Refresh.Plain)
	require.NoError(t, err)

	sessions, err := f.svc.Sessions(ctx, &authn.Claims{UserID: mustUserID(t, f, "jane@example.com")})
	require.NoError(t, err)
	require.Len(t, sessions, 1, "refreshing continues the session")
	assert.Equal(t, third.Access.ID, sessions[0].AccessTokenID)
	assert.Equal(t, f.clock.Now(), sessions[0].LastUsedAt.UTC())

	t.Run("a spent token revokes the whole session", func(t *testing.T) {
		_, err := f.svc.Refresh(ctx, first.Refresh.Plain)
		require.ErrorIs(t, err, accounts.ErrInvalidRefresh)
		assert.True(t, f.sessionRevoked(t, third))
		ttl, ok := f.denylist.ttl(authn.SessionRevocation(sessionIDOf(t, f, third).String()))
		require.True(t, ok, "every access token of the session is denylisted")
		assert.InDelta(t, (accounts.AccessTokenTTL + authn.Leeway).Seconds(), ttl.Seconds(), 1, "until its last one expires")
		_, err = f.svc.Refresh(ctx, third.Refresh.Plain)
		assert.ErrorIs(t, err, accounts.ErrInvalidRefresh, "the newest token died with the session")
	})
	t.Run("unknown tokens are refused", func(t *testing.T) {
		_, err := f.svc.Refresh(ctx, "not-a-token")
		assert.ErrorIs(t, err, accounts.ErrInvalidRefresh)
	})
}

func TestExpiredRefreshTokensAreRefused(t *testing.T) {
	f := newFixture(t)
	f.register(t, "jane@example.com")
	tok := f.login(t, "jane@example.com")
	f.clock.Advance(accounts.RefreshTokenTTL + time.Second)
	_, err := f.svc.Refresh(context.Background(), tok.Refresh.Plain)
	assert.ErrorIs(t, err, accounts.ErrInvalidRefresh)
	assert.False(t, f.sessionRevoked(t, tok), "an expired token is not a reuse")
}

func TestConcurrentRefreshesOfOneTokenLetOneThrough(t *testing.T) {
	f := newFixture(t)
	f.register(t, "jane@example.com")
	tok := f.login(t, "jane@example.com")
	const n = 6
	var wg sync.WaitGroup
	results := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := f.svc.Refresh(context.Background(), tok.Refresh.Plain)
			results <- err
		})
	}
	wg.Wait()
	close(results)
	ok := 0
	for err := range results {
		if err == nil {
			ok++
			continue
		}
		assert.ErrorIs(t, err, accounts.ErrInvalidRefresh)
	}
	assert.LessOrEqual(t, ok, 1, "a refresh token is spent once")
	assert.True(t, f.sessionRevoked(t, tok), "the losers are reuses")
}

func TestLogoutAndSessionRevoke(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	jane := f.register(t, "jane@example.com")
	f.register(t, "bob@example.com")
	laptop := f.login(t, "jane@example.com")
	phone := f.login(t, "jane@example.com")
	bobs := f.login(t, "bob@example.com")
	janeCaller := func(tok accounts.Tokens) *authn.Claims {
		c := &authn.Claims{UserID: jane.ID, SessionID: sessionIDOf(t, f, tok).String()}
		c.ID, c.ExpiresAt = tok.Access.ID, jwt.NewNumericDate(tok.Access.ExpiresAt)
		return c
	}

	t.Run("another user's session is not found", func(t *testing.T) {
		err := f.svc.RevokeSession(ctx, janeCaller(laptop), sessionIDOf(t, f, bobs))
		assert.ErrorIs(t, err, accounts.ErrSessionNotFound)
		assert.False(t, f.sessionRevoked(t, bobs))
	})
	t.Run("revoking an own session denylists its access token", func(t *testing.T) {
		f.clock.Advance(5 * time.Minute)
		require.NoError(t, f.svc.RevokeSession(ctx, janeCaller(laptop), sessionIDOf(t, f, phone)))
		ttl, ok := f.denylist.ttl(authn.SessionRevocation(sessionIDOf(t, f, phone).String()))
		require.True(t, ok, "every access token of the session is denylisted")
		assert.InDelta(t, (10*time.Minute + authn.Leeway).Seconds(), ttl.Seconds(), 1, "until its last one expires")
		_, err := f.svc.Refresh(ctx, phone.Refresh.Plain)
		assert.ErrorIs(t, err, accounts.ErrInvalidRefresh)
		err = f.svc.RevokeSession(ctx, janeCaller(laptop), sessionIDOf(t, f, phone))
		assert.ErrorIs(t, err, accounts.ErrSessionNotFound, "a revoked session is gone")
	})
	t.Run("logout denylists the caller's token and ends its session", func(t *testing.T) {
		require.NoError(t, f.svc.Logout(ctx, janeCaller(laptop)))
		_, ok := f.denylist.ttl(laptop.Access.ID)
		assert.True(t, ok)
		assert.True(t, f.sessionRevoked(t, laptop))
		sessions, err := f.svc.Sessions(ctx, janeCaller(laptop))
		require.NoError(t, err)
		assert.Empty(t, sessions)
	})
}

func TestEndedSessionsArePurgedAfterTheRetention(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.register(t, "jane@example.com")
	revokedLongAgo := f.login(t, "jane@example.com")
	revokedToday := f.login(t, "jane@example.com")
	expired := f.login(t, "jane@example.com")
	live := f.login(t, "jane@example.com")
	now := time.Now()
	set := func(tok accounts.Tokens, query string, at time.Time) {
		_, err := f.pool.Exec(ctx, query, tok.Refresh.Hash, at)
		require.NoError(t, err)
	}
	const revoke = `UPDATE sessions SET revoked_at = $2 WHERE id = (SELECT session_id FROM refresh_tokens WHERE token_hash = $1)`
	set(revokedLongAgo, revoke, now.Add(-8*24*time.Hour))
	set(revokedToday, revoke, now.Add(-time.Hour))
	set(expired, `UPDATE sessions SET created_at = $2::timestamptz - interval '30 days' WHERE id = (SELECT session_id FROM refresh_tokens WHERE token_hash = $1)`, now.Add(-8*24*time.Hour))
	set(expired, `UPDATE refresh_tokens SET expires_at = $2 WHERE token_hash = $1`, now.Add(-8*24*time.Hour))

	n, err := postgres.EndedSessions(f.pool, 7*24*time.Hour)(ctx, now)
	require.NoError(t, err)
	assert.Equal(t, int64(2), n)
	remaining := func(tok accounts.Tokens) bool {
		var ok bool
		require.NoError(t, f.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM refresh_tokens WHERE token_hash = $1)`, tok.Refresh.Hash).Scan(&ok))
		return ok
	}
	assert.False(t, remaining(revokedLongAgo), "revoked before the retention")
	assert.False(t, remaining(expired), "expired before the retention")
	assert.True(t, remaining(revokedToday), "revoked within the retention")
	assert.True(t, remaining(live))
	_, err = f.svc.Refresh(ctx, live.Refresh.Plain)
	assert.NoError(t, err, "a live session keeps working")
}

func TestSetRolesGuardsPrivilegedRoles(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	jane := f.register(t, "jane@example.com")
	admin := &authn.Claims{Roles: []string{authn.RoleAdmin}}
	super := &authn.Claims{Roles: []string{authn.RoleSuperAdmin}}
	tests := []struct {
		name   string
		caller *authn.Claims
		roles  []string
		want   []string
		kind   apperr.Kind
	}{
		{"an admin cannot grant ADMIN", admin, []string{"CUSTOMER", "ADMIN"}, nil, apperr.Forbidden},
		{"a super admin grants ADMIN", super, []string{"ADMIN", "CUSTOMER", "ADMIN"}, []string{"ADMIN", "CUSTOMER"}, ""},
		{"an admin cannot remove ADMIN", admin, []string{"CUSTOMER"}, nil, apperr.Forbidden},
		{"an admin may keep ADMIN as it is", admin, []string{"CUSTOMER", "ADMIN"}, []string{"ADMIN", "CUSTOMER"}, ""},
		{"a super admin removes ADMIN", super, []string{"CUSTOMER"}, []string{"CUSTOMER"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := f.svc.SetRoles(ctx, tt.caller, jane.ID, tt.roles)
			if tt.kind != "" {
				assert.Equal(t, tt.kind, apperr.KindOf(err), "err: %v", err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, u.Roles)
		})
	}
	t.Run("unknown user", func(t *testing.T) {
		_, err := f.svc.SetRoles(ctx, super, uuid.New(), []string{"CUSTOMER"})
		assert.ErrorIs(t, err, accounts.ErrUserNotFound)
	})
	t.Run("a stale view is a conflict", func(t *testing.T) {
		_, err := postgres.NewStore(f.pool).SetRoles(ctx, jane.ID, []string{"ADMIN"}, []string{"CUSTOMER"})
		assert.ErrorIs(t, err, accounts.ErrRolesChanged)
	})
}

func mustUserID(t *testing.T, f fixture, email string) uuid.UUID {
	t.Helper()
	u, err := postgres.NewStore(f.pool).UserByEmail(context.Background(), email)
	require.NoError(t, err)
	return u.ID
}

// countingHasher counts password checks.
type countingHasher struct {
	accounts.Hasher
	checks atomic.Int64
}

func (h *countingHasher) Verify(encoded, password string) (bool, error) {
	h.checks.Add(1)
	return h.Hasher.Verify(encoded, password)
}

func TestParallelWrongPasswordsGetAtMostFivePasswordChecks(t *testing.T) {
	const parallel = 30
	for _, tt := range []struct{ name, email string }{
		{"an account", "jane@example.com"},
		{"an unknown email", "nobody@example.com"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hasher := &countingHasher{Hasher: password.NewHasher(cheapHash)}
			f := newFixtureHashing(t, hasher)
			f.register(t, "jane@example.com")
			start := make(chan struct{})
			errs := make(chan error, parallel)
			var wg sync.WaitGroup
			for range parallel {
				wg.Go(func() {
					<-start
					_, err := f.svc.Login(context.Background(), tt.email, "Wrong-Password-1", accounts.Client{})
					errs <- err
				})
			}
			close(start)
			wg.Wait()
			close(errs)
			bad, locked := 0, 0
			for err := range errs {
				var lockedOut *accounts.LockedOutError
				switch {
				case errors.Is(err, accounts.ErrBadCredentials):
					bad++
				case errors.As(err, &lockedOut):
					locked++
				default:
					t.Errorf("unexpected answer: %v", err)
				}
			}
			assert.Equal(t, int64(accounts.MaxLoginFailures), hasher.checks.Load(), "password checks")
			assert.Equal(t, accounts.MaxLoginFailures, bad)
			assert.Equal(t, parallel-accounts.MaxLoginFailures, locked)
			_, err := f.svc.Login(context.Background(), "jane@example.com", "Blue-Kettle-Rain7", accounts.Client{})
			if tt.email == "jane@example.com" {
				var lockedOut *accounts.LockedOutError
				assert.ErrorAs(t, err, &lockedOut, "the right password waits for the lockout too")
			} else {
				assert.NoError(t, err, "another email's failures do not count")
			}
		})
	}
}

func TestSuccessfulLoginsDoNotCount(t *testing.T) {
	f := newFixture(t)
	f.register(t, "jane@example.com")
	for range 2 * accounts.MaxLoginFailures {
		f.login(t, "jane@example.com")
	}
	var n int
	require.NoError(t, f.pool.QueryRow(context.Background(), `SELECT count(*) FROM login_failures`).Scan(&n))
	assert.Zero(t, n)
}

func TestRoleChangeRevokesTheTokensOfTheOldRoles(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	jane := f.register(t, "jane@example.com")
	assert.Zero(t, jane.RolesVersion)
	super := &authn.Claims{Roles: []string{authn.RoleSuperAdmin}}
	revokedFor := func(version int64) (time.Duration, bool) {
		return f.denylist.ttl(authn.RolesRevocation(jane.ID, version))
	}

	u, err := f.svc.SetRoles(ctx, super, jane.ID, []string{"ADMIN", "CUSTOMER"})
	require.NoError(t, err)
	assert.Equal(t, int64(1), u.RolesVersion)
	ttl, ok := revokedFor(0)
	require.True(t, ok, "the tokens issued as CUSTOMER are denylisted")
	assert.Equal(t, accounts.AccessTokenTTL+authn.Leeway+time.Minute, ttl, "until the last of them, issued around the change, expires")

	tok := f.login(t, "jane@example.com")
	claims := parseClaims(t, tok.Access.Token)
	assert.Equal(t, int64(1), claims.RolesVersion)
	assert.Equal(t, []string{"ADMIN", "CUSTOMER"}, claims.Roles)

	u, err = f.svc.SetRoles(ctx, super, jane.ID, []string{"CUSTOMER"})
	require.NoError(t, err)
	assert.Equal(t, int64(2), u.RolesVersion)
	_, ok = revokedFor(1)
	assert.True(t, ok, "the ADMIN token is denylisted")

	refreshed, err := f.svc.Refresh(ctx, tok.Refresh.Plain)
	require.NoError(t, err)
	claims = parseClaims(t, refreshed.Access.Token)
	assert.Equal(t, []string{"CUSTOMER"}, claims.Roles, "a refresh reads the roles again")
	assert.Equal(t, int64(2), claims.RolesVersion)

	t.Run("setting the same roles again changes no version", func(t *testing.T) {
		u, err := f.svc.SetRoles(ctx, super, jane.ID, []string{"CUSTOMER"})
		require.NoError(t, err)
		assert.Equal(t, int64(2), u.RolesVersion)
		_, ok := revokedFor(2)
		assert.False(t, ok, "the live tokens stay valid")
	})
}

// parseClaims reads a token's claims without verifying it.
func parseClaims(t *testing.T, token string) *authn.Claims {
	t.Helper()
	var c authn.Claims
	_, _, err := jwt.NewParser().ParseUnverified(token, &c)
	require.NoError(t, err)
	return &c
}

func TestTheLastSuperAdminKeepsTheRole(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	require.NoError(t, f.svc.BootstrapSuperAdmin(ctx, "root@example.com", "Root-Password-1"))
	root := mustUserID(t, f, "root@example.com")
	super := &authn.Claims{Roles: []string{authn.RoleSuperAdmin}, UserID: root}

	for _, roles := range [][]string{{"CUSTOMER"}, {"ADMIN"}} {
		_, err := f.svc.SetRoles(ctx, super, root, roles)
		assert.ErrorIs(t, err, accounts.ErrLastSuperAdmin, "to %v", roles)
		assert.Equal(t, apperr.Conflict, apperr.KindOf(err))
	}
	u, err := postgres.NewStore(f.pool).UserByID(ctx, root)
	require.NoError(t, err)
	assert.Equal(t, []string{"SUPER_ADMIN"}, u.Roles, "nothing changed")
	assert.Zero(t, u.RolesVersion)
	_, ok := f.denylist.ttl(authn.RolesRevocation(root, 0))
	assert.False(t, ok, "no token was revoked")

	u, err = f.svc.SetRoles(ctx, super, root, []string{"ADMIN", "SUPER_ADMIN"})
	require.NoError(t, err, "adding a role to the last SUPER_ADMIN is fine")
	assert.Equal(t, []string{"ADMIN", "SUPER_ADMIN"}, u.Roles)
}

func TestTwoSuperAdminsDemotingEachOtherLeaveOne(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	require.NoError(t, f.svc.BootstrapSuperAdmin(ctx, "root@example.com", "Root-Password-1"))
	root := mustUserID(t, f, "root@example.com")
	bob := f.register(t, "bob@example.com").ID
	claimsOf := func(id uuid.UUID) *authn.Claims {
		return &authn.Claims{Roles: []string{authn.RoleSuperAdmin}, UserID: id}
	}
	for round := range 10 {
		// Both are SUPER_ADMINs again at the start of every round.
		for _, id := range []uuid.UUID{root, bob} {
			_, err := f.svc.SetRoles(ctx, claimsOf(root), id, []string{"SUPER_ADMIN"})
			require.NoError(t, err)
		}
		start := make(chan struct{})
		errs := make(chan error, 2)
		var wg sync.WaitGroup
		for _, pair := range [][2]uuid.UUID{{root, bob}, {bob, root}} {
			wg.Go(func() {
				<-start
				_, err := f.svc.SetRoles(ctx, claimsOf(pair[0]), pair[1], []string{"CUSTOMER"})
				errs <- err
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		var ok, refused int
		for err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, accounts.ErrLastSuperAdmin):
				refused++
			default:
				t.Errorf("round %d: unexpected answer: %v", round, err)
			}
		}
		assert.Equal(t, 1, ok, "round %d", round)
		assert.Equal(t, 1, refused, "round %d", round)
		var supers int
		require.NoError(t, f.pool.QueryRow(ctx, `SELECT count(*) FROM users WHERE 'SUPER_ADMIN' = ANY (roles)`).Scan(&supers))
		require.Equal(t, 1, supers, "round %d", round)
	}
}
