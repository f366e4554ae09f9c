// Package postgres stores accounts, sessions and login failures in the auth
// database.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daprshop/daprshop/services/auth/internal/accounts"
	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/outbox"
	"github.com/daprshop/daprshop/services/platform/postgres"
	"github.com/daprshop/daprshop/services/platform/purge"
)

// Store implements accounts.Store.
type Store struct{ pool *pgxpool.Pool }

// NewStore returns a Store on pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

type userRow struct {
	ID           uuid.UUID `db:"id"`
	Email        string    `db:"email"`
	Name         string    `db:"name"`
	PasswordHash string    `db:"password_hash"`
	Roles        []string  `db:"roles"`
	RolesVersion int64     `db:"roles_version"`
	CreatedAt    time.Time `db:"created_at"`
}

func (r userRow) user() accounts.User {
	return accounts.User{
		ID: r.ID, Email: r.Email, Name: r.Name, PasswordHash: r.PasswordHash,
		Roles: r.Roles, RolesVersion: r.RolesVersion, CreatedAt: r.CreatedAt,
	}
}

const userColumns = `id, email, name, password_hash, roles, roles_version, created_at`

// newUserColumns are set when an account is created; roles_version starts
// at 0.
const newUserColumns = `id, email, name, password_hash, roles, created_at, updated_at`

// CreateUser inserts u and its user.registered event in one transaction.
func (s *Store) CreateUser(ctx context.Context, u accounts.User) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO users (`+newUserColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $6)`,
			u.ID, u.Email, u.Name, u.PasswordHash, u.Roles, u.CreatedAt); err != nil {
			return err
		}
		return addRegistered(ctx, tx, u)
	})
	if postgres.IsCode(err, postgres.CodeUniqueViolation) {
		return accounts.ErrEmailTaken
	}
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	return nil
}

func addRegistered(ctx context.Context, tx pgx.Tx, u accounts.User) error {
	_, err := outbox.Add(ctx, tx, contracts.TopicUserRegistered, contracts.UserRegisteredV1{UserID: u.ID, Email: u.Email, Name: u.Name})
	return err
}

// CreateSuperAdmin inserts u when no SUPER_ADMIN exists and its email is
// free. Replicas starting together serialise on a transaction-scoped
// advisory lock, so exactly one of them creates the account.
func (s *Store) CreateSuperAdmin(ctx context.Context, u accounts.User) (bool, error) {
	created := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('auth.bootstrap_super_admin'))`); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO users (`+newUserColumns+`)
			SELECT $1, $2, $3, $4, $5, $6, $6
			WHERE NOT EXISTS (SELECT 1 FROM users WHERE 'SUPER_ADMIN' = ANY (roles))
			ON CONFLICT (email) DO NOTHING`,
			u.ID, u.Email, u.Name, u.PasswordHash, u.Roles, u.CreatedAt)
		if err != nil {
			return err
		}
		if created = tag.RowsAffected() == 1; !created {
			return nil
		}
		return addRegistered(ctx, tx, u)
	})
	if err != nil {
		return false, fmt.Errorf("create super admin: %w", err)
	}
	return created, nil
}

// UserByEmail returns the account with a normalised email.
func (s *Store) UserByEmail(ctx context.Context, email string) (accounts.User, error) {
	return s.user(ctx, `SELECT `+userColumns+` FROM users WHERE email = $1`, email)
}

// UserByID returns the account with id.
func (s *Store) UserByID(ctx context.Context, id uuid.UUID) (accounts.User, error) {
	return s.user(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id)
}

func (s *Store) user(ctx context.Context, query string, arg any) (accounts.User, error) {
	r, err := postgres.One[userRow](ctx, s.pool, accounts.ErrUserNotFound, "read user", query, arg)
	if err != nil {
		return accounts.User{}, err
	}
	return r.user(), nil
}

// ListUsers returns a page of accounts, oldest first, and how many there
// are.
func (s *Store) ListUsers(ctx context.Context, offset, limit int) ([]accounts.User, int, error) {
	var total int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count users: %w", err)
	}
	rows, _ := s.pool.Query(ctx, `SELECT `+userColumns+` FROM users ORDER BY created_at, id LIMIT $1 OFFSET $2`, limit, offset)
	found, err := pgx.CollectRows(rows, pgx.RowToStructByName[userRow])
	if err != nil {
		return nil, 0, fmt.Errorf("list users: %w", err)
	}
	list := make([]accounts.User, len(found))
	for i, r := range found {
		list[i] = r.user()
	}
	return list, total, nil
}

