package authn

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
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
//
// A token whose signature and claims verified is remembered until it
// expires: the same bytes verify the same way, and a client sends its
// token with every request, so the signature (the costliest check) is
// checked once per token and process. Expiry and the denylist are checked
// on every request.
type Verifier struct {
	fetch    FetchKeys
	now      func() time.Time
	denylist Denylist

	mu        sync.Mutex
	keys      map[string]ed25519.PublicKey
	fetchedAt time.Time

	verified verifiedTokens
}

// NewVerifier returns a Verifier that loads keys with fetch on first use.
func NewVerifier(fetch FetchKeys, now func() time.Time) *Verifier {
	return &Verifier{fetch: fetch, now: now, verified: verifiedTokens{tokens: map[string]*Claims{}}}
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
	claims, err := v.verifyToken(ctx, token)
	if err != nil {
		return nil, err
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

// verifyToken checks the signature and claims of token, or finds it
// verified before and not expired since. Each caller gets its own copy of
// the claims.
func (v *Verifier) verifyToken(ctx context.Context, token string) (*Claims, error) {
	now := v.now()
	if c, ok := v.verified.get(token, now); ok {
		return c, nil
	}
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
	v.verified.put(token, claims, now)
	c := *claims
	return &c, nil
}

// maxVerifiedTokens bounds the tokens a Verifier remembers; past it, it
// forgets them all and verifies each again once.
const maxVerifiedTokens = 100_000

// verifiedTokens are the tokens that verified, by their text, until they
// expire.
type verifiedTokens struct {
	mu      sync.Mutex
	tokens  map[string]*Claims
	sweptAt time.Time
}

// get returns a copy of token's claims when it verified before and has
// not expired (with Leeway, as the full check allows).
func (t *verifiedTokens) get(token string, now time.Time) (*Claims, bool) {
	t.mu.Lock()
	c, ok := t.tokens[token]
	t.mu.Unlock()
	if !ok || !now.Before(c.ExpiresAt.Add(Leeway)) {
		return nil, false
	}
	cp := *c
	return &cp, true
}

// put remembers a verified token; once a minute it drops the expired ones.
// The token is copied: a caller's string may alias a request buffer that
// the server reuses for the next request (Fiber's c.Get does), and a key
// that changed under the map would hand one user's claims to another.
func (t *verifiedTokens) put(token string, c *Claims, now time.Time) {
	token = strings.Clone(token)
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Sub(t.sweptAt) > time.Minute || len(t.tokens) >= maxVerifiedTokens {
		for k, old := range t.tokens {
			if !now.Before(old.ExpiresAt.Add(Leeway)) || len(t.tokens) >= maxVerifiedTokens {
				delete(t.tokens, k)
			}
		}
		t.sweptAt = now
	}
	t.tokens[token] = c
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
