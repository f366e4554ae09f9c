package accounts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/platform/authn"
)

// Store keeps accounts, sessions and login failures.
type Store interface {
	// CreateUser inserts u and records its user.registered event in the
	// same transaction; ErrEmailTaken when the email is in use.
	CreateUser(ctx context.Context, u User) error
	// CreateSuperAdmin inserts u unless a SUPER_ADMIN or an account with its
	// email exists already, and reports whether it did.
	CreateSuperAdmin(ctx context.Context, u User) (bool, error)
	UserByEmail(ctx context.Context, email string) (User, error) // ErrUserNotFound
	UserByID(ctx context.Context, id uuid.UUID) (User, error)    // ErrUserNotFound
	ListUsers(ctx context.Context, offset, limit int) ([]User, int, error)
	// SetRoles replaces the roles of user id if they are still old and
	// advances its RolesVersion when they differ: ErrUserNotFound,
	// ErrRolesChanged, ErrLastSuperAdmin when it would take SUPER_ADMIN from
	// the only user holding it (checked atomically with the change).
	SetRoles(ctx context.Context, id uuid.UUID, old, roles []string) (User, error)

	// ClaimLoginAttempt records a login attempt for email at now as a
	// failure before its password is checked, unless MaxLoginFailures
	// failures within LockoutWindow lock the email: then it returns a
	// *LockedOutError and records nothing. Concurrent claims for one email
	// are serialised, so at most MaxLoginFailures pass per window.
	ClaimLoginAttempt(ctx context.Context, email string, now time.Time) (uuid.UUID, error)
	// ForgetLoginAttempt removes the claim of an attempt that succeeded.
	ForgetLoginAttempt(ctx context.Context, id uuid.UUID) error

	// CreateSession stores a new session with its first refresh token.
	CreateSession(ctx context.Context, s Session, refresh RefreshToken) error
	// SpendRefreshToken marks the token with hash spent and returns its live
	// session. A token spent before is a *ReusedError naming its session;
	// unknown, expired or revoked ones are ErrInvalidRefresh.
	SpendRefreshToken(ctx context.Context, hash []byte, now time.Time) (Session, error)
	// ContinueSession adds the next refresh token and access token of a
	// live session: ErrInvalidRefresh when it was revoked meanwhile.
	ContinueSession(ctx context.Context, sessionID uuid.UUID, refresh RefreshToken, access AccessToken, now time.Time) error
	// RevokeSession revokes a live session, of owner when owner is not
	// uuid.Nil, and returns it: ErrSessionNotFound otherwise.
	RevokeSession(ctx context.Context, id, owner uuid.UUID, now time.Time) (Session, error)
	Sessions(ctx context.Context, userID uuid.UUID) ([]Session, error)
}

// ReusedError says a spent refresh token was presented again.
type ReusedError struct{ SessionID uuid.UUID }

func (e *ReusedError) Error() string {
	return "refresh token reused in session " + e.SessionID.String()
}

// Unwrap keeps the answer a plain 401 for clients.
func (e *ReusedError) Unwrap() error { return ErrInvalidRefresh }

// Hasher hashes and checks passwords.
type Hasher interface {
	Hash(password string) (string, error)
	Verify(encoded, password string) (bool, error)
}

// Issuer signs access tokens and makes refresh tokens.
type Issuer interface {
	Access(u User, sessionID uuid.UUID, now time.Time) (AccessToken, error)
	Refresh(now time.Time) (RefreshToken, error)
}

// Denylist revokes access tokens before they expire.
type Denylist interface {
	Revoke(ctx context.Context, tokenID string, ttl time.Duration) error
}

// Service runs the account rules over its dependencies.
type Service struct {
	store    Store
	hasher   Hasher
	issuer   Issuer
	denylist Denylist
	log      *slog.Logger
	now      func() time.Time
	// dummyHash is checked for unknown emails so that a login takes as
	// long whether the account exists or not.
	dummyHash string
}

// NewService returns a Service. now is the clock.
func NewService(store Store, hasher Hasher, issuer Issuer, denylist Denylist, log *slog.Logger, now func() time.Time) (*Service, error) {
	dummy, err := hasher.Hash(uuid.NewString())
	if err != nil {
		return nil, fmt.Errorf("hash dummy password: %w", err)
	}
	return &Service{store: store, hasher: hasher, issuer: issuer, denylist: denylist, log: log, now: now, dummyHash: dummy}, nil
}