// SetRoles replaces the roles of user id when they still are old, so two
// admins editing one user at once cannot both act on a stale view, and
// advances roles_version when they differ. A change taking SUPER_ADMIN
// away first takes a transaction-scoped advisory lock: two such changes
// (two super admins demoting each other) run one after the other, and the
// second sees that the first left a single SUPER_ADMIN.
func (s *Store) SetRoles(ctx context.Context, id uuid.UUID, old, roles []string) (accounts.User, error) {
	var u accounts.User
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if slices.Contains(old, authn.RoleSuperAdmin) && !slices.Contains(roles, authn.RoleSuperAdmin) {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('auth.super_admins'))`); err != nil {
				return err
			}
		}
		r, err := postgres.One[userRow](ctx, tx, pgx.ErrNoRows, "update roles", `UPDATE users SET roles = $3, updated_at = now(),
				roles_version = roles_version + CASE WHEN roles = $3 THEN 0 ELSE 1 END
			WHERE id = $1 AND roles = $2
			  AND ('SUPER_ADMIN' = ANY ($3) OR NOT ('SUPER_ADMIN' = ANY (roles))
			       OR EXISTS (SELECT 1 FROM users o WHERE o.id <> $1 AND 'SUPER_ADMIN' = ANY (o.roles)))
			RETURNING `+userColumns, id, old, roles)
		if err == nil {
			u = r.user()
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		var current []string
		switch err := tx.QueryRow(ctx, `SELECT roles FROM users WHERE id = $1`, id).Scan(&current); {
		case errors.Is(err, pgx.ErrNoRows):
			return accounts.ErrUserNotFound
		case err != nil:
			return err
		case !slices.Equal(current, old):
			return accounts.ErrRolesChanged
		default:
			return accounts.ErrLastSuperAdmin
		}
	})
	if errors.Is(err, accounts.ErrUserNotFound) || errors.Is(err, accounts.ErrRolesChanged) || errors.Is(err, accounts.ErrLastSuperAdmin) {
		return accounts.User{}, err
	}
	if err != nil {
		return accounts.User{}, fmt.Errorf("set roles: %w", err)
	}
	return u, nil
}

// ClaimLoginAttempt records an attempt for email as a failure unless the
// email is locked out. Claims for one email queue on a transaction-scoped
// advisory lock, so each counts the window after the previous one
// recorded itself; failures older than the window are forgotten on the way.
func (s *Store) ClaimLoginAttempt(ctx context.Context, email string, now time.Time) (uuid.UUID, error) {
	id := uuid.New()
	var claimed bool
	var oldest time.Time
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('auth.login:' || $1, 0))`, email); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `WITH pruned AS (
				DELETE FROM login_failures WHERE email = $1 AND at <= $3
			), live AS (
				SELECT count(*) AS n, coalesce(min(at), $4) AS oldest FROM login_failures WHERE email = $1 AND at > $3
			), claim AS (
				INSERT INTO login_failures (id, email, at) SELECT $2, $1, $4 FROM live WHERE n < $5 RETURNING id
			)
			SELECT EXISTS (SELECT 1 FROM claim), oldest FROM live`,
			email, id, now.Add(-accounts.LockoutWindow), now, accounts.MaxLoginFailures).Scan(&claimed, &oldest)
	})
	if err != nil {
		return uuid.Nil, fmt.Errorf("claim login attempt: %w", err)
	}
	if !claimed {
		return uuid.Nil, &accounts.LockedOutError{Wait: oldest.Add(accounts.LockoutWindow).Sub(now)}
	}
	return id, nil
}

// ForgetLoginAttempt deletes the claim id.
func (s *Store) ForgetLoginAttempt(ctx context.Context, id uuid.UUID) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM login_failures WHERE id = $1`, id); err != nil {
		return fmt.Errorf("forget login attempt: %w", err)
	}
	return nil
}

// CreateSession stores s and its first refresh token in one transaction.
func (s *Store) CreateSession(ctx context.Context, sess accounts.Session, refresh accounts.RefreshToken) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO sessions
			(id, user_id, user_agent, ip, created_at, last_used_at, access_token_id, access_expires_at)
			VALUES ($1, $2, $3, $4, $5, $5, $6, $7)`,
			sess.ID, sess.UserID, sess.UserAgent, sess.IP, sess.CreatedAt, sess.AccessTokenID, sess.AccessExpiresAt); err != nil {
			return err
		}
		return insertRefreshToken(ctx, tx, sess.ID, refresh, sess.CreatedAt)
	})
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

func insertRefreshToken(ctx context.Context, tx pgx.Tx, sessionID uuid.UUID, t accounts.RefreshToken, now time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		t.Hash, sessionID, now, t.ExpiresAt)
	return err
}

type sessionRow struct {
	ID              uuid.UUID `db:"id"`
	UserID          uuid.UUID `db:"user_id"`
	UserAgent       string    `db:"user_agent"`
	IP              string    `db:"ip"`
	CreatedAt       time.Time `db:"created_at"`
	LastUsedAt      time.Time `db:"last_used_at"`
	AccessTokenID   string    `db:"access_token_id"`
	AccessExpiresAt time.Time `db:"access_expires_at"`
}

