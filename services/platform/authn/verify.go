package authn

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Token claims shared by the issuer and every verifier.
const (
	Issuer   = "daprshop-auth"
	Audience = "daprshop"
)

// Roles.
const (
	RoleCustomer   = "CUSTOMER"
	RoleAdmin      = "ADMIN"
	RoleSuperAdmin = "SUPER_ADMIN"
)

// Claims are the claims of an access token.
type Claims struct {
	jwt.RegisteredClaims
	Email     string   `json:"email,omitempty"`
	Roles     []string `json:"roles"`
	SessionID string   `json:"sid,omitempty"`
	// RolesVersion counts the changes of the user's roles up to the ones
	// the token carries; a token without it carries version 0.
	RolesVersion int64 `json:"rver,omitempty"`
	// UserID is the subject, checked to be a UUID by Verify.
	UserID uuid.UUID `json:"-"`
}

// AdminRoles returns the roles that make their holder an administrator:
// the one definition of "admin" every service and the gateway check. Each
// call returns a new slice, so no caller can change it for the others.
func AdminRoles() []string { return []string{RoleAdmin, RoleSuperAdmin} }

// IsAdmin reports whether the token grants one of AdminRoles.
func (c *Claims) IsAdmin() bool { return c.HasRole(AdminRoles()...) }

// HasRole reports whether the token grants any of roles.
func (c *Claims) HasRole(roles ...string) bool {
	for _, r := range roles {
		if slices.Contains(c.Roles, r) {
			return true
		}
	}
	return false
}

// ErrInvalidToken is returned for any token that does not verify; the cause
// is wrapped for logs, never shown to clients.
var ErrInvalidToken = errors.New("invalid token")

// FetchKeys returns the issuer's current JWKS document.
type FetchKeys func(ctx context.Context) ([]byte, error)

// Leeway is the clock skew tolerated on a token's times: a token is still
// accepted this long after it expires.
const Leeway = 5 * time.Second

// refetchInterval bounds how often an unknown key id triggers a JWKS fetch,
// so tokens with made-up key ids cannot turn into a flood of fetches.
const refetchInterval = 10 * time.Second

// Denylist tells whether any of ids was revoked (logout, session revoke,
// role change) before the token expired: a token's id, its session's
// (SessionRevocation) or its user's roles version (RolesRevocation).
type Denylist interface {
	Revoked(ctx context.Context, ids ...string) (bool, error)
}

// DenylistKey is the state store key under which a revoked id is kept
// until the tokens it names expire; the issuer writes it, every verifier
// reads it.
func DenylistKey(id string) string { return "denylist:" + id }

// SessionRevocation is the denylist id that revokes every access token of
// session sid at once, those issued before its last refresh included.
func SessionRevocation(sid string) string { return "session:" + sid }

// RolesRevocation is the denylist id that revokes every access token of
// user carrying roles version: written when those roles change, so a
// demoted user's tokens lose their old roles on the next request while the
// tokens issued afterwards, with the next version, pass.
func RolesRevocation(user uuid.UUID, version int64) string {
	return "roles:" + user.String() + ":" + strconv.FormatInt(version, 10)
}

// Verifier checks access tokens against the issuer's public keys, caching
// them and fetching again when a token names a key it has not seen (after a
// rotation), and against the denylist when it has one.
type Verifier struct {
	fetch    FetchKeys
	now      func() time.Time
	denylist Denylist

	mu        sync.Mutex
	keys      map[string]ed25519.PublicKey
	fetchedAt time.Time
}

// NewVerifier returns a Verifier that loads keys with fetch on first use.
func NewVerifier(fetch FetchKeys, now func() time.Time) *Verifier {
	return &Verifier{fetch: fetch, now: now}
}

// WithDenylist makes Verify refuse revoked tokens. Call it before use.
func (v *Verifier) WithDenylist(d Denylist) *Verifier {
	v.denylist = d
	return v
}

// Verify parses and verifies an access token: EdDSA signature by a known
// key, issuer, audience, expiry, and neither the token, nor its session,
// nor the roles it carries revoked (one denylist read for all three). It
// returns ErrInvalidToken (wrapped) for a token that fails any check, or
// the fetch error when keys or the denylist are unavailable.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	var fetchErr error
	claims := &Claims{}
	_, err := jwt.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		key, err := v.key(ctx, kid)
		if err != nil && !errors.Is(err, errUnknownKey) {
			fetchErr = err // keys unavailable: not the token's fault
		}
		return key, err
	},
		jwt.WithValidMethods([]string{"EdDSA"}),
		jwt.WithIssuer(Issuer), jwt.WithAudience(Audience),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
		jwt.WithTimeFunc(v.now), jwt.WithLeeway(Leeway))
	if fetchErr != nil {
		return nil, fetchErr
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if claims.ID == "" {
		return nil, fmt.Errorf("%w: missing jti", ErrInvalidToken)
	}
	if claims.UserID, err = uuid.Parse(claims.Subject); err != nil {
		return nil, fmt.Errorf("%w: subject is not a user id", ErrInvalidToken)
	}
	if v.denylist != nil {
		ids := []string{claims.ID, RolesRevocation(claims.UserID, claims.RolesVersion)}
		if claims.SessionID != "" {
			ids = append(ids, SessionRevocation(claims.SessionID))
		}
		revoked, err := v.denylist.Revoked(ctx, ids...)
		if err != nil {
			return nil, fmt.Errorf("check token denylist: %w", err)
		}
		if revoked {
			return nil, fmt.Errorf("%w: revoked", ErrInvalidToken)
		}
	}
	return claims, nil
}

var errUnknownKey = errors.New("unknown key id")

func (v *Verifier) key(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if k, ok := v.keys[kid]; ok {
		return k, nil
	}
	if v.keys != nil && v.now().Sub(v.fetchedAt) < refetchInterval {
		return nil, errUnknownKey
	}
	doc, err := v.fetch(ctx)
	if err != nil {
		return nil, fmt.Errorf("fetch signing keys: %w", err)
	}
	keys, err := ParseJWKS(doc)
	if err != nil {
		return nil, err
	}
	v.keys, v.fetchedAt = keys, v.now()
	if k, ok := keys[kid]; ok {
		return k, nil
	}
	return nil, errUnknownKey
}