// Register creates a CUSTOMER account. ErrEmailTaken when the email is in
// use.
func (s *Service) Register(ctx context.Context, r Registration) (User, error) {
	hash, err := s.hasher.Hash(r.Password)
	if err != nil {
		return User{}, err
	}
	u := User{ID: uuid.New(), Email: r.Email, Name: r.Name, PasswordHash: hash, Roles: []string{authn.RoleCustomer}, CreatedAt: s.now()}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return User{}, err
	}
	return u, nil
}

// BootstrapSuperAdmin creates a SUPER_ADMIN with email and password unless
// one exists: safe to run at every start of every replica.
func (s *Service) BootstrapSuperAdmin(ctx context.Context, email, password string) error {
	email = NormalizeEmail(email)
	if email == "" || password == "" {
		return errors.New("bootstrap super admin: email and password are required")
	}
	hash, err := s.hasher.Hash(password)
	if err != nil {
		return err
	}
	u := User{ID: uuid.New(), Email: email, Name: "Administrator", PasswordHash: hash, Roles: []string{authn.RoleSuperAdmin}, CreatedAt: s.now()}
	created, err := s.store.CreateSuperAdmin(ctx, u)
	if err != nil {
		return err
	}
	if created {
		s.log.InfoContext(ctx, "created the bootstrap super admin", "user_id", u.ID)
	}
	return nil
}

// Login checks credentials and opens a session. It returns a
// *LockedOutError once MaxLoginFailures failed within LockoutWindow, before
// looking at the password, and ErrBadCredentials for an unknown email or
// a wrong password alike. A success leaves earlier failures counting.
func (s *Service) Login(ctx context.Context, email, password string, client Client) (Tokens, error) {
	email = NormalizeEmail(email)
	now := s.now()
	// Claimed before the password is checked: counting failures first and
	// recording them after would let a burst of parallel guesses all pass
	// the count.
	attempt, err := s.store.ClaimLoginAttempt(ctx, email, now)
	if err != nil {
		return Tokens{}, err
	}
	u, err := s.store.UserByEmail(ctx, email)
	switch {
	case errors.Is(err, ErrUserNotFound):
		// Same work and answer as a wrong password.
		if _, err := s.hasher.Verify(s.dummyHash, password); err != nil {
			return Tokens{}, err
		}
		return Tokens{}, ErrBadCredentials
	case err != nil:
		return Tokens{}, err
	}
	ok, err := s.hasher.Verify(u.PasswordHash, password)
	if err != nil {
		return Tokens{}, err
	}
	if !ok {
		return Tokens{}, ErrBadCredentials
	}
	if err := s.store.ForgetLoginAttempt(ctx, attempt); err != nil {
		return Tokens{}, err
	}
	sess := Session{ID: uuid.New(), UserID: u.ID, UserAgent: client.UserAgent, IP: client.IP, CreatedAt: now, LastUsedAt: now}
	tokens, err := s.issue(u, sess.ID, now)
	if err != nil {
		return Tokens{}, err
	}
	sess.AccessTokenID, sess.AccessExpiresAt = tokens.Access.ID, tokens.Access.ExpiresAt
	if err := s.store.CreateSession(ctx, sess, tokens.Refresh); err != nil {
		return Tokens{}, err
	}
	return tokens, nil
}

// Refresh spends a refresh token and issues the next pair of its session.
// A token spent before revokes the whole session (its access token too):
// it was stolen, or replayed by whoever holds a copy. Every failure is
// ErrInvalidRefresh to the client.
func (s *Service) Refresh(ctx context.Context, plain string) (Tokens, error) {
	now := s.now()
	sess, err := s.store.SpendRefreshToken(ctx, HashRefreshToken(plain), now)
	var reused *ReusedError
	if errors.As(err, &reused) {
		s.log.WarnContext(ctx, "refresh token reused; revoking its session", "session_id", reused.SessionID)
		if err := s.revokeSession(ctx, reused.SessionID, uuid.Nil, now); err != nil && !errors.Is(err, ErrSessionNotFound) {
			return Tokens{}, err
		}
		return Tokens{}, ErrInvalidRefresh
	}
	if err != nil {
		return Tokens{}, err
	}
	u, err := s.store.UserByID(ctx, sess.UserID)
	if errors.Is(err, ErrUserNotFound) {
		return Tokens{}, ErrInvalidRefresh
	}
	if err != nil {
		return Tokens{}, err
	}
	tokens, err := s.issue(u, sess.ID, now)
	if err != nil {
		return Tokens{}, err
	}
	if err := s.store.ContinueSession(ctx, sess.ID, tokens.Refresh, tokens.Access, now); err != nil {
		return Tokens{}, err
	}
	return tokens, nil
}