func (r sessionRow) session() accounts.Session {
	return accounts.Session{
		ID: r.ID, UserID: r.UserID, UserAgent: r.UserAgent, IP: r.IP, CreatedAt: r.CreatedAt,
		LastUsedAt: r.LastUsedAt, AccessTokenID: r.AccessTokenID, AccessExpiresAt: r.AccessExpiresAt,
	}
}

const sessionColumns = `id, user_id, user_agent, ip, created_at, last_used_at, access_token_id, access_expires_at`

// SpendRefreshToken spends a live refresh token of a live session in one
// statement, so of two requests presenting the same token exactly one
// wins and the other is seen as a reuse.
func (s *Store) SpendRefreshToken(ctx context.Context, hash []byte, now time.Time) (accounts.Session, error) {
	r, err := postgres.One[sessionRow](ctx, s.pool, pgx.ErrNoRows, "spend refresh token", `UPDATE refresh_tokens t SET spent_at = $2
		FROM sessions s
		WHERE t.token_hash = $1 AND t.session_id = s.id
		  AND t.spent_at IS NULL AND t.expires_at > $2 AND s.revoked_at IS NULL
		RETURNING s.id, s.user_id, s.user_agent, s.ip, s.created_at, s.last_used_at, s.access_token_id, s.access_expires_at`,
		hash, now)
	if err == nil {
		return r.session(), nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return accounts.Session{}, err
	}
	var sessionID uuid.UUID
	var spent bool
	err = s.pool.QueryRow(ctx, `SELECT session_id, spent_at IS NOT NULL FROM refresh_tokens WHERE token_hash = $1`,
		hash).Scan(&sessionID, &spent)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return accounts.Session{}, accounts.ErrInvalidRefresh
	case err != nil:
		return accounts.Session{}, fmt.Errorf("look up refresh token: %w", err)
	case spent:
		return accounts.Session{}, &accounts.ReusedError{SessionID: sessionID}
	default:
		return accounts.Session{}, accounts.ErrInvalidRefresh
	}
}

// ContinueSession stores the next refresh token of a live session and the
// access token issued with it.
func (s *Store) ContinueSession(ctx context.Context, sessionID uuid.UUID, refresh accounts.RefreshToken, access accounts.AccessToken, now time.Time) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE sessions SET last_used_at = $2, access_token_id = $3, access_expires_at = $4
			WHERE id = $1 AND revoked_at IS NULL`, sessionID, now, access.ID, access.ExpiresAt)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return accounts.ErrInvalidRefresh
		}
		return insertRefreshToken(ctx, tx, sessionID, refresh, now)
	})
	if errors.Is(err, accounts.ErrInvalidRefresh) {
		return err
	}
	if err != nil {
		return fmt.Errorf("continue session: %w", err)
	}
	return nil
}

// RevokeSession revokes a live session (of owner unless uuid.Nil); its
// refresh tokens stop working with it.
func (s *Store) RevokeSession(ctx context.Context, id, owner uuid.UUID, now time.Time) (accounts.Session, error) {
	var ownerArg *uuid.UUID
	if owner != uuid.Nil {
		ownerArg = &owner
	}
	r, err := postgres.One[sessionRow](ctx, s.pool, accounts.ErrSessionNotFound, "revoke session", `UPDATE sessions SET revoked_at = $3
		WHERE id = $1 AND ($2::uuid IS NULL OR user_id = $2) AND revoked_at IS NULL
		RETURNING `+sessionColumns, id, ownerArg, now)
	if err != nil {
		return accounts.Session{}, err
	}
	return r.session(), nil
}

// Sessions lists userID's live sessions, most recently used first.
func (s *Store) Sessions(ctx context.Context, userID uuid.UUID) ([]accounts.Session, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE user_id = $1 AND revoked_at IS NULL ORDER BY last_used_at DESC, id`, userID)
	found, err := pgx.CollectRows(rows, pgx.RowToStructByName[sessionRow])
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	list := make([]accounts.Session, len(found))
	for i, r := range found {
		list[i] = r.session()
	}
	return list, nil
}

// EndedSessions purges the sessions that ended longer than retention ago:
// revoked then, or whose last refresh token expired then. Their refresh
// tokens go with them; a revoked session's last access token stays on the
// denylist until it expires on its own.
func EndedSessions(pool *pgxpool.Pool, retention time.Duration) purge.Task {
	return func(ctx context.Context, now time.Time) (int64, error) {
		tag, err := pool.Exec(ctx, `DELETE FROM sessions WHERE id IN (
			SELECT s.id FROM sessions s
			WHERE s.revoked_at < $1
			   OR (s.created_at < $1 AND NOT EXISTS (
			       SELECT 1 FROM refresh_tokens t WHERE t.session_id = s.id AND t.expires_at >= $1))
			LIMIT $2)`, now.Add(-retention), purge.Batch)
		if err != nil {
			return 0, err
		}
		return tag.RowsAffected(), nil
	}
}
