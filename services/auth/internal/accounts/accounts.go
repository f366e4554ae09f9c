// Package accounts holds the auth service's rules: sign-up and its password
// policy, login with brute-force protection, sessions whose refresh tokens
// rotate with reuse detection, token revocation and role management.
package accounts

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/platform/apperr"
	"github.com/daprshop/daprshop/services/platform/authn"
)

// Lifetimes and limits.
const (
	AccessTokenTTL  = 15 * time.Minute
	RefreshTokenTTL = 30 * 24 * time.Hour
	// MaxLoginFailures failed logins for one email within LockoutWindow
	// lock further attempts until the oldest of them ages out.
	MaxLoginFailures = 5
	LockoutWindow    = 15 * time.Minute
)

// Errors returned by the Service and its Store.
var (
	ErrEmailTaken      = apperr.New(apperr.Conflict, "an account with this email already exists")
	ErrBadCredentials  = apperr.New(apperr.Unauthorized, "the email or password is wrong")
	ErrInvalidRefresh  = apperr.New(apperr.Unauthorized, "the refresh token is invalid, expired or revoked")
	ErrUserNotFound    = apperr.New(apperr.NotFound, "user not found")
	ErrSessionNotFound = apperr.New(apperr.NotFound, "session not found")
	ErrRolesChanged    = apperr.New(apperr.Conflict, "the user's roles changed meanwhile; read them again")
	ErrLastSuperAdmin  = apperr.New(apperr.Conflict, "this would leave no SUPER_ADMIN; grant the role to someone else first")
	errPrivilegedRoles = apperr.New(apperr.Forbidden, "only a SUPER_ADMIN grants or removes ADMIN and SUPER_ADMIN")
	errLockedOut       = apperr.New(apperr.RateLimited, "too many failed logins for this email; try again later")
)

// LockedOutError refuses a login while its email is locked out, for Wait.
type LockedOutError struct{ Wait time.Duration }

func (e *LockedOutError) Error() string { return errLockedOut.Error() }

// RetryAfter says when the next attempt may succeed: the server's error
// handler sends it as the Retry-After header.
func (e *LockedOutError) RetryAfter() time.Duration { return e.Wait }

// Unwrap makes the error a 429 for the server's error mapping.
func (e *LockedOutError) Unwrap() error { return errLockedOut }

// User is an account. PasswordHash is never sent to clients.
type User struct {
	ID           uuid.UUID
	Email        string
	Name         string
	PasswordHash string
	Roles        []string
	// RolesVersion counts the changes of Roles; access tokens carry it.
	RolesVersion int64
	CreatedAt    time.Time
}

// Session is one login: the refresh tokens rotated from it and the access
// token issued last, which is revoked with it.
type Session struct {
	ID              uuid.UUID
	UserID          uuid.UUID
	UserAgent       string
	IP              string
	CreatedAt       time.Time
	LastUsedAt      time.Time
	AccessTokenID   string
	AccessExpiresAt time.Time
}

// AccessToken is a signed access token and what revoking it needs.
type AccessToken struct {
	Token     string
	ID        string
	ExpiresAt time.Time
}

// RefreshToken is a new opaque refresh token: Plain goes to the client
// once, only Hash is stored.
type RefreshToken struct {
	Plain     string
	Hash      []byte
	ExpiresAt time.Time
}

// HashRefreshToken is how a refresh token is stored and looked up: a
// fast hash is enough for 32 random bytes.
func HashRefreshToken(plain string) []byte {
	h := sha256.Sum256([]byte(plain))
	return h[:]
}

// Tokens is what a login or a refresh hands out.
type Tokens struct {
	Access  AccessToken
	Refresh RefreshToken
}

// Client describes where a login comes from.
type Client struct {
	UserAgent string
	IP        string
}

// Bounds of what a session keeps of its client, in characters.
const (
	maxUserAgentLength = 512
	maxIPLength        = 64
)

// NewClient describes a login's origin from the headers a client sent,
// kept as text fit to store and show: valid UTF-8 without control
// characters (Postgres refuses invalid UTF-8 and NUL), bounded in length.
func NewClient(userAgent, ip string) Client {
	return Client{UserAgent: printable(userAgent, maxUserAgentLength), IP: printable(ip, maxIPLength)}
}

func printable(s string, maxRunes int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	if r := []rune(s); len(r) > maxRunes {
		s = string(r[:maxRunes])
	}
	return s
}

var knownRoles = []string{authn.RoleCustomer, authn.RoleAdmin, authn.RoleSuperAdmin}

// NormalizeRoles validates a role list and returns it sorted and without
// duplicates. It returns an apperr.Invalid error for unknown roles or an
// empty list: a user always keeps at least one role.
func NormalizeRoles(roles []string) ([]string, error) {
	var fields []apperr.FieldError
	if len(roles) == 0 {
		fields = append(fields, apperr.FieldError{Field: "roles", Message: "must hold at least one role"})
	}
	out := make([]string, 0, len(roles))
	for i, r := range roles {
		if !slices.Contains(knownRoles, r) {
			fields = append(fields, apperr.FieldError{
				Field:   fmt.Sprintf("roles[%d]", i),
				Message: "must be one of: " + strings.Join(knownRoles, ", "),
			})
			continue
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	if len(fields) > 0 {
		return nil, apperr.Validation(fields...)
	}
	slices.Sort(out)
	return out, nil
}

// changesPrivilege reports whether going from old to new roles grants or
// removes an admin role, which only a SUPER_ADMIN may.
func changesPrivilege(old, new []string) bool {
	for _, r := range authn.AdminRoles() {
		if slices.Contains(old, r) != slices.Contains(new, r) {
			return true
		}
	}
	return false
}