func (s *Service) issue(u User, sessionID uuid.UUID, now time.Time) (Tokens, error) {
	access, err := s.issuer.Access(u, sessionID, now)
	if err != nil {
		return Tokens{}, err
	}
	refresh, err := s.issuer.Refresh(now)
	if err != nil {
		return Tokens{}, err
	}
	return Tokens{Access: access, Refresh: refresh}, nil
}

// Logout revokes the caller's access token at once and ends its session.
func (s *Service) Logout(ctx context.Context, caller *authn.Claims) error {
	now := s.now()
	if caller.ExpiresAt != nil {
		if err := s.revokeAccess(ctx, caller.ID, caller.ExpiresAt.Time, now); err != nil {
			return err
		}
	}
	sid, err := uuid.Parse(caller.SessionID)
	if err != nil {
		return nil // a token without a session has nothing more to end
	}
	if err := s.revokeSession(ctx, sid, caller.UserID, now); err != nil && !errors.Is(err, ErrSessionNotFound) {
		return err
	}
	return nil
}

// RevokeSession ends one of the caller's live sessions and revokes its
// access token: ErrSessionNotFound for a session that is not theirs.
func (s *Service) RevokeSession(ctx context.Context, caller *authn.Claims, id uuid.UUID) error {
	return s.revokeSession(ctx, id, caller.UserID, s.now())
}

func (s *Service) revokeSession(ctx context.Context, id, owner uuid.UUID, now time.Time) error {
	sess, err := s.store.RevokeSession(ctx, id, owner, now)
	if err != nil {
		return err
	}
	// Until the session's last access token expires, the ones issued
	// before it having expired already.
	return s.revokeAccess(ctx, authn.SessionRevocation(sess.ID.String()), sess.AccessExpiresAt, now)
}

// revokeAccess denylists a token id (or a session's, revoking all its
// tokens) until expiresAt and the verifiers' leeway have passed; past
// them, nothing is needed.
func (s *Service) revokeAccess(ctx context.Context, tokenID string, expiresAt, now time.Time) error {
	left := expiresAt.Add(authn.Leeway).Sub(now)
	if tokenID == "" || left <= 0 {
		return nil
	}
	if err := s.denylist.Revoke(ctx, tokenID, left); err != nil {
		return fmt.Errorf("revoke access token: %w", err)
	}
	return nil
}

// Sessions lists the caller's live sessions.
func (s *Service) Sessions(ctx context.Context, caller *authn.Claims) ([]Session, error) {
	return s.store.Sessions(ctx, caller.UserID)
}

// Me returns the caller's account.
func (s *Service) Me(ctx context.Context, caller *authn.Claims) (User, error) {
	return s.store.UserByID(ctx, caller.UserID)
}

// Users lists accounts, oldest first.
func (s *Service) Users(ctx context.Context, offset, limit int) ([]User, int, error) {
	return s.store.ListUsers(ctx, offset, limit)
}

// rolesRevocationTTL is how long the tokens of a replaced roles version
// are denylisted: an access token's life and the verifiers' leeway, plus a
// margin for a login or refresh that read the old roles just before the
// change and signs its token just after.
const rolesRevocationTTL = AccessTokenTTL + authn.Leeway + time.Minute

// SetRoles replaces a user's roles. Only a SUPER_ADMIN may grant or remove
// ADMIN or SUPER_ADMIN; roles must be known and not empty; the last
// SUPER_ADMIN keeps the role (ErrLastSuperAdmin). The user's access tokens
// issued with the old roles are refused from the next request on; a
// refresh issues tokens with the new ones.
func (s *Service) SetRoles(ctx context.Context, caller *authn.Claims, id uuid.UUID, roles []string) (User, error) {
	roles, err := NormalizeRoles(roles)
	if err != nil {
		return User{}, err
	}
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return User{}, err
	}
	if changesPrivilege(u.Roles, roles) && !caller.HasRole(authn.RoleSuperAdmin) {
		return User{}, errPrivilegedRoles
	}
	u, err = s.store.SetRoles(ctx, id, u.Roles, roles)
	if err != nil {
		return User{}, err
	}
	// Written after the change is committed (a failure here leaves the old
	// tokens valid, so it is an error the admin retries) and again on a
	// retry that changes nothing: revoking the version before the current
	// one is always right.
	if u.RolesVersion > 0 {
		if err := s.denylist.Revoke(ctx, authn.RolesRevocation(u.ID, u.RolesVersion-1), rolesRevocationTTL); err != nil {
			return User{}, fmt.Errorf("revoke tokens with the old roles: %w", err)
		}
	}
	return u, nil
}
